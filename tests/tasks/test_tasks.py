"""Task schedules and stimuli: epochs, conditions, and the cue's location."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from einet.measures.bump import decode
from einet.tasks import ODR, Epoch, Schedule


def test_schedule_epochs_are_consecutive_and_located():
    s = Schedule.of(("fixation", 100.0), ("cue", 50.0), ("delay", 0.0), ("test", 25.0))
    assert [(e.name, e.start, e.stop) for e in s.epochs] == [("fixation", 0, 100), ("cue", 100, 150), ("test", 150, 175)]
    assert s.duration == 175.0 and s.n_steps(0.5) == 350
    assert s.epoch_at(99.9) == "fixation" and s.epoch_at(100.0) == "cue" and s.epoch_at(175.0) is None
    with pytest.raises(ValueError, match="consecutive"):
        Schedule([Epoch("a", 0, 10), Epoch("b", 11, 20)])
    with pytest.raises(KeyError, match="epochs: fixation, cue, test"):
        s["delay"]


def test_odr_cue_is_where_and_when_it_should_be():
    angles = [0.0, 1.0, math.pi, 5.5]
    task = ODR(population=0, sizes=[360, 90], cue_angles=angles, strength=2.0, footprint=0.3,
               fixation=10.0, cue=5.0, delay=20.0, erase=5.0, erase_strength=-0.5, dtype=torch.float64)
    dt = 0.5
    seen = {}
    for step in range(task.schedule.n_steps(dt)):
        stim = task.stimulus(step, dt)
        seen.setdefault(task.schedule.epoch_at(step * dt), []).append(stim)
    assert all(s is None for s in seen["fixation"] + seen["delay"])
    assert len(seen["cue"]) == 10 and len(seen["erase"]) == 10
    cue, other = seen["cue"][0]
    assert other is None and cue.shape == (4, 360)
    _, _, phase = decode(cue)
    error = np.angle(np.exp(1j * (phase.numpy() - np.asarray(angles))))  # circular difference
    np.testing.assert_allclose(error, 0.0, atol=1e-9)
    assert float(cue.max()) <= 2.0 and math.isclose(float(cue[1].max()), 2.0 * math.exp(-(1.0 - 2 * math.pi * 57 / 360) ** 2 / 0.18), rel_tol=1e-9)
    erase, _ = seen["erase"][0]
    assert float(erase.squeeze()) == -0.5
    np.testing.assert_allclose(task.conditions()["cue_angle"].numpy(), angles)


def test_dual_task_has_twelve_distinct_conditions_with_the_right_inputs():
    from einet.tasks import DualTask

    task = DualTask(population=1, sizes=[5, 40], trials=2, strength=0.5, fixation=10, sample=10, delay=40,
                    distractor=10, test=10, response=10, dtype=torch.float64)
    cond = task.conditions()
    triples = list(zip(cond["task"], cond["sample"], cond["test"]))
    assert task.batch_size == 24 and len(set(triples)) == 12
    assert set(triples) == {(v, s, t) for v in ("DPA", "Go", "NoGo") for s in "AB" for t in "CD"}
    assert [e.name for e in task.schedule.epochs] == [
        "fixation", "sample", "delay_1", "distractor", "delay_2", "test", "response"]
    assert (task.schedule["distractor"].start, task.schedule["distractor"].stop) == (35, 45)  # mid-delay
    dt = 1.0
    by_epoch = {}
    for step in range(task.schedule.n_steps(dt)):
        stim = task.stimulus(step, dt)
        by_epoch.setdefault(task.schedule.epoch_at(step * dt), stim)
    assert by_epoch["fixation"] is None and by_epoch["delay_1"] is None and by_epoch["response"] is None
    for epoch, key in (("sample", "sample"), ("test", "test")):
        assert by_epoch[epoch][0] is None
        for b in range(24):
            torch.testing.assert_close(by_epoch[epoch][1][b], 0.5 * task.pattern(cond[key][b]))
    for b, variant in enumerate(cond["task"]):
        expected = torch.zeros(40, dtype=torch.float64) if variant == "DPA" else 0.5 * task.pattern(variant)
        torch.testing.assert_close(by_epoch["distractor"][1][b], expected)
    assert cond["paired"].count("yes") == 12


def test_dual_task_patterns_can_be_given_and_are_checked():
    from einet.tasks import DualTask

    A = torch.ones(8)
    task = DualTask(population=0, sizes=[8], patterns={"A": A})
    torch.testing.assert_close(task.pattern("A"), A.double())
    assert not torch.equal(task.pattern("B"), task.pattern("C"))  # the rest are drawn
    with pytest.raises(ValueError, match="known: A, B, C, D, Go, NoGo"):
        DualTask(population=0, sizes=[8], patterns={"X": A})
    with pytest.raises(ValueError, match="expected \\(8,\\)"):
        DualTask(population=0, sizes=[8], patterns={"A": torch.ones(3)})


def test_go_nogo_alone_uses_the_dual_task_patterns():
    from einet.tasks import DualTask, GoNoGo

    task = GoNoGo(population=0, sizes=[30], trials=3, strength=2.0, fixation=10, stimulus_duration=5, response=20,
                  seed=7, dtype=torch.float64)
    assert task.conditions()["task"] == ["Go"] * 3 + ["NoGo"] * 3
    assert task.stimulus(19, 1.0) is None and task.stimulus(9, 1.0) is None  # fixation, response
    (stim,) = task.stimulus(12, 1.0)
    dual = DualTask(population=0, sizes=[30], seed=7)
    for b, name in enumerate(task.conditions()["task"]):
        torch.testing.assert_close(stim[b], 2.0 * dual.pattern(name))


def _ring_config(task: dict) -> dict:
    return {"name": "odr", "model": {
        "populations": {"R": {"size": 90, "type": "mixed", "tau": 10.0, "transfer": {"threshold": 0.0}}},
        "projections": {"RR": {"source": "R", "target": "R", "J": -1.0, "connectivity": "all_to_all",
                               "profile": "cosine", "kappa": -3.0}},
        "external": {"M0": 1.0, "J": {"R": 1.0}}},
        "simulation": {"dt": 1.0, "dtype": "float64", "record": {"every": 10.0, "bump": True}},
        "task": task}


def test_task_from_config_through_the_command_line(tmp_path):
    import yaml

    from einet import io
    from einet.cli import main

    raw = _ring_config({"kind": "odr", "population": "R", "trials": 4,
                        "epochs": {"fixation": 20.0, "cue": 50.0, "delay": 200.0}})
    path = tmp_path / "job.yaml"
    path.write_text(yaml.safe_dump(raw))
    assert main(["-q", "simulate", str(path), "--out", str(tmp_path / "run.nc")]) == 0
    ds = io.read_dataset(tmp_path / "run.nc")
    np.testing.assert_allclose(ds.cue_angle, np.radians([0.0, 90.0, 180.0, 270.0]))
    assert float(ds.time[-1]) == 260.0  # the task's 270 ms, sampled every 10 ms
    assert set(ds.epoch.values) == {"fixation", "cue", "delay"}
    error = np.angle(np.exp(1j * (ds.bump_phase.isel(time=-1).sel(population="R") - ds.cue_angle)))
    assert np.all(np.abs(error) < 2 * math.pi / 90)


@pytest.mark.parametrize("task, key, words", [
    ({"kind": "odr", "population": "X"}, "task.population", "one of the populations"),
    ({"kind": "odr", "population": "R", "epochs": {"sample": 10.0}}, "task.epochs.sample", "fixation, cue, delay"),
    ({"kind": "dual", "population": "R", "epochs": {"delay": -5.0}}, "task.epochs.delay", ">= 0"),
    ({"kind": "maze", "population": "R"}, "task.kind", "'odr'"),
])
def test_bad_task_configs_name_the_key(task, key, words):
    from einet.experiment import validate
    from einet.errors import ConfigError

    with pytest.raises(ConfigError) as info:
        validate(_ring_config(task))
    assert info.value.path == key and words in str(info.value)


def test_dual_and_go_nogo_tasks_build_from_config():
    from einet.experiment import validate
    from einet.tasks import build_task

    spec = validate(_ring_config({"kind": "dual", "population": "R", "trials": 2, "epochs": {"delay": 300.0}}))
    task = build_task(spec.task, ["R"], [90])
    assert task.batch_size == 24 and task.schedule["distractor"].start == task.schedule["sample"].stop + 100.0
    spec = validate(_ring_config({"kind": "go_nogo", "population": "R", "epochs": {"stimulus": 40.0}}))
    task = build_task(spec.task, ["R"], [90])
    assert task.schedule["stimulus"].stop - task.schedule["stimulus"].start == 40.0


def test_ring_analysis_of_an_odr_run_through_the_cli(tmp_path):
    """Errors, persistence, drift and diffusion against quantities computed from the run by hand."""
    import yaml

    from einet import io
    from einet.cli import main

    raw = _ring_config({"kind": "odr", "population": "R", "trials": 6,
                        "epochs": {"fixation": 20.0, "cue": 50.0, "delay": 300.0}})
    raw["analysis"] = {"kind": "ring"}
    raw["sweep"] = {"batch": {"model.projections.RR.kappa": [-3.0, -1.5]}}
    path = tmp_path / "job.yaml"
    path.write_text(yaml.safe_dump(raw))
    assert main(["-q", "simulate", str(path), "--out", str(tmp_path / "run.nc")]) == 0
    assert main(["-q", "analyze", str(tmp_path / "run.nc"), "--out", str(tmp_path / "ring.nc")]) == 0
    run, ring = io.read_dataset(tmp_path / "run.nc"), io.read_dataset(tmp_path / "ring.nc")
    last = run.isel(time=np.flatnonzero(run.epoch.values == "delay")[-1]).sel(population="R")
    by_hand = np.angle(np.exp(1j * (last.bump_phase.values - run.cue_angle.values)))
    np.testing.assert_allclose(ring.error.sel(population="R").values, by_hand, atol=1e-12)
    remembered = ring.sel(kappa=-3.0, population="R")
    assert float(remembered.mean_abs_error) < 2 * math.pi / 90 and float(remembered.persistence.min()) > 1.0
    assert abs(float(remembered.drift)) < 0.05 and float(remembered.diffusion) < 1e-3  # no noise: no wandering
    # below J1 = 2 the cue's first harmonic decays at (1 - J1/2)/tau = 1/40 per ms: e^-7.5 of it is left
    assert float(ring.persistence.sel(kappa=-1.5, population="R").max()) < 0.01
    assert ring.diffusion.attrs["units"] == "rad2/s"


def test_ring_analysis_explains_what_it_needs(tmp_path):
    from einet.analysis.ring import analyze
    from einet.errors import EinetError

    import xarray as xr

    with pytest.raises(EinetError, match="record.bump"):
        analyze(xr.Dataset(), None)
