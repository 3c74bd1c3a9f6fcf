"""Spiking and differential-equation neurons, synapses, plasticity and readouts.

One module per job:

============================  =====================================================
``lif``, ``alif``, ``qif``    neuron models (``<Model>Params``, ``<Model>State``,
                              ``<model>_initial``, ``<model>_step``), registered in
                              :data:`einet.neurons.registry.NEURONS`; the LIF and the
                              adaptive LIF also integrate synaptic conductances
``delays``                    ring-buffer transmission delays of whole steps
``traces``                    exponential spike traces
``projection``                event-driven sparse projections (source-major CSR)
``plasticity``                trace bookkeeping and the learning-rule registry
``stdp``                      pair-based and reward-modulated STDP
``poisson``                   Poisson spike sources, independent or in correlated groups
``stdp_neuron``               one LIF neuron learning its Poisson inputs by STDP
                              (``stdp_experiment``: the ``stdp:`` section)
``ridge``, ``rls``            readouts: ridge regression and RLS/FORCE
``surrogate``                 spike nonlinearities with registered surrogate derivatives
``trainable``, ``eprop``      a differentiable recurrent LIF/ALIF network (RSNN) trained by
                              surrogate-gradient BPTT (``fit_bptt``) or e-prop (``fit_eprop``)
``network``, ``run``          a batched network of populations with sparse delayed
                              projections, and its run loop (spike events)
``statistics``                rates, ISI CV, Fano factor, synchrony from events
``experiment``                the ``spiking:`` config section as a pipeline run
``reservoir``                 tanh and QIF reservoirs with ridge and FORCE readouts
                              (``reservoir_experiment``: the ``reservoir:`` section)
============================  =====================================================

Everything works on ``[batch, neuron]`` tensors of any float dtype on any
device; times are in ms. Parameters may be floats or ``[batch, 1]`` tensors,
so a batch sweeps them.
"""

from einet.neurons import alif, lif, qif  # noqa: F401  (register the models)
from einet.plasticity import stdp  # noqa: F401  (register the rules)
from einet.neurons.alif import ALIFParams, ALIFState, alif_initial, alif_step
from einet.synapses.delays import DelayState, delay_initial, delay_step, delay_steps
from einet.spiking.eprop import eprop_gradients, fit_eprop, random_feedback
from einet.neurons.lif import LIFParams, LIFState, lif_initial, lif_step
from einet.neurons.registry import NEURONS, SpikingModel, register_neuron
from einet.plasticity.spiking import (
    LEARNING_RULES,
    PlasticityState,
    SynapseActivity,
    learning_rule,
    plasticity_initial,
    plasticity_step,
    register_rule,
)
from einet.synapses.poisson import correlated_poisson, indicator_correlation, poisson_spikes, spike_probability
from einet.synapses.projection import DenseSynapses, SparseProjection
from einet.neurons.qif import QIFParams, QIFState, qif_initial, qif_step
from einet.spiking.ridge import LinearReadout, downsample, fit_ridge
from einet.spiking.rls import RLSState, rls_initial, rls_step
from einet.plasticity.stdp import STDP, RewardSTDP
from einet.neurons.surrogate import SURROGATES, Surrogate, register_surrogate
from einet.synapses.traces import trace_decay, trace_step
from einet.network.rsnn import (
    RSNN, Gradients, RSNNParams, RSNNRun, RSNNState, RSNNWeights, TrainingHistory,
    bptt_gradients, fit_bptt, rsnn_initial, rsnn_loss, rsnn_run, rsnn_step,
)

__all__ = [
    "ALIFParams", "ALIFState", "alif_initial", "alif_step",
    "DelayState", "delay_initial", "delay_step", "delay_steps",
    "LIFParams", "LIFState", "lif_initial", "lif_step",
    "NEURONS", "SpikingModel", "register_neuron",
    "LEARNING_RULES", "PlasticityState", "SynapseActivity", "learning_rule",
    "plasticity_initial", "plasticity_step", "register_rule",
    "DenseSynapses", "SparseProjection",
    "correlated_poisson", "indicator_correlation", "poisson_spikes", "spike_probability",
    "QIFParams", "QIFState", "qif_initial", "qif_step",
    "LinearReadout", "downsample", "fit_ridge",
    "RLSState", "rls_initial", "rls_step",
    "SURROGATES", "Surrogate", "register_surrogate",
    "RSNN", "RSNNParams", "RSNNRun", "RSNNState", "RSNNWeights", "Gradients", "TrainingHistory",
    "rsnn_initial", "rsnn_step", "rsnn_run", "rsnn_loss", "bptt_gradients", "fit_bptt",
    "eprop_gradients", "fit_eprop", "random_feedback",
    "STDP", "RewardSTDP",
    "trace_decay", "trace_step",
]
