r"""Adaptive LIF: a LIF neuron with a spike-triggered adaptation current.

.. math::

    \tau_m \frac{dv}{dt} = -(v - E_L) + I_{syn} + I_{ext} - w, \qquad
    \tau_w \frac{dw}{dt} = -w, \qquad w \leftarrow w + b \;\text{at each spike}

so every spike adds ``b`` (mV, as R I) of hyperpolarising current that relaxes
back to its baseline 0 with ``tau_w``. Threshold, reset, refractory period and
synapses are those of :mod:`einet.neurons.lif`; ``w`` decays during the
refractory period too. ``w`` is a third exponentially decaying input to a
linear membrane, so the step is exact in the same sense as the LIF step: the
membrane receives :math:`-w_k\, \tau_w/(\tau_w - \tau_m)(e^{-dt/\tau_w} - e^{-dt/\tau_m})`.
With ``b = 0`` the model is the LIF. Conductance-based synapses work as in
the LIF (:func:`einet.neurons.lif.conductance_membrane_update`): ``w``, like
every current, is then divided by :math:`1 + \sum_r g_r` and filtered with
the effective time constant.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch

from einet.numeric import Scalar, check_positive, decay, filtered_step, steps
from einet.neurons import compiled
from einet.neurons.lif import LIFParams, conductance_membrane_update, membrane_update, threshold_and_reset
from einet.neurons.registry import register_neuron


@dataclass(frozen=True)
class ALIFParams(LIFParams):
    """:class:`~einet.neurons.lif.LIFParams` plus

    Attributes
    ----------
    tau_w : adaptation time constant [ms]
    b : adaptation increment per spike, as R I [mV] (>= 0 hyperpolarises)
    """

    tau_w: Scalar = 200.0
    b: Scalar = 2.0

    def __post_init__(self):
        super().__post_init__()
        check_positive("ALIFParams", tau_w=self.tau_w)


class ALIFState(NamedTuple):
    """``[batch, neuron]`` tensors: ``v`` [mV], ``i_syn`` [mV], ``w`` adaptation [mV], ``refractory`` [steps]."""

    v: torch.Tensor
    i_syn: torch.Tensor
    w: torch.Tensor
    refractory: torch.Tensor


def alif_initial(p: ALIFParams, shape, dtype=torch.float64, device=None) -> ALIFState:
    """At rest with no adaptation."""
    zeros = torch.zeros(shape, dtype=dtype, device=device)
    return ALIFState(zeros + p.v_rest, zeros.clone(), zeros.clone(), zeros.clone())


def _compiled_step(drive, state: ALIFState, p: ALIFParams, dt: float, arriving):
    """The compiled step's result (current-based synapses, scalar parameters), or None where it does not apply
    (:mod:`einet.neurons.compiled`)."""
    v = state.v
    params = (p.tau_m, p.tau_syn, p.tau_w, p.b, p.v_rest, p.v_th, p.v_reset, p.t_ref)
    if not compiled.applies(v, (state.i_syn, state.w, drive, arriving), params):
        return None
    drive_in, extra = compiled.kernel_input(drive, v), compiled.arrivals(arriving, v)
    if drive_in is None or extra is None:
        return None
    from einet import kernels

    module = kernels.load("alif_step")
    if module is None:
        return None
    constants = (decay(dt, p.tau_m), filtered_step(dt, p.tau_m, p.tau_syn), filtered_step(dt, p.tau_m, p.tau_w),
                 decay(dt, p.tau_w), decay(dt, p.tau_syn), p.v_rest, p.v_th, p.v_reset, p.b, steps(p.t_ref, dt))
    spikes, v_new, i_new, w_new, r_new = module.alif_step(
        v.contiguous(), state.i_syn.contiguous(), state.w.contiguous(), state.refractory.to(v.dtype).contiguous(),
        drive_in, extra, *(float(c) for c in constants))
    return spikes, ALIFState(v_new, i_new, w_new, r_new)


def alif_step(drive: torch.Tensor | float, state: ALIFState, p: ALIFParams, dt: float,
              arriving: torch.Tensor | None = None,
              conductance: tuple | None = None) -> tuple[torch.Tensor, ALIFState]:
    """Advance by ``dt`` [ms]; arguments as :func:`einet.neurons.lif.lif_step`. On the CPU, with current-based
    synapses and scalar parameters, the compiled kernel ``alif_step`` does the step (the same expressions)."""
    if conductance is None:
        fast = _compiled_step(drive, state, p, dt, arriving)
        if fast is not None:
            return fast
    i_syn = state.i_syn if arriving is None else state.i_syn + arriving
    if conductance is None:
        v_free = membrane_update(state.v, drive, i_syn, p.v_rest, p.tau_m, p.tau_syn, dt)
        v_free = v_free - state.w * filtered_step(dt, p.tau_m, p.tau_w)
    else:
        v_free, k = conductance_membrane_update(state.v, drive, i_syn, conductance, p.v_rest, p.tau_m,
                                                p.tau_syn, dt)
        v_free = v_free - (state.w / k) * filtered_step(dt, p.tau_m / k, p.tau_w)
    spikes, v, refractory = threshold_and_reset(v_free, state.refractory, p.v_th, p.v_reset, p.t_ref, dt)
    w = state.w * decay(dt, p.tau_w) + p.b * spikes
    return spikes, ALIFState(v, i_syn * decay(dt, p.tau_syn), w, refractory)


register_neuron("alif", ALIFParams, ALIFState, alif_initial, alif_step)
