"""The spiking network runner: propagation, exact receptors, batching, the CUBA state, the pipeline."""

from __future__ import annotations

import copy
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from conftest import draw_through_cli, run_through_cli
from einet.config.spiking import SpikingSpec
from einet.experiment import Experiment, validate
from einet.errors import ConfigError
from einet.fields import parse_section
from einet.synapses.delays import delay_initial, delay_step
from einet.synapses.projection import SparseProjection
from einet.measures import spike_statistics as st
from einet.network.spiking import SpikingNetwork
from einet.network.spike_events import run_network

CUBA = Path(__file__).resolve().parents[2] / "config" / "experiments" / "cuba.yaml"


def small(neuron="lif", p=0.3, delays=(0.1, 0.3), drive=20.0, weights=(2.0, -3.0), params=None, sizes=(30, 10)):
    """Two populations with two receptor time constants and two delays, driven above threshold."""
    params = params if params is not None else {"tau_m": 10.0, "v_rest": -65.0, "v_th": -50.0,
                                                "v_reset": -65.0, "t_ref": 1.0}
    raw = {
        "neuron": neuron,
        "populations": {
            "E": {"size": sizes[0], "type": "exc", "params": params, "drive": drive, "init_v": [-65.0, -50.0]},
            "I": {"size": sizes[1], "type": "inh", "params": params, "drive": drive, "init_v": [-65.0, -50.0]},
        },
        "projections": {
            "EE": {"source": "E", "target": "E", "weight": weights[0], "p": p, "tau_syn": 3.0, "delay": delays[0]},
            "IE": {"source": "E", "target": "I", "weight": weights[0], "p": p, "tau_syn": 3.0, "delay": delays[1]},
            "EI": {"source": "I", "target": "E", "weight": weights[1], "p": p, "tau_syn": 8.0, "delay": delays[1]},
            "II": {"source": "I", "target": "I", "weight": weights[1], "connectivity": "fixed_indegree", "K": 3,
                   "tau_syn": 8.0, "delay": delays[0]},
        },
    }
    return parse_section(SpikingSpec, raw, "spiking")


def with_weights(spec, scale: float):
    import dataclasses

    return dataclasses.replace(spec, projections={k: dataclasses.replace(p, weight=p.weight * scale)
                                                  for k, p in spec.projections.items()})


@pytest.mark.parametrize("kernels", ["auto", "torch"])
def test_arrivals_equal_standalone_delay_lines_and_sparse_projections(kernels):
    dt = 0.1
    specs = [small(), with_weights(small(), 0.5)]  # per-element weights: the batched table
    net = SpikingNetwork(specs, dt, dtype=torch.float64, seed=3, kernels=kernels)
    B, N = net.batch_size, net.n
    standalone = []
    for name, syn in net.synapses.items():
        values = net.weights[name].to(torch.float64).view(-1, 1).expand(-1, syn.source.numel())
        proj, vals = SparseProjection.from_indices(syn.target, syn.source, N, N, values)
        standalone.append((proj, vals, syn.receptor, delay_initial(syn.delay - 1, (B, N))))
    state = net.initial_state()
    expected = torch.zeros(B, len(net.receptor_taus), N, dtype=torch.float64)
    total_spikes = 0
    for _ in range(300):
        spikes, state, arrived = net.step(state)
        got = torch.zeros_like(expected) if arrived is None else arrived
        torch.testing.assert_close(got, expected, rtol=0, atol=1e-12)
        total_spikes += int(spikes.sum())
        expected = torch.zeros_like(expected)
        for i, (proj, vals, receptor, line) in enumerate(standalone):
            sent, line = delay_step(spikes, line)
            standalone[i] = (proj, vals, receptor, line)
            expected[:, receptor] += proj.propagate(sent, vals)
    assert total_spikes > 100


def test_a_second_receptor_gives_the_exact_difference_of_exponentials():
    params = {"tau_m": 20.0, "v_rest": -70.0, "v_th": -50.0, "v_reset": -70.0, "t_ref": 2.0}
    spec = small(p=0.0, drive=0.0, params=params, sizes=(1, 1))
    spec = parse_section(SpikingSpec, {**_raw(spec), "populations": {
        k: {**v, "init_v": []} for k, v in _raw(spec)["populations"].items()}}, "spiking")
    dt = 0.1
    net = SpikingNetwork([spec], dt, dtype=torch.float64)
    state = net.initial_state()
    state = state._replace(currents=state.currents + 4.0)  # receptor tau = 8 ms: a 4 mV jump at t = 0
    for k in range(1, 200):
        _, state, _ = net.step(state)
        t, tau_m, tau_s = k * dt, 20.0, 8.0
        psp = 4.0 * tau_s / (tau_s - tau_m) * (math.exp(-t / tau_s) - math.exp(-t / tau_m))
        torch.testing.assert_close(state.neuron.v, torch.full_like(state.neuron.v, -70.0 + psp), rtol=0, atol=1e-10)


def _raw(spec):
    from einet.fields import to_dict

    return to_dict(spec)


def test_a_batch_equals_its_elements_run_alone():
    specs = [small(), with_weights(small(), 0.7)]
    batch, _ = run_network(SpikingNetwork(specs, 0.1, dtype=torch.float64, seed=1), 400)
    for b, spec in enumerate(specs):
        alone, _ = run_network(SpikingNetwork([spec], 0.1, dtype=torch.float64, seed=1), 400)
        mine = batch.batch == b
        np.testing.assert_array_equal(batch.step[mine], alone.step)
        np.testing.assert_array_equal(batch.neuron[mine], alone.neuron)


@pytest.mark.parametrize("neuron", ["alif", "qif"])
def test_other_registered_models_run_in_a_network(neuron):
    params = {} if neuron == "qif" else None
    spec = small(neuron, drive=2.0 if neuron == "qif" else 20.0, params=params,
                 weights=(0.2, -0.3) if neuron == "qif" else (2.0, -3.0))
    events, state = run_network(SpikingNetwork([spec], 0.1, seed=0), 500)
    assert events.count.sum() > 50 and bool(torch.isfinite(state.neuron.v).all())


def _cuba(scale: float = 1.0):
    spec = Experiment(CUBA, "quick").spec.spiking
    return spec if scale == 1.0 else with_weights(spec, scale)


def test_cuba_settles_into_an_asynchronous_irregular_state():
    """Full size (4000 neurons), 1.2 s. Uncoupled, every neuron fires periodically (E_L is above threshold,
    CV ~ 0); coupled, firing is irregular, rates low and broad, and neurons nearly independent."""
    dt, steps, first = 0.1, 12000, 2000
    net = SpikingNetwork([_cuba(), _cuba(0.0)], dt, seed=0)
    events, _ = run_network(net, steps)
    events = st.window(events, first)
    seconds = (steps - first) * dt / 1000.0
    rate = st.counts_per_neuron(events, 2, net.n) / seconds
    _, cv = st.isi_statistics(events, 2, net.n, dt)
    raster = np.arange(net.n) % 20 == 0  # 200 neurons
    groups = np.where(raster, np.cumsum(raster) - 1, -1)
    counts = st.binned_counts(events, 2, groups, int(raster.sum()), first, 50, (steps - first) // 50)
    chi = st.synchrony(counts)
    coupled, uncoupled = 0, 1
    assert 2.0 < rate[coupled].mean() < 20.0  # low rates, a few Hz (Vogels & Abbott 2005; Brette et al. 2007)
    assert rate[coupled].std() > 0.5 * rate[coupled].mean()  # broad rate distribution
    assert np.nanmean(cv[coupled]) > 0.4 and np.nanmean(cv[uncoupled]) < 0.05
    assert chi[coupled] < 0.25  # near 1/sqrt(200) = 0.07 for independent neurons


def test_spiking_config_errors_name_the_key():
    raw = yaml.safe_load(CUBA.read_text())
    raw.pop("scales")
    bad = copy.deepcopy(raw)
    bad["spiking"]["projections"]["EE"]["delay"] = 0.15
    with pytest.raises(ConfigError, match="spiking.projections.EE.delay"):
        validate(bad)
    bad = copy.deepcopy(raw)
    bad["spiking"]["projections"]["EI"]["weight"] = 9.0
    with pytest.raises(ConfigError, match="spiking.projections.EI.weight"):
        validate(bad)
    bad = copy.deepcopy(raw)
    bad["spiking"]["populations"]["E"]["params"]["tau_x"] = 1.0
    with pytest.raises(ConfigError, match="params.tau_x"):
        validate(bad)
    bad = copy.deepcopy(raw)
    bad["analysis"] = {"kind": "balance"}  # a kind the spiking run does not accept
    with pytest.raises(ConfigError, match="analysis.kind"):
        validate(bad)
    bad["analysis"] = {"kind": "balance", "spiking": raw["analysis"]["spiking"]}  # keys of another kind
    with pytest.raises(ConfigError, match=r"analysis.spiking.*only kind spiking has 'spiking'"):
        validate(bad)


def test_cuba_runs_through_the_cli_into_its_figure(tmp_path):
    raw = yaml.safe_load(CUBA.read_text())
    shrink = {"simulation": {"duration": 400.0}, "spiking": {"record": {"transient": 100.0, "raster_neurons": 20}},
              "analysis": {"spiking": {"raster_window": 200.0}},
              "sweep": {"batch": {"w_inh": {"path": "spiking.projections.EI.weight", "values": [-9.0, -12.0]}}}}
    summary = run_through_cli(raw, shrink, tmp_path)
    draw_through_cli("cuba", summary, tmp_path)
    import xarray as xr

    ds = xr.open_dataset(summary)
    assert ds.rate_mean.dims == ("w_inh", "population") and ds.raster.sizes["raster_neuron"] == 40
    assert (ds.rate_mean > 1.0).all() and ds.rate_mean.attrs["units"] == "Hz"


@pytest.mark.parametrize("drive, third_receptor", [(0.0, False), (20.0, False), (20.0, True)])
def test_the_compiled_step_gives_the_torch_numbers(drive, third_receptor):
    """The fused kernel (used for LIF networks with shared parameters) against plain torch: same spikes,
    potentials equal up to rounding, in float64 over 400 steps of a network with two receptors and delays."""
    from einet import kernels

    if kernels.load("spiking_step") is None:
        pytest.skip("no C++ compiler: only the torch path exists here")
    params = {"tau_m": 10.0, "v_rest": -45.0 if drive == 0.0 else -65.0, "v_th": -50.0, "v_reset": -65.0,
              "t_ref": 1.0}
    specs = [small(drive=drive, params=params), with_weights(small(drive=drive, params=params), 0.5)]
    if third_receptor:  # the kernel's general path: two receptors besides the model's own
        import dataclasses

        specs = [dataclasses.replace(sp, projections={**sp.projections, "II": dataclasses.replace(
            sp.projections["II"], tau_syn=12.0)}) for sp in specs]
    runs = []
    for mode in ("auto", "torch"):
        net = SpikingNetwork(specs, 0.1, dtype=torch.float64, seed=2, kernels=mode)
        assert (net._fused is not None) == (mode == "auto")
        events, state = run_network(net, 400)
        runs.append((events, state))
    (fast, s_fast), (slow, s_slow) = runs
    assert len(slow.step) > 100
    for a, b in zip(fast, slow):
        np.testing.assert_array_equal(a, b)
    torch.testing.assert_close(s_fast.neuron.v, s_slow.neuron.v, rtol=0, atol=1e-9)
    torch.testing.assert_close(s_fast.currents, s_slow.currents, rtol=0, atol=1e-9)


def test_reservoir_experiment_runs_through_the_cli_into_its_figure(tmp_path):
    raw = yaml.safe_load((CUBA.parent / "reservoir.yaml").read_text())
    shrink = {"reservoir": {"n": 200, "train": 2500.0, "test": 500.0}}
    summary = run_through_cli(raw, shrink, tmp_path)
    draw_through_cli("reservoir", summary, tmp_path)
    import xarray as xr

    ds = xr.open_dataset(summary)
    assert list(ds.readout.values) == ["ridge", "force"] and ds.sizes["test_time"] == 500
    assert (ds.r2 > 0.8).all()  # R² itself is tested in test_spiking_readouts


def test_steps_with_and_without_collected_arrivals_agree():
    """The compiled step adds arrivals straight into the currents when they are not asked for; mixing both
    kinds of step must give the same spikes and state as collecting them every step."""
    specs = [small(), with_weights(small(), 0.5)]
    runs = []
    for pattern in ((True,), (False,), (True, False, False)):
        net = SpikingNetwork(specs, 0.1, dtype=torch.float64, seed=3)
        state, spikes = net.initial_state(), []
        for k in range(300):
            s, state, _ = net.step(state, arrivals=pattern[k % len(pattern)])
            spikes.append(s.clone())
        runs.append((torch.stack(spikes), state))
    (ref, s_ref), *others = runs
    assert int(ref.sum()) > 100
    for spikes, state in others:
        assert torch.equal(spikes, ref)
        torch.testing.assert_close(state.neuron.v, s_ref.neuron.v, rtol=0, atol=1e-9)
        torch.testing.assert_close(state.currents, s_ref.currents, rtol=0, atol=1e-9)


@pytest.mark.parametrize("neuron", ["lif", "qif"])
def test_a_dense_history_gives_the_events_of_the_event_history(neuron, monkeypatch):
    """Off the CPU the history holds dense spike tensors, propagated through every synapse and gathered
    into events a chunk of steps at a time (no host synchronisation per step). Forced here on the CPU,
    in float64, with chunks that end mid-run: the same events as the event history, step for step."""
    from einet.network import spike_events

    params = {} if neuron == "qif" else None
    specs = [small(neuron, drive=2.0 if neuron == "qif" else 20.0, params=params,
                   weights=(0.2, -0.3) if neuron == "qif" else (2.0, -3.0)),
             with_weights(small(neuron, drive=2.0 if neuron == "qif" else 20.0, params=params,
                                weights=(0.2, -0.3) if neuron == "qif" else (2.0, -3.0)), 0.7)]
    make = lambda: SpikingNetwork(specs, 0.1, dtype=torch.float64, seed=1, kernels="torch")  # noqa: E731
    events, state = run_network(make(), 700)
    monkeypatch.setattr(SpikingNetwork, "dense_history", property(lambda self: True))
    monkeypatch.setattr(spike_events, "_DENSE_CHUNK_BYTES", 2 * 40 * 8 * 97)  # 97 float64 steps a chunk
    monkeypatch.setattr("einet.network.spiking.DENSE_BLOCK_ELEMENTS", 7 * 2 * 40)  # sources in blocks of ~7
    dense, dense_state = run_network(make(), 700)
    assert events.count.sum() > 100
    for field in ("step", "batch", "neuron", "count"):
        np.testing.assert_array_equal(getattr(dense, field), getattr(events, field), err_msg=field)
    torch.testing.assert_close(dense_state.neuron.v, state.neuron.v, rtol=1e-12, atol=1e-12)
