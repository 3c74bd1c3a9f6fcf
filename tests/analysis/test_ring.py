"""The one-population ring of Ben-Yishai et al. (1995) against its analytic bump."""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy.optimize import brentq

from einet.measures.bump import decode, ring_angles
from einet.fields import parse_section
from einet.network.rate import RateNetwork
from einet.config.model import ModelSpec

J0, I0, N = -1.0, 1.0, 720
J1_VALUES = (1.0, 1.8, 3.0, 5.0)


def ring(J1: float) -> ModelSpec:
    """tau dr/dt = -r + [I0 + (1/N) sum_j (J0 + J1 cos(theta_i - theta_j)) r_j]_+ as an einet spec."""
    raw = {
        "populations": {"R": {"size": N, "type": "mixed", "tau": 10.0, "transfer": {"threshold": 0.0}}},
        # J (1 + kappa cos) / N with J = J0 and kappa = J1 / J0
        "projections": {"RR": {"source": "R", "target": "R", "J": J0, "connectivity": "all_to_all",
                               "profile": "cosine", "kappa": J1 / J0}},
        "external": {"M0": 1.0, "J": {"R": I0}},
    }
    return parse_section(ModelSpec, raw, "model")


def bump_width(J1: float) -> float:
    """Half-width theta_c of the bump: (J1 / 2 pi)(theta_c - sin theta_c cos theta_c) = 1."""
    return brentq(lambda t: J1 / (2 * math.pi) * (t - math.sin(t) * math.cos(t)) - 1.0, 1e-9, math.pi)


def steady_states():
    net = RateNetwork([ring(J1) for J1 in J1_VALUES], 1.0, dtype=torch.float64)
    state = net.initial_state()
    theta = ring_angles(N)
    start = 0.5 + 0.1 * torch.cos(theta - 1.0)  # a small bump at 1 rad on the uniform state
    state = state._replace(rates=(start.expand(len(J1_VALUES), N).clone(),))
    with torch.inference_mode():
        for _ in range(3000):
            state, _ = net.step(state)
    return state.rates[0]


def test_uniform_state_below_two_and_a_bump_above():
    m0, m1, phase = decode(steady_states())
    for b, J1 in enumerate(J1_VALUES):
        if J1 < 2:  # the perturbation decays back to the uniform state I0 / (1 - J0)
            assert float(m1[b]) < 1e-8
            assert math.isclose(float(m0[b]), I0 / (1 - J0), rel_tol=1e-9)
        else:  # a bump, where the perturbation put it (up to the pinning of a discrete ring)
            assert float(m1[b] / m0[b]) > 1.0
            assert abs(float(phase[b]) - 1.0) < 0.5 * 2 * math.pi / N


def test_bump_width_and_modulation_match_ben_yishai():
    rates = steady_states()
    m0, m1, _ = decode(rates)
    for b, J1 in enumerate(J1_VALUES):
        if J1 < 2:
            continue
        tc = bump_width(J1)
        active = float((rates[b] > 1e-12).double().mean())  # the bump covers 2 theta_c of 2 pi
        assert abs(active * math.pi - tc) < 2 * math.pi / N
        s, c = math.sin(tc), math.cos(tc)
        expected = (tc - s * c) / (s - tc * c)  # m1/m0 of A [cos(theta) - cos(theta_c)]_+
        assert math.isclose(float(m1[b] / m0[b]), expected, rel_tol=2e-3)
        # and the amplitude fixed by the uniform input: A (-cos tc) = I0 + J0 m0
        amplitude = I0 / (-c - J0 / math.pi * (s - tc * c))
        assert math.isclose(float(rates[b].max()), amplitude * (1 - c), rel_tol=2e-3)


def test_the_two_measured_widths_differ_as_predicted():
    assert bump_width(5.0) < bump_width(3.0) < math.pi
    # onset at J1 = 2: near pi, theta - sin cos = pi - (2/3) delta^3, so delta = (3 pi eps / 4)^(1/3)
    eps = 1e-12
    np.testing.assert_allclose(math.pi - bump_width(2.0 + eps), (3 * math.pi * eps / 4) ** (1 / 3), rtol=1e-3)


def test_recorder_decodes_the_bump_online():
    """bump_* variables equal decoding the full rate vector by hand at every sample."""
    from einet.experiment import validate
    from einet.runs.rate import simulate

    raw = {"name": "ring", "model": {
        "populations": {"R": {"size": 64, "type": "mixed", "tau": 10.0, "transfer": {"threshold": 0.0}}},
        "projections": {"RR": {"source": "R", "target": "R", "J": J0, "connectivity": "all_to_all",
                               "profile": "cosine", "kappa": -3.0}},
        "external": {"M0": 1.0, "J": {"R": I0}}},
        "simulation": {"dt": 1.0, "duration": 40.0, "dtype": "float64", "record": {
            "every": 4.0, "bump": True, "neurons": 64, "variables": ["rate"]}}}
    spec = validate(raw)
    ds = simulate(spec, progress=False)
    traces = torch.from_numpy(ds.rate_trace.values)  # all 64 neurons are traced: [time, neuron]
    m0, m1, phase = decode(traces)
    np.testing.assert_allclose(ds.bump_m0.sel(population="R"), m0, rtol=1e-12)
    np.testing.assert_allclose(ds.bump_m1.sel(population="R"), m1, rtol=1e-9, atol=1e-12)
    assert ds.bump_phase.attrs["units"] == "rad"


def test_odr_cue_sets_the_remembered_location():
    """A batch of ODR trials on the ring attractor: after the delay each bump sits at its cue."""
    from einet.tasks import ODR

    angles = [0.3, 1.9, 3.5, 5.1]
    net = RateNetwork([ring(3.0)] * len(angles), 1.0, dtype=torch.float64)
    task = ODR(population=0, sizes=[N], cue_angles=angles, strength=1.0, footprint=0.4,
               fixation=100.0, cue=100.0, delay=1500.0, dtype=torch.float64)
    state = net.initial_state()
    with torch.inference_mode():
        for step in range(task.schedule.n_steps(net.dt)):
            state, _ = net.step(state, task.stimulus(step, net.dt))
    m0, m1, phase = decode(state.rates[0])
    error = np.angle(np.exp(1j * (phase.numpy() - np.asarray(angles))))
    assert np.all(np.abs(error) < 2 * math.pi / N)  # within a neuron of the cue
    assert np.all((m1 / m0).numpy() > 1.0)  # a bump persists without the cue


def test_simulate_with_a_task_adds_trials_epochs_and_conditions(tmp_path):
    """Two coupling strengths (batch axis) x four ODR trials, written and read back as netCDF."""
    from einet import io
    from einet.experiment import validate
    from einet.runs.rate import simulate
    from einet.tasks import ODR

    angles = [0.5, 2.0, 3.5, 5.0]
    raw = {"name": "odr", "model": {
        "populations": {"R": {"size": 180, "type": "mixed", "tau": 10.0, "transfer": {"threshold": 0.0}}},
        "projections": {"RR": {"source": "R", "target": "R", "J": J0, "connectivity": "all_to_all",
                               "profile": "cosine", "kappa": -3.0}},
        "external": {"M0": 1.0, "J": {"R": I0}}},
        "simulation": {"dt": 1.0, "dtype": "float64", "record": {"every": 10.0, "bump": True, "neurons": 2}},
        "sweep": {"batch": {"model.projections.RR.kappa": [-3.0, -1.5]}}}
    spec = validate(raw)
    task = ODR(population=0, sizes=[180], cue_angles=angles, fixation=50.0, cue=100.0, delay=600.0,
               dtype=torch.float64)
    ds = simulate(spec, progress=False, task=task)
    assert ds.bump_phase.dims == ("kappa", "trial", "population", "time")
    assert list(ds.epoch.values[:5]) == ["fixation"] * 5 and ds.epoch.values[-1] == "delay"
    np.testing.assert_allclose(ds.cue_angle, angles)
    end = ds.isel(time=-1).sel(population="R")
    # J1 = 3: the bump stays at each cue; J1 = 1.5 < 2: no bump survives the delay
    error = np.angle(np.exp(1j * (end.bump_phase.sel(kappa=-3.0).values - np.asarray(angles))))
    assert np.all(np.abs(error) < 2 * math.pi / 180)
    assert np.all(end.bump_m1.sel(kappa=-1.5).values < 1e-6)
    back = io.read_dataset(io.write_dataset(ds, tmp_path / "odr.nc", provenance={"seed": 0}))
    assert list(back.epoch.values) == list(ds.epoch.values) and back.cue_angle.attrs["units"] == "rad"


def _shipped_ring(name: str, **noise):
    """A shipped ODR experiment at its quick scale through the ring analysis (optionally other noise levels)."""
    from pathlib import Path

    from einet.analysis import ring
    from einet.config.sweep import apply_scale, load_yaml
    from einet.experiment import validate
    from einet.runs.rate import simulate

    raw = apply_scale(load_yaml(Path(__file__).resolve().parents[2] / "config" / "experiments" / f"{name}.yaml"),
                      "quick")
    raw.pop("scales", None)
    if noise:
        raw["sweep"]["batch"]["noise"]["values"] = noise["values"]
    spec = validate(raw)
    return ring.analyze(simulate(spec, progress=False), spec)


def test_the_shipped_odr_rings_hold_no_bump_before_the_cue():
    """Baseline check (issue 15): at the end of fixation every trial's persistence m1/m0 is below the
    analysis's bump threshold, at every swept noise level or facilitation time (the ring attractor and
    the STP memory), while the cue's bump is held above it to the end of the delay."""
    for name in ("ring_attractor", "stp_memory"):
        out = _shipped_ring(name)
        threshold = float(out.bump_threshold)
        assert threshold == 0.25 and float(out.baseline_time) == 290.0
        assert float(out.baseline_persistence.max()) < threshold, name
    held = out.persistence.sel(population="E").sel(tau_fac=out.tau_fac.max())  # facilitation long enough
    assert float(held.min()) > threshold


def test_the_baseline_check_flags_the_noise_that_nucleates_a_bump_during_fixation():
    """The ring attractor's former top noise level, 0.12, nucleates a bump before the cue (m1/m0 up to
    about 1): the check fails there, and passes at 0.03."""
    out = _shipped_ring("ring_attractor", values=[0.03, 0.12])
    worst = out.baseline_persistence.max("trial")
    assert float(worst.sel(noise=0.03)) < float(out.bump_threshold) < float(worst.sel(noise=0.12))
