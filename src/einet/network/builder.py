"""A fluent, population-centric way to write a :class:`~einet.config.layered.LayeredNetworkSpec`.

::

    from einet.network.builder import NetworkBuilder

    net = NetworkBuilder()
    net.layer("Input").population("E", 64)
    net.layer("H1").population("E", 128, "relu").type("Exc")
    net.layer("H1").population("I", 32, "relu").type("Inh")
    net.layer("Output").population("E", 10, "linear")
    net.connect(source="Input.E", target="H1.E")
    net.connect(source="Input.E", target="H1.I")
    net.connect(source="H1.E", target="H1.I")
    net.connect(source="H1.I", target="H1.E").learning_rule("vogels_sprekeler", rho0=0.5)
    net.connect(source="H1.E", target="Output.E")
    net.learning_rule("backprop", learning_rate=1e-2)        # every other projection
    net.dynamics(forward_steps=4, backward_steps=2)
    net.print_architecture()
    network = net.build(seed=0)

The builder only records what is said, as the raw mapping a YAML file would
hold; :meth:`NetworkBuilder.spec` parses it with the same parser as YAML, so
both front ends give one spec and the same errors. Type names are
case-insensitive (``"Exc"``, ``"exc"``); rule names are lower-cased. Rules set
on a layer or a population apply to the projections into it unless a
projection names its own (the most specific rule wins, whatever the order of
the calls).
"""

from __future__ import annotations

import copy
from typing import Any

from einet.fields import to_dict
from einet.config.layered import LayeredNetworkSpec, RuleSpec, parse_network, spec_to_yaml
from einet.network.layered import build_rule, check_rules

__all__ = ["NetworkBuilder"]


def _rule(name: str, options: dict) -> dict:
    return {"name": str(name).lower(), "options": dict(options)}


class _PopulationHandle:
    def __init__(self, raw: dict):
        self._raw = raw

    def type(self, kind: str) -> "_PopulationHandle":
        """``Exc``, ``Inh`` or ``Mixed`` (no sign constraint on outgoing weights)."""
        self._raw["type"] = str(kind).lower()
        return self

    def tau(self, tau: float) -> "_PopulationHandle":
        """Time constant [ms]."""
        self._raw["tau"] = tau
        return self

    def bias(self, on: bool = True) -> "_PopulationHandle":
        self._raw["bias"] = on
        return self

    def learning_rule(self, name: str, **options: Any) -> "_PopulationHandle":
        """Rule of every projection into this population that names no rule of its own."""
        self._raw["learning_rule"] = _rule(name, options)
        return self


class _LayerHandle:
    def __init__(self, raw: dict):
        self._raw = raw

    def population(self, name: str, size: int | None = None, activation: str | None = None,
                   **settings: Any) -> _PopulationHandle:
        """Add the population ``name`` (or change it when it exists); ``settings``: tau, type, bias."""
        pops = self._raw.setdefault("populations", {})
        pop = pops.setdefault(name, {})
        if size is not None:
            pop["size"] = size
        if activation is not None:
            pop["activation"] = activation
        if "type" in settings:
            settings["type"] = str(settings["type"]).lower()
        pop.update(settings)
        return _PopulationHandle(pop)

    def learning_rule(self, name: str, **options: Any) -> "_LayerHandle":
        """Rule of the projections into this layer's populations (unless set closer)."""
        self._raw["learning_rule"] = _rule(name, options)
        return self


class _ProjectionHandle:
    def __init__(self, raw: dict):
        self._raw = raw

    def type(self, kind: str) -> "_ProjectionHandle":
        """Override the sign given by the source population: ``Exc``, ``Inh``, ``Mixed`` or ``Auto``."""
        self._raw["type"] = str(kind).lower()
        return self

    def direction(self, direction: str) -> "_ProjectionHandle":
        """``forward`` (reads this step's source rate), ``recurrent`` (the previous step's) or ``auto``."""
        self._raw["direction"] = direction
        return self

    def init_scale(self, scale: float) -> "_ProjectionHandle":
        self._raw["init_scale"] = scale
        return self

    def learning_rule(self, name: str, **options: Any) -> "_ProjectionHandle":
        self._raw["learning_rule"] = _rule(name, options)
        return self


class NetworkBuilder:
    """Record layers, populations, projections, rules and dynamics; :meth:`build` the network."""

    def __init__(self, raw: dict | None = None):
        self._raw: dict = copy.deepcopy(raw) if raw is not None else {}

    @classmethod
    def from_spec(cls, spec: LayeredNetworkSpec) -> "NetworkBuilder":
        return cls(to_dict(spec))

    def layer(self, name: str) -> _LayerHandle:
        return _LayerHandle(self._raw.setdefault("layers", {}).setdefault(name, {}))

    def connect(self, source: str, target: str) -> _ProjectionHandle:
        """The projection ``source -> target`` (``'Layer.Population'``), created on first use."""
        projs = self._raw.setdefault("projections", [])
        for proj in projs:
            if proj.get("source") == source and proj.get("target") == target:
                return _ProjectionHandle(proj)
        projs.append({"source": source, "target": target})
        return _ProjectionHandle(projs[-1])

    def learning_rule(self, name: str, **options: Any) -> "NetworkBuilder":
        """The network-wide rule (projections without a layer, population or own rule)."""
        self._raw["learning_rule"] = _rule(name, options)
        return self

    set_learning_rule = learning_rule

    def set_learning_rule_for_layer(self, target_layer: str, rule: str, **options: Any) -> "NetworkBuilder":
        self.layer(target_layer).learning_rule(rule, **options)
        return self

    def set_learning_rule_for_population(self, target_layer: str, target_population: str, rule: str,
                                         **options: Any) -> "NetworkBuilder":
        self.layer(target_layer).population(target_population).learning_rule(rule, **options)
        return self

    def dynamics(self, **settings: Any) -> "NetworkBuilder":
        """dt [ms], forward_steps, backward_steps, integration (see :class:`DynamicsSpec`)."""
        self._raw.setdefault("dynamics", {}).update(settings)
        return self

    def input(self, ref: str) -> "NetworkBuilder":
        self._raw["input"] = ref
        return self

    def output(self, ref: str) -> "NetworkBuilder":
        self._raw["output"] = ref
        return self

    # ------------------------------------------------------------ results
    def spec(self) -> LayeredNetworkSpec:
        """The validated spec (errors name the key, e.g. ``layers.H1.populations.E.size``)."""
        return check_rules(parse_network(copy.deepcopy(self._raw)))

    def to_yaml(self) -> str:
        return spec_to_yaml(self.spec())

    def print_architecture(self, file=None) -> str:
        """Print (and return) every population and projection as :meth:`build` will make them."""
        text = architecture_text(self.spec())
        print(text, end="", file=file)
        return text

    def build(self, seed: int = 0, dtype=None):
        """The :class:`~einet.network.layered.LayeredNetwork` of this spec, weights drawn with ``seed``."""
        import torch

        from einet.network.layered import LayeredNetwork

        return LayeredNetwork(self.spec(), seed=seed, dtype=dtype or torch.float32)


# ---------------------------------------------------------------- architecture text
_RULE = "=" * 50
_TYPE_LABEL = {1: " [Exc]", -1: " [Inh]", 0: ""}


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return "null" if value is None else str(value)


def _rule_text(rule: RuleSpec) -> str:
    built = build_rule(rule)
    if built is None:
        return "none"
    opts = ", ".join(f"{k}={_fmt(v)}" for k, v in to_dict(built).items())
    return f"{rule.name} ({opts})" if opts else rule.name


def architecture_text(spec: LayeredNetworkSpec) -> str:
    """The network as built: populations, every projection (sizes, sign, direction, rule), dynamics."""
    size = {ref: spec.population(ref).size for ref in spec.populations()}
    inp, out = spec.input_population(), spec.output_population()
    lines = [_RULE, "Network architecture:", "Populations (update order):"]
    for ref in spec.populations():
        pop = spec.population(ref)
        label = _TYPE_LABEL[{"exc": 1, "inh": -1, "mixed": 0}[pop.type]]
        if ref == inp:
            lines.append(f"  {ref} ({pop.size}){label}: input")
            continue
        role = ", output" if ref == out else ""
        lines.append(f"  {ref} ({pop.size}){label}: {pop.activation}, tau={_fmt(pop.tau)} ms, "
                     f"bias={'yes' if pop.bias else 'no'}{role}")
    lines.append("Projections:")
    for proj in spec.projections:
        sign = _TYPE_LABEL[spec.sign_of(proj)]
        lines.append(f"  {proj.source} ({size[proj.source]}) -> {proj.target} ({size[proj.target]}){sign}, "
                     f"{spec.direction_of(proj)}, init_scale={_fmt(proj.init_scale)}: "
                     f"{_rule_text(spec.rule_for(proj))}")
    if not spec.projections:
        lines.append("  (none)")
    unconnected = spec.unconnected()
    if unconnected:
        lines.append("Unconnected populations:")
        for ref in unconnected:
            lines.append(f"  {ref} ({size[ref]}){_TYPE_LABEL[{'exc': 1, 'inh': -1, 'mixed': 0}[spec.population(ref).type]]}")
    d = spec.dynamics
    back = "all" if d.backward_steps is None else str(d.backward_steps)
    lines.append(f"Dynamics: dt={_fmt(d.dt)} ms, forward_steps={d.forward_steps}, backward_steps={back}, "
                 f"integration={d.integration}")
    lines.append(_RULE)
    return "\n".join(lines) + "\n"
