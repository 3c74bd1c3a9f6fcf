"""Contract tests over the registries: every entry names only what exists, and a config that pairs
things no entry allows fails with the key before anything runs."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch
import yaml

from conftest import experiment
from einet.analysis import ANALYSES
from einet.errors import ConfigError
from einet.experiment import Experiment, validate
from einet.figures import FIGURES
from einet.runs import RUNS, run_kind_of

EXPERIMENTS = sorted((Path(__file__).parents[1] / "config" / "experiments").glob("*.yaml"))


def test_every_analysis_accepts_only_registered_run_kinds_and_every_run_kind_has_an_analysis():
    for name in ANALYSES.names():
        runs = ANALYSES.get(name).runs
        assert runs and all(r in RUNS for r in runs), name
    for kind in RUNS.names():
        assert any(RUNS.get(kind).accepts(ANALYSES.get(a)) for a in ANALYSES.names()), kind
        assert all(a in ANALYSES for a in RUNS.get(kind).analyses), kind


def test_every_figure_reads_only_registered_analyses():
    for name in FIGURES.names():
        analyses = FIGURES.get(name).analyses
        assert analyses and all(a in ANALYSES for a in analyses), name


def test_exactly_one_default_run_kind_and_train_kinds_save():
    kinds = [RUNS.get(n) for n in RUNS.names()]
    assert [k.name for k in kinds if k.selected_by is None] == ["rate"]
    assert all(k.save is not None for k in kinds if k.stage == "train")


@pytest.mark.parametrize("path", EXPERIMENTS, ids=lambda p: p.stem)
def test_every_shipped_experiment_has_one_run_kind_that_accepts_its_analysis_and_figures(path):
    spec = Experiment(path, "quick").spec
    kind = run_kind_of(spec)
    assert kind.accepts(ANALYSES.get(spec.analysis.kind))
    assert all(spec.analysis.kind in FIGURES.get(f).analyses for f in spec.figures)


def test_every_run_kind_analysis_and_figure_is_used_by_a_shipped_experiment():
    """Nothing is registered that no experiment runs (each experiment file runs through the CLI in the tests)."""
    used = [Experiment(p, "quick").spec for p in EXPERIMENTS]
    assert {run_kind_of(s).name for s in used} == set(RUNS.names())
    assert {s.analysis.kind for s in used} == set(ANALYSES.names())
    assert {f.lower() for s in used for f in s.figures} == set(FIGURES.names())


def test_two_run_sections_are_refused_naming_the_second():
    raw = yaml.safe_load((Path(__file__).parents[1] / "config" / "experiments" / "cuba.yaml").read_text())
    raw.pop("scales")
    raw["reservoir"] = {}
    with pytest.raises(ConfigError, match=r"^spiking: .*null: reservoir already makes this a reservoir experiment"):
        validate(raw)


def test_a_more_specific_section_selects_its_kind():
    raw = experiment(task={"kind": "serial_odr", "population": "E", "trials": 3})
    raw["analysis"] = {"kind": "serial_bias"}
    assert run_kind_of(validate(raw)).name == "sessions"
    raw = experiment(task={"kind": "odr", "population": "E"})
    raw["analysis"] = {"kind": "ring"}
    raw["simulation"]["record"]["bump"] = True
    assert run_kind_of(validate(raw)).name == "rate"


@pytest.mark.parametrize("change, message", [
    (lambda raw: raw.pop("task"), r"^task.kind: got None, expected odr: the ring analysis reads the trials"),
    (lambda raw: raw["task"].update(kind="serial_odr", trials=3), r"^analysis.kind: got 'ring', expected serial_bias"),
    (lambda raw: raw["simulation"]["record"].update(bump=False), r"^simulation.record.bump: got False, expected true"),
])
def test_an_analysis_without_the_task_or_records_it_reads_is_refused_when_parsed(change, message):
    raw = experiment(task={"kind": "odr", "population": "E"}, analysis={"kind": "ring"})
    raw["simulation"]["record"]["bump"] = True
    validate(copy.deepcopy(raw))
    change(raw)
    with pytest.raises(ConfigError, match=message):
        validate(raw)


def test_a_figure_of_another_analysis_is_refused_with_its_index():
    raw = experiment()
    raw["figures"] = ["rates_vs_K", "stdp"]
    with pytest.raises(ConfigError, match=r"figures\[1\].*a figure of the balance analysis: rates_vs_k"):
        validate(raw)


def test_a_model_section_on_a_run_that_has_none_is_refused():
    raw = yaml.safe_load((Path(__file__).parents[1] / "config" / "experiments" / "reservoir.yaml").read_text())
    raw.pop("scales")
    raw["model"] = copy.deepcopy(experiment()["model"])
    with pytest.raises(ConfigError, match=r"^model: .*null: a reservoir run"):
        validate(raw)


# ----------------------------------------------------------------- tasks
def _task(kind: str, epochs: dict):
    from einet.config.experiment import TaskSpec
    from einet.fields import parse_section
    from einet.tasks import build_task

    spec = parse_section(TaskSpec, {"kind": kind, "population": "R", "trials": 2, "epochs": epochs}, "task")
    return build_task(spec, ["R", "S"], [32, 4])


@pytest.mark.parametrize("kind", sorted(__import__("einet.tasks", fromlist=["TASKS"]).TASKS.names()))
def test_every_task_builds_and_each_declared_epoch_sets_its_duration(kind):
    """Lengthening any declared epoch by 7 ms lengthens the schedule (of one trial) by exactly 7 ms, or, for an
    epoch nested in another (the dual task's distractor in its delay), that epoch by 7 ms; the stimulus has one
    entry per population, [batch, size] (or broadcastable to it) where it is delivered."""
    from einet.tasks import TASKS

    declared = TASKS.get(kind).epochs
    base = {name: 200.0 - 10.0 * i for i, name in enumerate(declared)}
    task = _task(kind, base)
    length = task.schedule.duration
    for name in declared:
        longer = _task(kind, {**base, name: base[name] + 7.0})
        if longer.schedule.duration != pytest.approx(length):
            assert longer.schedule.duration == pytest.approx(length + 7.0), name
        else:
            epoch, before = longer.schedule[name], task.schedule[name]
            assert epoch.stop - epoch.start == pytest.approx(before.stop - before.start + 7.0), name
    for step in range(0, int(length), 5):
        stimulus = task.stimulus(step, 1.0)
        assert stimulus is None or len(stimulus) == 2
        for entry, size in zip(stimulus or (), (32, 4)):
            assert entry is None or (entry.shape[-1] in (1, size) and entry.shape[0] in (1, task.batch_size))
    conditions = task.conditions()
    assert conditions and all(len(v) in (task.batch_size, getattr(task, "sessions", -1)) for v in conditions.values())


# ----------------------------------------------------------------- figures
def test_every_figure_has_its_caption_beside_its_draw_function_and_the_report_template_is_generated():
    from einet.figures import report_template

    root = Path(__file__).parents[1]
    for name in FIGURES.names():
        figure = FIGURES.get(name)
        assert len(figure.caption.split()) > 20, name  # a caption that says what the panels show
    with open(root / "workflow" / "report" / "figure.rst") as fh:
        assert fh.read() == report_template(), "run: einet report-captions > workflow/report/figure.rst"


# ----------------------------------------------------------------- neurons
@pytest.mark.parametrize("name", __import__("einet.neurons", fromlist=["NEURONS"]).NEURONS.names())
def test_every_neuron_model_keeps_shapes_rests_when_inhibited_and_spikes_when_driven(name):
    """The calling convention of einet.neurons.registry, for every registered model: the state keeps its
    [batch, neuron] shape and dtype, no input leaves it silent and finite, a strong drive makes it spike, and
    arriving spikes change the next state. (No input is not silence for every model, a QIF with eta > 0 fires
    tonically, so the quiet run has an inhibitory drive.)"""
    from einet.neurons import NEURONS

    model = NEURONS.get(name)
    p = model.params()
    state = model.initial(p, (2, 3), dtype=torch.float64)
    assert isinstance(state, model.state) and all(t.shape == (2, 3) for t in state)
    quiet, driven = state, state
    total_quiet, total_driven = 0.0, 0.0
    for _ in range(2000):  # 200 ms at dt = 0.1
        spikes, quiet = model.step(torch.full((2, 3), -20.0, dtype=torch.float64), quiet, p, 0.1)
        total_quiet += float(spikes.sum())
        spikes, driven = model.step(torch.full((2, 3), 200.0, dtype=torch.float64), driven, p, 0.1)
        assert spikes.shape == (2, 3) and spikes.dtype == torch.float64 and bool((spikes >= 0).all())
        total_driven += float(spikes.sum())
    assert all(bool(torch.isfinite(t).all()) for t in (*quiet, *driven))
    assert total_quiet == 0 and total_driven > 0
    _, hit = model.step(0.0, state, p, 0.1, torch.ones(2, 3, dtype=torch.float64))
    assert any(not torch.equal(a, b) for a, b in zip(hit, model.step(0.0, state, p, 0.1)[1]))


# ----------------------------------------------------------------- learning rules
def _rule_names(kind):
    from einet.plasticity.registry import rule_names

    return rule_names(kind)


@pytest.mark.parametrize("name", _rule_names("rate"))
@pytest.mark.parametrize("sign", [1.0, -1.0, 0.0])
def test_every_rate_rule_keeps_the_weights_shape_and_dtype_and_moves_them_unless_it_is_a_gradient_rule(name, sign):
    """Rate rules see a projection's rates and return new weights of the same shape and dtype, finite; the
    network's Dale projection then restores the source's sign (einet.network.layered), so sign-constrained
    weights stay on their side; gradient rules leave the update to the optimizer."""
    from einet.plasticity.rate_rules import RateActivity, dale_project
    from einet.plasticity.registry import learning_rule

    generator = torch.Generator().manual_seed(3)
    weights = torch.rand(5, 4, generator=generator, dtype=torch.float64) * (sign if sign else 1.0)
    if not sign:
        weights = weights - 0.5
    rule = learning_rule(name, "rate")
    state = rule.initial(weights)
    new = weights
    for _ in range(3):
        pre = torch.rand(8, 4, generator=generator, dtype=torch.float64)
        post = torch.rand(8, 5, generator=generator, dtype=torch.float64)
        new, state = rule.update(new, RateActivity(pre, post, sign), state)
        assert new.shape == weights.shape and new.dtype == weights.dtype and bool(torch.isfinite(new).all())
        new = dale_project(new, sign)
        assert bool((new * sign >= 0).all())
    assert torch.equal(new, weights) == type(rule).gradient


@pytest.mark.parametrize("name", _rule_names("spike"))
def test_every_spike_rule_keeps_its_weights_within_their_bounds_and_learns_from_spikes(name):
    from einet.plasticity.registry import learning_rule
    from einet.plasticity.spiking import plasticity_initial, plasticity_step
    from einet.synapses.projection import DenseSynapses

    rule = learning_rule(name, "spike")
    generator = torch.Generator().manual_seed(5)
    weights = rule.w_min + (rule.w_max - rule.w_min) * torch.rand(2, 5, 4, generator=generator, dtype=torch.float64)
    start = weights.clone()
    state = plasticity_initial(rule, weights, 2, 4, 5)
    for _ in range(500):
        pre = (torch.rand(2, 4, generator=generator) < 0.2).double()
        post = (torch.rand(2, 5, generator=generator) < 0.2).double()
        weights, state = plasticity_step(rule, weights, state, pre, post, DenseSynapses(), 0.5, reward=1.0)
        assert weights.shape == start.shape and bool(torch.isfinite(weights).all())
        assert bool((weights >= rule.w_min - 1e-12).all() and (weights <= rule.w_max + 1e-12).all())
    assert not torch.equal(weights, start)


# ----------------------------------------------------------------- transfer functions
def test_every_rate_transfer_is_the_same_function_in_the_network_and_in_the_theory():
    """One table of names; the torch form the networks step with and the NumPy form the mean-field
    theory integrates agree to rounding on both sides of every kink, at batched parameters."""
    import numpy as np
    import torch

    from einet.config.model import TRANSFER_NAMES
    from einet.measures.meanfield import TRANSFER_FUNCTIONS, transfer_function
    from einet.neurons.transfer import TRANSFERS

    assert set(TRANSFERS.names()) == set(TRANSFER_FUNCTIONS) == set(TRANSFER_NAMES)
    x = np.linspace(-4.0, 6.0, 2001)
    th, g, r = np.array([[0.5], [-1.0]]), np.array([[1.5], [0.3]]), np.array([[4.0], [1.0]])
    for name in TRANSFER_NAMES:
        theory = transfer_function(name, x, threshold=th, gain=g, r_max=r)
        network = TRANSFERS.get(name)(*(torch.as_tensor(a, dtype=torch.float64) for a in (x, th, g, r))).numpy()
        assert theory.shape == network.shape == (2, x.size)
        np.testing.assert_allclose(network, theory, rtol=1e-14, atol=1e-15, err_msg=name)
        assert np.ptp(theory) > 0.5, name  # not vacuous: the functions move over this range
