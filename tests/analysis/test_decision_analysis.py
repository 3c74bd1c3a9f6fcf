"""The decision analysis: choices read from the run as an independent numpy computation reads them, and the
ideal-observer reference against a Monte Carlo of the task's own evidence."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import perceptual_decision_experiment
from einet.analysis.decision import analyze, ideal_accuracy
from einet.tasks.perceptual_decision import PerceptualDecision


def test_ideal_observer_accuracy_matches_a_monte_carlo_of_the_task_evidence():
    """Sum each channel over the stimulus and pick the larger: the fraction correct is Phi(c / (sigma sqrt(2/T)))."""
    dt = 1.0
    task = PerceptualDecision(population=0, sizes=[2], coherences=(3.2, 12.8), sigma=1.0, trials=400,
                              stimulus_duration=100.0)
    steps = [k for k in range(task.schedule.n_steps(dt)) if task.schedule.epoch_at(k * dt) == "stimulus"]
    total = sum(task.evidence(k, dt) for k in steps).numpy()
    cond = task.conditions()
    picked = (total[:, 1] > total[:, 0]).astype(int)
    for c in (3.2, 12.8):
        trials = cond["coherence"].numpy() == c
        observed = (picked[trials] == cond["choice"].numpy()[trials]).mean()
        expected = float(ideal_accuracy(np.array([c]), 1.0, len(steps) * dt)[0])
        assert observed == pytest.approx(expected, abs=4 * np.sqrt(expected * (1 - expected) / trials.sum()))


@pytest.fixture(scope="module")
def decided_run():
    import einet

    spec = einet.validate(perceptual_decision_experiment("decision", decision=40.0))
    run = einet.simulate(spec, progress=False)
    return run, spec, analyze(run, spec)


def test_decided_choices_are_the_half_with_the_higher_mean_rate_over_the_decision_epoch(decided_run):
    run, spec, out = decided_run
    rates = run.rate_trace.values  # [trial, time, sample]
    in_decision = run.epoch.values == "decision"
    neuron = run.sample_neuron.values
    first = rates[:, in_decision][:, :, (neuron < 10)].mean(axis=(1, 2))
    second = rates[:, in_decision][:, :, (neuron >= 10) & (neuron < 20)].mean(axis=(1, 2))
    np.testing.assert_array_equal(out.decided.values, np.where(second > first, 1.0, 0.0))


def test_the_analysis_writes_through_io_with_units_on_everything(decided_run, tmp_path):
    from einet import io

    _, _, out = decided_run
    back = io.read_dataset(io.write_dataset(out, tmp_path / "analysis.nc"))
    np.testing.assert_array_equal(back.decided.values, out.decided.values)
    assert back.coherence_level.attrs["units"] == "%"


def test_strong_evidence_is_decided_correctly_and_never_better_than_the_ideal_observer(decided_run):
    run, spec, out = decided_run
    assert float(out.accuracy.sel(coherence_level=51.2)) == 1.0
    from scipy.stats import binom

    n = (run.coherence == 51.2).sum().item()  # trials per coherence
    for acc, ideal in zip(out.accuracy.values, out.ideal_accuracy.values):  # not better than ideal, beyond chance
        assert binom.sf(round(acc * n) - 1, n, ideal) > 1e-3
    assert out.attrs["read_epoch"] == "decision" and out.attrs["stimulus_ms"] == 200.0


def test_the_decision_analysis_needs_every_neuron_traced(decided_run):
    from einet.errors import EinetError

    run, spec, _ = decided_run
    with pytest.raises(EinetError, match="record.neurons >= 20"):
        analyze(run.isel(sample=slice(0, 15)), spec)


def test_the_psychometric_figure_draws_the_ideal_observer_and_states_the_shortfall(decided_run, tmp_path):
    import einet

    _, _, out = decided_run
    fig = einet.FIGURES.get("psychometric")(out)
    ax = fig.axes[0]
    line = ax.lines[0]
    x, y = line.get_data()
    np.testing.assert_allclose(y, ideal_accuracy(x, out.attrs["sigma"], out.attrs["stimulus_ms"]))
    shortfall = out.ideal_accuracy.values - out.accuracy.values
    text = " ".join(t.get_text() for t in ax.texts)
    assert f"mean {np.mean(shortfall):.3f}" in text and f"max {np.max(shortfall):.3f}" in text
    paths = einet.draw("psychometric", out, tmp_path / "p.pdf", tmp_path / "p.png")
    assert all(p.stat().st_size > 0 for p in paths)


def _shipped_decision(**population):
    """The shipped perceptual_decision experiment at its quick scale, E's population keys changed."""
    from pathlib import Path

    import einet
    from einet.config.sweep import apply_scale, load_yaml

    raw = apply_scale(load_yaml(Path(__file__).resolve().parents[2] / "config" / "experiments"
                                / "perceptual_decision.yaml"), "quick")
    raw.pop("scales", None)
    raw["model"]["populations"]["E"].update(population)
    spec = einet.validate(raw)
    return analyze(einet.simulate(spec, progress=False), spec)


def test_the_shipped_network_has_chosen_nothing_before_the_stimulus():
    """Baseline check (issue 15): at the end of fixation the two halves' rates are equal in every trial, to
    1 % of the median difference the choices are then read from; a network started with the first half
    higher (a bump on it) still carries that preference at the stimulus's onset, and fails the check."""
    def worst_over_typical(out):
        return float(abs(out.baseline_half_difference).max()) / float(abs(out.half_difference).median())

    out = _shipped_decision()
    assert float(out.baseline_time) == 90.0  # the last sample of the 100 ms fixation, recorded every 10 ms
    assert worst_over_typical(out) < 0.01
    biased = _shipped_decision(init_rate=0.5, init_modulation=1.0, init_phase=90.0)  # the first half's centre
    assert worst_over_typical(biased) > 0.01
    assert float(biased.baseline_half_difference.max()) < 0  # the first half is ahead
