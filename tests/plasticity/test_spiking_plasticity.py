"""STDP and reward-modulated STDP against the pair kernel (einet.plasticity.spiking, stdp)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest
import torch

from einet.plasticity.spiking import LEARNING_RULES, learning_rule, plasticity_initial, plasticity_step
from einet.synapses.delays import delay_initial, delay_step
from einet.synapses.projection import DenseSynapses, SparseProjection

F64 = torch.float64
DT = 0.5


def one_pair(rule, w0, t_pre, t_post, n=80, delay=0, reward_at=None, reward=0.0):
    """One synapse, one presynaptic spike sent at step t_pre (arriving delay steps later), one
    postsynaptic spike at t_post; returns the final weight."""
    w = torch.full((1, 1, 1), w0, dtype=F64)
    state = plasticity_initial(rule, w, 1, 1, 1)
    line = delay_initial(delay, (1, 1))
    for t in range(n):
        sent = torch.full((1, 1), float(t == t_pre), dtype=F64)
        arrived, line = delay_step(sent, line)
        post = torch.full((1, 1), float(t == t_post), dtype=F64)
        r = reward if t == reward_at else None
        w, state = plasticity_step(rule, w, state, arrived, post, DenseSynapses(), DT, reward=r)
    return w.item()


@pytest.mark.parametrize("lag", [-12, -3, -1, 0, 1, 4, 15])
@pytest.mark.parametrize("delay", [0, 3])
def test_additive_stdp_follows_the_pair_kernel(lag, delay):
    """lag = t_post - t_arrival (steps): dw = A+ e^{-lag dt/tau+} (lag >= 0), -A- e^{lag dt/tau-} (lag < 0)."""
    rule = learning_rule("stdp", a_plus=0.01, a_minus=0.012, tau_pre=10.0, tau_post=20.0, w_min=-1.0, w_max=2.0)
    t_pre = 30
    dw = one_pair(rule, 0.5, t_pre, t_pre + delay + lag, delay=delay) - 0.5
    if lag >= 0:
        expected = 0.01 * math.exp(-lag * DT / 10.0)
    else:
        expected = -0.012 * math.exp(lag * DT / 20.0)
    assert dw == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("lag", [-5, 2])
def test_multiplicative_stdp_scales_with_the_distance_to_the_bound(lag):
    rule = learning_rule("stdp", a_plus=0.1, a_minus=0.2, tau_pre=20.0, tau_post=20.0, w_min=0.0, w_max=1.0,
                         dependence="multiplicative")
    w0 = 0.3
    dw = one_pair(rule, w0, 30, 30 + lag) - w0
    k = math.exp(-abs(lag) * DT / 20.0)
    expected = 0.1 * (1.0 - w0) * k if lag >= 0 else -0.2 * (w0 - 0.0) * k
    assert dw == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("dependence", ["additive", "multiplicative"])
def test_weights_stay_in_bounds_under_random_spike_trains(dependence):
    rule = learning_rule("stdp", a_plus=0.3, a_minus=0.35, tau_pre=10.0, tau_post=10.0, w_min=-0.5, w_max=0.7,
                         dependence=dependence)
    g = torch.Generator().manual_seed(4)
    w = (torch.rand(3, 8, 6, generator=g, dtype=F64) * 1.2 - 0.5)
    state = plasticity_initial(rule, w, 3, 6, 8)
    lo, hi = [], []
    for _ in range(400):
        pre = (torch.rand(3, 6, generator=g) < 0.3).to(F64)
        post = (torch.rand(3, 8, generator=g) < 0.3).to(F64)
        w, state = plasticity_step(rule, w, state, pre, post, DenseSynapses(), DT)
        lo.append(w.min().item())
        hi.append(w.max().item())
    assert min(lo) >= -0.5 and max(hi) <= 0.7
    assert torch.isfinite(w).all()
    assert min(lo) < -0.45 and max(hi) > 0.65  # the amplitudes are large enough to reach the bounds


@pytest.mark.parametrize("name", ["stdp", "reward_stdp"])
def test_no_spikes_leave_weights_and_traces_exactly_unchanged(name):
    rule = learning_rule(name, dependence="multiplicative")
    w = torch.tensor([[0.0, 1.0, 0.5]], dtype=F64)  # at both bounds and inside
    proj, _ = SparseProjection.from_indices(torch.tensor([0, 1, 1]), torch.tensor([0, 0, 1]), 2, 2)
    state = plasticity_initial(rule, w, 1, 2, 2)
    w2 = w.clone()
    for _ in range(20):
        z = torch.zeros(1, 2, dtype=F64)
        w2, state = plasticity_step(rule, w2, state, z, z, proj, DT, reward=torch.ones(1))
    assert torch.equal(w2, w)
    assert state.pre_trace.abs().sum() == 0 and state.post_trace.abs().sum() == 0


def test_sparse_and_dense_synapses_learn_the_same_weights():
    rule = learning_rule("stdp", a_plus=0.02, a_minus=0.025, w_min=-1.0, w_max=1.0)
    g = torch.Generator().manual_seed(5)
    mask = torch.rand(7, 9, generator=g) < 0.4
    dense = torch.rand(2, 7, 9, generator=g, dtype=F64) * mask
    proj, values = SparseProjection.from_dense(dense)
    s_dense = plasticity_initial(rule, dense, 2, 9, 7)
    s_sparse = plasticity_initial(rule, values, 2, 9, 7)
    for _ in range(100):
        pre = (torch.rand(2, 9, generator=g) < 0.2).to(F64)
        post = (torch.rand(2, 7, generator=g) < 0.2).to(F64)
        dense, s_dense = plasticity_step(rule, dense, s_dense, pre, post, DenseSynapses(), DT)
        values, s_sparse = plasticity_step(rule, values, s_sparse, pre, post, proj, DT)
    torch.testing.assert_close(values, dense[:, proj.target, proj.source], rtol=1e-12, atol=1e-12)


def test_reward_stdp_applies_the_eligibility_when_the_reward_arrives():
    """A causal pair (lag 5 steps) then a reward R at step 40 (15 steps after the post spike):
    dw = lr R A+ e^{-5 dt/tau+} e^{-15 dt/tau_e}; without reward nothing changes."""
    kw = dict(a_plus=0.01, a_minus=0.012, tau_pre=20.0, tau_post=20.0, w_min=0.0, w_max=1.0,
              lr=0.5, tau_eligibility=100.0)
    rule = learning_rule("reward_stdp", **kw)
    dw = one_pair(rule, 0.5, 20, 25, n=41, reward_at=40, reward=2.0) - 0.5
    assert dw == pytest.approx(0.5 * 2.0 * 0.01 * math.exp(-5 * DT / 20.0) * math.exp(-15 * DT / 100.0), rel=1e-12)
    assert one_pair(rule, 0.5, 20, 25, n=60) == 0.5
    punished = one_pair(rule, 0.5, 20, 25, n=41, reward_at=40, reward=-2.0) - 0.5
    assert punished == pytest.approx(-dw, rel=1e-12)


def test_rules_are_found_by_name_and_refuse_unknown_options():
    assert {"stdp", "reward_stdp"} <= set(LEARNING_RULES.names())
    assert learning_rule("STDP", a_plus=0.5).a_plus == 0.5
    with pytest.raises(ValueError, match="unknown option\\(s\\) tau_plus; valid: a_plus"):
        learning_rule("stdp", tau_plus=3.0)
    with pytest.raises(KeyError, match="known: .*reward_stdp"):
        learning_rule("bcm")
    with pytest.raises(ValueError, match="dependence"):
        learning_rule("stdp", dependence="power")
    with pytest.raises(ValueError, match="already registered"):
        LEARNING_RULES.register("stdp", object)


def test_a_user_rule_is_a_few_lines():
    from einet.plasticity.spiking import register_rule

    @register_rule("test_hebb_from_docs")
    @dataclass(frozen=True)
    class Hebb:
        lr: float = 1e-3
        tau_pre: float = 20.0
        tau_post: float = 20.0

        def initial(self, weights):
            return None

        def update(self, weights, a, state):
            return weights + self.lr * a.pre_trace * a.post_spikes, state

    rule = learning_rule("test_hebb_from_docs", lr=0.1)
    dw = one_pair(rule, 0.0, 10, 14) - 0.0
    assert dw == pytest.approx(0.1 * math.exp(-4 * DT / 20.0), rel=1e-12)
