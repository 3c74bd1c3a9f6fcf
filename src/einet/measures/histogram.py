"""Binning, counting and plug-in mutual information on torch tensors (all in bits).

Everything here runs on the device of its inputs with torch ops only, so the
same code counts on CPU and CUDA without moving samples to the host.
"""

from __future__ import annotations

import math
import threading

import torch

from einet import kernels

_LN2 = math.log(2.0)
# Two primes below 2**31: a product of a residue and a multiplier stays below
# 2**62, so the hash below never overflows int64.
_CHUNK_BYTES = 1 << 26
_PRIMES = (2_147_483_647, 2_147_483_629)


def bin_index(values: torch.Tensor, lo, hi, bins: int, *, mask: bool = True) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Equal-width int32 bin of each value over [lo, hi], and whether it lay inside (None with ``mask=False``).

    Values outside the range land in the edge bins (the ``clip`` policy); the
    returned mask lets a caller drop them instead. ``hi`` itself belongs to
    the last bin, so a closed range loses nothing. Clamping to [0, bins - 1]
    before the integer cast makes the cast's truncation a floor; the work is
    done in place on one temporary (these arrays hold 1e7 values).
    """
    scaled = values - lo
    scaled.mul_(bins / (hi - lo))
    idx = scaled.clamp_(0, bins - 1).to(torch.int32)
    inside = (values >= lo) & (values <= hi) if mask else None
    return idx, inside


def vector_keys(bins: torch.Tensor, n_bins: int) -> torch.Tensor:
    """One int64 key per row of bin indices ``[S, n]``, equal iff the rows are equal.

    When ``n_bins**n`` fits in 62 bits the key is the exact mixed-radix
    number. Otherwise it is two independent polynomial hashes modulo primes
    near 2**31 packed into 62 bits; two different rows then share a key with
    probability about 2**-62, so among S samples a collision is expected with
    probability ~S**2 / 2**63 (1e-9 at S = 1e5), far below sampling error.
    """
    n = bins.shape[1]
    bins = bins.to(torch.int64)
    if n * math.log2(max(n_bins, 2)) <= 62:
        radix = n_bins ** torch.arange(n, device=bins.device, dtype=torch.int64)
        return (bins * radix).sum(dim=1)
    halves = []
    for prime, base in zip(_PRIMES, (1_000_003, 998_244_353)):
        powers = [1]
        for _ in range(n - 1):
            powers.append(powers[-1] * base % prime)
        radix = torch.tensor(powers, device=bins.device, dtype=torch.int64)
        # each product < n_bins * 2**31; the sum over n columns stays far below 2**63
        halves.append((bins * radix).sum(dim=1) % prime)
    return halves[0] * (1 << 31) + halves[1]


def _xlog2_ratio(c: torch.Tensor, n: torch.Tensor, cx: torch.Tensor, cy: torch.Tensor) -> torch.Tensor:
    """``c * log2(c n / (cx cy))``, 0 where c == 0.

    The ratio is formed as (c n) / (cx cy) so that an exactly independent
    cell (c = cx, cy = n, as for a constant output) gives exactly 1 and the
    information is exactly 0, not a rounding residue.
    """
    ratio = (c * n) / (cx * cy).clamp(min=1.0)
    return torch.where(c > 0, c * torch.log2(ratio.clamp(min=1e-300)), torch.zeros_like(c))


def _miller_madow(kx, ky, kxy, n) -> torch.Tensor:
    """Miller-Madow bias of the plug-in MI in bits: (Kx + Ky - Kxy - 1) / (2 N ln 2).

    Each plug-in entropy is low by about (K - 1) / (2 N ln 2) for K occupied
    bins; MI = Hx + Hy - Hxy inherits the combination.
    """
    return (kx + ky - kxy - 1) / (2.0 * n * _LN2)


def mi_from_counts(counts: torch.Tensor, miller_madow: bool = False) -> torch.Tensor:
    """Plug-in MI of joint histograms ``[..., bx, by]``; an empty histogram gives 0."""
    c = counts.to(torch.float64)
    n = c.sum(dim=(-1, -2), keepdim=True)
    cx = c.sum(dim=-1, keepdim=True)
    cy = c.sum(dim=-2, keepdim=True)
    mi = _xlog2_ratio(c, n, cx, cy).sum(dim=(-1, -2)) / n[..., 0, 0].clamp(min=1.0)
    if miller_madow:
        k = lambda t: (t > 0).sum(dim=(-1, -2)).to(torch.float64)  # noqa: E731
        mi = mi + _miller_madow(k(cx), k(cy), k(c), n[..., 0, 0].clamp(min=1.0))
    return mi.clamp(min=0.0)


def mi_from_keys(kx: torch.Tensor, ky: torch.Tensor, miller_madow: bool = False) -> float:
    """Plug-in MI between two discrete variables given one integer key per sample.

    Keys are relabelled to dense codes with ``torch.unique`` so that the joint
    code ``ix * Uy + iy`` cannot overflow, then counted with ``bincount``.
    """
    if kx.numel() == 0:
        return 0.0
    ux, ix = torch.unique(kx, return_inverse=True)
    uy, iy = torch.unique(ky, return_inverse=True)
    cx = torch.bincount(ix).to(torch.float64)
    cy = torch.bincount(iy).to(torch.float64)
    joint, cxy = torch.unique(ix * len(uy) + iy, return_counts=True)
    cxy = cxy.to(torch.float64)
    n = torch.tensor(float(kx.numel()), dtype=torch.float64, device=kx.device)
    mi = _xlog2_ratio(cxy, n, cx[joint // len(uy)], cy[joint % len(uy)]).sum() / n
    if miller_madow:
        mi = mi + _miller_madow(len(ux), len(uy), len(joint), n)
    return max(float(mi), 0.0)


def pair_counts(
    x_bins: torch.Tensor,
    y_bins: torch.Tensor,
    in_bins: int,
    out_bins: int,
    valid: torch.Tensor | None = None,
    batch_size: int | None = None,
) -> torch.Tensor:
    """Joint histograms of every (input i, output j) pair: ``[blk, n_out, in_bins, out_bins]``.

    ``x_bins`` is ``[blk, S]``; ``y_bins`` is ``[1, n_out, S]`` (outputs shared
    by all inputs) or ``[blk, n_out, S]`` (one experiment per input);
    ``valid`` (``[blk, S]``) marks the samples to count.

    This is the product of one-hot inputs and one-hot outputs summed over
    samples, evaluated sparsely: each (sample, i, j) adds one to the cell
    ``(i, j, x_i, y_j)``, which one ``bincount`` does for all pairs at once.
    A dense einsum of the one-hot tensors does ``in_bins * out_bins`` times
    more arithmetic (4096x for 64 bins), almost all of it on zeros. Samples are
    processed in chunks of ``batch_size`` (default: keys of about 64 MiB per
    chunk) so memory stays bounded whatever the sample count.
    """
    y_keys = output_keys(y_bins, in_bins, out_bins, x_bins.shape[0])
    return count_pairs(x_bins, y_keys, in_bins, out_bins, valid, batch_size)


def _key_dtype(blk: int, n_out: int, in_bins: int, out_bins: int) -> torch.dtype:
    """int32 keys when the table allows: half the memory traffic of int64."""
    return torch.int32 if blk * n_out * in_bins * out_bins < 2**31 - 1 else torch.int64


def output_keys(y_bins: torch.Tensor, in_bins: int, out_bins: int, blk: int) -> torch.Tensor:
    """Output bins shifted to their pair's block of the count table (``pair_counts``).

    Split out so that outputs shared by many inputs are shifted once.
    """
    n_out = y_bins.shape[1]
    dtype = _key_dtype(blk, n_out, in_bins, out_bins)
    offsets = torch.arange(n_out, device=y_bins.device, dtype=dtype)[None, :, None] * (in_bins * out_bins)
    return offsets + y_bins.to(dtype)


def count_pairs(
    x_bins: torch.Tensor,
    y_keys: torch.Tensor,
    in_bins: int,
    out_bins: int,
    valid: torch.Tensor | None = None,
    batch_size: int | None = None,
) -> torch.Tensor:
    """``pair_counts`` given outputs already passed through ``output_keys``.

    On CPU the compiled kernel ``einet.kernels.pair_counts`` counts each pair in
    a cache-resident table (same integer counts, several times faster); the
    torch path below is the fallback and the CUDA path.
    """
    kernel = _pair_kernel() if x_bins.device.type == "cpu" and y_keys.device.type == "cpu" else None
    if kernel is not None:
        blk, n_samples = x_bins.shape
        if valid is not None:
            valid = valid.to(torch.bool).expand(blk, n_samples).contiguous()
        if y_keys.dtype not in (torch.int32, torch.int64):
            y_keys = y_keys.to(torch.int64)
        return kernel.pair_counts(x_bins.to(torch.int32).contiguous(), y_keys.contiguous(), valid, in_bins, out_bins)
    return _count_pairs_torch(x_bins, y_keys, in_bins, out_bins, valid, batch_size)


def pair_information(
    x_bins: torch.Tensor,
    y_bins: torch.Tensor,
    in_bins: int,
    out_bins: int,
    valid: torch.Tensor | None = None,
    miller_madow: bool = False,
    batch_size: int | None = None,
) -> torch.Tensor:
    """``mi_from_counts(pair_counts(...))``: the plug-in MI of every (input i, output j) pair, ``[blk, n_out]``.

    On CPU the compiled kernel reduces each pair's table to its information while the table is in L1
    (logarithms once per occupied cell), so the ``blk * n_out * in_bins * out_bins`` counts never reach
    memory; elsewhere one input's tables at a time go through ``pair_counts`` and ``mi_from_counts``.
    Arguments as for ``pair_counts``; the two paths agree to float64 summation order.
    """
    blk = x_bins.shape[0]
    y_keys = output_keys(y_bins, in_bins, out_bins, 1)
    kernel = _pair_kernel() if x_bins.device.type == "cpu" and y_bins.device.type == "cpu" else None
    if kernel is not None:
        if valid is not None:
            valid = valid.to(torch.bool).expand(blk, x_bins.shape[1]).contiguous()
        return kernel.pair_information(x_bins.to(torch.int32).contiguous(), y_keys.contiguous(), valid, in_bins,
                                       out_bins, miller_madow)
    rows = []
    for i in range(blk):
        y_i = y_keys if y_keys.shape[0] == 1 else y_keys[i : i + 1]
        v_i = None if valid is None else valid.expand(blk, x_bins.shape[1])[i : i + 1]
        rows.append(mi_from_counts(count_pairs(x_bins[i : i + 1], y_i, in_bins, out_bins, v_i, batch_size),
                                   miller_madow))
    return torch.cat(rows) if rows else torch.zeros(0, y_bins.shape[1], dtype=torch.float64, device=x_bins.device)


_kernel_lock = threading.Lock()


def _pair_kernel():
    """The compiled ``pair_counts`` module or None; loaded once even when first asked from many threads."""
    with _kernel_lock:
        return kernels.load("pair_counts")


def _count_pairs_torch(
    x_bins: torch.Tensor,
    y_keys: torch.Tensor,
    in_bins: int,
    out_bins: int,
    valid: torch.Tensor | None = None,
    batch_size: int | None = None,
) -> torch.Tensor:
    """``count_pairs`` with torch ops only: one ``bincount`` of pair keys per chunk of samples."""
    blk, n_samples = x_bins.shape
    n_out = y_keys.shape[1]
    cells = in_bins * out_bins
    table = blk * n_out * cells
    dtype = y_keys.dtype
    x_off = torch.arange(blk, device=x_bins.device, dtype=dtype)[:, None] * (n_out * cells)
    chunk = batch_size or max(1, _CHUNK_BYTES // (blk * n_out * 8))
    counts = torch.zeros(table + 1, dtype=torch.int64, device=x_bins.device)
    for s0 in range(0, n_samples, chunk):
        sl = slice(s0, s0 + chunk)
        xk = x_off + x_bins[:, sl].to(dtype) * out_bins  # [blk, s]
        keys = xk[:, None, :] + y_keys[:, :, sl]  # [blk, n_out, s]
        if valid is not None:
            keys = keys.masked_fill(~valid[:, None, sl], table)  # dropped -> spare last cell
        counts += torch.bincount(keys.reshape(-1), minlength=table + 1)
    return counts[:table].view(blk, n_out, in_bins, out_bins)
