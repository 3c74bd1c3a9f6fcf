"""The dual task on a low-rank network: patterns from the network's vectors, overlaps, and the
pitchfork that decides whether the sample is held."""

from __future__ import annotations

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
