"""Which activation follows each Linear layer of a model, and the value ranges it implies.

Effective information needs, per layer, the weights, the activation and the
input and output ranges to bin over. ``topology_of`` recovers them from one
forward pass: every Linear output is wrapped in a tensor subclass that
records the first torch function applied to it. Module activations
(``nn.Sigmoid`` calls ``torch.sigmoid``) and functional ones
(``torch.tanh``, ``F.relu``, ``x.sigmoid()``) pass through the same hook, so
both are seen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

Range = tuple[float, float]


class Activation(NamedTuple):
    """A resolved activation: the function, a name, and its output range if bounded."""

    fn: Callable[[torch.Tensor], torch.Tensor]
    name: str
    default_range: Range | None


def _identity(z: torch.Tensor) -> torch.Tensor:
    return z


#: The one activation table of einet: layered networks take their activation functions from it, and the
#: information measures the output range they bin over.
ACTIVATIONS: dict[str, Activation] = {
    "sigmoid": Activation(torch.sigmoid, "sigmoid", (0.0, 1.0)),
    "tanh": Activation(torch.tanh, "tanh", (-1.0, 1.0)),
    "relu": Activation(torch.relu, "relu", None),
    "softplus": Activation(F.softplus, "softplus", None),
    "identity": Activation(_identity, "identity", None),
}
_KNOWN = ACTIVATIONS
_ALIASES = {"linear": "identity", "none": "identity", "logistic": "sigmoid"}
_MODULES = {nn.Sigmoid: "sigmoid", nn.Tanh: "tanh", nn.ReLU: "relu", nn.Identity: "identity"}  # softplus: beta varies
_FUNCTIONS = {
    torch.sigmoid: "sigmoid",
    torch.Tensor.sigmoid: "sigmoid",
    F.sigmoid: "sigmoid",
    torch.special.expit: "sigmoid",
    torch.tanh: "tanh",
    torch.Tensor.tanh: "tanh",
    F.tanh: "tanh",
    torch.relu: "relu",
    torch.Tensor.relu: "relu",
    F.relu: "relu",
}


def known_activation(activation: Any) -> Activation | None:
    """The table entry for a module, function or name we know the range of; else None."""
    if activation is None:
        return _KNOWN["identity"]
    if isinstance(activation, str):
        key = activation.lower()
        return _KNOWN.get(_ALIASES.get(key, key))
    for cls, key in _MODULES.items():
        if type(activation) is cls:
            return _KNOWN[key]
    try:
        key = _FUNCTIONS.get(activation)
    except TypeError:  # unhashable callable
        key = None
    return _KNOWN[key] if key else None


def resolve_activation(activation: Any) -> Activation:
    """Turn a module, function or name into an ``Activation``.

    An unknown callable is accepted with no default range, so the caller has
    to say which range to bin its outputs over; an unknown name is an error.
    """
    known = known_activation(activation)
    if known is not None:
        return known
    if isinstance(activation, str) or not callable(activation):
        raise ValueError(f"unknown activation {activation!r}; use one of {sorted(_KNOWN)} or a callable")
    name = getattr(activation, "__name__", type(activation).__name__)
    return Activation(activation, name, None)


def resolve_out_range(act: Activation, out_range: Range | None, where: str = "layer") -> Range:
    """The explicit range, else the activation's own; unbounded without one is an error."""
    if out_range is not None:
        return _as_range(out_range, f"{where}: out_range")
    if act.default_range is None:
        raise ValueError(
            f"{where}: activation {act.name!r} has no bounded output range; pass out_range=(lo, hi)"
            " (out_ranges={name: (lo, hi)} in topology_of)"
        )
    return act.default_range


def _as_range(value, what: str) -> Range:
    lo, hi = (float(v) for v in value)
    if not hi > lo:
        raise ValueError(f"{what} must satisfy lo < hi, got {value!r}")
    return lo, hi


@dataclass(frozen=True)
class LayerInfo:
    """One Linear layer as run by the model, with what EI needs to bin it."""

    name: str
    module: nn.Linear
    in_features: int
    out_features: int
    activation: Any
    in_range: Range
    out_range: Range


class _Record:
    """What happened first to one Linear output."""

    def __init__(self, name: str):
        self.name = name
        self.func: Any = None
        self.apply: Callable | None = None


def _flatten(obj) -> list:
    if isinstance(obj, (list, tuple)):
        return [leaf for item in obj for leaf in _flatten(item)]
    if isinstance(obj, dict):
        return [leaf for item in obj.values() for leaf in _flatten(item)]
    return [obj]


def _unwrap(obj):
    if isinstance(obj, _Traced):
        return obj.as_subclass(torch.Tensor)
    if isinstance(obj, (list, tuple)):
        return type(obj)(_unwrap(item) for item in obj)
    if isinstance(obj, dict):
        return {k: _unwrap(v) for k, v in obj.items()}
    return obj


class _Traced(torch.Tensor):
    """A Linear output that notes the first torch function producing a tensor from it."""

    _record: _Record

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        with torch._C.DisableTorchFunctionSubclass():
            plain_args, plain_kwargs = _unwrap(args), _unwrap(kwargs)
            out = func(*plain_args, **plain_kwargs)
        if isinstance(out, torch.Tensor):  # attribute reads (.shape, .dim()) are not uses
            for leaf in _flatten((args, kwargs)):
                if isinstance(leaf, _Traced) and leaf._record.func is None:
                    _note(leaf._record, func, plain_args, plain_kwargs, leaf, out)
        return out


def _note(record: _Record, func, args, kwargs, traced: torch.Tensor, out: torch.Tensor) -> None:
    """Record the op; keep a replayable elementwise form when it is one."""
    record.func = func
    first = args[0] if args else None
    others = _flatten((args[1:], kwargs))
    elementwise = (
        isinstance(first, torch.Tensor)
        and first.data_ptr() == traced.data_ptr()
        and out.shape == traced.shape
        and not any(isinstance(o, torch.Tensor) for o in others)
    )
    if elementwise:
        rest = args[1:]
        record.apply = lambda z: func(z, *rest, **kwargs)


def _trace(model: nn.Module, example_input) -> list[tuple[str, nn.Linear, _Record]]:
    """Run the model once and return, in run order, each Linear with what followed it."""
    runs: list[tuple[str, nn.Linear, _Record]] = []

    def hook_for(name):
        def hook(module, inputs, output):
            if any(n == name for n, _, _ in runs):
                raise ValueError(f"layer {name!r} runs more than once in one forward pass; EI per layer is ambiguous")
            record = _Record(name)
            runs.append((name, module, record))
            traced = output.as_subclass(_Traced)
            traced._record = record
            return traced

        return hook

    handles = [m.register_forward_hook(hook_for(n)) for n, m in model.named_modules() if isinstance(m, nn.Linear)]
    try:
        with torch.no_grad():
            model(*example_input) if isinstance(example_input, tuple) else model(example_input)
    finally:
        for handle in handles:
            handle.remove()
    return runs


def _activation_of(record: _Record) -> Any:
    """The activation a record implies: a known function, identity, or a replayable op."""
    if record.func is None or record.func is F.linear:  # returned as is, or fed to the next Linear
        return nn.Identity()
    if known_activation(record.func) is not None:
        return record.func
    if record.apply is None:
        name = getattr(record.func, "__name__", repr(record.func))
        raise ValueError(
            f"cannot tell the activation of layer {record.name!r}: its output first goes to "
            f"{name}, which is not elementwise; pass activations={{{record.name!r}: ...}}"
        )
    record.apply.__name__ = getattr(record.func, "__name__", "activation")
    return record.apply


def topology_of(
    model: nn.Module,
    example_input,
    *,
    in_range: Range | None = None,
    activations: dict[str, Any] | None = None,
    in_ranges: dict[str, Range] | None = None,
    out_ranges: dict[str, Range] | None = None,
) -> list[LayerInfo]:
    """The model's Linear layers in run order, each with its activation and ranges.

    A layer's input range is the previous layer's output range; the first
    layer's is ``in_range``. ``activations``, ``in_ranges`` and ``out_ranges``
    (keyed by module name) override what was inferred. A layer whose output
    range cannot be inferred (ReLU, identity, an unknown function) and is not
    given raises a ValueError naming it.
    """
    activations, in_ranges, out_ranges = activations or {}, in_ranges or {}, out_ranges or {}
    layers: list[LayerInfo] = []
    previous: Range | None = None if in_range is None else _as_range(in_range, "in_range")
    for index, (name, module, record) in enumerate(_trace(model, example_input)):
        activation = activations[name] if name in activations else _activation_of(record)
        act = resolve_activation(activation)
        lo_hi = in_ranges.get(name, previous)
        if lo_hi is None:
            what = "pass in_range=(lo, hi)" if index == 0 else f"pass in_ranges={{{name!r}: (lo, hi)}}"
            raise ValueError(f"layer {name!r}: input range unknown; {what}")
        out = resolve_out_range(act, out_ranges.get(name), where=f"layer {name!r}")
        layers.append(
            LayerInfo(name, module, module.in_features, module.out_features, activation, _as_range(lo_hi, name), out)
        )
        previous = out
    if not layers:
        raise ValueError("the model ran no nn.Linear layer")
    return layers
