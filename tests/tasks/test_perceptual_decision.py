"""The perceptual decision task: evidence means from the coherence, noise that integrates independently of dt,
every (coherence, choice) condition, and its input reaching a network through the pipeline's run."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import perceptual_decision_experiment
from einet.tasks import TASKS, build_task
from einet.tasks.perceptual_decision import COHERENCES, PerceptualDecision


def _task(**kw) -> PerceptualDecision:
    return PerceptualDecision(population=0, sizes=[10, 4], **kw)


def test_conditions_are_every_coherence_and_choice_repeated():
    task = _task(trials=3)
    assert task.batch_size == 2 * len(COHERENCES) * 3
    cond = task.conditions()
    assert sorted(set(cond["coherence"].tolist())) == sorted(COHERENCES)
    assert int(cond["choice"].sum()) == task.batch_size // 2
    assert [e.name for e in task.schedule.epochs] == ["fixation", "stimulus", "decision"]  # no delay by default
    delayed = _task(delay=300.0).schedule
    assert [e.name for e in delayed.epochs] == ["fixation", "stimulus", "delay", "decision"]
    assert delayed.duration == 100.0 + 2000.0 + 300.0 + 100.0


def test_time_averaged_evidence_is_the_coherence_within_its_noise():
    """Averaged over the 2 s stimulus, channel (correct - other) = c/100 with standard error
    sigma * sqrt(2 / T) (two independent channels)."""
    dt, task = 1.0, _task(trials=4, sigma=1.0)
    steps = [k for k in range(task.schedule.n_steps(dt)) if task.schedule.epoch_at(k * dt) == "stimulus"]
    mean = torch.stack([task.evidence(k, dt) for k in steps]).mean(0)  # [trial, 2]
    cond = task.conditions()
    correct = mean[torch.arange(task.batch_size), cond["choice"]]
    other = mean[torch.arange(task.batch_size), 1 - cond["choice"]]
    z = ((correct - other) - cond["coherence"] / 100) / np.sqrt(2.0 / (len(steps) * dt))
    assert float(z.abs().max()) < 4.5 and abs(float(z.mean())) < 4.5 / np.sqrt(task.batch_size)


@pytest.mark.parametrize("dt", [0.25, 1.0])
def test_the_noise_integrated_over_the_stimulus_has_variance_sigma_squared_times_t(dt):
    task = _task(trials=100, sigma=0.5, coherences=(0.0,), stimulus_duration=200.0)
    steps = [k for k in range(task.schedule.n_steps(dt)) if task.schedule.epoch_at(k * dt) == "stimulus"]
    integral = sum((task.evidence(k, dt) - 0.5) * dt for k in steps)  # [trial, 2]
    expected = 0.5**2 * len(steps) * dt
    n = integral.numel()
    assert float(integral.var()) == pytest.approx(expected, rel=4 * np.sqrt(2 / (n - 1)))


def test_each_half_of_the_population_receives_its_channel_and_only_during_the_stimulus():
    task = _task(trials=1, strength=2.0)
    assert task.stimulus(0, 1.0) is None  # fixation
    step = 500
    first, second = task.stimulus(step, 1.0)
    assert second is None and first.shape == (task.batch_size, 10)
    evidence = task.evidence(step, 1.0)
    torch.testing.assert_close(first[:, :5], (2.0 * evidence[:, :1]).expand(-1, 5).float())
    torch.testing.assert_close(first[:, 5:], (2.0 * evidence[:, 1:]).expand(-1, 5).float())
    assert task.stimulus(task.schedule.n_steps(1.0) - 1, 1.0) is None  # decision epoch


def test_the_task_drives_a_rate_network_through_the_run_with_its_conditions():
    """A network without recurrence between its E neurons: at the end of the stimulus the half that prefers the
    correct choice is more active at the highest coherence, in every trial."""
    import einet

    spec = einet.validate(perceptual_decision_experiment("balance", decision=20.0))
    assert TASKS.get("perceptual_decision") and build_task(spec.task, ["E", "I"], [20, 20]).batch_size == 20
    run = einet.simulate(spec, progress=False)
    assert set(run.epoch.values) == {"fixation", "stimulus", "decision"}
    end = run.rate_trace.where(run.epoch == "stimulus", drop=True).isel(time=-1)
    e = end.sel(sample=end.sample_neuron < 20)
    first, second = e.isel(sample=slice(0, 10)).mean("sample"), e.isel(sample=slice(10, 20)).mean("sample")
    strong = run.coherence == 51.2
    preferred = np.where(run.choice == 0, first - second, second - first)
    assert (preferred[strong.values] > 0).all()


def test_coherences_and_sigma_come_from_the_task_section():
    """The section's own keys reach the task: two coherences give four conditions per repeat, and with
    sigma = 0 the evidence is exactly the means (1 +- c/100) / 2."""
    from einet.config.task import TaskSpec
    from einet.fields import parse_section

    spec = parse_section(TaskSpec, {"kind": "perceptual_decision", "population": "E", "trials": 2,
                                    "coherences": [10.0, 80.0], "sigma": 0.0}, "task")
    task = build_task(spec, ["E", "I"], [10, 4], torch.float64, "cpu")
    cond = task.conditions()
    assert task.batch_size == 2 * 2 * 2 and sorted(set(cond["coherence"].tolist())) == [10.0, 80.0]
    evidence = task.evidence(3, 0.5)
    correct = evidence[torch.arange(task.batch_size), cond["choice"]]
    torch.testing.assert_close(correct, 0.5 * (1 + cond["coherence"] / 100), rtol=0, atol=1e-15)
    with pytest.raises(Exception, match=r"task.coherences.*coherences in \[0, 100\]"):
        parse_section(TaskSpec, {"kind": "perceptual_decision", "population": "E", "coherences": [120.0]}, "task")
