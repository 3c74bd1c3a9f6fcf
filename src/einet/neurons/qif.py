r"""Quadratic integrate-and-fire neurons (the normal form of class-1 excitability).

.. math::

    \tau \frac{dv}{dt} = v^2 + \eta + I_{ext} + I_{syn}, \qquad
    \tau_s \frac{dI_{syn}}{dt} = -I_{syn}, \qquad
    v \ge V_p \Rightarrow \text{spike},\; v \leftarrow V_r

``v`` is dimensionless (as in Montbrió, Pazó & Roxin 2015). With
:math:`c = \eta + I` held constant over a step the equation is a Riccati
equation with the closed-form solution

.. math::

    v(t) = \frac{v_0 + c\,G}{1 - v_0\,G}, \qquad
    G = \frac{\tan(\sqrt{c}\, t/\tau)}{\sqrt{c}} \;(c > 0), \quad
    \frac{t}{\tau} \;(c = 0), \quad \frac{\tanh(\sqrt{-c}\, t/\tau)}{\sqrt{-c}} \;(c < 0),

and the time to reach the peak from :math:`v_0` is, for :math:`c > 0`,

.. math:: t_p = \frac{\tau}{\sqrt{c}} \operatorname{atan2}\!\left(\sqrt{c}\,(V_p - v_0),\; c + V_p v_0\right)

(the hyperbolic analogue for :math:`c < 0`, reached only from above the
unstable fixed point :math:`\sqrt{-c}`). :func:`qif_step` uses them to find
every peak crossing inside the step, resets at the exact crossing time and
continues from :math:`V_r` for the rest of the step, so the firing rate for a
constant input is exact at any dt: the period is

.. math:: T = \frac{\tau}{\sqrt{c}}\left(\arctan\frac{V_p}{\sqrt{c}} - \arctan\frac{V_r}{\sqrt{c}}\right)
          \;\xrightarrow{V_p = -V_r \to \infty}\; \frac{\pi\tau}{\sqrt{c}}.

When the period is shorter than dt a neuron emits several spikes in one step;
the returned spikes are then counts (2, 3, ...). Within a step the synaptic
current is held at its value at the start of the step (after adding the
arriving spikes), so the step is exact for piecewise-constant input.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import torch

from einet.numeric import Scalar, check_order, check_positive, decay
from einet.neurons import compiled
from einet.neurons.registry import register_neuron


@dataclass(frozen=True)
class QIFParams:
    """QIF parameters; floats, or tensors broadcastable to ``[batch, neuron]``.

    Attributes
    ----------
    tau : membrane time constant [ms]
    eta : excitability (background input) [1]
    v_peak : peak at which a spike is emitted [1]
    v_reset : reset value [1], below ``v_peak``
    tau_syn : synaptic current time constant [ms]
    """

    tau: Scalar = 10.0
    eta: Scalar = 1.0
    v_peak: Scalar = 100.0
    v_reset: Scalar = -100.0
    tau_syn: Scalar = 5.0

    def __post_init__(self):
        check_positive("QIFParams", tau=self.tau, tau_syn=self.tau_syn)
        check_order("QIFParams", "v_reset", "v_peak", self.v_reset, self.v_peak)


class QIFState(NamedTuple):
    """``[batch, neuron]`` tensors: ``v`` [1] and the synaptic current ``i_syn`` [1]."""

    v: torch.Tensor
    i_syn: torch.Tensor


def qif_initial(p: QIFParams, shape, dtype=torch.float64, device=None) -> QIFState:
    """Start at the reset value with no synaptic current."""
    zeros = torch.zeros(shape, dtype=dtype, device=device)
    return QIFState(zeros + p.v_reset, zeros.clone())


def time_to_peak(v0: torch.Tensor, v_peak, c: torch.Tensor, tau) -> torch.Tensor:
    """Time [ms] for ``tau v' = v^2 + c`` to go from ``v0`` to ``v_peak`` (``inf`` if it never does)."""
    v_peak = torch.zeros_like(v0) + v_peak
    tau = torch.zeros_like(v0) + tau
    r = c.abs().sqrt()
    r_safe = torch.where(r > 0, r, torch.ones_like(r))
    x = c + v_peak * v0
    y = v_peak - v0
    inf = torch.full_like(v0, math.inf)
    pos = tau / r_safe * torch.atan2(r * y, x)  # c > 0: v always increases
    x_safe = torch.where(x > 0, x, torch.ones_like(x))
    z = r * y / x_safe  # c < 0: reached iff v0 is above sqrt(-c) (then 0 <= z < 1)
    z_safe = torch.where((x > 0) & (z < 1), z, torch.zeros_like(z))
    neg = torch.where((x > 0) & (z < 1), tau / r_safe * torch.atanh(z_safe), inf)
    zero = torch.where(x > 0, tau * y / x_safe, inf)  # c == 0: reached iff v0 > 0
    t = torch.where(c > 0, pos, torch.where(c < 0, neg, zero))
    return torch.where(v0 >= v_peak, torch.zeros_like(t), t)


def evolve(v0: torch.Tensor, c: torch.Tensor, t: torch.Tensor, tau) -> torch.Tensor:
    """``v(t)`` of ``tau v' = v^2 + c`` from ``v0``, for a ``t`` that does not reach the blow-up."""
    s = t / tau
    u = c * s * s
    a = u.abs().sqrt()
    a_safe = torch.where(a > 1e-6, a, torch.ones_like(a))
    ratio = torch.where(u > 0, torch.tan(a_safe) / a_safe, torch.tanh(a_safe) / a_safe)
    ratio = torch.where(a > 1e-6, ratio, 1.0 + u / 3.0)  # tan(a)/a and tanh(a)/a near 0
    G = s * ratio
    return (v0 + c * G) / (1.0 - v0 * G)


def _compiled_step(drive, state: QIFState, p: QIFParams, dt: float, arriving):
    """The compiled step's result, or None where it does not apply (:mod:`einet.neurons.compiled`)."""
    v = state.v
    if not compiled.applies(v, (state.i_syn, drive, arriving, p.eta), (p.tau, p.v_peak, p.v_reset, p.tau_syn)):
        return None
    eta, drive_in = compiled.kernel_input(p.eta, v), compiled.kernel_input(drive, v)
    extra = compiled.arrivals(arriving, v)
    if eta is None or drive_in is None or extra is None:
        return None
    from einet import kernels

    module = kernels.load("qif_step")
    if module is None:
        return None
    spikes, v_new, i_new = module.qif_step(v.contiguous(), state.i_syn.contiguous(), eta, drive_in, extra,
                                           float(p.tau), float(p.v_peak), float(p.v_reset), float(dt),
                                           decay(dt, p.tau_syn))
    return spikes, QIFState(v_new, i_new)


def qif_step(drive: torch.Tensor | float, state: QIFState, p: QIFParams, dt: float,
             arriving: torch.Tensor | None = None) -> tuple[torch.Tensor, QIFState]:
    """Advance by ``dt`` [ms] with the exact solution; spikes are counts per step.

    On the CPU the compiled kernel ``qif_step`` does the step when it applies (the same formulas in one
    pass per neuron); otherwise the torch expressions below.

    Parameters
    ----------
    drive : external input I_ext [1], held constant over the step
    state : state at the start of the step
    p : parameters
    dt : step [ms]
    arriving : summed weights [1] of the spikes arriving this step; added to ``i_syn`` first
    """
    compiled = _compiled_step(drive, state, p, dt, arriving)
    if compiled is not None:
        return compiled
    i_syn = state.i_syn if arriving is None else state.i_syn + arriving
    v0 = state.v
    c = p.eta + drive + i_syn + torch.zeros_like(v0)
    v_r = torch.zeros_like(v0) + p.v_reset
    # time to the peak from v (this step's first spike) and from the reset (the period), in one call
    t_first, period = time_to_peak(torch.stack([v0, v_r]), p.v_peak, torch.stack([c, c]), p.tau).unbind(0)
    fired = t_first <= dt
    rest = torch.where(fired, dt - t_first, torch.zeros_like(v0))
    more = fired & (period > 0) & torch.isfinite(period)
    period = torch.where(more, period, torch.full_like(period, math.inf))  # rest / inf = 0 extra spikes
    extra = torch.floor(rest / period)
    rest = rest - extra * torch.where(more, period, torch.zeros_like(period))
    start = torch.where(fired, v_r, v0)
    v = evolve(start, c, torch.where(fired, rest, torch.full_like(rest, dt)), p.tau)
    spikes = fired.to(v0.dtype) * (1.0 + extra)
    return spikes, QIFState(v, i_syn * decay(dt, p.tau_syn))


register_neuron("qif", QIFParams, QIFState, qif_initial, qif_step)
