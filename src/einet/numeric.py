"""Small numerical helpers: exact propagators, parameter checks, ring geometry, Dale's projection.

Parameters of the spiking models are Python floats or tensors that broadcast
against ``[batch, neuron]`` (usually ``[batch, 1]`` for a batch sweep), so the
helpers here accept both and never move anything between devices.
"""

from __future__ import annotations

import math
from typing import Union

import torch

Scalar = Union[float, torch.Tensor]


def exp(x: Scalar) -> Scalar:
    """``exp`` of a float or a tensor."""
    return torch.exp(x) if isinstance(x, torch.Tensor) else math.exp(x)


def decay(dt: float, tau: Scalar) -> Scalar:
    r"""The exact one-step decay factor :math:`e^{-dt/\tau}` of :math:`\tau \dot x = -x`."""
    return exp(-dt / tau)


def exprel(q: Scalar) -> Scalar:
    r""":math:`(e^q - 1)/q`, equal to 1 at :math:`q = 0` and accurate near it."""
    if not isinstance(q, torch.Tensor):
        return 1.0 + 0.5 * q if abs(q) < 1e-8 else math.expm1(q) / q
    small = q.abs() < 1e-8
    safe = torch.where(small, torch.ones_like(q), q)
    return torch.where(small, 1.0 + 0.5 * q, torch.expm1(safe) / safe)


def filtered_step(dt: float, tau_m: Scalar, tau_in: Scalar) -> Scalar:
    r"""Membrane response over one step to a current that decays with ``tau_in``.

    For :math:`\tau_m \dot v = -v + I(t)` with :math:`I(t) = I_0 e^{-t/\tau_{in}}`
    and :math:`v(0) = 0`,

    .. math::

        v(dt) = I_0 \frac{\tau_{in}}{\tau_{in} - \tau_m}\left(e^{-dt/\tau_{in}} - e^{-dt/\tau_m}\right)
              = I_0 \frac{dt}{\tau_m} e^{-dt/\tau_m}\, \mathrm{exprel}\!\left(dt\,(1/\tau_m - 1/\tau_{in})\right),

    the second form being finite (and exact) when the two time constants are equal.
    """
    return (dt / tau_m) * exp(-dt / tau_m) * exprel(dt * (1.0 / tau_m - 1.0 / tau_in))


def steps(duration: Scalar, dt: float) -> Scalar:
    """A duration [ms] as a whole number of steps (rounded to the nearest)."""
    if isinstance(duration, torch.Tensor):
        return torch.round(duration / dt)
    return float(round(duration / dt))


class ParameterError(ValueError):
    """A neuron or synapse parameter out of its range; ``key`` names the parameter, so a config check can
    report the config key it came from."""

    def __init__(self, message: str, key: str, value, expected: str):
        super().__init__(message)
        self.key, self.value, self.expected = key, value, expected


def check_positive(owner: str, **values: Scalar) -> None:
    """Raise :class:`ParameterError` naming the field when a value is not > 0."""
    for name, value in values.items():
        ok = bool((value > 0).all()) if isinstance(value, torch.Tensor) else value > 0
        if not ok:
            raise ParameterError(f"{owner}.{name} must be > 0, got {value!r}", name, value, "a number > 0")


def check_order(owner: str, low: str, high: str, lo: Scalar, hi: Scalar) -> None:
    """Raise :class:`ParameterError` (naming ``low``) unless ``lo < hi`` everywhere."""
    diff = hi - lo
    ok = bool((diff > 0).all()) if isinstance(diff, torch.Tensor) else diff > 0
    if not ok:
        raise ParameterError(f"{owner}: {low} must be below {high}, got {low}={lo!r}, {high}={hi!r}", low, lo,
                             f"a value below {high} = {hi!r}")


def ring_angles(n: int, dtype=torch.float64) -> torch.Tensor:
    """Preferred angles of ``n`` neurons evenly spaced on a ring, in radians."""
    return torch.arange(n, dtype=dtype) * (2.0 * math.pi / n)


def dale_project(weights: torch.Tensor, sign: Scalar) -> torch.Tensor:
    """The nearest weights of the given sign: entries on the wrong side of 0 become 0.

    ``sign`` is +1 (excitatory source), -1 (inhibitory) or 0 (no constraint), or a tensor of such signs that
    broadcasts against ``weights`` (one per source column). The one Dale's-law projection of einet: layered
    networks, trained rate networks and recurrent spiking networks all clamp through it after each update.
    """
    if isinstance(sign, torch.Tensor):
        return torch.where(weights * sign < 0, torch.zeros_like(weights), weights)
    if sign > 0:
        return weights.clamp(min=0.0)
    if sign < 0:
        return weights.clamp(max=0.0)
    return weights
