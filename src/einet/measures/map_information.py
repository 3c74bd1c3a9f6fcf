"""Effective information of an arbitrary batched map ``y = F(x)``, in bits.

``einet.measures.information`` measures one layer ``f(W x + b)`` and uses
that form for speed (shared matmuls, a linear trick for sensitivity). A
recurrent network's one-step map has a leak term, and its map unrolled over
T steps is no single layer at all, so this module measures any function
``F: [S, n_in] -> [S, n_out]`` with the same binning and counting code
(``einet.measures.histogram``) and the same definitions:

* ``ei``: MI between the binned input vector and the binned output vector;
* ``ei_parts``: sum over pairs of MI(x_i; y_j), all pairs on one draw;
* ``sensitivity``: sum over pairs of MI(x_i; y_j) when input i alone is
  drawn and the others sit at their ``rest`` value (one call of F per input);
* ``degeneracy = sensitivity - ei_parts``.

Inputs are i.i.d. uniform over per-input ranges and drawn exactly as
``information.ei`` draws them, so a map that is one layer gives the same
numbers as ``information`` for the same seed and sample count. Ranges may
differ per input and per output (E and I rates live on different scales).
Only a fixed sample count and the ``clip`` policy are offered here: the
clipped fraction is returned instead, so a caller can see when a range is
too narrow.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from einet.measures.histogram import bin_index, mi_from_keys, pair_information, vector_keys

__all__ = ["MapMeasures", "map_measures", "uniform_inputs"]

Map = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class MapMeasures:
    """EI measures of one map, in bits, with the fraction of output values clipped into edge bins."""

    ei: float
    ei_parts: float
    sensitivity: float
    parts_matrix: torch.Tensor  # [n_in, n_out]
    sensitivity_matrix: torch.Tensor  # [n_in, n_out]
    clipped: float

    @property
    def degeneracy(self) -> float:
        return self.sensitivity - self.ei_parts


def _bounds(lo, hi, n: int, device) -> tuple[torch.Tensor, torch.Tensor]:
    lo = torch.as_tensor(lo, dtype=torch.float64, device=device).expand(n).clone()
    hi = torch.as_tensor(hi, dtype=torch.float64, device=device).expand(n).clone()
    if not bool((hi > lo).all()):
        raise ValueError("every range needs lo < hi")
    return lo, hi


def uniform_inputs(lo: torch.Tensor, hi: torch.Tensor, samples: int, seed: int) -> torch.Tensor:
    """``[samples, n]`` inputs uniform over ``[lo_i, hi_i]``: the draw of ``information.ei`` for this seed."""
    gen = torch.Generator(device=lo.device).manual_seed(seed)
    u = torch.rand(lo.shape[0], samples, generator=gen, device=lo.device)
    return (lo[:, None] + (hi - lo)[:, None] * u.to(lo.dtype)).T


def map_measures(
    fn: Map,
    n_in: int,
    *,
    in_range,
    out_range,
    in_bins: int,
    out_bins: int,
    samples: int,
    rest=0.0,
    seed: int = 0,
    bias_correction: str | None = None,
    device=None,
) -> MapMeasures:
    """EI, EI_parts, sensitivity (and so degeneracy) of ``fn``.

    Parameters
    ----------
    fn : callable
        ``[S, n_in] -> [S, n_out]`` float tensors, row by row (no mixing of samples).
    n_in : int
        Number of inputs.
    in_range, out_range : (lo, hi)
        Scalars or per-input / per-output tensors; outputs outside are clipped
        into the edge bins.
    in_bins, out_bins : int
        Equal-width bins over each range.
    samples : int
        Draws per estimate (``samples`` calls for ei/ei_parts, ``n_in * samples`` for sensitivity).
    rest : float or tensor ``[n_in]``
        Where the other inputs sit while one input is perturbed (sensitivity).
    bias_correction : None or "miller_madow"
    seed : int
        The same seed gives the same draw as ``information.ei``.
    """
    if bias_correction not in (None, "miller_madow"):
        raise ValueError(f"bias_correction must be None or 'miller_madow', got {bias_correction!r}")
    if in_bins < 1 or out_bins < 1 or samples < 1:
        raise ValueError(f"in_bins, out_bins and samples must be >= 1, got {in_bins}, {out_bins}, {samples}")
    device = torch.device(device) if device is not None else torch.device("cpu")
    mm = bias_correction == "miller_madow"
    in_lo, in_hi = _bounds(in_range[0], in_range[1], n_in, device)
    x = uniform_inputs(in_lo, in_hi, int(samples), seed)
    x_bins, _ = bin_index(x, in_lo, in_hi, in_bins, mask=False)
    with torch.no_grad():
        y = fn(x)
    n_out = y.shape[1]
    out_lo, out_hi = _bounds(out_range[0], out_range[1], n_out, device)
    y_bins, inside = bin_index(y.to(torch.float64), out_lo, out_hi, out_bins)
    clipped = 1.0 - float(inside.double().mean())

    ei = mi_from_keys(vector_keys(x_bins, in_bins), vector_keys(y_bins, out_bins), mm)
    xt = x_bins.T.contiguous()
    parts = pair_information(xt, y_bins.T.contiguous()[None], in_bins, out_bins, None, mm)  # [n_in, n_out]

    rest_row = torch.as_tensor(rest, dtype=x.dtype, device=device).expand(n_in)
    rows = []
    for i in range(n_in):
        probe = rest_row.expand(x.shape[0], n_in).clone()
        probe[:, i] = x[:, i]
        with torch.no_grad():
            yi = fn(probe).to(torch.float64)
        bins_i, _ = bin_index(yi, out_lo, out_hi, out_bins, mask=False)
        rows.append(pair_information(xt[i : i + 1], bins_i.T.contiguous()[None], in_bins, out_bins, None, mm))
    sens = torch.cat(rows) if rows else parts.new_zeros(0, n_out)
    return MapMeasures(ei, float(parts.sum()), float(sens.sum()), parts.cpu(), sens.cpu(), clipped)
