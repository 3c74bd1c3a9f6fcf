"""Conductance-based synapses (COBA): the LIF membrane under conductances, the network's conductance receptors,
their config checks and the COBA benchmark's asynchronous irregular state."""

from __future__ import annotations

import copy
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from einet.config.spiking import SpikingSpec
from einet.experiment import Experiment, validate
from einet.errors import ConfigError
from einet.fields import parse_section
from einet.neurons.alif import ALIFParams, ALIFState, alif_step
from einet.neurons.lif import LIFParams, LIFState, lif_step
from einet.measures import spike_statistics as st
from einet.network.spiking import SpikingNetwork
from einet.network.spike_events import run_network

F64 = torch.float64
COBA = Path(__file__).resolve().parents[2] / "config" / "experiments" / "coba.yaml"


def at(v, shape=(1, 1)):
    return LIFState(torch.full(shape, v, dtype=F64), torch.zeros(shape, dtype=F64), torch.zeros(shape, dtype=F64))


def test_constant_conductances_relax_exactly_to_the_effective_rest_with_the_effective_time_constant():
    """g_e, g_i held: v(t) = E_eff + (v0 - E_eff) exp(-t (1 + g_e + g_i)/tau_m) with
    E_eff = (E_L + g_e E_e + g_i E_i)/(1 + g_e + g_i), at every step and any dt (no spikes: threshold far above).
    The adaptive LIF with b = 0 is the same."""
    p = LIFParams(tau_m=20.0, v_rest=-60.0, v_th=100.0, v_reset=-60.0, t_ref=2.0)
    g_e = torch.tensor([[0.0, 0.5, 2.0, 0.3]], dtype=F64)
    g_i = torch.tensor([[0.0, 1.0, 0.2, 6.0]], dtype=F64)
    k = 1.0 + g_e + g_i
    e_eff = (p.v_rest + g_e * 0.0 + g_i * -80.0) / k
    for dt in (0.1, 1.7):
        state, alif = at(-52.0, (1, 4)), ALIFState(*at(-52.0, (1, 4))[:2], torch.zeros(1, 4, dtype=F64),
                                                   torch.zeros(1, 4, dtype=F64))
        q = ALIFParams(tau_m=20.0, v_rest=-60.0, v_th=100.0, v_reset=-60.0, b=0.0)
        conductance = (g_e + g_i, g_e * 0.0 + g_i * -80.0)
        for n in range(1, 60):
            spikes, state = lif_step(0.0, state, p, dt, conductance=conductance)
            _, alif = alif_step(0.0, alif, q, dt, conductance=conductance)
            expected = e_eff + (-52.0 - e_eff) * torch.exp(-n * dt * k / p.tau_m)
            torch.testing.assert_close(state.v, expected, rtol=0, atol=1e-11)
            torch.testing.assert_close(alif.v, state.v, rtol=0, atol=1e-12)
            assert spikes.sum() == 0
    # g = 0 is the current-based step, bit for bit
    plain = lif_step(3.0, at(-55.0), p, 0.1)[1].v
    zero = lif_step(3.0, at(-55.0), p, 0.1, conductance=(torch.zeros(1, 1, dtype=F64),) * 2)[1].v
    assert torch.equal(plain, zero)


def test_fi_relation_under_a_constant_conductance_is_the_lif_with_effective_tau_and_rest():
    """Constant g and drive I: a LIF with tau_eff = tau_m/(1 + g) and mu = (E_L + g E + I)/(1 + g). First spike after
    k* steps, then one every n_ref + k* steps, k* = ceil((tau_eff/dt) ln((mu - V_reset)/(mu - V_th))); the refractory
    period holds v at V_reset while the conductance stays on."""
    p = LIFParams(tau_m=20.0, v_rest=-60.0, v_th=-50.0, v_reset=-60.0, t_ref=5.0)
    dt, n = 0.1, 4000
    cases = [(0.3, 0.0, 4.0), (1.0, 0.0, 0.0), (2.5, 0.0, 0.0), (0.5, -80.0, 30.0), (4.0, -40.0, 0.0)]  # g, E, I
    g = torch.tensor([[c[0] for c in cases]], dtype=F64)
    g_rev = torch.tensor([[c[0] * c[1] for c in cases]], dtype=F64)
    drive = torch.tensor([[c[2] for c in cases]], dtype=F64)
    spikes = []
    state = at(p.v_reset, (1, len(cases)))
    for _ in range(n):
        s, state = lif_step(drive, state, p, dt, conductance=(g, g_rev))
        spikes.append(s[0])
    spikes = torch.stack(spikes)
    n_ref = round(p.t_ref / dt)
    for b, (gb, e, i) in enumerate(cases):
        mu, tau_eff = (p.v_rest + gb * e + i) / (1 + gb), p.tau_m / (1 + gb)
        x = (tau_eff / dt) * math.log((mu - p.v_reset) / (mu - p.v_th))
        assert abs(x - round(x)) > 1e-6  # no crossing on a step boundary
        k = math.ceil(x)
        expected = list(range(k - 1, n, n_ref + k))
        assert spikes[:, b].nonzero().flatten().tolist() == expected, cases[b]
        # and the period tends to the continuous formula t_ref + tau_eff ln(...)
        assert abs((n_ref + k) * dt - (p.t_ref + tau_eff * math.log((mu - p.v_reset) / (mu - p.v_th)))) < dt


def one_source(reversal: float = -60.0, weight: float = 0.5):
    """One inhibitory neuron (fires once, ~13.9 ms in) onto three targets resting 10 mV below, at and 20 mV above
    E_rev."""
    quiet = {"tau_m": 20.0, "v_th": -30.0, "v_reset": -75.0, "t_ref": 2.0}
    raw = {
        "neuron": "lif",
        "populations": {
            "S": {"size": 1, "type": "inh", "drive": 30.0,
                  "params": {"tau_m": 20.0, "v_rest": -65.0, "v_th": -50.0, "v_reset": -65.0, "t_ref": 200.0}},
            "lo": {"size": 1, "type": "exc", "params": {**quiet, "v_rest": -70.0}, "init_v": [-70.0, -70.0]},
            "eq": {"size": 1, "type": "exc", "params": {**quiet, "v_rest": reversal}, "init_v": [reversal, reversal]},
            "hi": {"size": 1, "type": "exc", "params": {**quiet, "v_rest": -40.0}, "init_v": [-40.0, -40.0]},
        },
        "projections": {f"S{t}": {"source": "S", "target": t, "synapse": "conductance", "weight": weight,
                                  "reversal": reversal, "p": 1.0, "tau_syn": 5.0, "delay": 0.5}
                        for t in ("lo", "eq", "hi")},
    }
    return parse_section(SpikingSpec, raw, "spiking")


def test_a_conductance_spike_pushes_v_towards_the_reversal_potential():
    """The same synapse depolarises a target below E_rev, hyperpolarises one above it, and leaves one at E_rev
    unmoved. A target at rest obeys tau_m w' = -w - g(t) (w + E_L - E_rev) for w = v - E_L, linear in E_L - E_rev
    from w = 0, so the deflections are exactly proportional to E_rev - E_L: +10 and -20 mV here give a ratio of
    -1/2. Plain torch runs it (the compiled kernel is current-only)."""
    net = SpikingNetwork([one_source()], 0.1, dtype=F64, seed=0)
    assert net._fused is None and net.conductance_receptors == [(5.0, -60.0)]
    state, v, fired = net.initial_state(), [], []
    for _ in range(400):
        spikes, state, _ = net.step(state)
        v.append(state.neuron.v[0].clone())
        fired.append(float(spikes[0, 0]))
    v, fired = torch.stack(v), torch.tensor(fired).nonzero().flatten().tolist()
    assert len(fired) == 1 and 100 < fired[0] < 200  # the source spiked once
    first = fired[0]
    assert torch.equal(v[first + 4, 1:], torch.tensor([-70.0, -60.0, -40.0], dtype=F64))  # nothing arrived yet
    deflection = v[first + 5 + 40, 1:] - v[first + 4, 1:]  # delay 0.5 ms = 5 steps; 4 ms after the arrival
    lo, eq, hi = deflection.tolist()
    assert lo > 0.5 and hi < -1.0 and abs(eq) < 1e-12
    assert lo / hi == pytest.approx(-0.5, rel=1e-9)


def mixed(extra_current: bool):
    """LIF network whose populations both receive conductance and current (tau 8 ms) synapses; if extra_current, a
    weight-0 projection of tau 3 ms makes the tau-8 receptor a second receptor (handed over as a drive)."""
    params = {"tau_m": 10.0, "v_rest": -65.0, "v_th": -50.0, "v_reset": -65.0, "t_ref": 1.0}
    projections = {
        "EE": {"source": "E", "target": "E", "synapse": "conductance", "weight": 0.3, "reversal": 0.0, "p": 0.3,
               "tau_syn": 4.0, "delay": 0.2},
        "EI": {"source": "I", "target": "E", "weight": -3.0, "p": 0.3, "tau_syn": 8.0, "delay": 0.1},
        "IE": {"source": "E", "target": "I", "synapse": "conductance", "weight": 0.3, "reversal": 0.0, "p": 0.3,
               "tau_syn": 4.0, "delay": 0.1},
        "II": {"source": "I", "target": "I", "synapse": "conductance", "weight": 1.0, "reversal": -80.0, "p": 0.3,
               "tau_syn": 8.0, "delay": 0.2},
    }
    if extra_current:
        projections["zero"] = {"source": "E", "target": "I", "weight": 0.0, "p": 0.3, "tau_syn": 3.0, "delay": 0.1}
    raw = {"neuron": "lif", "projections": projections, "populations": {
        "E": {"size": 30, "type": "exc", "params": params, "drive": 20.0, "init_v": [-65.0, -50.0]},
        "I": {"size": 10, "type": "inh", "params": params, "drive": 20.0, "init_v": [-65.0, -50.0]}}}
    return parse_section(SpikingSpec, raw, "spiking")


def test_current_receptors_under_conductances_use_the_effective_time_constant():
    """A current receptor handed to the model as an equivalent drive (a second receptor) must give what it gives as
    the model's own current: with conductances on, both use tau_eff = tau_m/(1 + g) exactly."""
    runs = []
    for extra in (False, True):
        net = SpikingNetwork([mixed(extra)], 0.1, dtype=F64, seed=4)
        assert len(net.receptor_taus) == 1 + extra and len(net.conductance_receptors) == 2
        runs.append(run_network(net, 500))
    (a, sa), (b, sb) = runs
    assert len(a.step) > 100
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    torch.testing.assert_close(sa.neuron.v, sb.neuron.v, rtol=0, atol=1e-10)
    torch.testing.assert_close(sa.conductances, sb.conductances, rtol=0, atol=1e-12)


def test_conductance_config_errors_name_the_key():
    raw = yaml.safe_load(COBA.read_text())
    raw.pop("scales")
    validate(raw)
    cases = [
        (("EE", "weight"), -0.6, "weight"),  # a conductance is >= 0 whatever the source
        (("EI", "reversal"), -40.0, "reversal"),  # inhibition must reverse at or below threshold (Dale)
        (("EE", "reversal"), -70.0, "reversal"),  # excitation above it
        (("EE", "reversal"), None, "reversal"),  # required
        (("EE", "synapse"), "shunt", "synapse"),
    ]
    for (proj, key), value, match in cases:
        bad = copy.deepcopy(raw)
        bad["spiking"]["projections"][proj][key] = value
        with pytest.raises(ConfigError, match=f"spiking.projections.{proj}.{match}"):
            validate(bad)
    bad = copy.deepcopy(raw)
    bad["spiking"]["neuron"] = "qif"
    for pop in bad["spiking"]["populations"].values():
        pop["params"], pop["init_v"] = {}, []
    with pytest.raises(ConfigError, match="spiking.projections.EE.synapse"):
        validate(bad)
    bad = copy.deepcopy(raw)
    bad["spiking"]["populations"]["E"]["drive_until"] = 0.0
    with pytest.raises(ConfigError, match="spiking.populations.E.drive_until"):
        validate(bad)


def test_drive_until_switches_the_drive_off_in_both_step_paths():
    """A current-based LIF network driven for 30 ms only: the compiled and the torch step agree, and nothing fires
    once the drive and the last currents have died away."""
    params = {"tau_m": 10.0, "v_rest": -65.0, "v_th": -50.0, "v_reset": -65.0, "t_ref": 1.0}
    raw = {"neuron": "lif", "populations": {
        "E": {"size": 20, "type": "exc", "params": params, "drive": 30.0, "drive_until": 30.0,
              "init_v": [-65.0, -50.0]}},
        "projections": {"EE": {"source": "E", "target": "E", "weight": 0.5, "p": 0.2, "tau_syn": 3.0}}}
    spec = parse_section(SpikingSpec, raw, "spiking")
    runs = [run_network(SpikingNetwork([spec], 0.1, dtype=F64, seed=0, kernels=k), 1000)[0] for k in ("auto", "torch")]
    for x, y in zip(*runs):
        np.testing.assert_array_equal(x, y)
    steps = runs[0].step
    assert (steps < 300).sum() > 60 and (steps > 400).sum() == 0


def test_coba_settles_into_a_self_sustained_asynchronous_irregular_state():
    """The benchmark (4000 neurons), 600 ms: after the 50 ms kick the activity sustains itself at low rates with
    irregular firing (mean ISI CV near 1) and near-independent neurons (chi ~ 1/sqrt(200) = 0.07)."""
    spec = Experiment(COBA, "quick").spec
    dt, steps, first = spec.simulation.dt, 6000, 2000
    net = SpikingNetwork([spec.spiking], dt, seed=0)
    events, _ = run_network(net, steps)
    events = st.window(events, first)
    seconds = (steps - first) * dt / 1000.0
    rate = st.counts_per_neuron(events, 1, net.n)[0] / seconds
    _, cv = st.isi_statistics(events, 1, net.n, dt)
    raster = np.arange(net.n) % 20 == 0
    groups = np.where(raster, np.cumsum(raster) - 1, -1)
    chi = st.synchrony(st.binned_counts(events, 1, groups, int(raster.sum()), first, 50, (steps - first) // 50))
    assert 5.0 < rate[:3200].mean() < 40.0 and 5.0 < rate[3200:].mean() < 40.0
    assert np.nanmean(cv[0]) > 0.8
    assert chi[0] < 0.2
    assert (events.step > steps - 500).sum() > 1000  # still active at the end
