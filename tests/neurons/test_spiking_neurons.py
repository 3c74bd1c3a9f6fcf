"""Spiking neuron models against closed-form solutions (einet.neurons.lif, alif, qif)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.integrate import solve_ivp

from einet.neurons.alif import ALIFParams, ALIFState, alif_initial, alif_step
from einet.neurons.lif import LIFParams, LIFState, lif_step
from einet.neurons.qif import QIFParams, QIFState, qif_step
from einet.neurons.registry import NEURONS
from einet.neurons.qif import evolve, time_to_peak

F64 = torch.float64


def run(step, drive, state, p, dt, n, arriving=None):
    """Spike counts ``[n, batch, neuron]`` and the final state."""
    out = []
    for k in range(n):
        s, state = step(drive, state, p, dt, None if arriving is None else arriving(k))
        out.append(s)
    return torch.stack(out), state


# ------------------------------------------------------------------------ LIF
def lif_from_reset(p: LIFParams, shape):
    v = torch.full(shape, float(p.v_reset), dtype=F64)
    return LIFState(v, torch.zeros(shape, dtype=F64), torch.zeros(shape, dtype=F64))


def test_lif_spike_times_match_the_exact_discrete_count():
    """Constant input mu = E_L + I: first spike after k* steps, then one every n_ref + k* steps,
    k* = ceil((tau/dt) ln((mu - V_reset)/(mu - V_th))), refractory steps n_ref = t_ref/dt."""
    p = LIFParams(tau_m=20.0, tau_syn=5.0, v_rest=-65.0, v_th=-50.0, v_reset=-70.0, t_ref=2.0)
    dt, n = 0.1, 3000
    drives = [15.5, 16.0, 17.3, 20.0, 25.0, 31.7, 40.0, 60.0, 100.0]
    x = [(p.tau_m / dt) * math.log((p.v_rest + I - p.v_reset) / (p.v_rest + I - p.v_th)) for I in drives]
    assert all(abs(v - round(v)) > 1e-6 for v in x)  # no crossing lands on a step boundary
    drive = torch.tensor(drives, dtype=F64)[:, None]
    spikes, _ = run(lif_step, drive, lif_from_reset(p, (len(drives), 1)), p, dt, n)
    n_ref = round(p.t_ref / dt)
    for b, xb in enumerate(x):
        k = math.ceil(xb)
        expected = list(range(k - 1, n, n_ref + k))  # 0-based index of the step that spikes
        got = spikes[:, b, 0].nonzero().flatten().tolist()
        assert got == expected, (drives[b], got[:5], expected[:5])


def test_lif_below_threshold_input_never_fires():
    p = LIFParams(v_rest=-65.0, v_th=-50.0)
    spikes, state = run(lif_step, 14.9, lif_from_reset(p, (1, 3)), p, 0.5, 2000)
    assert spikes.sum() == 0
    assert torch.allclose(state.v, torch.full_like(state.v, -65.0 + 14.9), atol=1e-9)


@pytest.mark.parametrize("dt", [0.5, 0.05, 0.01])
def test_lif_period_tends_to_the_continuous_formula(dt):
    """T = t_ref + tau ln((RI - V_reset')/(RI - V_th')); the exact scheme is within one step of it."""
    p = LIFParams(tau_m=10.0, tau_syn=5.0, v_rest=0.0, v_th=20.0, v_reset=10.0, t_ref=2.0)
    drives = torch.tensor([22.0, 30.0, 50.0], dtype=F64)[:, None]
    n = int(round(150.0 / dt))
    spikes, _ = run(lif_step, drives, lif_from_reset(p, (3, 1)), p, dt, n)
    for b, I in enumerate(drives.flatten().tolist()):
        T = p.t_ref + p.tau_m * math.log((I - p.v_reset) / (I - p.v_th))
        times = spikes[:, b, 0].nonzero().flatten().to(F64) * dt
        period = float((times[-1] - times[0]) / (len(times) - 1))
        assert T <= period + 1e-9 < T + dt + 1e-9


@pytest.mark.parametrize("tau_syn", [5.0, 20.0])
def test_lif_psp_is_the_analytic_difference_of_exponentials(tau_syn):
    """One spike of weight w at t = 0: v - E_L = w tau_s/(tau_s - tau_m)(e^{-t/tau_s} - e^{-t/tau_m}),
    or w (t/tau) e^{-t/tau} when the time constants are equal; exact at every step."""
    p = LIFParams(tau_m=20.0, tau_syn=tau_syn, v_rest=-65.0, v_th=-50.0)
    dt, n, w = 0.3, 200, 4.0
    state = LIFState(torch.full((1, 1), -65.0, dtype=F64), torch.zeros(1, 1, dtype=F64), torch.zeros(1, 1, dtype=F64))
    vs = []
    for k in range(n):
        _, state = lif_step(0.0, state, p, dt, arriving=torch.full((1, 1), w if k == 0 else 0.0, dtype=F64))
        vs.append(float(state.v) + 65.0)
    t = dt * np.arange(1, n + 1)
    if tau_syn == p.tau_m:
        expected = w * t / p.tau_m * np.exp(-t / p.tau_m)
    else:
        expected = w * tau_syn / (tau_syn - p.tau_m) * (np.exp(-t / tau_syn) - np.exp(-t / p.tau_m))
    np.testing.assert_allclose(vs, expected, rtol=1e-11, atol=1e-13)


def test_lif_params_refuse_bad_values():
    with pytest.raises(ValueError, match="tau_m"):
        LIFParams(tau_m=0.0)
    with pytest.raises(ValueError, match="v_reset"):
        LIFParams(v_th=-60.0, v_reset=-50.0)
    with pytest.raises(ValueError, match="t_ref"):
        LIFParams(t_ref=-1.0)


# ----------------------------------------------------------------------- ALIF
def test_alif_without_adaptation_is_the_lif():
    kw = dict(tau_m=15.0, tau_syn=4.0, v_rest=-65.0, v_th=-50.0, v_reset=-68.0, t_ref=1.0)
    g = torch.Generator().manual_seed(0)
    drive = 14.0 + 8.0 * torch.rand(4, 6, generator=g, dtype=F64)
    arriving = (torch.rand(500, 4, 6, generator=g, dtype=F64) < 0.05) * 3.0
    s_lif, _ = run(lif_step, drive, LIFState(*(torch.zeros(4, 6, dtype=F64) + x for x in (-65.0, 0.0, 0.0))),
                   LIFParams(**kw), 0.1, 500, lambda k: arriving[k])
    s_alif, _ = run(alif_step, drive, alif_initial(ALIFParams(**kw, b=0.0), (4, 6)), ALIFParams(**kw, b=0.0), 0.1,
                    500, lambda k: arriving[k])
    assert s_lif.sum() > 10
    assert torch.equal(s_lif, s_alif)


def test_alif_adaptation_current_relaxes_and_hyperpolarises_exactly():
    """No input, w(0) = w0: w = w0 e^{-t/tau_w}, v - E_L = -w0 tau_w/(tau_w - tau_m)(e^{-t/tau_w} - e^{-t/tau_m})."""
    p = ALIFParams(tau_m=20.0, tau_w=100.0, b=1.0)
    dt, n, w0 = 0.7, 300, 5.0
    z = torch.zeros(1, 1, dtype=F64)
    state = ALIFState(z + p.v_rest, z.clone(), z + w0, z.clone())
    v, w = [], []
    for _ in range(n):
        _, state = alif_step(0.0, state, p, dt)
        v.append(float(state.v) - p.v_rest)
        w.append(float(state.w))
    t = dt * np.arange(1, n + 1)
    np.testing.assert_allclose(w, w0 * np.exp(-t / p.tau_w), rtol=1e-12)
    expected = -w0 * p.tau_w / (p.tau_w - p.tau_m) * (np.exp(-t / p.tau_w) - np.exp(-t / p.tau_m))
    np.testing.assert_allclose(v, expected, rtol=1e-11, atol=1e-13)


def test_alif_adaptation_jumps_by_b_and_relaxes_between_spikes():
    """Constant drive: just after spike n, W_n = W_{n-1} e^{-ISI_n/tau_w} + b exactly; intervals lengthen,
    and W approaches the fixed point b / (1 - e^{-T/tau_w}) of the settled interval T."""
    p = ALIFParams(tau_m=10.0, v_rest=0.0, v_th=15.0, v_reset=0.0, t_ref=2.0, tau_w=50.0, b=3.0)
    dt, n = 0.1, 10000
    state = alif_initial(p, (1, 1))
    times, w_after = [], []
    for k in range(n):
        s, state = alif_step(40.0, state, p, dt)
        if s.item():
            times.append(k)
            w_after.append(state.w.item())
    isi = np.diff(times)
    w_after = np.array(w_after)
    np.testing.assert_allclose(w_after[1:], w_after[:-1] * np.exp(-isi * dt / p.tau_w) + p.b, rtol=1e-12)
    assert w_after[0] == pytest.approx(p.b)
    assert isi[-1] > 1.3 * isi[0]
    assert np.all(np.diff(isi[:10]) >= 0)
    assert isi[-20:].max() - isi[-20:].min() <= 1  # settled (to within the step grid)
    T = isi[-20:].mean() * dt
    assert w_after[-1] == pytest.approx(p.b / (1 - math.exp(-T / p.tau_w)), rel=0.01)


# ------------------------------------------------------------------------ QIF
def qif_period(tau, c, v_peak, v_reset):
    r = math.sqrt(c)
    return tau / r * (math.atan(v_peak / r) - math.atan(v_reset / r))


@pytest.mark.parametrize("dt", [0.05, 1.0, 40.0])
def test_qif_spike_count_is_exact_at_any_dt(dt):
    """From the reset, the number of spikes by time t is floor(t / T) with
    T = (tau/sqrt(c))(atan(V_p/sqrt(c)) - atan(V_r/sqrt(c))), checked after every step;
    at dt = 40 ms > T several spikes fall in one step."""
    etas = [0.25, 1.0, 4.0, 9.0]
    p = QIFParams(tau=10.0, eta=torch.tensor(etas, dtype=F64)[:, None], v_peak=100.0, v_reset=-100.0)
    duration = 200.0 if dt < 1 else 400.0
    n = int(round(duration / dt))
    state = QIFState(torch.full((4, 1), -100.0, dtype=F64), torch.zeros(4, 1, dtype=F64))
    spikes, _ = run(qif_step, 0.0, state, p, dt, n)
    counts = spikes[:, :, 0].cumsum(0)
    t = dt * np.arange(1, n + 1)
    for b, eta in enumerate(etas):
        T = qif_period(10.0, eta, 100.0, -100.0)
        phase = t / T
        clear = np.abs(phase - np.round(phase)) > 1e-7
        np.testing.assert_array_equal(counts[clear, b].numpy(), np.floor(phase[clear]))
    if dt > 30:
        assert spikes.max() >= 2


@pytest.mark.parametrize("dt", [0.1, 2.0])
def test_qif_rate_tends_to_sqrt_eta_over_pi_tau_for_large_peak(dt):
    """V_p = -V_r -> infinity: T -> pi tau / sqrt(eta) (the gap is below 2 tau / V_p); the spike count
    follows floor(t / T) after every step, so the rate is sqrt(eta)/(pi tau) to within that gap."""
    tau, eta, vp = 20.0, 2.0, 1e4
    p = QIFParams(tau=tau, eta=eta, v_peak=vp, v_reset=-vp)
    duration = 600.0
    n = int(round(duration / dt))
    state = QIFState(torch.full((1, 1), -vp, dtype=F64), torch.zeros(1, 1, dtype=F64))
    spikes, _ = run(qif_step, 0.0, state, p, dt, n)
    T, T_inf = qif_period(tau, eta, vp, -vp), math.pi * tau / math.sqrt(eta)
    assert 0 < T_inf - T < 2 * tau / vp
    t = dt * np.arange(1, n + 1)
    clear = np.abs(t / T - np.round(t / T)) > 1e-7
    np.testing.assert_array_equal(spikes[:, 0, 0].cumsum(0).numpy()[clear], np.floor(t / T)[clear])
    rate = float(spikes.sum()) / duration
    assert abs(rate - math.sqrt(eta) / (math.pi * tau)) <= 1.0 / duration


def test_qif_below_rheobase_rests_at_the_stable_fixed_point():
    """c = eta + I < 0: no spikes from below sqrt(-c); v -> -sqrt(-c). c = 0 from v < 0: v -> 0-, no spikes."""
    p = QIFParams(tau=10.0, eta=torch.tensor([[-4.0], [0.0]], dtype=F64), v_peak=100.0, v_reset=-100.0)
    state = QIFState(torch.tensor([[1.9], [-1.0]], dtype=F64), torch.zeros(2, 1, dtype=F64))
    spikes, state = run(qif_step, 0.0, state, p, 0.5, 2000)
    assert spikes.sum() == 0
    assert state.v[0, 0].item() == pytest.approx(-2.0, abs=1e-9)
    assert -0.02 < state.v[1, 0].item() < 0


def test_qif_above_the_unstable_fixed_point_fires_once_on_time():
    """c = -4, v0 = 3 > 2: peak reached at t = (tau/2)(acoth(v0/2) - acoth(V_p/2)), then rest at -2."""
    tau, vp = 10.0, 100.0
    p = QIFParams(tau=tau, eta=-4.0, v_peak=vp, v_reset=-vp)
    acoth = lambda y: 0.5 * math.log((y + 1) / (y - 1))  # noqa: E731
    t_spike = tau / 2 * (acoth(1.5) - acoth(vp / 2))
    dt = 0.1
    state = QIFState(torch.full((1, 1), 3.0, dtype=F64), torch.zeros(1, 1, dtype=F64))
    spikes, state = run(qif_step, 0.0, state, p, dt, 1000)
    assert spikes.sum() == 1
    assert spikes[:, 0, 0].nonzero().item() == math.ceil(t_spike / dt) - 1
    assert state.v.item() == pytest.approx(-2.0, abs=1e-9)


@pytest.mark.parametrize("v0,c,t", [(-1.0, 0.5, 1.3), (0.3, 0.0, 2.0), (-3.0, -1.0, 4.0), (1.5, -1.0, 0.7),
                                    (-50.0, 2.0, 3.0), (0.2, 1e-14, 3.0)])
def test_qif_closed_form_matches_a_numerical_ode_solution(v0, c, t):
    tau, vp = 2.0, 50.0
    ref = solve_ivp(lambda _, v: (v ** 2 + c) / tau, (0, t), [v0], rtol=1e-12, atol=1e-12).y[0, -1]
    got = evolve(torch.tensor(v0, dtype=F64), torch.tensor(c, dtype=F64), torch.tensor(t, dtype=F64), tau)
    assert got.item() == pytest.approx(ref, rel=1e-8, abs=1e-10)
    hit = solve_ivp(lambda _, v: (v ** 2 + c) / tau, (0, 1e3), [v0], rtol=1e-12, atol=1e-12,
                    events=lambda _, v: v[0] - vp)
    t_peak = time_to_peak(torch.tensor([v0], dtype=F64), vp, torch.tensor([c], dtype=F64), tau).item()
    if len(hit.t_events[0]):
        assert t_peak == pytest.approx(hit.t_events[0][0], rel=1e-7)
    else:
        assert math.isinf(t_peak)


# ------------------------------------------------------------ registry contract
DRIVE = {"lif": 18.0, "alif": 18.0, "qif": 0.5}


@pytest.mark.parametrize("name", NEURONS.names())
def test_every_neuron_model_batches_parameters_and_runs_in_float32(name):
    """B batched tau_syn values give the same spikes as B single runs; shapes and dtype are kept; float32 is finite."""
    model = NEURONS.get(name)
    g = torch.Generator().manual_seed(1)
    drive = DRIVE.get(name, 1.0) * (0.8 + 0.6 * torch.rand(1, 7, generator=g, dtype=F64))
    arriving = (torch.rand(300, 1, 7, generator=g, dtype=F64) < 0.1) * 0.5 * DRIVE.get(name, 1.0)
    taus = [2.0, 5.0, 11.0]
    p = model.params(tau_syn=torch.tensor(taus, dtype=F64)[:, None])
    batched, state = run(model.step, drive, model.initial(p, (3, 7)), p, 0.25, 300, lambda k: arriving[k])
    assert batched.shape == (300, 3, 7) and batched.dtype == F64
    assert all(x.shape == (3, 7) for x in state)
    assert batched.sum() > 0
    for b, tau in enumerate(taus):
        q = model.params(tau_syn=tau)
        single, _ = run(model.step, drive, model.initial(q, (1, 7)), q, 0.25, 300, lambda k: arriving[k])
        assert torch.equal(single[:, 0], batched[:, b])
    q = model.params()
    s32, st32 = run(model.step, drive.float(), model.initial(q, (1, 7), dtype=torch.float32), q, 0.25, 300,
                    lambda k: arriving[k].float())
    assert s32.dtype == torch.float32 and all(torch.isfinite(x).all() for x in st32)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("name", NEURONS.names())
def test_neuron_models_agree_on_cuda(name):
    model = NEURONS.get(name)
    p = model.params()
    drive = DRIVE.get(name, 1.0) * torch.linspace(0.8, 1.4, 5, dtype=F64)[None]
    cpu, _ = run(model.step, drive, model.initial(p, (2, 5)), p, 0.25, 400)
    gpu, _ = run(model.step, drive.cuda(), model.initial(p, (2, 5), device="cuda"), p, 0.25, 400)
    assert torch.equal(cpu, gpu.cpu())


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("per_neuron_eta", [False, True])
def test_the_compiled_qif_step_gives_the_torch_numbers(dtype, per_neuron_eta):
    """Every regime of the exact step (c > 0 with zero, one and several spikes a step; c < 0 above and
    below the unstable point; c = 0; v at or past the peak), with arrivals, in a batch: the compiled
    kernel against the torch expressions."""
    from einet import kernels
    from einet.neurons.qif import QIFParams, QIFState, qif_step

    if kernels.load("qif_step") is None:
        pytest.skip("no C++ compiler here: the compiled kernel is optional")
    g = torch.Generator().manual_seed(4)
    n = 257
    eta = (torch.rand(n, generator=g, dtype=torch.float64) * 40 - 20).to(dtype) if per_neuron_eta else 2.0
    p = QIFParams(tau=10.0, eta=eta, v_peak=100.0, v_reset=-100.0, tau_syn=5.0)
    v = (torch.rand(3, n, generator=g, dtype=torch.float64) * 220 - 110).to(dtype)
    v[0, :4] = torch.tensor([100.0, 150.0, 0.0, -3.0], dtype=dtype)  # at / past the peak, at 0
    drive = (torch.rand(3, n, generator=g, dtype=torch.float64) * 2e4 - 5e3).to(dtype)
    drive[2, : n // 2] *= 200  # c up to 4e6: periods of 0.016 ms, several spikes in a step of 0.1 ms
    drive[1] = -2.0 if not per_neuron_eta else -eta  # c = 0 where eta is per neuron
    i_syn = (torch.rand(3, n, generator=g, dtype=torch.float64) - 0.5).to(dtype)
    i_syn[1] = 0.0  # c = 0 exactly in row 1 (without arrivals)
    state = QIFState(v, i_syn)
    arriving = (torch.rand(3, n, generator=g, dtype=torch.float64) * 0.1).to(dtype)
    for extra in (None, arriving):
        fast = qif_step(drive, state, p, 0.1, extra)
        with kernels.plain_torch():
            slow = qif_step(drive, state, p, 0.1, extra)
        tol = dict(rtol=1e-10, atol=1e-9) if dtype == torch.float64 else dict(rtol=2e-4, atol=2e-3)
        assert torch.equal(fast[0], slow[0]) or dtype == torch.float32  # the same spike counts in float64
        torch.testing.assert_close(fast[0], slow[0], rtol=0, atol=1.0)
        torch.testing.assert_close(fast[1].v, slow[1].v, **tol)
        torch.testing.assert_close(fast[1].i_syn, slow[1].i_syn, rtol=1e-6 if dtype == torch.float32 else 1e-15,
                                   atol=0)
    assert float(fast[0].max()) >= 3 and float((fast[0] == 0).float().mean()) > 0.1  # the regimes occurred


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("drive_shape", ["scalar", "per_neuron", "full"])
def test_the_compiled_alif_step_gives_the_torch_numbers(dtype, drive_shape):
    """Many steps of a driven, adapting, spiking population (refractory periods, resets, adaptation jumps), with
    arrivals, through the compiled kernel and through the torch expressions: the same spikes, the same state."""
    from einet import kernels
    from einet.neurons.alif import ALIFParams, alif_initial, alif_step

    if kernels.load("alif_step") is None:
        pytest.skip("no C++ compiler here: the compiled kernel is optional")
    g = torch.Generator().manual_seed(8)
    n = 300
    p = ALIFParams(tau_m=20.0, v_rest=-65.0, v_th=-50.0, v_reset=-65.0, t_ref=2.0, tau_syn=5.0, tau_w=150.0, b=3.0)
    drive = {"scalar": 18.0, "per_neuron": torch.linspace(10.0, 30.0, n, dtype=dtype),
             "full": (torch.rand(2, n, generator=g, dtype=torch.float64) * 25 + 5).to(dtype)}[drive_shape]
    fast = slow = alif_initial(p, (2, n), dtype=dtype)
    spikes_fast = spikes_slow = 0
    for step in range(400):
        arriving = (torch.rand(2, n, generator=g, dtype=torch.float64) * 2.0).to(dtype) if step % 3 else None
        s_fast, fast = alif_step(drive, fast, p, 0.1, arriving)
        with kernels.plain_torch():
            s_slow, slow = alif_step(drive, slow, p, 0.1, arriving)
        if dtype == torch.float64:
            assert torch.equal(s_fast, s_slow), step
        spikes_fast, spikes_slow = spikes_fast + s_fast.sum(), spikes_slow + s_slow.sum()
    tol = dict(rtol=1e-12, atol=1e-10) if dtype == torch.float64 else dict(rtol=1e-4, atol=1e-3)
    for name in ("v", "i_syn", "w", "refractory"):
        torch.testing.assert_close(getattr(fast, name), getattr(slow, name), **tol, msg=name)
    assert float(spikes_fast) > 200 and abs(float(spikes_fast) - float(spikes_slow)) <= 0.01 * float(spikes_slow)
    assert float(fast.w.max()) > 3.0  # adaptation built up over several spikes
