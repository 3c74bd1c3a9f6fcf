"""Population-vector decoding of activity bumps on a ring.

A population whose neurons have preferred angles evenly spaced on a ring is
summarised by the first two Fourier modes of its rate profile:
``r(theta) ~ m0 + m1 cos(theta - phase)``.
"""

from __future__ import annotations

import math

import torch

from einet.model.connectivity import ring_angles

__all__ = ["decode", "ring_angles"]


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
