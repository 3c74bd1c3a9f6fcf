"""Effective information (EI) of neural-network layers, in bits.

Following Hoel et al. and Marrow et al. (2020), a layer ``y = f(W x + b)`` is
probed with maximum-entropy interventions: each input i.i.d. uniform over
``in_range``, binned into ``in_bins`` equal bins; each output binned into
``out_bins`` equal bins over ``out_range``. Measures:

* ``ei``: MI between the binned input vector and the binned output vector.
* ``ei_parts``: sum over pairs (i, j) of MI(x_i; y_j), all pairs on the same samples.
* ``sensitivity``: sum over pairs of MI(x_i; y_j) when input i alone is
  perturbed and the others sit at ``rest``.
* ``degeneracy``: sensitivity - ei_parts.

Sample size is either fixed (``samples``) or found by doubling until the
estimate settles (``threshold``). Every function takes ``return_info=True``
to get an ``Estimate`` with the sample count and dropped-sample count.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Callable, NamedTuple

import torch
from torch import nn

from einet.measures.histogram import bin_index, mi_from_keys, pair_information, vector_keys
from einet.measures.topology import (
    LayerInfo,
    Range,
    _as_range,
    resolve_activation,
    resolve_out_range,
    topology_of,
)

__all__ = [
    "Estimate",
    "CausalPlane",
    "LayerInfo",
    "ei",
    "ei_parts",
    "ei_parts_matrix",
    "sensitivity",
    "sensitivity_matrix",
    "degeneracy",
    "causal_plane",
    "topology_of",
    "max_entropy_samples",
    "OutOfRangeWarning",
]

MIN_SAMPLES = 2**14
MAX_SAMPLES = 2**20
_EPS = 1e-12
_BLOCK_BYTES = 1 << 27


class OutOfRangeWarning(UserWarning):
    """Samples were dropped because an output fell outside ``out_range``."""


@dataclass(frozen=True)
class Estimate:
    """An estimate with how it was obtained.

    ``dropped`` counts dropped (sample, experiment) pairs under
    ``out_of_range="drop"``: samples for ``ei``/``ei_parts``, and samples
    summed over the n_in experiments for ``sensitivity``.
    """

    value: Any
    samples: int
    dropped: int
    converged: bool


class CausalPlane(NamedTuple):
    """A layer's point in the causal plane, in bits (see ``causal_plane``)."""

    sensitivity: float
    degeneracy: float
    ei_parts: float


@dataclass(frozen=True)
class _Setup:
    """A layer resolved to tensors and ranges, ready to sample."""

    weight: torch.Tensor  # [n_out, n_in]
    bias: torch.Tensor  # [n_out]
    fn: Callable[[torch.Tensor], torch.Tensor]
    in_range: Range
    out_range: Range
    in_bins: int
    out_bins: int
    drop: bool
    device: torch.device


def _setup(layer, activation, in_range, out_range, in_bins, out_bins, out_of_range, device) -> _Setup:
    """Resolve a Linear, a weight tensor or a ``LayerInfo`` plus overrides."""
    if isinstance(layer, LayerInfo):
        activation = layer.activation if activation is None else activation
        in_range = layer.in_range if in_range is None else in_range
        out_range = layer.out_range if out_range is None else out_range
        layer = layer.module
    if isinstance(layer, nn.Linear):
        weight = layer.weight.detach()
        bias = layer.bias.detach() if layer.bias is not None else torch.zeros(weight.shape[0])
    elif isinstance(layer, torch.Tensor) and layer.dim() == 2:
        weight, bias = layer.detach(), torch.zeros(layer.shape[0])
    else:
        raise TypeError(f"layer must be nn.Linear, a 2-d weight tensor or LayerInfo, got {type(layer).__name__}")
    if activation is None:
        raise ValueError("activation is required (e.g. nn.Sigmoid(), torch.tanh or 'identity')")
    if in_range is None:
        raise ValueError("in_range is required: inputs are drawn uniformly over it")
    if out_of_range not in ("clip", "drop"):
        raise ValueError(f"out_of_range must be 'clip' or 'drop', got {out_of_range!r}")
    if in_bins < 1 or out_bins < 1:
        raise ValueError(f"in_bins and out_bins must be >= 1, got {in_bins}, {out_bins}")
    act = resolve_activation(activation)
    device = torch.device(device) if device is not None else weight.device
    return _Setup(
        weight.to(device, torch.float32),
        bias.to(device, torch.float32),
        act.fn,
        _as_range(in_range, "in_range"),
        resolve_out_range(act, out_range),
        int(in_bins),
        int(out_bins),
        out_of_range == "drop",
        device,
    )


def _uniform(setup: _Setup, n: int, seed: int) -> torch.Tensor:
    """``[n, n_in]`` inputs i.i.d. uniform over in_range, reproducible from the seed."""
    gen = torch.Generator(device=setup.device).manual_seed(seed)
    lo, hi = setup.in_range
    u = torch.rand(setup.weight.shape[1], n, generator=gen, device=setup.device)
    return u.mul_(hi - lo).add_(lo).T  # input-major memory: per-input rows are contiguous for counting


def _linear(setup: _Setup, x: torch.Tensor) -> torch.Tensor:
    """``W x + b`` for ``x`` stored input-major; the result is stored output-major alike."""
    return torch.addmm(setup.bias[:, None], setup.weight, x.T).T


def _bin_outputs(setup: _Setup, pre: torch.Tensor, outputs_dim: int = -1) -> tuple[torch.Tensor, torch.Tensor]:
    """Output bins and a per-sample in-range mask (all outputs of the sample, along ``outputs_dim``, inside)."""
    y = setup.fn(pre)
    bins, inside = bin_index(y, *setup.out_range, setup.out_bins)
    return bins, inside.all(dim=outputs_dim)


def _report_drops(dropped: int, total: int, what: str) -> None:
    if dropped:
        warnings.warn(
            f"{what}: dropped {dropped} of {total} samples whose output fell outside out_range",
            OutOfRangeWarning,
            stacklevel=4,
        )


# ---------------------------------------------------------------- fixed-size estimators


def _ei_fixed(setup: _Setup, n: int, seed: int, miller_madow: bool):
    x = _uniform(setup, n, seed)
    x_bins, _ = bin_index(x, *setup.in_range, setup.in_bins, mask=False)
    y_bins, inside = _bin_outputs(setup, _linear(setup, x))
    dropped = 0
    if setup.drop:
        dropped = int((~inside).sum())
        x_bins, y_bins = x_bins[inside], y_bins[inside]
    kx = vector_keys(x_bins, setup.in_bins)
    ky = vector_keys(y_bins, setup.out_bins)
    return mi_from_keys(kx, ky, miller_madow), dropped


def _parts_fixed(setup: _Setup, n: int, seed: int, miller_madow: bool, batch_size: int | None):
    x = _uniform(setup, n, seed)
    x_bins, _ = bin_index(x, *setup.in_range, setup.in_bins, mask=False)
    y_bins, inside = _bin_outputs(setup, _linear(setup, x))
    dropped = 0
    if setup.drop:
        dropped = int((~inside).sum())
        x_bins, y_bins = x_bins[inside], y_bins[inside]
    parts = pair_information(x_bins.T.contiguous(), y_bins.T.contiguous()[None], setup.in_bins, setup.out_bins,
                             None, miller_madow, batch_size)
    return parts, dropped


def _sensitivity_fixed(setup: _Setup, n: int, seed: int, miller_madow: bool, batch_size: int | None, rest: float):
    """One experiment per input i: x_i uniform, every other input at ``rest``.

    Pre-activations of experiment i are ``W[:, i] (x_i - rest) + (W rest + b)``,
    so all experiments share one draw of x and need no n_in-wide matmul.
    """
    x = _uniform(setup, n, seed)
    x_bins, _ = bin_index(x, *setup.in_range, setup.in_bins, mask=False)
    xt, dx = x_bins.T.contiguous(), (x - rest).T.contiguous()
    at_rest = setup.weight.sum(dim=1) * rest + setup.bias  # [n_out]
    n_in, n_out = setup.weight.shape[1], setup.weight.shape[0]
    # experiments at a time: pre-activations, outputs, bins and keys take about 24 bytes a value; 128 MiB in all
    block = max(1, _BLOCK_BYTES // max(1, 24 * n_out * n))
    rows, dropped = [], 0
    for start in range(0, n_in, block):
        inputs = slice(start, min(start + block, n_in))
        # [blk, n_out, S]: experiment i's pre-activations
        pre = setup.weight.T[inputs, :, None] * dx[inputs, None, :] + at_rest[None, :, None]
        y_bins, inside = _bin_outputs(setup, pre, outputs_dim=1)  # [blk, n_out, S], [blk, S]
        rows.append(pair_information(xt[inputs], y_bins, setup.in_bins, setup.out_bins,
                                     inside if setup.drop else None, miller_madow, batch_size))
        if setup.drop:
            dropped += int((~inside).sum())
    return torch.cat(rows), dropped


# ---------------------------------------------------------------- sample-size control


def _relative_change(new: float, old: float) -> float:
    """|new - old| / max(|new|, eps); two (near-)zero estimates count as no change."""
    if abs(new) < _EPS and abs(old) < _EPS:
        return 0.0
    return abs(new - old) / max(abs(new), _EPS)


def _scalar(value) -> float:
    return float(value.sum()) if isinstance(value, torch.Tensor) else float(value)


def _estimate(run: Callable[[int], tuple[Any, int]], samples, threshold, min_samples, max_samples, what) -> Estimate:
    """Run a fixed-size estimator once, or double its samples until it settles.

    In threshold mode the run stops when the relative change of the (summed)
    estimate stays below ``threshold`` for two consecutive doublings, so a
    single lucky agreement does not end it; at ``max_samples`` it stops with
    a warning. Plug-in MI falls with more samples (its bias shrinks), so the
    criterion tracks both noise and bias.
    """
    if (samples is None) == (threshold is None):
        raise ValueError("pass exactly one of samples= (fixed count) or threshold= (convergence)")
    if samples is not None:
        if int(samples) < 1:
            raise ValueError(f"samples must be >= 1, got {samples}")
        value, dropped = run(int(samples))
        _report_drops(dropped, int(samples), what)
        return Estimate(value, int(samples), dropped, True)
    if not threshold > 0:
        raise ValueError(f"threshold must be > 0, got {threshold}")
    n = int(min_samples)
    value, dropped = run(n)
    calm = 0
    while calm < 2:
        if 2 * n > max_samples:
            warnings.warn(f"{what}: not converged to threshold {threshold} at max_samples={max_samples}; returning the last estimate")
            _report_drops(dropped, n, what)
            return Estimate(value, n, dropped, False)
        n *= 2
        new_value, dropped = run(n)
        calm = calm + 1 if _relative_change(_scalar(new_value), _scalar(value)) < threshold else 0
        value = new_value
    _report_drops(dropped, n, what)
    return Estimate(value, n, dropped, True)


def _measure(kind: str, layer, settings: dict) -> Estimate:
    """Resolve the layer and run the chosen estimator under the sample-size policy."""
    s = dict(settings)
    if s["bias_correction"] not in (None, "miller_madow"):
        raise ValueError(f"bias_correction must be None or 'miller_madow', got {s['bias_correction']!r}")
    setup = _setup(layer, s["activation"], s["in_range"], s["out_range"], s["in_bins"], s["out_bins"],
                   s["out_of_range"], s["device"])
    mm, seed, chunk = s["bias_correction"] == "miller_madow", s["seed"], s["batch_size"]
    if kind == "ei":
        run = lambda n: _ei_fixed(setup, n, seed, mm)  # noqa: E731
    elif kind == "parts":
        run = lambda n: _parts_fixed(setup, n, seed, mm, chunk)  # noqa: E731
    else:
        run = lambda n: _sensitivity_fixed(setup, n, seed, mm, chunk, float(s["rest"]))  # noqa: E731
    return _estimate(run, s["samples"], s["threshold"], s["min_samples"], s["max_samples"], kind)


def _finish(est: Estimate, return_info: bool, scalar: bool):
    if scalar and isinstance(est.value, torch.Tensor):
        est = Estimate(float(est.value.sum()), est.samples, est.dropped, est.converged)
    return est if return_info else est.value


# ---------------------------------------------------------------- public API


def ei(
    layer,
    *,
    activation=None,
    in_range: Range | None = None,
    out_range: Range | None = None,
    in_bins: int,
    out_bins: int,
    samples: int | None = None,
    threshold: float | None = None,
    batch_size: int | None = None,
    out_of_range: str = "clip",
    bias_correction: str | None = None,
    seed: int = 0,
    device=None,
    min_samples: int = MIN_SAMPLES,
    max_samples: int = MAX_SAMPLES,
    return_info: bool = False,
):
    """EI of a layer: MI between the binned input vector and the binned output vector, in bits.

    Each sample's bin tuple is hashed to one integer key (``histogram.vector_keys``)
    and the plug-in MI is taken from key counts. With ``n_in * log2(in_bins)``
    far above ``log2(samples)`` nearly every input vector is seen once, so the
    plug-in value is biased upward towards H(Y) and bounded by ``log2(samples)``;
    Miller-Madow correction (``bias_correction="miller_madow"``) removes the
    first-order part of that bias.

    Parameters
    ----------
    layer : nn.Linear, 2-d weight tensor ``[n_out, n_in]`` or LayerInfo
        The linear map (bias included); a LayerInfo also supplies activation and ranges.
    activation : nn.Module, callable or name
        Applied to ``W x + b``. Sigmoid and tanh imply ``out_range``; ReLU,
        identity and unknown callables need an explicit one (else ValueError).
    in_range, out_range : (lo, hi)
        Ranges binned into ``in_bins`` / ``out_bins`` equal bins.
    samples, threshold : exactly one
        A fixed sample count, or a relative tolerance for doubling the sample
        count from ``min_samples`` until two consecutive doublings change the
        estimate by less than it (warning and stop at ``max_samples``).
    batch_size : samples per chunk when counting pairs (bounds memory); unused here.
    out_of_range : {"clip", "drop"}
        ``clip`` puts outside values into the edge bins; ``drop`` removes
        samples with any output outside, warns with the count
        (``OutOfRangeWarning``) and reports it in ``Estimate.dropped``.
    bias_correction : None or "miller_madow"
    seed : the same seed gives the same number on a given device.
    device : where to sample and count; defaults to the weights' device.
    return_info : return an ``Estimate`` (value, samples, dropped, converged).
    """
    settings = locals()
    return _finish(_measure("ei", settings.pop("layer"), settings), return_info, True)


def ei_parts_matrix(
    layer,
    *,
    activation=None,
    in_range: Range | None = None,
    out_range: Range | None = None,
    in_bins: int,
    out_bins: int,
    samples: int | None = None,
    threshold: float | None = None,
    batch_size: int | None = None,
    out_of_range: str = "clip",
    bias_correction: str | None = None,
    seed: int = 0,
    device=None,
    min_samples: int = MIN_SAMPLES,
    max_samples: int = MAX_SAMPLES,
    return_info: bool = False,
):
    """``[n_in, n_out]`` tensor of MI(x_i; y_j) in bits, every pair on the same samples.

    Joint histograms of all pairs come from one sparse one-hot product per
    input (``histogram.pair_counts``), in chunks of ``batch_size`` samples
    (default: chunks of about 64 MiB of keys). Under ``threshold`` the sum of
    the matrix decides convergence. Other parameters as in ``ei``.
    """
    settings = locals()
    return _finish(_measure("parts", settings.pop("layer"), settings), return_info, False)


def sensitivity_matrix(
    layer,
    *,
    activation=None,
    in_range: Range | None = None,
    out_range: Range | None = None,
    in_bins: int,
    out_bins: int,
    rest: float = 0.0,
    samples: int | None = None,
    threshold: float | None = None,
    batch_size: int | None = None,
    out_of_range: str = "clip",
    bias_correction: str | None = None,
    seed: int = 0,
    device=None,
    min_samples: int = MIN_SAMPLES,
    max_samples: int = MAX_SAMPLES,
    return_info: bool = False,
):
    """``[n_in, n_out]`` tensor of MI(x_i; y_j) when input i alone varies, the others at ``rest``.

    The n_in experiments share one uniform draw; under ``drop`` each
    experiment drops its own out-of-range samples and ``Estimate.dropped``
    is their total. Other parameters as in ``ei``.
    """
    settings = locals()
    return _finish(_measure("sensitivity", settings.pop("layer"), settings), return_info, False)


def max_entropy_samples(
    layer, *, activation=None, in_range: Range | None = None, samples: int, seed: int = 0, device=None
) -> tuple[torch.Tensor, torch.Tensor]:
    """The unbinned ``(x [S, n_in], y [S, n_out])`` that ``ei``/``ei_parts`` draw for this seed.

    For checking the estimators against other tools and for plotting; no
    output range is needed because nothing is binned.
    """
    setup = _setup(layer, activation, in_range, (0.0, 1.0), 1, 1, "clip", device)
    x = _uniform(setup, int(samples), seed)
    return x, setup.fn(_linear(setup, x))


def ei_parts(layer, *, return_info: bool = False, **kwargs):
    """Sum of ``ei_parts_matrix`` (same keywords), in bits."""
    return _finish(ei_parts_matrix(layer, return_info=True, **kwargs), return_info, True)


def sensitivity(layer, *, return_info: bool = False, **kwargs):
    """Sum of ``sensitivity_matrix`` (same keywords), in bits."""
    return _finish(sensitivity_matrix(layer, return_info=True, **kwargs), return_info, True)


def degeneracy(layer, **kwargs) -> float:
    """``sensitivity - ei_parts`` with the same settings (keywords of ``sensitivity_matrix``), in bits.

    Positive when outputs cannot tell which input moved them (many causes,
    same effect); it can be negative when inputs act synergistically.
    """
    return causal_plane(layer, **kwargs).degeneracy


def causal_plane(layer, *, rest: float = 0.0, **kwargs) -> CausalPlane:
    """A layer's coordinates in the causal plane: (sensitivity, degeneracy), in bits.

    Convention: raw, unnormalised bits, as on the axes of Marrow et al.
    (2020); ``ei_parts = sensitivity - degeneracy`` is returned too.
    Normalising (e.g. by ``n_in * n_out * log2(in_bins)``) would make layers
    of different widths look alike and hide the size effects the plane is
    used to compare; divide afterwards where a width-free view is wanted.
    """
    parts = ei_parts(layer, **kwargs)
    sens = sensitivity(layer, rest=rest, **kwargs)
    return CausalPlane(sens, sens - parts, parts)
