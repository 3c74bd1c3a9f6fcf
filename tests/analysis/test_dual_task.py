"""The dual task on a low-rank network: patterns from the network's vectors, overlaps, and the
pitchfork that decides whether the sample is held."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from einet.analysis import dual
from einet.experiment import validate
from einet.errors import ConfigError
from einet.synapses.connectivity import network_low_rank_vectors
from einet.network.rate import RateNetwork
from einet.runs.rate import simulate
from einet.tasks import build_task

N = 800


def dual_experiment(**task) -> dict:
    """Rank two, n1 = m1 (self-exciting), n2 independent; a sigmoid centred on the uniform state.

    With J = 1 the uniform state is r = 1/2, so the input J r - threshold is 0 there and the
    overlap kappa = <m1 r> grows from 0 at the rate s g J <m1 n1> / 4 - 1: the sample is held
    (a pitchfork) exactly when the low-rank strength s exceeds 4 / (g J <m1^2>) = 4.
    """
    return {
        "name": "dual_test",
        "model": {
            "populations": {"R": {"size": N, "type": "mixed", "tau": 10.0, "init_rate": 0.5,
                                  "transfer": {"name": "sigmoid", "threshold": 0.5, "gain": 1.0, "r_max": 1.0}}},
            "projections": {"RR": {"source": "R", "target": "R", "J": 1.0, "connectivity": "all_to_all",
                                   "low_rank": 8.0}},
            "low_rank": {"rank": 2, "cov": [[1, 0, 1, 0], [0, 1, 0, 0], [1, 0, 1, 0], [0, 0, 0, 1]]},
            "external": {"M0": 1.0, "J": {"R": 0.0}},
        },
        "simulation": {"dt": 1.0, "dtype": "float64", "device": "cpu", "seed": 4,
                       "record": {"every": 5.0, "neurons": 0, "overlaps": True}},
        "task": {"kind": "dual", "population": "R", "trials": 1, "strength": 1.0, "patterns": "low_rank",
                 "epochs": {"fixation": 50.0, "sample": 100.0, "delay": 600.0, "distractor": 100.0,
                            "test": 50.0, "response": 50.0}, **task},
        "analysis": {"kind": "dual"},
    }


def test_tasks_and_analyses_rebuild_the_networks_vectors():
    spec = validate(dual_experiment())
    net = RateNetwork([spec.model], 1.0, dtype=torch.float64, seed=spec.simulation.seed)
    rebuilt = network_low_rank_vectors(spec.model, spec.simulation.seed)
    for m_net, m_again in zip(net.low_rank_vectors["R"], rebuilt["R"]):
        assert torch.equal(m_net, m_again)
    task = build_task(spec.task, ["R"], [N], torch.float64, low_rank_vectors=rebuilt)
    m = rebuilt["R"][0]
    assert torch.equal(task.pattern("A"), m[:, 0]) and torch.equal(task.pattern("B"), -m[:, 0])
    assert torch.equal(task.pattern("Go"), m[:, 1]) and torch.equal(task.pattern("NoGo"), -m[:, 1])
    assert not torch.allclose(task.pattern("C"), task.pattern("D"))


def test_recorded_overlaps_are_the_projections_on_m():
    raw = dual_experiment()
    raw["model"]["populations"]["R"].update(init_rate=0.7, init_modulation=0.5)
    spec = validate(raw)
    run = simulate(spec, progress=False)
    m = network_low_rank_vectors(spec.model, spec.simulation.seed)["R"][0]
    r0 = RateNetwork([spec.model], 1.0, dtype=torch.float64).initial_state().rates[0][0]
    expected = (r0 @ m / N).numpy()  # the state before the first step
    got = run.overlap.isel(time=0, trial=0).sel(population="R").values
    assert got == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_low_rank_patterns_need_a_dual_task_and_rank_two():
    raw = dual_experiment(kind="odr", epochs={})
    with pytest.raises(ConfigError) as info:
        validate(raw)
    assert info.value.path == "task.patterns"
    raw = dual_experiment()
    raw["model"]["low_rank"] = {"rank": 1}
    with pytest.raises(ConfigError, match="rank"):
        validate(raw)
    raw = dual_experiment()
    del raw["model"]["low_rank"]
    raw["model"]["projections"]["RR"]["low_rank"] = 0.0
    with pytest.raises(ConfigError) as info:
        validate(raw)
    assert info.value.path in ("simulation.record.overlaps", "task.patterns")


def test_the_sample_is_held_above_the_pitchfork_and_lost_below():
    raw = dual_experiment()
    raw["sweep"] = {"batch": {"strength": {"path": "model.projections.RR.low_rank", "values": [3.0, 8.0]}}}
    spec = validate(raw)
    ds = dual.analyze(simulate(spec, progress=False), spec)
    held = ds.sel(strength=8.0)
    assert (held.sample_accuracy_end_of_delay == 1.0).all()  # every variant, distractor or not
    end = int(ds.time.size - 1)
    lost = abs(ds.overlap.sel(strength=3.0, rank=1).isel(time=end)).max()
    kept = abs(held.overlap.sel(rank=1).isel(time=end)).min()
    assert float(lost) < 0.05 * float(kept)
    # the distractor axis does not feed back (n2 is independent of m2): it is read while it lasts
    during = ds.epoch.values == "distractor"
    assert float(held.distractor_accuracy.isel(time=during.nonzero()[0][-1])) == 1.0
    assert len(set(ds.condition.values)) == ds.sizes["condition"] == 12


# ---- the baseline check (issue 15): the shipped network starts neutral and holds either sample
SHIPPED = Path(__file__).resolve().parents[2] / "config" / "experiments" / "dual_task.yaml"


def _shipped_spec(**changes):
    """The shipped dual_task experiment at its quick scale (N = 2000, 4 repeats of each condition), with
    ``changes`` (dotted config paths) applied to its raw file."""
    from einet.config.sweep import apply_scale, load_yaml

    raw = apply_scale(load_yaml(SHIPPED), "quick")
    raw.pop("scales", None)
    for path, value in changes.items():
        *head, last = path.split(".")
        node = raw
        for key in head:
            node = node[key]
        node[last] = value
    return validate(raw)


def predicted_overlap_sd(spec) -> dict[int, float]:
    """Standard deviation of the overlap with m^k at the symmetric fixed point, from the network's noise.

    Linear response of the exponential-Euler step r' = a r + (1 - a) phi(h + sigma sqrt(tau/dt) xi) around
    r0 = phi(J r0 + drive) (centred vectors: the uniform mode does not reach the overlaps): the overlap
    follows kappa' = rho kappa + (1 - a) phi'(r0) <m^k xi> sigma sqrt(tau/dt), with a = exp(-dt/tau),
    rho = 1 - (1 - a)(1 - lambda_k), lambda_k = J s phi'(r0) <m^k n^k> (the feedback along m^k: 0.66 for
    m^1 = n^1, 0 for m^2) and var <m^k xi> = <(m^k)^2> / N, so
    var kappa = (1 - a)^2 phi'^2 sigma^2 (tau/dt) <(m^k)^2> / N / (1 - rho^2);
    infinite where lambda_k >= 1 (no stable neutral state to fluctuate around).
    """
    import math

    pop = spec.model.populations[spec.task.population]
    proj = next(iter(spec.model.projections.values()))
    sigma, dt, (g, theta, r_max) = (spec.model.external.noise[spec.task.population], spec.simulation.dt,
                                    (pop.transfer.gain, pop.transfer.threshold, pop.transfer.r_max))
    drive = spec.model.external.M0 * spec.model.external.J.get(spec.task.population, 0.0)
    r0 = pop.init_rate
    for _ in range(500):
        r0 = r_max / (1.0 + math.exp(-g * (proj.J * r0 + drive - theta)))
    slope = g * r0 * (1.0 - r0 / r_max)
    a = math.exp(-dt / pop.tau)
    cov, R = spec.model.low_rank.cov, spec.model.low_rank.rank
    out = {}
    for k in range(1, R + 1):
        lam = proj.J * proj.low_rank * slope * cov[k - 1][R + k - 1]
        rho = 1.0 - (1.0 - a) * (1.0 - lam)
        if lam >= 1.0:  # the symmetric state is unstable along m^k: noise has no stationary spread there
            out[k] = math.inf
            continue
        var = (1 - a) ** 2 * slope**2 * sigma**2 * (pop.tau / dt) * cov[k - 1][k - 1] / pop.size / (1 - rho**2)
        out[k] = math.sqrt(var)
    return out


def baseline_failures(ds, spec) -> list[str]:
    """Why the pre-sample overlaps are not at 0 within noise, if they are not (empty: they are).

    "Within noise" has two parts: the trial-to-trial spread is the network's own noise (within a factor 2
    of :func:`predicted_overlap_sd`; a network that falls to +m1 or -m1 at random before the sample spreads
    over +-0.3), every trial's overlap is inside 5 predicted standard deviations of 0, and each sample's
    mean over its trials is inside 4 standard errors (the measured spread / sqrt(trials)) of 0, so a bias
    shared by all trials (the drift to the "B" state) fails even when the spread is small.
    """
    failures = []
    predicted = predicted_overlap_sd(spec)
    trials_per_sample = spec.task.trials * 6  # 3 variants x 2 tests
    for k, sd_pred in predicted.items():
        sd, largest = float(ds.baseline_overlap_sd.sel(rank=k)), float(ds.baseline_overlap_max.sel(rank=k))
        if not 0.5 * sd_pred < sd < 2.0 * sd_pred:
            failures.append(f"m{k}: trial s.d. {sd:.3g}, the noise predicts {sd_pred:.3g}")
        if largest > 5.0 * sd_pred:
            failures.append(f"m{k}: a trial's |overlap| reaches {largest:.3g} > 5 x {sd_pred:.3g}")
        for sample in ("A", "B"):
            at = ds.baseline_overlap.sel(rank=k).where(ds.condition_sample == sample, drop=True)
            mean, se = float(at.mean()), sd / np.sqrt(trials_per_sample)
            if abs(mean) > 4.0 * se:
                failures.append(f"m{k}, sample {sample}: mean {mean:.3g} beyond 4 standard errors ({se:.3g})")
    return failures


@pytest.fixture(scope="module")
def shipped():
    spec = _shipped_spec()
    return spec, dual.analyze(simulate(spec, progress=False), spec)


def test_the_shipped_network_rests_at_zero_overlap_before_the_sample(shipped):
    spec, ds = shipped
    assert float(ds.baseline_time) == 295.0  # the last sample of the 300 ms fixation, recorded every 5 ms
    assert spec.model.low_rank.zero_mean
    assert baseline_failures(ds, spec) == []


def test_the_shipped_network_decodes_all_twelve_conditions(shipped):
    spec, ds = shipped
    per_condition = ds.sample_accuracy_per_condition
    assert per_condition.sizes["condition"] == 12
    assert (per_condition == 1.0).all(), per_condition.to_series().to_dict()  # sign of m1 at the end of the delay
    distractor = ds.distractor_accuracy_per_condition
    with_distractor = ds.condition_task != "DPA"
    assert bool(distractor.where(~with_distractor).isnull().all())
    assert (distractor.where(with_distractor, drop=True) == 1.0).all()
    # held, not merely signed: the end-of-delay overlap is the memory state's, far beyond the noise
    delay_end = int(np.flatnonzero(ds.epoch.values == "delay_2")[-1])
    held = ds.overlap.sel(rank=1).isel(time=delay_end)
    sign = np.where(ds.condition_sample.values == "A", 1.0, -1.0)
    assert (held.values * sign > 0.2).all()


def test_the_baseline_check_fails_the_network_that_started_in_the_b_state():
    """The network before issue 15's fix (threshold 0.5: its symmetric state unstable; i.i.d. vectors with
    means of order 1/sqrt(N)) fell to m1 overlap -0.33 in every trial before the sample, and with only
    the vectors centred each trial fell to +-m1 at random: the check flags both."""
    old = {"model.populations.R.transfer": {"name": "sigmoid", "threshold": 0.5, "gain": 1.0, "r_max": 1.0},
           "model.populations.R.init_rate": 0.5, "model.projections.RR.low_rank": 8.0}
    for zero_mean in (False, True):
        spec = _shipped_spec(**old, **{"model.low_rank.zero_mean": zero_mean})
        ds = dual.analyze(simulate(spec, progress=False), spec)
        failures = baseline_failures(ds, spec)
        assert any("m1" in f for f in failures), (zero_mean, failures)
        assert float(ds.baseline_overlap_max.sel(rank=1)) > 0.25  # sat in a held state before any sample


def test_zero_mean_vectors_are_orthogonal_to_the_uniform_direction():
    raw = dual_experiment()
    raw["model"]["low_rank"]["zero_mean"] = True
    spec = validate(raw)
    m, n = network_low_rank_vectors(spec.model, spec.simulation.seed)["R"]
    assert torch.allclose(m.sum(0), torch.zeros(2, dtype=torch.float64), atol=1e-10)
    assert torch.allclose(n.sum(0), torch.zeros(2, dtype=torch.float64), atol=1e-10)
    drawn, _ = network_low_rank_vectors(validate(dual_experiment()).model, spec.simulation.seed)["R"]
    assert torch.allclose(m, drawn - drawn.mean(0))  # the same draw, centred
    assert torch.equal(n[:, 0], m[:, 0])  # n1 = m1 stays exact
    for bad in ({"mean": [0.5, 0, 0, 0]}, {"file": "vectors.npz"}):
        raw = dual_experiment()
        raw["model"]["low_rank"] = {"rank": 2, "zero_mean": True, **bad}
        with pytest.raises(ConfigError) as info:
            validate(raw)
        assert info.value.path == "model.low_rank.zero_mean"
