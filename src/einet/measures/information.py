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

**Ceilings and saturation.** Each estimator has a largest value it can
return from S samples (``ceiling``), and an estimate within
``SATURATION_MARGIN`` of it is flagged ``saturated``: it is a bound, not a
measurement. With plug-in counts, ``I(X;Y) <= log2 min(Kx, Ky)`` for Kx, Ky
occupied values, and the Miller-Madow term ``(Kx + Ky - Kxy - 1) / (2 S ln 2)``
is at most ``(min(Kx, Ky) - 1) / (2 S ln 2)`` (``Kxy >= max(Kx, Ky)``); both grow
with ``min(Kx, Ky) <= K``, so the supremum is ``log2 K + (K - 1) / (2 S ln 2)``
(the second term only with the correction), reached when the samples' input
and output values are in one-to-one correspondence. K is:

* ``ei``: ``min(S, in_bins**n_in, out_bins**n_out)``: ``log2 S`` (+ 0.72 bit with
  Miller-Madow) as soon as the sample count is below the number of input or
  output states, as for any layer of more than a few inputs;
* each pair of ``ei_parts`` and ``sensitivity``: ``min(S, in_bins, out_bins)``,
  so ``log2 min(in_bins, out_bins)`` in practice; a layer's sum has
  ``n_in * n_out`` times that ceiling and is flagged when any of its pairs is.

Where the sample count sets the ceiling (``log2 S`` is the smaller term), more
samples raise it: in fixed-sample mode ``saturation_cap`` doubles the samples
while the estimate is saturated (or, once doubling, still rises by more than
the margin per doubling), up to that count, and the flag stays where the cap
is reached. Where the bins set it, the binned value is exact but says only
"at least this much": finer bins would show more, and more samples change
nothing, so none are drawn. Saturated values returned without
``return_info`` raise a ``SaturationWarning``.
"""

from __future__ import annotations

import math
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
    "ceiling",
    "SATURATION_MARGIN",
    "OutOfRangeWarning",
    "SaturationWarning",
]

MIN_SAMPLES = 2**14
MAX_SAMPLES = 2**20
_EPS = 1e-12
_BLOCK_BYTES = 1 << 27
_LN2 = math.log(2.0)

SATURATION_MARGIN = 0.5
"""Bits below its ceiling within which an estimate is flagged ``saturated``.

Half a bit is half of what one doubling adds to a ceiling: doubling the
samples adds a bit to the vector-EI ceiling ``log2 S``, doubling the bins a bit
to a pair's ``log2 bins``. A saturated estimate moves with its ceiling, a bit
per doubling (the digits classifier's fc1 reads 12.72, 14.72, 16.72 bits at
2**12, 2**14, 2**16 samples: ``log2 S`` + 0.72 bit of Miller-Madow each time),
while a measured one settles; half a bit splits the two and is ten times the
estimates' sampling noise (0.02 to 0.04 bit, the standard deviation over input
seeds of the classifier's unsaturated vector EIs at 4096 samples). Within it of
``log2 S``, the plug-in entropy of the input states is itself within half a bit
of ``log2 S``: nearly every sample is an input state of its own, so the
conditional entropy, and with it the information, cannot be estimated. Once
samples are doubled (``saturation_cap``), a rise of more than this margin per
doubling marks an estimate that still follows its ceiling more than it settles.
"""


class OutOfRangeWarning(UserWarning):
    """Samples were dropped because an output fell outside ``out_range``."""


class SaturationWarning(UserWarning):
    """An estimate is within ``SATURATION_MARGIN`` of its estimator's ceiling: a bound, not a measurement."""


@dataclass(frozen=True)
class Estimate:
    """An estimate with how it was obtained.

    ``dropped`` counts dropped (sample, experiment) pairs under
    ``out_of_range="drop"``: samples for ``ei``/``ei_parts``, and samples
    summed over the n_in experiments for ``sensitivity``.

    ``ceiling`` is the largest value the estimator can return at these samples
    and bins (see the module's docstring): of the value itself for ``ei``, of
    each pair for a matrix, of the sum for ``ei_parts``/``sensitivity``.
    ``saturated``: the value lies within ``SATURATION_MARGIN`` of it, or its
    samples were doubled (``saturation_cap``) and the last doubling raised it
    by more than that margin (a bool tensor per pair for a matrix; a sum is
    saturated when any of its pairs is). ``limited_by``: what sets the ceiling,
    "samples" (``log2 S``: a saturated value is a bound, not a measurement) or
    "bins" (the binned value is exact, but finer bins would show more).
    """

    value: Any
    samples: int
    dropped: int
    converged: bool
    ceiling: float | None = None
    saturated: Any = False
    limited_by: str | None = None


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


# ---------------------------------------------------------------- ceilings and sample-size control


def _ceiling(kind: str, n_in: int, n_out: int, in_bins: int, out_bins: int, samples: float,
             miller_madow: bool) -> tuple[float, bool]:
    """The estimator's supremum ``log2 K + [MM] (K - 1) / (2 S ln 2)`` and whether ``K = S`` (samples bind).

    ``kind`` "ei" for the vector estimate (``K = min(S, in_bins**n_in, out_bins**n_out)``), anything else
    for one pair (``K = min(S, in_bins, out_bins)``); see the module's docstring.
    """
    if samples < 1:
        return 0.0, True  # nothing counted: nothing can be said
    if kind == "ei":
        by_bins = min(n_in * math.log2(in_bins), n_out * math.log2(out_bins))
    else:
        by_bins = math.log2(min(in_bins, out_bins))
    log2_k = min(math.log2(samples), by_bins)
    bits = log2_k + ((2.0**log2_k - 1.0) / (2.0 * samples * _LN2) if miller_madow else 0.0)
    return bits, math.log2(samples) < by_bins


def ceiling(kind: str, *, n_in: int, n_out: int, in_bins: int, out_bins: int, samples: int,
            bias_correction: str | None = None) -> float:
    """The largest value estimator ``kind`` ("ei", "ei_parts" or "sensitivity") can return, in bits.

    For a layer of ``n_in`` inputs and ``n_out`` outputs measured with ``samples`` draws: ``log2 K`` (plus
    ``(K - 1) / (2 S ln 2)`` under Miller-Madow) with ``K = min(S, in_bins**n_in, out_bins**n_out)`` for "ei";
    ``n_in * n_out`` times the per-pair ceiling (``K = min(S, in_bins, out_bins)``) for the sums. An estimate
    within ``SATURATION_MARGIN`` of it is ``saturated``.
    """
    if kind not in ("ei", "ei_parts", "sensitivity"):
        raise ValueError(f"kind must be 'ei', 'ei_parts' or 'sensitivity', got {kind!r}")
    bits, _ = _ceiling(kind, n_in, n_out, in_bins, out_bins, samples, bias_correction == "miller_madow")
    return bits if kind == "ei" else bits * n_in * n_out


def _saturated(value, bits: float, previous=None):
    """Whether ``value`` (a float, or a tensor of pairs) lies within ``SATURATION_MARGIN`` of ``bits``, or rose
    by more than that from ``previous``, its estimate at half the samples (it still follows its ceiling)."""
    flag = value >= bits - SATURATION_MARGIN
    if previous is not None:
        flag = flag | (value - previous > SATURATION_MARGIN)
    return flag if isinstance(flag, torch.Tensor) else bool(flag)


def _any(flag) -> bool:
    return bool(flag.any()) if isinstance(flag, torch.Tensor) else bool(flag)


def _relative_change(new: float, old: float) -> float:
    """|new - old| / max(|new|, eps); two (near-)zero estimates count as no change."""
    if abs(new) < _EPS and abs(old) < _EPS:
        return 0.0
    return abs(new - old) / max(abs(new), _EPS)


def _scalar(value) -> float:
    return float(value.sum()) if isinstance(value, torch.Tensor) else float(value)


def _flag(est: Estimate, bound: Callable[[int, int], tuple[float, bool]] | None, previous=None) -> Estimate:
    """``est`` with its ceiling and saturation flag (none without a ``bound``); ``previous``: the estimate at
    half its samples, where they were doubled."""
    if bound is None:
        return est
    bits, by_samples = bound(est.samples, est.dropped)
    return Estimate(est.value, est.samples, est.dropped, est.converged, bits, _saturated(est.value, bits, previous),
                    "samples" if by_samples else "bins")


def _estimate(run: Callable[[int], tuple[Any, int]], samples, threshold, min_samples, max_samples, what, *,
              bound: Callable[[int, int], tuple[float, bool]] | None = None,
              saturation_cap: int | None = None) -> Estimate:
    """Run a fixed-size estimator once, or double its samples until it settles.

    In threshold mode the run stops when the relative change of the (summed)
    estimate stays below ``threshold`` for two consecutive doublings, so a
    single lucky agreement does not end it; at ``max_samples`` it stops with
    a warning. Plug-in MI falls with more samples (its bias shrinks), so the
    criterion tracks both noise and bias.

    ``bound(samples, dropped)`` gives the estimator's ceiling and whether the
    sample count sets it; with it the estimate carries its flag. In fixed mode
    with ``saturation_cap``, a saturated estimate whose ceiling the samples set
    is re-run with twice the samples until it is not, or until doubling would
    pass the cap (a cap at or below ``samples`` draws no more). Once doubling,
    an estimate that rose by more than ``SATURATION_MARGIN`` with the last
    doubling still follows its ceiling and counts as saturated too, so the
    doubling does not stop halfway up a climb (the digits classifier's fc2 at
    epoch 4: 0.10, 0.16, 0.30, 0.52 bit below its ceiling at 2**12 .. 2**15
    samples, rising 0.8 bit a doubling).
    """
    if (samples is None) == (threshold is None):
        raise ValueError("pass exactly one of samples= (fixed count) or threshold= (convergence)")
    if samples is not None:
        n = int(samples)
        if n < 1:
            raise ValueError(f"samples must be >= 1, got {samples}")
        if saturation_cap is not None and int(saturation_cap) < 1:
            raise ValueError(f"saturation_cap must be >= 1, got {saturation_cap}")
        value, dropped = run(n)
        previous = None
        while bound is not None and saturation_cap is not None and 2 * n <= int(saturation_cap):
            bits, by_samples = bound(n, dropped)
            if not (by_samples and _any(_saturated(value, bits, previous))):
                break
            previous = value
            n *= 2
            value, dropped = run(n)
        _report_drops(dropped, n, what)
        return _flag(Estimate(value, n, dropped, True), bound, previous)
    if not threshold > 0:
        raise ValueError(f"threshold must be > 0, got {threshold}")
    n = int(min_samples)
    value, dropped = run(n)
    calm = 0
    while calm < 2:
        if 2 * n > max_samples:
            warnings.warn(f"{what}: not converged to threshold {threshold} at max_samples={max_samples}; returning the last estimate")
            _report_drops(dropped, n, what)
            return _flag(Estimate(value, n, dropped, False), bound)
        n *= 2
        new_value, dropped = run(n)
        calm = calm + 1 if _relative_change(_scalar(new_value), _scalar(value)) < threshold else 0
        value = new_value
    _report_drops(dropped, n, what)
    return _flag(Estimate(value, n, dropped, True), bound)


def _measure(kind: str, layer, settings: dict) -> Estimate:
    """Resolve the layer and run the chosen estimator under the sample-size policy."""
    s = dict(settings)
    if s["bias_correction"] not in (None, "miller_madow"):
        raise ValueError(f"bias_correction must be None or 'miller_madow', got {s['bias_correction']!r}")
    setup = _setup(layer, s["activation"], s["in_range"], s["out_range"], s["in_bins"], s["out_bins"],
                   s["out_of_range"], s["device"])
    mm, seed, chunk = s["bias_correction"] == "miller_madow", s["seed"], s["batch_size"]
    n_out, n_in = setup.weight.shape
    # samples that were counted: all but the dropped ones (for sensitivity, the n_in experiments' mean)
    kept = (lambda n, d: n - d / n_in) if kind == "sensitivity" else (lambda n, d: n - d)  # noqa: E731

    def bound(n: int, dropped: int) -> tuple[float, bool]:
        return _ceiling(kind, n_in, n_out, setup.in_bins, setup.out_bins, kept(n, dropped), mm)

    if kind == "ei":
        run = lambda n: _ei_fixed(setup, n, seed, mm)  # noqa: E731
    elif kind == "parts":
        run = lambda n: _parts_fixed(setup, n, seed, mm, chunk)  # noqa: E731
    else:
        run = lambda n: _sensitivity_fixed(setup, n, seed, mm, chunk, float(s["rest"]))  # noqa: E731
    return _estimate(run, s["samples"], s["threshold"], s["min_samples"], s["max_samples"], kind,
                     bound=bound, saturation_cap=s["saturation_cap"])


def _finish(est: Estimate, return_info: bool, scalar: bool, what: str = "estimate"):
    """The value (or, with ``return_info``, the Estimate), summed over pairs where ``scalar``.

    A saturated value handed back bare comes with a ``SaturationWarning``: the caller has no flag to see.
    """
    pairs = est.value.numel() if isinstance(est.value, torch.Tensor) else None
    if not return_info and _any(est.saturated):
        if pairs is None:
            found = f"{est.value:.3f} bits is within {SATURATION_MARGIN} bit of the estimator's ceiling"
        else:
            found = (f"{int(est.saturated.sum())} of {pairs} pairs are within {SATURATION_MARGIN} bit of a "
                     "pair's ceiling")
        if est.limited_by == "bins":
            meaning = "set by the bins: the binned value is exact, but finer bins would show more"
        else:
            meaning = "set by the samples: a bound, not a measurement; saturation_cap= draws more samples"
        warnings.warn(
            f"{what}: {found} ({est.ceiling:.3f} bits at {est.samples} samples, {meaning}); pass "
            "return_info=True for the flag",
            SaturationWarning,
            stacklevel=3,
        )
    if scalar and pairs is not None:
        est = Estimate(float(est.value.sum()), est.samples, est.dropped, est.converged,
                       None if est.ceiling is None else est.ceiling * pairs, _any(est.saturated), est.limited_by)
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
    saturation_cap: int | None = None,
    return_info: bool = False,
):
    """EI of a layer: MI between the binned input vector and the binned output vector, in bits.

    Each sample's bin tuple is hashed to one integer key (``histogram.vector_keys``)
    and the plug-in MI is taken from key counts. With ``n_in * log2(in_bins)``
    far above ``log2(samples)`` nearly every input vector is seen once, so the
    plug-in value is biased upward towards H(Y) and bounded by ``log2(samples)``;
    Miller-Madow correction (``bias_correction="miller_madow"``) removes the
    first-order part of the bias of a well-sampled estimate, but with every
    sample an input state of its own it adds ``(Ky - 1) / (2 S ln 2)`` (up to
    0.72 bit) instead. Such an estimate is flagged ``saturated`` (see ``ceiling``).

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
    saturation_cap : with ``samples``, the most samples to double up to while the estimate
        is saturated and its ceiling ``log2 S`` (see ``ceiling``); None: no more than ``samples``.
    return_info : return an ``Estimate`` (value, samples, dropped, converged, ceiling,
        saturated); without it a saturated value warns (``SaturationWarning``).
    """
    settings = locals()
    return _finish(_measure("ei", settings.pop("layer"), settings), return_info, True, "ei")


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
    saturation_cap: int | None = None,
    return_info: bool = False,
):
    """``[n_in, n_out]`` tensor of MI(x_i; y_j) in bits, every pair on the same samples.

    Joint histograms of all pairs come from one sparse one-hot product per
    input (``histogram.pair_counts``), in chunks of ``batch_size`` samples
    (default: chunks of about 64 MiB of keys). Under ``threshold`` the sum of
    the matrix decides convergence; ``saturation_cap`` doubles while any pair is saturated at a
    ceiling the samples set (in practice never: a pair's ceiling is ``log2 min(in_bins, out_bins)``
    from ``S >= bins`` on). Other parameters as in ``ei``.
    """
    settings = locals()
    return _finish(_measure("parts", settings.pop("layer"), settings), return_info, False, "ei_parts")


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
    saturation_cap: int | None = None,
    return_info: bool = False,
):
    """``[n_in, n_out]`` tensor of MI(x_i; y_j) when input i alone varies, the others at ``rest``.

    The n_in experiments share one uniform draw; under ``drop`` each
    experiment drops its own out-of-range samples and ``Estimate.dropped``
    is their total. Other parameters as in ``ei_parts_matrix``.
    """
    settings = locals()
    return _finish(_measure("sensitivity", settings.pop("layer"), settings), return_info, False, "sensitivity")


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
    """Sum of ``ei_parts_matrix`` (same keywords), in bits; saturated when any pair is."""
    return _finish(ei_parts_matrix(layer, return_info=True, **kwargs), return_info, True, "ei_parts")


def sensitivity(layer, *, return_info: bool = False, **kwargs):
    """Sum of ``sensitivity_matrix`` (same keywords), in bits; saturated when any pair is."""
    return _finish(sensitivity_matrix(layer, return_info=True, **kwargs), return_info, True, "sensitivity")


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
