"""The registry of spiking neuron models: name -> :class:`SpikingModel`.

Every model module ends with one ``register_neuron`` call. All models share
one calling convention, so a network (and the contract test over the
registry) can drive any of them without knowing which it is:

``initial(p, shape, dtype=..., device=...) -> State``
    the resting state, tensors of ``shape`` (``[batch, neuron]``);
``step(drive, state, p, dt, arriving=None) -> (spikes, State)``
    one step of ``dt`` ms. ``drive`` is the external input held constant over
    the step; ``arriving`` is the summed weight of the spikes that reach the
    neuron's synapses at the start of the step (added to the synaptic current).
    ``spikes`` has the dtype of the state and counts the spikes emitted in the
    step (0 or 1 except where a model documents otherwise). The LIF and the
    adaptive LIF also take ``conductance=(g, g_rev)``: summed synaptic
    conductances (in units of the leak conductance) and their reversal-weighted
    sum, held over the step (conductance-based synapses).
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

from einet.registry import Registry


class SpikingModel(NamedTuple):
    """What the registry holds for one neuron model."""

    params: type
    state: type
    initial: Callable[..., Any]
    step: Callable[..., Any]


NEURONS: Registry[SpikingModel] = Registry("spiking neuron model")


def register_neuron(name: str, params: type, state: type, initial: Callable, step: Callable) -> SpikingModel:
    """Register a model under ``name`` (case-insensitive; duplicates are refused)."""
    return NEURONS.register(name, SpikingModel(params, state, initial, step))
