"""Short-term plasticity (Tsodyks–Markram, in the rate form of Mongillo et al. 2008).

Each presynaptic neuron carries a release probability ``u`` (facilitation) and
a fraction of available resources ``x`` (depression); the projection transmits
``u x r`` instead of ``r``:

.. math::

    \\frac{du}{dt} = \\frac{U - u}{\\tau_f} + U (1 - u)\\, r, \\qquad
    \\frac{dx}{dt} = \\frac{1 - x}{\\tau_d} - u\\, x\\, r

Rates are read as Hz and times are in ms, so ``r`` enters as ``r / 1000``
per ms. Both equations are linear in their own variable for a rate held over
a step, so :func:`stp_step` integrates them exactly; the steady state

.. math:: u^* = \\frac{U (1 + \\tau_f r)}{1 + U \\tau_f r}, \\qquad x^* = \\frac{1}{1 + u^* \\tau_d r}

is therefore reached for any dt.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch

PER_MS = 1e-3  # a rate in Hz, per ms


class STPState(NamedTuple):
    """``u`` and ``x`` of every presynaptic neuron, ``[batch, N_source]``."""

    u: torch.Tensor
    x: torch.Tensor


@dataclass(frozen=True)
class STPParams:
    """Per-batch-element parameters, each ``[batch, 1]``; times in ms."""

    U: torch.Tensor
    tau_fac: torch.Tensor
    tau_rec: torch.Tensor


def stp_initial(params: STPParams, n_source: int) -> STPState:
    """At rest: ``u = U`` and ``x = 1``."""
    batch = params.U.shape[0]
    return STPState(params.U.expand(batch, n_source).clone(), torch.ones_like(params.U).expand(batch, n_source).clone())


def stp_step(rate: torch.Tensor, state: STPState, p: STPParams, dt: float) -> STPState:
    """Advance ``u`` then ``x`` by ``dt`` [ms] with the presynaptic ``rate`` [Hz] held constant."""
    r = rate.clamp(min=0.0) * PER_MS
    a = 1.0 / p.tau_fac + p.U * r  # u relaxes at rate a towards u_inf
    u_inf = (p.U / p.tau_fac + p.U * r) / a
    u = u_inf + (state.u - u_inf) * torch.exp(-a * dt)
    b = 1.0 / p.tau_rec + u * r  # x relaxes at rate b towards x_inf, given the new u
    x_inf = (1.0 / p.tau_rec) / b
    x = x_inf + (state.x - x_inf) * torch.exp(-b * dt)
    return STPState(u, x)


def transmitted(rate: torch.Tensor, state: STPState) -> torch.Tensor:
    """What the projection carries: ``u x r``."""
    return state.u * state.x * rate
