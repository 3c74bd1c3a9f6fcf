"""The rate network against closed-form fixed points and invariants."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from conftest import experiment, two_population_model
from einet import kernels
from einet.experiment import validate
from einet.errors import ConfigError, InsufficientMemory, SimulationDiverged
from einet.fields import parse_section
from einet.network.memory import check_fits
from einet.network.rate import RateNetwork
from einet.config.model import ModelSpec
from einet.neurons.transfer import TRANSFERS


def model_spec(raw: dict) -> ModelSpec:
    return parse_section(ModelSpec, raw, "model")


def run(net: RateNetwork, duration: float, state=None):
    state = state or net.initial_state()
    with torch.inference_mode():
        for _ in range(int(round(duration / net.dt))):
            state, currents = net.step(state)
    return state, currents


@pytest.mark.parametrize("dt", [1.0, 0.1])
def test_two_population_fixed_point_matches_linear_algebra(dt):
    """(I - J)^-1 (M0 Ja0 - theta) = (3, 2), independently of dt."""
    spec = model_spec(two_population_model())
    J = np.array([[1.0, -1.5], [1.0, -1.0]])
    expected = np.linalg.solve(np.eye(2) - J, 2.0 * np.array([2.0, 1.0]) - 1.0)
    assert np.allclose(expected, [3.0, 2.0])
    net = RateNetwork(spec, dt, dtype=torch.float64)
    state, _ = run(net, 1500.0)
    for a in range(2):
        assert torch.allclose(state.rates[a], torch.full_like(state.rates[a], expected[a]), atol=1e-6, rtol=0)


def test_fixed_point_is_exact_for_any_dt_with_instantaneous_inhibition():
    raw = two_population_model()
    raw["populations"]["I"]["tau"] = 0.0
    raw["projections"]["II"]["J"] = -0.5  # keep the instantaneous map contracting
    J = np.array([[1.0, -1.5], [1.0, -0.5]])
    expected = np.linalg.solve(np.eye(2) - J, 2.0 * np.array([2.0, 1.0]) - 1.0)
    for dt in (0.5, 2.0):
        state, _ = run(RateNetwork(model_spec(raw), dt, dtype=torch.float64), 3000.0)
        got = [float(r.mean()) for r in state.rates]
        assert np.allclose(got, expected, atol=1e-8)


def test_exponential_euler_matches_the_analytic_relaxation():
    """A single uncoupled population relaxes as r(t) = r* (1 - exp(-t/tau)) at every step."""
    raw = {"populations": {"E": {"size": 4, "type": "exc", "tau": 15.0}}, "external": {"M0": 1.0, "J": {"E": 3.0}}}
    net = RateNetwork(model_spec(raw), 0.7, dtype=torch.float64)
    state = net.initial_state()
    for n in range(1, 60):
        state, _ = net.step(state)
        assert math.isclose(float(state.rates[0][0, 0]), 3.0 * (1 - math.exp(-n * 0.7 / 15.0)), rel_tol=1e-12)


def test_synaptic_filter_keeps_the_fixed_point():
    raw = two_population_model()
    for proj in raw["projections"].values():
        proj["tau_syn"] = 3.0
    state, _ = run(RateNetwork(model_spec(raw), 0.5, dtype=torch.float64), 2500.0)
    assert np.allclose([float(r.mean()) for r in state.rates], [3.0, 2.0], atol=1e-6)


def test_batch_elements_match_single_runs():
    """B parameter sets in one batch give exactly what B separate runs give."""
    values = [(1.0, -1.5, 2.0), (0.8, -1.2, 1.5), (1.2, -1.5, 2.5)]
    specs = []
    for jee, jei, m0 in values:
        raw = two_population_model("sparse", K=8.0)
        raw["projections"]["EE"]["J"], raw["projections"]["EI"]["J"] = jee, jei
        raw["external"]["M0"] = m0
        specs.append(model_spec(raw))
    batched, _ = run(RateNetwork(specs, 0.5, dtype=torch.float64, seed=3), 50.0)
    for b, spec in enumerate(specs):
        single, _ = run(RateNetwork(spec, 0.5, dtype=torch.float64, seed=3), 50.0)
        for a in range(2):
            torch.testing.assert_close(batched.rates[a][b], single.rates[a][0], rtol=1e-12, atol=1e-12)


def test_batch_elements_must_share_the_connectivity():
    a = model_spec(two_population_model("sparse", K=8.0))
    b = model_spec(two_population_model("sparse", K=9.0))
    with pytest.raises(ConfigError, match="model.K"):
        RateNetwork([a, b], 0.5)


def test_same_seed_same_numbers_different_seed_different_network():
    raw = two_population_model("sparse", K=8.0)
    raw["external"]["noise"] = {"E": 0.5, "I": 0.5}
    spec = model_spec(raw)
    r1, _ = run(RateNetwork(spec, 0.5, seed=1), 20.0)
    r2, _ = run(RateNetwork(spec, 0.5, seed=1), 20.0)
    r3, _ = run(RateNetwork(spec, 0.5, seed=2), 20.0)
    assert torch.equal(r1.rates[0], r2.rates[0])
    assert not torch.equal(r1.rates[0], r3.rates[0])


def test_noise_variance_does_not_depend_on_dt():
    """A linear population driven by input noise sigma*sqrt(tau/dt)*xi is an OU process.

    tau dr = (r* - r) dt + sigma sqrt(tau) dW has stationary variance sigma^2 / 2; the
    discretised process has an exactly known variance within O(dt/tau) of it.
    """
    raw = {
        "populations": {"E": {"size": 4000, "type": "exc", "tau": 10.0,
                              "transfer": {"name": "threshold_linear", "threshold": -100.0}}},
        "external": {"noise": {"E": 0.6}},  # input 0 + noise, far above threshold: linear
    }
    variances = []
    for dt in (0.2, 0.05):
        state, _ = run(RateNetwork(model_spec(raw), dt, dtype=torch.float64, seed=5), 100.0)
        variances.append(float(state.rates[0].var()))
    for v, dt in zip(variances, (0.2, 0.05)):
        a = math.exp(-dt / 10.0)  # exact stationary variance of the discretised process
        exact = (1 - a) ** 2 * 0.36 * 10.0 / dt / (1 - a * a)
        assert abs(v - exact) < 5 * exact * math.sqrt(2 / 4000)
        assert abs(v - 0.18) < 0.02  # the continuous-time value sigma^2/2


@pytest.mark.parametrize("name", TRANSFERS.names())
def test_transfer_functions_against_closed_forms(name):
    x = torch.linspace(-3, 6, 181, dtype=torch.float64)
    th, g, rm = (torch.tensor(v, dtype=torch.float64) for v in (0.5, 1.7, 3.0))
    got = TRANSFERS.get(name)(x, th, g, rm).numpy()
    u = 1.7 * (x.numpy() - 0.5)
    expected = {
        "threshold_linear": np.maximum(u, 0),
        "sigmoid": 3.0 / (1 + np.exp(-u)),
        "erf": 3.0 * np.array([0.5 * (1 + math.erf(v / math.sqrt(2))) for v in u]),
        "brunel_hakim": np.where(u <= 0, 0, np.where(u <= 1, u**2, np.sqrt(np.maximum(4 * u - 3, 0)))),
    }[name]
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_brunel_hakim_is_smooth_at_the_junction():
    f = TRANSFERS.get("brunel_hakim")
    one = torch.tensor(1.0)
    x = torch.tensor([1 - 1e-6, 1 + 1e-6], dtype=torch.float64)
    y = f(x, torch.tensor(0.0), one, one)
    assert abs(float(y[1] - y[0]) / 2e-6 - 2.0) < 1e-4  # slope 2 on both sides


def test_divergence_stops_with_where_and_why():
    from einet.runs.rate import simulate

    raw = experiment()
    raw["model"]["projections"]["EE"]["J"] = 4.0  # runaway excitation
    raw["simulation"]["max_rate"] = 1e4
    with pytest.raises(SimulationDiverged, match=r"population E, batch element .*above simulation.max_rate"):
        simulate(validate(raw), progress=False)


def test_nan_input_is_reported_as_nan():
    from einet.runs.recorder import Recorder

    spec = validate(experiment())
    net = RateNetwork(spec.model, 0.5)
    rec = Recorder(net, spec.simulation.record, 10, 1e6)
    state = net.initial_state()
    state.rates[1][0, 3] = float("nan")
    with pytest.raises(SimulationDiverged, match=r"t = 1\.5 ms in population I.*NaN"):
        rec.check_finite(3, state.rates)


def test_deferred_divergence_checks_name_the_first_bad_sample(monkeypatch):
    """Off the CPU the recorder folds its verdicts into a device tensor and reads it every so many samples:
    forced here, a NaN at sample 3 passes silently until the read, which names its time and place."""
    from einet.runs import recorder as recorder_module

    monkeypatch.setattr(recorder_module, "defers_checks", lambda device: True)
    monkeypatch.setattr(recorder_module, "DEVICE_CHECK_EVERY", 1000)
    spec = validate(experiment())
    net = RateNetwork(spec.model, 0.5)
    rec = recorder_module.Recorder(net, spec.simulation.record, 40, 1e6)
    state = net.initial_state()
    rec._k = 1  # not a multiple of the read interval: the samples below are only folded in
    rec.check_finite(1, state.rates)
    bad = [r.clone() for r in state.rates]
    bad[1][0, 3] = float("nan")
    rec.check_finite(3, bad)
    rec.check_finite(5, bad)  # later bad samples do not move the first one
    with pytest.raises(SimulationDiverged, match=r"t = 1\.5 ms in population I, batch element 0: NaN"):
        rec.check_finite(7, state.rates, final=True)


def test_memory_estimate_refuses_what_will_not_fit():
    raw = two_population_model("sparse", K=40000.0)
    raw["populations"]["E"]["size"] = raw["populations"]["I"]["size"] = 1_000_000
    with pytest.raises(InsufficientMemory, match="GiB"):
        check_fits(model_spec(raw), 1, torch.float32, torch.device("cpu"))


def test_memory_estimate_is_close_to_what_is_allocated():
    from einet.network.memory import estimate

    raw = two_population_model("sparse", K=50.0)
    raw["populations"]["E"]["size"] = raw["populations"]["I"]["size"] = 2000
    spec = model_spec(raw)
    net = RateNetwork(spec, 0.5)
    assert 0.95 < net.weight_bytes() / estimate(spec, 1, torch.float32)["weights"] < 1.001
    if kernels.load("pattern_mm") is not None:  # after a step the compiled kernel's segmented copy exists too
        net.step(net.initial_state())
        assert 0.95 < net.weight_bytes() / estimate(spec, 1, torch.float32, segmented=True)["weights"] < 1.001


@pytest.mark.parametrize("connectivity", ["sparse", "all_to_all"])
def test_dale_sign_of_every_effective_weight(connectivity):
    """Every entry of every projection has the sign of its source population's type."""
    raw = two_population_model(connectivity, **({"K": 8.0} if connectivity == "sparse" else {}))
    for proj, kappa in (("EE", 1.0), ("EI", -1.0)):  # the extreme profiles Dale's law allows
        raw["projections"][proj].update(profile="cosine", kappa=kappa)
    spec = model_spec(raw)
    net = RateNetwork(spec, 0.5, dtype=torch.float64)
    for name, proj in spec.projections.items():
        op = net.projection_operator(name)
        dense = (op.to_dense(proj.kappa) if connectivity == "all_to_all" else op.to_dense()) * proj.J
        sign = 1 if spec.populations[proj.source].type == "exc" else -1
        assert bool((dense * sign >= -1e-15).all())  # kappa = ±1 reaches 0 up to rounding
        assert bool((dense != 0).any())


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_run_matches_cpu_run():
    """Connectivity is drawn on the CPU, so both devices simulate the same network."""
    raw = [two_population_model("sparse", K=20.0) for _ in range(3)]
    for r, m in zip(raw, (1.0, 2.0, 3.0)):
        r["populations"]["E"]["size"] = r["populations"]["I"]["size"] = 500
        r["external"]["M0"] = m
    specs = [model_spec(r) for r in raw]
    cpu, _ = run(RateNetwork(specs, 0.5, dtype=torch.float64, seed=2), 100.0)
    gpu, _ = run(RateNetwork(specs, 0.5, dtype=torch.float64, seed=2, device="cuda"), 100.0)
    for a in range(2):
        torch.testing.assert_close(gpu.rates[a].cpu(), cpu.rates[a], rtol=1e-9, atol=1e-9)


def test_stimulus_is_added_to_the_external_input_for_one_step():
    """A cue of amplitude 2 on neuron 0 of E: the step's input and the exact relaxation both show it."""
    raw = {"populations": {"E": {"size": 3, "type": "exc", "tau": 10.0}, "I": {"size": 2, "type": "inh", "tau": 5.0}},
           "external": {"M0": 1.0, "J": {"E": 1.0, "I": 0.5}}}
    net = RateNetwork(model_spec(raw), 1.0, dtype=torch.float64)
    cue = torch.tensor([[2.0, 0.0, 0.0]], dtype=torch.float64)
    state, currents = net.step(net.initial_state(), (cue, None))
    np.testing.assert_allclose(currents.ext[0].numpy(), [[3.0, 1.0, 1.0]])
    np.testing.assert_allclose(currents.ext[1].numpy(), [[0.5, 0.5]])
    decay = math.exp(-0.1)
    np.testing.assert_allclose(state.rates[0].numpy(), [[3 * (1 - decay), 1 - decay, 1 - decay]], rtol=1e-12)
    state, currents = net.step(state)  # the cue is gone on the next step
    np.testing.assert_allclose(currents.ext[0].numpy(), [[1.0, 1.0, 1.0]])
    with pytest.raises(ValueError, match="one entry per population"):
        net.step(state, (cue,))


def test_sparse_kappa_cannot_vary_across_the_batch():
    """kappa of a sparse projection shapes which synapses exist, so one connectivity cannot serve two values."""
    specs = []
    for kappa in (0.2, 0.5):
        raw = two_population_model("sparse", K=8.0)
        raw["projections"]["EE"].update(profile="cosine", kappa=kappa)
        specs.append(model_spec(raw))
    with pytest.raises(ConfigError, match="grid axis"):
        RateNetwork(specs, 0.5)
