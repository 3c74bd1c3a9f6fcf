"""Spiking and differential-equation neurons, synapses, plasticity and readouts.

One module per job:

============================  =====================================================
``lif``, ``alif``, ``qif``    neuron models (``<Model>Params``, ``<Model>State``,
                              ``<model>_initial``, ``<model>_step``), registered in
                              :data:`einet.spiking.neuron.NEURONS`
``delays``                    ring-buffer transmission delays of whole steps
``traces``                    exponential spike traces
``projection``                event-driven sparse projections (source-major CSR)
``plasticity``                trace bookkeeping and the learning-rule registry
``stdp``                      pair-based and reward-modulated STDP
``ridge``, ``rls``            readouts: ridge regression and RLS/FORCE
``network``, ``run``          a batched network of populations with sparse delayed
                              projections, and its run loop (spike events)
``statistics``                rates, ISI CV, Fano factor, synchrony from events
``experiment``                the ``spiking:`` config section as a pipeline run
``reservoir``                 tanh reservoir with ridge and FORCE readouts
                              (``reservoir_experiment``: the ``reservoir:`` section)
============================  =====================================================

Everything works on ``[batch, neuron]`` tensors of any float dtype on any
device; times are in ms. Parameters may be floats or ``[batch, 1]`` tensors,
so a batch sweeps them.
"""

from einet.spiking import alif, lif, qif, stdp  # noqa: F401  (register the models and rules)
from einet.spiking.alif import ALIFParams, ALIFState, alif_initial, alif_step
from einet.spiking.delays import DelayState, delay_initial, delay_step, delay_steps
from einet.spiking.lif import LIFParams, LIFState, lif_initial, lif_step
from einet.spiking.neuron import NEURONS, SpikingModel, register_neuron
from einet.spiking.plasticity import (
    LEARNING_RULES,
    PlasticityState,
    SynapseActivity,
    learning_rule,
    plasticity_initial,
    plasticity_step,
    register_rule,
)
from einet.spiking.projection import DenseSynapses, SparseProjection
from einet.spiking.qif import QIFParams, QIFState, qif_initial, qif_step
from einet.spiking.ridge import LinearReadout, downsample, fit_ridge
from einet.spiking.rls import RLSState, rls_initial, rls_step
from einet.spiking.stdp import STDP, RewardSTDP
from einet.spiking.traces import trace_decay, trace_step

__all__ = [
    "ALIFParams", "ALIFState", "alif_initial", "alif_step",
    "DelayState", "delay_initial", "delay_step", "delay_steps",
    "LIFParams", "LIFState", "lif_initial", "lif_step",
    "NEURONS", "SpikingModel", "register_neuron",
    "LEARNING_RULES", "PlasticityState", "SynapseActivity", "learning_rule",
    "plasticity_initial", "plasticity_step", "register_rule",
    "DenseSynapses", "SparseProjection",
    "QIFParams", "QIFState", "qif_initial", "qif_step",
    "LinearReadout", "downsample", "fit_ridge",
    "RLSState", "rls_initial", "rls_step",
    "STDP", "RewardSTDP",
    "trace_decay", "trace_step",
]
