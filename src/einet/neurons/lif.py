r"""Leaky integrate-and-fire neurons with a refractory period and exponential current synapses.

.. math::

    \tau_m \frac{dv}{dt} = -(v - E_L) + I_{syn} + I_{ext}, \qquad
    \tau_s \frac{dI_{syn}}{dt} = -I_{syn}, \qquad
    I_{syn} \leftarrow I_{syn} + \sum_j w_j \;\text{on arrival of a spike from } j

Currents are expressed as the voltage they produce across the membrane
resistance (:math:`R I`, in mV), so no resistance appears. When :math:`v`
reaches :math:`V_{th}` at the end of a step the neuron spikes, :math:`v` is
set to :math:`V_{reset}` and held there for ``t_ref`` (rounded to whole steps)
while the synaptic current keeps evolving.

The subthreshold system is linear, so :func:`lif_step` advances it with its
exact solution for an external input held constant over the step (exponential
Euler, Rotter & Diesmann 1999):

.. math::

    v_{k+1} = E_L + (v_k - E_L) e^{-dt/\tau_m} + I_{ext} (1 - e^{-dt/\tau_m})
              + I_{syn,k}\, \frac{\tau_s}{\tau_s - \tau_m}\left(e^{-dt/\tau_s} - e^{-dt/\tau_m}\right)

For a constant input :math:`\mu = E_L + I_{ext} > V_{th}` the neuron then
fires every :math:`n_{ref} + \lceil (\tau_m/dt) \ln\frac{\mu - V_{reset}}{\mu - V_{th}} \rceil`
steps, which tends to :math:`t_{ref} + \tau_m \ln\frac{\mu - V_{reset}}{\mu - V_{th}}` as dt -> 0.

**Conductance-based synapses** (optional: the ``conductance`` argument of
:func:`lif_step`) add :math:`-\sum_r g_r (v - E_r)` to the right-hand side,
with each conductance :math:`g_r` in units of the leak conductance
(:math:`g_r/g_L`, dimensionless, so again no resistance appears) and
:math:`E_r` its reversal potential. With the conductances held at their value
at the start of the step (after the arriving spikes are added), the membrane
is again linear with the effective time constant and rest

.. math::

    \tau_{eff} = \frac{\tau_m}{1 + \sum_r g_r}, \qquad
    E_{eff} = \frac{E_L + \sum_r g_r E_r}{1 + \sum_r g_r},

and the currents are divided by :math:`1 + \sum_r g_r`; the step is the
exponential Euler step of that linear system. It is exact while the
conductances are constant and first-order accurate in dt when they decay
within the step (the error is that of holding :math:`g` over one step). A
constant conductance therefore gives a LIF with :math:`\tau_{eff}` and
:math:`E_{eff}` (plus :math:`I_{ext}/(1 + \sum g)`), and the period formula
above with those values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch

from einet.numeric import Scalar, check_order, check_positive, decay, filtered_step, steps
from einet.neurons.registry import register_neuron


@dataclass(frozen=True)
class LIFParams:
    """LIF parameters; floats, or tensors broadcastable to ``[batch, neuron]`` (e.g. ``[batch, 1]``).

    Attributes
    ----------
    tau_m : membrane time constant [ms]
    tau_syn : synaptic current time constant [ms]
    v_rest : resting potential E_L [mV]
    v_th : spike threshold [mV]
    v_reset : reset potential [mV], below ``v_th``
    t_ref : absolute refractory period [ms], rounded to whole steps of dt
    """

    tau_m: Scalar = 20.0
    tau_syn: Scalar = 5.0
    v_rest: Scalar = -65.0
    v_th: Scalar = -50.0
    v_reset: Scalar = -65.0
    t_ref: Scalar = 2.0

    def __post_init__(self):
        check_positive("LIFParams", tau_m=self.tau_m, tau_syn=self.tau_syn)
        check_order("LIFParams", "v_reset", "v_th", self.v_reset, self.v_th)
        if (bool((self.t_ref < 0).any()) if isinstance(self.t_ref, torch.Tensor) else self.t_ref < 0):
            raise ValueError(f"LIFParams.t_ref must be >= 0, got {self.t_ref!r}")


class LIFState(NamedTuple):
    """``[batch, neuron]`` tensors.

    Attributes
    ----------
    v : membrane potential [mV]
    i_syn : synaptic current, as R I [mV]
    refractory : refractory steps still to wait (0 when the neuron integrates)
    """

    v: torch.Tensor
    i_syn: torch.Tensor
    refractory: torch.Tensor


def lif_initial(p: LIFParams, shape, dtype=torch.float64, device=None) -> LIFState:
    """At rest: ``v = v_rest``, no synaptic current, not refractory."""
    zeros = torch.zeros(shape, dtype=dtype, device=device)
    return LIFState(zeros + p.v_rest, zeros.clone(), zeros.clone())


def membrane_update(v, drive, i_syn, v_rest, tau_m, tau_syn, dt):
    """The exact subthreshold update of ``v`` over one step (shared with the adaptive LIF)."""
    a = decay(dt, tau_m)
    return v_rest + (v - v_rest) * a + drive * (1.0 - a) + i_syn * filtered_step(dt, tau_m, tau_syn)


def conductance_membrane_update(v, drive, i_syn, conductance, v_rest, tau_m, tau_syn, dt):
    """The subthreshold update of ``v`` with conductances held over the step (shared with the adaptive LIF).

    ``conductance`` is ``(g, g_rev)``: the summed conductances :math:`\\sum_r g_r` [g_L] and
    :math:`\\sum_r g_r E_r` [mV] at the start of the step. Returns ``v_free`` and the factor
    :math:`k = 1 + \\sum_r g_r` (``tau_eff = tau_m / k``), which other currents of the model need too.
    """
    g, g_rev = conductance
    k = 1.0 + g
    tau_eff = tau_m / k
    a = decay(dt, tau_eff)
    v_inf = (v_rest + g_rev + drive) / k  # effective rest, shifted by the external drive
    return v_inf + (v - v_inf) * a + (i_syn / k) * filtered_step(dt, tau_eff, tau_syn), k


def threshold_and_reset(v_free, refractory, v_th, v_reset, t_ref, dt):
    """Hold refractory neurons at reset, detect spikes, reset them and restart their refractory count."""
    active = refractory <= 0
    fired = active & (v_free >= v_th)
    # scalars go straight into where (no full-size temporaries: this runs every step of every network)
    v = torch.where(fired | ~active, v_reset, v_free)
    refractory = torch.where(fired, steps(t_ref, dt), (refractory - 1.0).clamp(min=0.0))
    return fired.to(v.dtype), v, refractory


def lif_step(drive: torch.Tensor | float, state: LIFState, p: LIFParams, dt: float,
             arriving: torch.Tensor | None = None,
             conductance: tuple | None = None) -> tuple[torch.Tensor, LIFState]:
    """Advance by ``dt`` [ms].

    Parameters
    ----------
    drive : external input R I_ext [mV], held constant over the step, ``[batch, neuron]`` or broadcastable
    state : the state at the start of the step
    p : parameters
    dt : step [ms]
    arriving : summed weights [mV] of the spikes arriving this step; added to ``i_syn`` first
    conductance : None (current-based synapses only), or ``(g, g_rev)``: the summed synaptic conductances
        :math:`\\sum_r g_r` in units of the leak conductance and :math:`\\sum_r g_r E_r` [mV], held over the
        step (the conductances themselves, with their own dynamics, are kept by the caller, e.g. the network)

    Returns
    -------
    spikes, state : 0/1 spikes of this step and the state at its end
    """
    i_syn = state.i_syn if arriving is None else state.i_syn + arriving
    if conductance is None:
        v_free = membrane_update(state.v, drive, i_syn, p.v_rest, p.tau_m, p.tau_syn, dt)
    else:
        v_free, _ = conductance_membrane_update(state.v, drive, i_syn, conductance, p.v_rest, p.tau_m,
                                                p.tau_syn, dt)
    spikes, v, refractory = threshold_and_reset(v_free, state.refractory, p.v_th, p.v_reset, p.t_ref, dt)
    return spikes, LIFState(v, i_syn * decay(dt, p.tau_syn), refractory)


register_neuron("lif", LIFParams, LIFState, lif_initial, lif_step)
