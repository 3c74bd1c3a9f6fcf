"""Population-vector decoding of activity bumps on a ring.

A population whose neurons have preferred angles evenly spaced on a ring is
summarised by the first two Fourier modes of its rate profile:
``r(theta) ~ m0 + m1 cos(theta - phase)``.
"""

from __future__ import annotations

import math

import torch

from einet.numeric import ring_angles

__all__ = ["decode", "drift_diffusion", "persistence", "ring_angles"]


def decode(rates: torch.Tensor, angles: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Mean ``m0``, first-harmonic amplitude ``m1`` and ``phase`` in [0, 2 pi) over the last axis.

    .. math::

        m_0 = \\langle r \\rangle, \\quad
        m_1 e^{i\\phi} = 2 \\langle r\\, e^{i\\theta} \\rangle

    For evenly spaced angles (the default) this recovers ``m0``, ``m1`` and
    ``phase`` of ``m0 + m1 cos(theta - phase)`` exactly for any n >= 3.
    """
    n = rates.shape[-1]
    if angles is None:
        angles = ring_angles(n, dtype=rates.dtype).to(rates.device)
    if angles.shape[-1] != n:
        raise ValueError(f"{angles.shape[-1]} angles for {n} neurons")
    m0 = rates.mean(dim=-1)
    c = 2.0 * (rates * torch.cos(angles)).mean(dim=-1)
    s = 2.0 * (rates * torch.sin(angles)).mean(dim=-1)
    m1 = torch.sqrt(c * c + s * s)
    phase = torch.remainder(torch.atan2(s, c), 2.0 * math.pi)
    return m0, m1, phase


def drift_diffusion(phase, times) -> dict[str, float]:
    """Drift and diffusion of bump phases over a delay, from many trials.

    Parameters
    ----------
    phase : array [trial, time]
        Decoded phases [rad] (wrapped or not); time 0 is the start of the delay.
    times : array [time]
        Sample times [ms].

    Returns drift [rad/s] (least-squares slope, through the origin, of the
    trials' mean displacement) and diffusion D [rad^2/s] (half the slope of the
    displacement variance, var = 2 D t), the usual random-walk reading of a
    ring attractor's memory error.
    """
    import numpy as np

    phase = np.unwrap(np.asarray(phase, dtype=float), axis=-1)
    t = (np.asarray(times, dtype=float) - float(times[0])) / 1000.0  # s since the first sample
    displacement = phase - phase[:, :1]
    mean = displacement.mean(axis=0)
    var = displacement.var(axis=0, ddof=1) if phase.shape[0] > 1 else np.zeros_like(mean)
    tt = float(t @ t)
    if tt == 0:
        raise ValueError("drift_diffusion needs at least two distinct sample times")
    return {"drift": float(t @ mean) / tt, "diffusion": float(t @ var) / tt / 2.0}


def persistence(m0, m1):
    """Bump persistence m1 / m0 (0 for a uniform profile, 0 where m0 = 0)."""
    import numpy as np

    m0, m1 = np.asarray(m0, dtype=float), np.asarray(m1, dtype=float)
    return np.divide(m1, m0, out=np.zeros_like(m1), where=m0 > 0)
