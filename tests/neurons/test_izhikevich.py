"""The Izhikevich neuron against an independent, converged integration of its equations (scipy's DOP853
with event location at the peak), and the firing patterns of its two published parameter sets."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from scipy.integrate import solve_ivp

from einet.neurons import NEURONS
from einet.neurons.izhikevich import FAST_SPIKING, REGULAR_SPIKING, izhikevich_initial, izhikevich_step

T = 1000.0  # ms


def reference_spike_times(p, current: float, duration: float = T) -> np.ndarray:
    """Spike times of dv/dt = 0.04 v^2 + 5 v + 140 - u + I, du/dt = a (b v - u), integrated to 1e-10 with the
    reset at each located peak crossing."""
    def rates(t, y):
        v, u = y
        return [0.04 * v * v + 5 * v + 140 - u + current, p.a * (p.b * v - u)]

    def peak(t, y):
        return y[0] - p.v_peak

    peak.terminal, peak.direction = True, 1
    t0, y0, times = 0.0, [p.c, p.b * p.c], []
    while t0 < duration:
        sol = solve_ivp(rates, (t0, duration), y0, events=peak, rtol=1e-10, atol=1e-10, method="DOP853", max_step=1.0)
        if sol.status != 1:
            break
        t0 = float(sol.t_events[0][0])
        times.append(t0)
        y0 = [p.c, float(sol.y_events[0][0][1]) + p.d]
    return np.array(times)


def einet_spike_times(p, current, duration: float = T, dt: float = 0.1) -> np.ndarray:
    state = izhikevich_initial(p, (1, 1))
    times = []
    for k in range(int(round(duration / dt))):
        spikes, state = izhikevich_step(current, state, p, dt)
        times += [(k + 1) * dt] * int(spikes.item())
    return np.array(times)


def steady_rate(times: np.ndarray, after: float = 300.0) -> float:
    late = times[times > after]
    return (len(late) - 1) / (late[-1] - late[0]) * 1000.0 if len(late) > 1 else 0.0


@pytest.mark.parametrize("params", [REGULAR_SPIKING, FAST_SPIKING], ids=["regular", "fast"])
@pytest.mark.parametrize("current", [5.0, 10.0, 20.0])
def test_f_i_curve_matches_a_converged_integration(params, current):
    reference, ours = reference_spike_times(params, current), einet_spike_times(params, current)
    assert len(ours) == len(reference)
    assert steady_rate(ours) == pytest.approx(steady_rate(reference), rel=2e-3)
    np.testing.assert_allclose(ours[:3], reference[:3], atol=0.1)  # spike times within one step


@pytest.mark.parametrize("params", [REGULAR_SPIKING, FAST_SPIKING], ids=["regular", "fast"])
def test_below_rheobase_the_neuron_rests(params):
    assert len(reference_spike_times(params, 3.0)) == 0
    assert len(einet_spike_times(params, 3.0)) == 0


def test_regular_spiking_adapts_and_fast_spiking_fires_faster():
    """Izhikevich (2003), Fig. 2: RS cells lengthen their ISIs under a step current (u builds up with d = 8),
    FS interneurons fire fast with little adaptation."""
    rs, fs = einet_spike_times(REGULAR_SPIKING, 10.0), einet_spike_times(FAST_SPIKING, 10.0)
    rs_isi, fs_isi = np.diff(rs), np.diff(fs)
    assert rs_isi[-1] / rs_isi[0] > 1.5  # measured: 1.94 (23.1 -> 44.8 ms)
    assert fs_isi[-1] / fs_isi[0] < rs_isi[-1] / rs_isi[0]  # measured: 1.72 (4.3 -> 7.4 ms)
    assert steady_rate(fs) > 3 * steady_rate(rs)


def test_a_batch_sweeps_parameters_as_separate_neurons_would():
    a = torch.tensor([[0.02], [0.1]], dtype=torch.float64)
    d = torch.tensor([[8.0], [2.0]], dtype=torch.float64)
    batch = dataclasses.replace(REGULAR_SPIKING, a=a, d=d)
    state = izhikevich_initial(batch, (2, 3))
    counts = torch.zeros(2, 3, dtype=torch.float64)
    for _ in range(5000):
        spikes, state = izhikevich_step(10.0, state, batch, 0.1)
        counts += spikes
    assert counts[0].tolist() == [len(einet_spike_times(REGULAR_SPIKING, 10.0, 500.0))] * 3
    assert counts[1].tolist() == [len(einet_spike_times(FAST_SPIKING, 10.0, 500.0))] * 3


def test_izhikevich_is_registered_and_arriving_spikes_enter_the_synaptic_current():
    model = NEURONS.get("izhikevich")
    p = REGULAR_SPIKING
    state = model.initial(p, (1, 2))
    _, after = model.step(0.0, state, p, 0.1, torch.tensor([[0.0, 4.0]], dtype=torch.float64))
    assert after.i_syn[0, 0] == 0.0
    assert after.i_syn[0, 1].item() == pytest.approx(4.0 * np.exp(-0.1 / p.tau_syn))
    assert after.v[0, 1] > after.v[0, 0]  # the arriving current depolarises
