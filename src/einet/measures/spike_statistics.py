r"""Spike-train statistics from event lists: rates, ISI CV, binned counts, Fano factor, synchrony.

These are the numbers that tell an asynchronous irregular (AI) state from a
regular or synchronous one (Brunel 2000; Brette et al. 2007): low rates,
irregular single neurons (ISI coefficient of variation near 1, as for a
Poisson process) and weak correlations, measured by the synchrony
:math:`\chi` of Golomb (2007),

.. math:: \chi^2 = \frac{\mathrm{Var}_t\left[\frac{1}{N}\sum_i x_i(t)\right]}{\frac{1}{N}\sum_i \mathrm{Var}_t[x_i(t)]},

which is about :math:`1/\sqrt{N}` for independent neurons and 1 for identical ones,
and by the Fano factor (variance over mean) of the population spike count.
All functions are plain numpy on arrays of events (step, batch, neuron, count).
"""

from __future__ import annotations

import numpy as np


def window(events, first_step: int):
    """Only the events at or after ``first_step``."""
    keep = events.step >= first_step
    return type(events)(*(a[keep] for a in events))


def counts_per_neuron(events, batch: int, n: int) -> np.ndarray:
    """``[batch, n]`` spike counts."""
    return np.bincount(events.batch * n + events.neuron, weights=events.count, minlength=batch * n).reshape(batch, n)


def isi_statistics(events, batch: int, n: int, dt: float, min_spikes: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """``[batch, n]`` mean inter-spike interval [ms] and its coefficient of variation (NaN below ``min_spikes``).

    Several spikes in one step (QIF) count as intervals of 0.
    """
    key = events.batch * n + events.neuron
    times = np.repeat(events.step * dt, events.count)
    key = np.repeat(key, events.count)
    order = np.lexsort((times, key))
    key, times = key[order], times[order]
    same = key[1:] == key[:-1]
    isi, owner = (times[1:] - times[:-1])[same], key[1:][same]
    size = batch * n
    k = np.bincount(owner, minlength=size).astype(float)
    s1 = np.bincount(owner, weights=isi, minlength=size)
    s2 = np.bincount(owner, weights=isi * isi, minlength=size)
    enough = k >= max(min_spikes - 1, 1)
    mean = np.where(enough, s1 / np.maximum(k, 1), np.nan)
    var = np.where(enough, s2 / np.maximum(k, 1) - mean ** 2, np.nan)
    cv = np.sqrt(np.maximum(var, 0.0)) / np.where(mean > 0, mean, np.nan)
    return mean.reshape(batch, n), cv.reshape(batch, n)


def isi_cv2(events, batch: int, n: int, dt: float, min_spikes: int = 3) -> np.ndarray:
    r"""``[batch, n]`` mean local variation CV2 of consecutive inter-spike intervals (Holt et al. 1996),

    .. math:: \mathrm{CV_2} = \left\langle \frac{2 |I_{k+1} - I_k|}{I_{k+1} + I_k} \right\rangle_k,

    NaN below ``min_spikes`` (at least 3: one pair of intervals). It is 1 for a Poisson process and 0
    for a periodic one, like the CV, but compares only neighbouring intervals: slow changes of a
    neuron's rate do not raise it, and a short recording window, which cuts off the long intervals
    of slow neurons and so lowers the CV, biases it much less. Pairs of zero-length intervals
    (several spikes in one step) are left out.
    """
    key = np.repeat(events.batch * n + events.neuron, events.count)
    times = np.repeat(events.step * dt, events.count)
    order = np.lexsort((times, key))
    key, times = key[order], times[order]
    same = key[1:] == key[:-1]
    isi, owner = (times[1:] - times[:-1])[same], key[1:][same]
    pair = owner[1:] == owner[:-1]
    total = isi[1:] + isi[:-1]
    pair &= total > 0
    local = 2.0 * np.abs(isi[1:] - isi[:-1])[pair] / total[pair]
    size = batch * n
    k = np.bincount(owner[1:][pair], minlength=size).astype(float)
    s = np.bincount(owner[1:][pair], weights=local, minlength=size)
    spikes = np.bincount(key, minlength=size)
    cv2 = np.where((spikes >= max(min_spikes, 3)) & (k > 0), s / np.maximum(k, 1), np.nan)
    return cv2.reshape(batch, n)


def binned_counts(events, batch: int, groups: np.ndarray, n_groups: int, first_step: int, bin_steps: int,
                  n_bins: int) -> np.ndarray:
    """``[batch, group, bin]`` spike counts, ``groups[neuron]`` naming each neuron's group (-1: left out)."""
    b = (events.step - first_step) // bin_steps
    g = groups[events.neuron]
    keep = (b >= 0) & (b < n_bins) & (g >= 0)
    flat = (events.batch[keep] * n_groups + g[keep]) * n_bins + b[keep]
    out = np.bincount(flat, weights=events.count[keep], minlength=batch * n_groups * n_bins)
    return out.reshape(batch, n_groups, n_bins)


def fano_factor(counts: np.ndarray) -> np.ndarray:
    """Variance over mean of counts along the last axis (NaN where the mean is 0)."""
    mean = counts.mean(-1)
    return np.where(mean > 0, counts.var(-1) / np.where(mean > 0, mean, 1.0), np.nan)


def synchrony(counts: np.ndarray) -> np.ndarray:
    """Golomb's :math:`\\chi` over the neuron axis (-2) of binned single-neuron counts ``[..., neuron, bin]``."""
    population = counts.mean(-2).var(-1)
    single = counts.var(-1).mean(-1)
    return np.sqrt(np.where(single > 0, population / np.where(single > 0, single, 1.0), np.nan))
