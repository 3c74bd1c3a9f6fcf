r"""Exponential spike traces, the local memory that STDP reads.

.. math:: \tau \frac{dx}{dt} = -x + a \sum_k \delta(t - t_k)

integrated exactly between spikes: each step the trace decays by
:math:`\lambda = e^{-dt/\tau}` and then the spikes of the step are added
(``mode="all"``: every past spike counts) or set it to ``a``
(``mode="nearest"``: only the latest spike counts). Driven by a spike every
step, the "all" trace converges to the geometric-series limit :math:`a/(1-\lambda)`.

Which spikes drive a trace is the caller's choice; for a delayed projection
the presynaptic trace is driven by the *arriving* (delayed) spikes, so that
plasticity sees spike timing at the synapse (see :mod:`einet.plasticity.spiking`).
"""

from __future__ import annotations

import torch

from einet.numeric import Scalar, decay

TRACE_MODES = ("all", "nearest")


def trace_decay(tau: Scalar, dt: float) -> Scalar:
    """The per-step factor :math:`e^{-dt/\\tau}` (``tau`` [ms], ``dt`` [ms])."""
    return decay(dt, tau)


def trace_step(trace: torch.Tensor, spikes: torch.Tensor, factor: Scalar, amplitude: Scalar = 1.0,
               mode: str = "all") -> torch.Tensor:
    """Decay ``trace`` by ``factor`` and add (or, for ``mode="nearest"``, set) ``amplitude`` per spike."""
    if mode == "all":
        return trace * factor + amplitude * spikes
    if mode == "nearest":
        return torch.where(spikes > 0, torch.zeros_like(trace) + amplitude, trace * factor)
    raise ValueError(f"unknown trace mode {mode!r}; known: {', '.join(TRACE_MODES)}")
