"""Trace-based synaptic plasticity: the step that drives traces and the registry of learning rules.

:func:`plasticity_step` keeps one exponential trace per source neuron and one
per target neuron, maps both onto the synapses (dense or sparse, see
:mod:`einet.synapses.projection`) and hands a :class:`SynapseActivity` to the
rule, which returns the new weights. Within a step:

1. both traces decay by one step;
2. the presynaptic spikes *arriving* this step (after the projection's delay)
   are added to the presynaptic trace;
3. the rule runs: potentiation reads the presynaptic trace (which includes
   this step's arrivals), depression reads the postsynaptic trace *before*
   this step's postsynaptic spikes; so a pair in the same step counts as
   causal (pre before post), and a pair is never counted twice;
4. the postsynaptic spikes are added to the postsynaptic trace.

Spike timing is therefore measured at the synapse: a spike sent with a delay
of ``d`` steps pairs with postsynaptic spikes from its arrival on.

Adding a rule
-------------
A rule is a frozen dataclass with ``tau_pre`` and ``tau_post`` (trace time
constants, ms), ``initial(weights)`` (its own state, or ``None``) and
``update(weights, activity, state) -> (weights, state)``. Register it and
build it by name::

    from dataclasses import dataclass
    from einet.plasticity.spiking import register_rule, learning_rule

    @register_rule("hebb")
    @dataclass(frozen=True)
    class Hebb:
        lr: float = 1e-3       # per coincidence
        tau_pre: float = 20.0  # ms
        tau_post: float = 20.0  # ms

        def initial(self, weights):
            return None

        def update(self, weights, a, state):
            return weights + self.lr * a.pre_trace * a.post_spikes, state

    rule = learning_rule("hebb", lr=1e-2)   # unknown options are refused by name

The built-in rules (``stdp``, ``reward_stdp``) live in :mod:`einet.plasticity.stdp`.
The registry is the one of :mod:`einet.plasticity.registry`, which also holds
the rate rules (``hebbian``, ``oja``, ``bcm``, ...); :func:`learning_rule`
here builds spike rules only and reports a rate rule as unknown.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol

import torch

from einet.plasticity import registry as _registry
from einet.plasticity.registry import LEARNING_RULES, register_rule  # noqa: F401  (public names of this module)
from einet.synapses.traces import trace_decay, trace_step


class SynapseActivity(NamedTuple):
    """What a rule sees, every field broadcastable to the weight tensor.

    Attributes
    ----------
    pre_spikes : presynaptic spikes arriving this step (counts)
    pre_trace : presynaptic trace, including this step's arrivals
    post_spikes : postsynaptic spikes of this step
    post_trace : postsynaptic trace before this step's postsynaptic spikes
    reward : ``[batch, 1]``-broadcastable reward of this step (0 when none was given)
    dt : step [ms]
    """

    pre_spikes: torch.Tensor
    pre_trace: torch.Tensor
    post_spikes: torch.Tensor
    post_trace: torch.Tensor
    reward: torch.Tensor | float
    dt: float


class LearningRule(Protocol):
    tau_pre: float
    tau_post: float

    def initial(self, weights: torch.Tensor) -> Any: ...

    def update(self, weights: torch.Tensor, activity: SynapseActivity, state: Any) -> tuple[torch.Tensor, Any]: ...


def learning_rule(name: str, **options) -> LearningRule:
    """Build the spike rule registered as ``name``; an unknown option is named along with the valid ones."""
    return _registry.learning_rule(name, "spike", **options)


class PlasticityState(NamedTuple):
    """``pre_trace`` ``[batch, N_s]``, ``post_trace`` ``[batch, N_t]`` and the rule's own state."""

    pre_trace: torch.Tensor
    post_trace: torch.Tensor
    rule: Any


def plasticity_initial(rule: LearningRule, weights: torch.Tensor, batch: int, n_source: int,
                       n_target: int) -> PlasticityState:
    """Empty traces (zeros) with the dtype and device of ``weights``."""
    zeros = weights.new_zeros
    return PlasticityState(zeros((batch, n_source)), zeros((batch, n_target)), rule.initial(weights))


def plasticity_step(rule: LearningRule, weights: torch.Tensor, state: PlasticityState, pre_spikes: torch.Tensor,
                    post_spikes: torch.Tensor, synapses, dt: float,
                    reward: torch.Tensor | float | None = None) -> tuple[torch.Tensor, PlasticityState]:
    """One step of learning; see the module docstring for the order of events.

    Parameters
    ----------
    rule : a registered rule instance
    weights : ``[batch, nnz]`` (sparse) or ``[batch, N_t, N_s]`` (dense) weights, one set per batch element
    state : traces and rule state
    pre_spikes : ``[batch, N_s]`` spikes arriving at the synapses this step (already delayed)
    post_spikes : ``[batch, N_t]`` spikes of the targets this step
    synapses : a :class:`~einet.synapses.projection.SparseProjection` or
        :class:`~einet.synapses.projection.DenseSynapses` (maps neurons onto synapses)
    dt : step [ms]
    reward : reward of this step, a number or ``[batch]`` / ``[batch, 1]``
    """
    pre_trace = trace_step(state.pre_trace, pre_spikes, trace_decay(rule.tau_pre, dt))
    post_before = state.post_trace * trace_decay(rule.tau_post, dt)
    if reward is None:
        reward = 0.0
    elif isinstance(reward, torch.Tensor) and reward.dim() == 1:
        reward = reward.reshape((-1,) + (1,) * (weights.dim() - 1))
    activity = SynapseActivity(synapses.pre(pre_spikes), synapses.pre(pre_trace), synapses.post(post_spikes),
                               synapses.post(post_before), reward, dt)
    weights, rule_state = rule.update(weights, activity, state.rule)
    return weights, PlasticityState(pre_trace, post_before + post_spikes, rule_state)
