"""Serial bias: the fit against known curves, session mechanics against exact values, the physics, the pipeline."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from conftest import draw_through_cli, run_through_cli
from einet.analysis import serial_bias as sb
from einet.measures.bump import decode
from einet.experiment import Experiment, validate
from einet.errors import ConfigError
from einet.runs.sessions import run_sessions, simulate_sessions
from einet.runs.rate import build_network
from einet.tasks import SerialODR, build_task
from einet.tasks.sequence import previous_distance

EXPERIMENT = Path(__file__).resolve().parents[2] / "config" / "experiments" / "serial_bias.yaml"
WIDTHS = np.arange(10.0, 150.25, 0.5)


# ----------------------------------------------------------------- the fit, on data of known truth
def synthetic(rng, amplitude, width, sessions=64, trials=10, noise=8.0):
    """Trials whose errors follow the derivative-of-Gaussian curve plus Gaussian noise [deg]."""
    previous = rng.uniform(-180.0, 180.0, (sessions, trials))
    previous[:, 0] = np.nan  # no previous cue on a session's first trial
    return previous, sb.dog(previous, amplitude, width) + rng.normal(0.0, noise, previous.shape)


def test_dog_peaks_at_width_with_value_amplitude():
    x = np.linspace(-180, 180, 36001)
    y = sb.dog(x, 2.5, 35.0)
    assert x[np.argmax(y)] == pytest.approx(35.0, abs=0.01) and y.max() == pytest.approx(2.5, rel=1e-9)
    np.testing.assert_allclose(y, -sb.dog(-x, 2.5, 35.0))  # odd: folding loses nothing


def test_fit_recovers_known_curve_and_bootstrap_intervals_cover_the_truth():
    truth_a, truth_w = 3.0, 40.0
    covered_a = covered_w = 0
    estimates = []
    for rep in range(20):
        previous, error = synthetic(np.random.default_rng(1000 + rep), truth_a, truth_w)
        a, w = sb.fit_dog(previous, error, WIDTHS)
        amps, wids = sb.bootstrap_dog(previous, error, WIDTHS, 500, seed=rep)
        (a_lo, a_hi), (w_lo, w_hi) = np.quantile(amps, [0.025, 0.975]), np.quantile(wids, [0.025, 0.975])
        assert a_lo <= a <= a_hi and w_lo <= w <= w_hi
        covered_a += a_lo <= truth_a <= a_hi
        covered_w += w_lo <= truth_w <= w_hi
        estimates.append((a, w))
    assert covered_a >= 16 and covered_w >= 16, (covered_a, covered_w)
    median_a, median_w = np.median(estimates, axis=0)
    assert abs(median_a - truth_a) < 0.5 and abs(median_w - truth_w) < 6.0


def test_noise_free_curve_is_fitted_exactly_and_binned_as_folded():
    previous = np.tile(np.linspace(-179.0, 179.0, 359), (4, 1))
    error = sb.dog(previous, -2.0, 55.0)  # repulsion
    assert sb.fit_dog(previous, error, WIDTHS) == pytest.approx((-2.0, 55.0), abs=1e-9)
    edges = np.linspace(0, 180, 10)
    mean, _, count = sb.bias_curve(*sb.fold(previous, error), edges)
    assert count.sum() == previous.size
    expected = [sb.dog(np.abs(previous[0])[(np.abs(previous[0]) >= lo) & (np.abs(previous[0]) < hi)], -2.0, 55.0).mean()
                for lo, hi in zip(edges[:-1], edges[1:])]
    np.testing.assert_allclose(mean, expected)


# ----------------------------------------------------------------- session mechanics
def test_previous_distance_is_previous_minus_current_wrapped():
    cues = np.radians([[0.0, 90.0, 350.0, 10.0]])
    expected = np.radians([[np.nan, -90.0, 100.0, -20.0]])
    np.testing.assert_allclose(previous_distance(cues), expected, atol=1e-12)


def test_cue_angles_are_seeded_uniform_and_delivered_trial_by_trial():
    make = lambda seed: SerialODR(population=0, sizes=[180], sessions=50, trials=6, seed=seed, strength=2.0,  # noqa: E731
                                  fixation=10.0, cue=10.0, delay=20.0, erase=10.0, iti=30.0, erase_strength=-0.7,
                                  dtype=torch.float64)
    a, b, c = make(3), make(3), make(4)
    np.testing.assert_array_equal(a.cue_angles, b.cue_angles)
    assert not np.allclose(a.cue_angles, c.cue_angles)
    assert a.cue_angles.shape == (50, 6) and (a.cue_angles >= 0).all() and (a.cue_angles < 2 * np.pi).all()
    dt, steps = 1.0, a.trial_steps(1.0)
    assert steps == 80 and a.n_steps(dt) == 480 and a.report_step(dt) == 40 and a.iti_start_step(dt) == 50
    for trial in (0, 4):
        start = trial * steps
        assert a.stimulus(start + 5, dt) is None and a.stimulus(start + 30, dt) is None  # fixation, delay
        assert a.stimulus(start + 60, dt) is None  # iti
        cue = a.stimulus(start + 12, dt)[0]
        error = np.angle(np.exp(1j * (decode(cue)[2].numpy() - a.cue_angles[:, trial])))
        np.testing.assert_allclose(error, 0.0, atol=1e-9)
        assert float(a.stimulus(start + 45, dt)[0].squeeze()) == -0.7


def _silent_ring(reset: bool, iti: float = 400.0) -> dict:
    """A ring of instantaneous threshold-linear neurons that is silent without a cue: the rates are
    exactly 0 through the ITI, where u must relax as U + (u0 - U) exp(-t / tau_fac)."""
    return {
        "name": "mechanics",
        "model": {
            "populations": {"E": {"size": 64, "type": "exc", "tau": 0.0,
                                  "transfer": {"name": "threshold_linear", "threshold": 0.5}}},
            "projections": {"EE": {"source": "E", "target": "E", "J": 0.01, "connectivity": "all_to_all",
                                   "profile": "cosine", "kappa": 0.5,
                                   "stp": {"U": 0.1, "tau_fac": 500.0, "tau_rec": 100.0}}},
            "external": {"M0": 0.0},
        },
        "simulation": {"dt": 1.0, "dtype": "float64", "device": "cpu"},
        "task": {"kind": "serial_odr", "population": "E", "sessions": 3, "trials": 3, "strength": 40.0,
                 "reset": reset, "epochs": {"fixation": 20.0, "cue": 200.0, "delay": 50.0, "erase": 0.0, "iti": iti}},
        "analysis": {"kind": "serial_bias"},
    }


def _run(raw: dict, cues=None):
    spec = validate(raw)
    task = build_task(spec.task, ["E"], [64], torch.float64)
    if cues is not None:
        task.cue_angles = np.asarray(cues, dtype=float)
    net = build_network(spec, torch.device("cpu"), task.batch_size)
    return {k: v.numpy() for k, v in run_sessions(net, task).items()}, task


def test_u_relaxes_exactly_over_a_silent_iti_and_carries_into_the_next_trial():
    carried, task = _run(_silent_ring(reset=False))
    start, end = carried["u_iti_start"][..., 0], carried["u_iti_end"][..., 0]  # [trial, session]
    U, tau_fac = 0.1, 500.0
    assert (start > U + 0.02).all()  # the cue facilitated the synapses
    np.testing.assert_allclose(end, U + (start - U) * math.exp(-task.iti / tau_fac), rtol=1e-12)
    reset, _ = _run(_silent_ring(reset=True))
    np.testing.assert_allclose(reset["u_iti_start"][0], carried["u_iti_start"][0], rtol=1e-12)  # same first trial
    assert (carried["u_iti_start"][1:] > reset["u_iti_start"][1:] + 1e-3).all()  # later trials start facilitated


def test_reset_trials_equal_fresh_single_trial_sessions():
    cues = np.array([[0.3, 2.0, 4.1], [1.0, 5.9, 0.2], [3.3, 3.1, 1.7]])
    sequence, _ = _run(_silent_ring(reset=True), cues)
    for trial in range(3):
        alone, _ = _run(_silent_ring(reset=True), np.repeat(cues[:, trial:trial + 1], 3, axis=1))
        for key in ("phase", "m1", "u_iti_start", "u_iti_end"):
            np.testing.assert_allclose(sequence[key][trial], alone[key][0], rtol=1e-12, atol=1e-15)


def test_config_errors_name_the_key():
    raw = _silent_ring(reset=False)
    with pytest.raises(ConfigError, match="analysis.kind"):
        validate({**raw, "analysis": {"kind": "ring"}})
    with pytest.raises(ConfigError, match="task.trials"):
        validate({**raw, "task": {**raw["task"], "trials": 1}})
    with pytest.raises(ConfigError, match="task.cue_angles"):
        validate({**raw, "task": {**raw["task"], "cue_angles": [0.0, 90.0]}})
    with pytest.raises(ConfigError, match="task.epochs.response"):
        validate({**raw, "task": {**raw["task"], "epochs": {"response": 10.0}}})


# ----------------------------------------------------------------- the physics, on the quick experiment
def _bias(iti: float, reset: bool):
    exp = Experiment(EXPERIMENT, "quick")
    raw = exp.job_config(exp.job_names()[0])
    raw["task"]["epochs"]["iti"], raw["task"]["reset"] = iti, reset
    raw["sweep"]["batch"] = {}  # the standard facilitation, tau_fac = 1000 ms
    raw["simulation"]["device"] = "cpu"
    raw["analysis"]["serial_bias"]["bootstrap"] = 500
    spec = validate(raw)
    task = build_task(spec.task, list(spec.model.populations), [p.size for p in spec.model.populations.values()])
    out = sb.analyze(simulate_sessions(spec, task, progress=False), spec)
    return float(out.bias_amplitude), float(out.bias_amplitude_low), float(out.bias_amplitude_high)


@pytest.mark.slow
def test_facilitation_gives_an_attractive_bias_that_shrinks_with_the_iti_and_reset_removes_it():
    short, long_ = _bias(100.0, False), _bias(1000.0, False)
    assert short[1] > 0, short  # attractive, interval above zero
    assert short[0] > long_[2], (short, long_)  # the short-ITI bias lies above the long-ITI interval
    control = _bias(100.0, True)
    assert control[1] <= 0.0 <= control[2], control


# ----------------------------------------------------------------- the pipeline
def test_serial_bias_experiment_runs_through_the_cli(tmp_path):
    raw = yaml.safe_load(EXPERIMENT.read_text())
    shrink = {
        "model": {"populations": {"E": {"size": 64}, "I": {"size": 16}}},
        "task": {"sessions": 4, "trials": 3, "epochs": {"fixation": 20.0, "cue": 100.0, "delay": 100.0,
                                                         "erase": 20.0}},
        "analysis": {"serial_bias": {"bootstrap": 50}},
        "sweep": {"grid": {"iti": {"path": "task.epochs.iti", "values": [50.0, 100.0]}},
                  "batch": {"tau_fac": {"path": "model.projections.EE.stp.tau_fac", "values": [500.0, 1000.0]}}},
    }
    summary = run_through_cli(raw, shrink, tmp_path)
    from einet import io

    ds = io.read_dataset(summary)
    assert dict(ds.bias_amplitude.sizes) == {"iti": 2, "reset": 2, "tau_fac": 2}
    assert dict(ds.error.sizes) == {"iti": 2, "reset": 2, "tau_fac": 2, "session": 4, "trial": 3}
    assert all(("units" in v.attrs) == (v.dtype.kind not in "UO") and "long_name" in v.attrs
               for v in ds.variables.values())
    np.testing.assert_allclose(ds.error, sb.wrap_deg(ds.report - ds.cue))
    draw_through_cli("serial_bias", summary, tmp_path)


# ----------------------------------------------------------------- the baseline check (issue 15)
def _shipped_job(job: str):
    import einet

    spec = Experiment(EXPERIMENT, "quick").job_spec(job)
    return sb.analyze(einet.simulate(spec, progress=False), spec)


def test_no_bump_before_a_cue_from_a_fresh_start():
    """When a cue begins the ring holds no bump (m1/m0 below the bump threshold) in every trial that starts
    from the initial state: each session's first trial, and every trial of the reset control. Carried over
    (reset false), the facilitation left by the previous trial can re-ignite a bump during a short ITI: the
    analysis stores it per trial (baseline_persistence); at the quick scale with a 100 ms ITI that happens in
    0 %, 4 % and 31 % of the later trials at tau_fac 750, 1000 and 1250 ms, which this test does not hide
    behind a tolerance: it is the experiment's open baseline failure (issue 15), not the check's."""
    control = _shipped_job("iti~100/reset~True")
    threshold = float(control.bump_threshold)
    assert threshold == sb.BUMP_THRESHOLD
    assert float(control.baseline_persistence.max()) < threshold
    carried = _shipped_job("iti~100/reset~False")
    assert float(carried.baseline_persistence.isel(trial=0).max()) < threshold
    later = carried.baseline_persistence.isel(trial=slice(1, None))
    assert float(later.sel(tau_fac=750.0).max()) < threshold  # weak facilitation: the erase holds
