"""Delays, traces and event-driven propagation (einet.synapses.delays, traces, projection)."""

from __future__ import annotations

import math

import pytest
import torch

from einet.synapses.delays import delay_initial, delay_step, delay_steps
from einet.synapses.projection import SparseProjection
from einet.synapses.traces import trace_decay, trace_step

F64 = torch.float64


def test_two_spikes_one_step_apart_arrive_d_and_d_plus_1_steps_later():
    d = 4
    state = delay_initial(d, (2, 3))
    sent = {5: (0, 1), 6: (0, 1)}  # two spikes on the same synapse, one step apart, both in flight at once
    arrivals = []
    for t in range(20):
        x = torch.zeros(2, 3, dtype=F64)
        if t in sent:
            x[sent[t]] = 1.0
        out, state = delay_step(x, state)
        arrivals += [(t, *idx) for idx in out.nonzero().tolist()]
    assert arrivals == [(5 + d, 0, 1), (6 + d, 0, 1)]


@pytest.mark.parametrize("d", [0, 1, 7])
def test_delay_line_shifts_any_train_by_exactly_d_steps(d):
    g = torch.Generator().manual_seed(3)
    train = (torch.rand(50, 2, 5, generator=g) < 0.6).to(F64) * torch.randint(1, 3, (50, 2, 5), generator=g)
    state = delay_initial(d, (2, 5))
    out = []
    for t in range(50):
        o, state = delay_step(train[t], state)
        out.append(o)
    out = torch.stack(out)
    assert torch.equal(out[d:], train[: 50 - d])
    assert out[:d].sum() == 0


def test_delays_in_ms_must_be_whole_steps():
    assert delay_steps(1.5, 0.5) == 3
    with pytest.raises(ValueError, match="multiple of dt"):
        delay_steps(1.2, 0.5)
    with pytest.raises(ValueError, match="non-negative"):
        delay_initial(-1, (1, 1))


def test_trace_driven_every_step_converges_to_the_geometric_limit():
    """x_n = a (1 - lambda^n)/(1 - lambda) -> a / (1 - lambda), lambda = exp(-dt/tau)."""
    tau, dt, a = 15.0, 0.5, 0.3
    lam = math.exp(-dt / tau)
    x = torch.zeros(1, 2, dtype=F64)
    for n in range(1, 2001):
        x = trace_step(x, torch.ones(1, 2, dtype=F64), trace_decay(tau, dt), a)
        if n in (1, 10, 100):
            assert x[0, 0].item() == pytest.approx(a * (1 - lam ** n) / (1 - lam), rel=1e-12)
    assert x[0, 0].item() == pytest.approx(a / (1 - lam), rel=1e-12)
    y = torch.zeros(1, 1, dtype=F64)
    for _ in range(50):
        y = trace_step(y, torch.ones(1, 1, dtype=F64), trace_decay(tau, dt), a, mode="nearest")
    assert y.item() == a
    with pytest.raises(ValueError, match="known: all, nearest"):
        trace_step(y, y, 0.5, mode="nope")


def random_projection(seed=0, n_t=30, n_s=40, density=0.2, batch=4):
    g = torch.Generator().manual_seed(seed)
    mask = torch.rand(n_t, n_s, generator=g) < density
    w = torch.randn(batch, n_t, n_s, generator=g, dtype=F64) * mask
    spikes = (torch.rand(batch, n_s, generator=g) < 0.15).to(F64) * torch.randint(1, 3, (batch, n_s), generator=g)
    return w, mask, spikes


def test_event_driven_propagation_equals_the_dense_product():
    w, mask, spikes = random_projection()
    proj, values = SparseProjection.from_dense(w)
    assert values.shape == (4, int(mask.sum()))
    expected = torch.einsum("bts,bs->bt", w, spikes)
    torch.testing.assert_close(proj.propagate(spikes, values), expected, rtol=1e-12, atol=1e-12)
    shared, shared_values = SparseProjection.from_dense(w[0])
    torch.testing.assert_close(shared.propagate(spikes, shared_values), spikes @ w[0].T, rtol=1e-12, atol=1e-12)
    assert torch.equal(proj.to_dense(values), w)
    assert proj.propagate(torch.zeros_like(spikes), values).abs().sum() == 0


def test_propagation_reads_only_the_rows_of_sources_that_spiked():
    """Poison every synapse of a silent source with NaN: the output must not see it."""
    w, mask, spikes = random_projection(seed=1)
    proj, values = SparseProjection.from_dense(w[0])
    silent = spikes.sum(0) == 0
    assert silent.any() and (~silent).any()
    poisoned = torch.where(silent[proj.source], torch.full_like(values, math.nan), values)
    out = proj.propagate(spikes, poisoned)
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out, spikes @ (w[0] * (~silent)).T, rtol=1e-12, atol=1e-12)


def test_target_major_csr_and_synapse_views():
    w, mask, spikes = random_projection(seed=2, batch=1)
    csr = w[0].to_sparse_csr()
    proj, values = SparseProjection.from_target_csr(csr.crow_indices(), csr.col_indices(), 40, csr.values())
    torch.testing.assert_close(proj.to_dense(values), w[0])
    x = torch.randn(3, 40, dtype=F64)
    y = torch.randn(3, 30, dtype=F64)
    assert torch.equal(proj.pre(x), x[:, proj.source]) and torch.equal(proj.post(y), y[:, proj.target])
    with pytest.raises(ValueError, match="out of range"):
        SparseProjection.from_indices(torch.tensor([0, 31]), torch.tensor([0, 1]), 30, 40)


def test_delayed_sparse_projection_drives_lif_targets_with_the_exact_psp():
    """Source spikes -> ring buffer (d steps) -> event-driven projection -> LIF synaptic current:
    each target's v follows the sum of analytic PSPs of its inputs, shifted by the delay."""
    from einet.neurons.lif import LIFParams, lif_initial, lif_step

    p = LIFParams(tau_m=20.0, tau_syn=5.0, v_rest=0.0, v_th=1e9, v_reset=-1.0, t_ref=0.0)
    dt, d, n = 0.5, 6, 80
    w, mask, _ = random_projection(seed=7, n_t=5, n_s=8, density=0.5, batch=1)
    proj, values = SparseProjection.from_dense(w[0])
    g = torch.Generator().manual_seed(8)
    train = (torch.rand(n, 1, 8, generator=g) < 0.1).to(F64)
    line, state = delay_initial(d, (1, 8)), lif_initial(p, (1, 5))
    vs = []
    for t in range(n):
        arrived, line = delay_step(train[t], line)
        _, state = lif_step(0.0, state, p, dt, arriving=proj.propagate(arrived, values))
        vs.append(state.v[0])
    vs = torch.stack(vs)
    steps = torch.arange(n, dtype=F64)
    expected = torch.zeros(n, 5, dtype=F64)
    for t_send, _, j in train.nonzero().tolist():
        age = (steps - (t_send + d) + 1) * dt  # time since the start of the arrival step, at the end of step
        kernel = torch.where(age > 0, 5.0 / (5.0 - 20.0) * (torch.exp(-age / 5.0) - torch.exp(-age / 20.0)),
                             torch.zeros_like(age))
        expected += kernel[:, None] * w[0, :, j][None, :]
    torch.testing.assert_close(vs, expected, rtol=1e-10, atol=1e-12)
    first_arrival = train.nonzero()[:, 0].min().item() + d
    assert vs[:first_arrival].abs().sum() == 0
