"""Config validation: every bad value fails before compute, naming the key."""

from __future__ import annotations

import copy

import pytest
import yaml

from conftest import experiment, two_population_model
from einet.experiment import Experiment, validate
from einet.config.sweep import batch_elements
from einet.errors import ConfigError
from einet.fields import to_dict


def _bad(mutate):
    raw = experiment()
    mutate(raw)
    return raw


def _set(path, value):
    def mutate(raw):
        node = raw
        *parents, last = path.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[last] = value

    return mutate


BAD_CONFIGS = [
    # (description, mutation, key the error must name, words the message must contain)
    ("unknown population in a projection", _set("model.projections.EE.source", "X"),
     "model.projections.EE.source", "one of the populations"),
    ("K larger than the source population", lambda r: (_set("model.projections.EE.connectivity", "sparse")(r),
                                                      _set("model.projections.EE.K", 50)(r)),
     "model.projections.EE.K", "at most the size"),
    ("negative size", _set("model.populations.E.size", -5), "model.populations.E.size", "> 0"),
    ("unknown transfer function", _set("model.populations.I.transfer.name", "tanhh"),
     "model.populations.I.transfer.name", "threshold_linear"),
    ("dt not below tau", lambda r: (_set("simulation.dt", 12.0)(r), _set("simulation.record", {"every": 12.0})(r)),
     "model.populations.I.tau", "greater than dt"),
    ("wrong type", _set("model.populations.E.tau", "fast"), "model.populations.E.tau", "a number"),
    ("unknown key", _set("model.populations.E.taux", 3.0), "model.populations.E.taux", "known key"),
    ("Dale's law", _set("model.projections.IE.J", -1.0), "model.projections.IE.J", "Dale"),
    ("dtype", _set("simulation.dtype", "float16"), "simulation.dtype", "float32"),
    ("device", _set("simulation.device", "tpu"), "simulation.device", "cuda"),
    ("record interval below dt", _set("simulation.record.every", 0.1), "simulation.record.every", "at least dt"),
    ("unknown recorded variable", _set("simulation.record.variables", ["voltage"]),
     "simulation.record.variables", "current_exc"),
    ("sparse without K", _set("model.projections.EE.connectivity", "sparse"), "model.projections.EE.K", "in-degree"),
    ("cosine probability above one", lambda r: (
        _set("model.projections.EE.connectivity", "sparse")(r), _set("model.projections.EE.K", 10)(r),
        _set("model.projections.EE.profile", "cosine")(r), _set("model.projections.EE.kappa", 0.9)(r),
        _set("model.populations.E.size", 15)(r)),
     "model.projections.EE.kappa", "probabilities"),
    ("cosine weights that change sign", lambda r: (
        _set("model.projections.EE.profile", "cosine")(r), _set("model.projections.EE.kappa", -1.2)(r)),
     "model.projections.EE.kappa", "|kappa| <= 1"),
    ("von Mises without a concentration", _set("model.projections.EE.profile", "von_mises"),
     "model.projections.EE.concentration", "a value for the von_mises profile"),
    ("a width without a gaussian profile", _set("model.projections.EE.width", 0.3),
     "model.projections.EE.width", "no width unless profile is gaussian"),
    ("a sparse profile too peaked for K/N", lambda r: (
        _set("model.projections.EE.connectivity", "sparse")(r), _set("model.projections.EE.K", 10)(r),
        _set("model.projections.EE.profile", "gaussian")(r), _set("model.projections.EE.width", 0.2)(r)),
     "model.projections.EE.width", "peak"),
    ("low rank without vectors", _set("model.projections.EE.low_rank", 0.5),
     "model.projections.EE.low_rank", "model.low_rank"),
    ("a covariance that is not one", lambda r: (
        _set("model.low_rank", {"rank": 1, "cov": [[1.0, 2.0], [2.0, 1.0]]})(r)),
     "model.low_rank.cov", "positive semi-definite"),
    ("unknown figure", _set("figures", ["nope"]), "figures[0]", "one of the figures"),
    ("noise for an unknown population", _set("model.external.noise", {"X": 1.0}), "model.external.noise.X",
     "one of the populations"),
    ("a boolean where a number belongs", _set("simulation.duration", True), "simulation.duration", "a number"),
]


@pytest.mark.parametrize("label, mutate, key, words", BAD_CONFIGS, ids=[c[0] for c in BAD_CONFIGS])
def test_bad_config_names_the_key(label, mutate, key, words):
    with pytest.raises(ConfigError) as info:
        validate(_bad(mutate))
    assert info.value.path == key
    message = str(info.value)
    assert message.startswith(key + ":")
    assert words in message


def _write(tmp_path, raw) -> str:
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return str(path)


def test_sweep_key_that_does_not_exist(tmp_path):
    raw = experiment(sweep={"grid": {"model.populations.E.sizes": [10, 20]}})
    with pytest.raises(ConfigError) as info:
        Experiment(_write(tmp_path, raw))
    assert info.value.path == "sweep.grid.sizes"
    assert "model.populations.E.sizes" in str(info.value)


def test_batch_axis_must_leave_connectivity_unchanged(tmp_path):
    raw = experiment(sweep={"batch": {"model.populations.E.size": [10, 20]}})
    with pytest.raises(ConfigError) as info:
        Experiment(_write(tmp_path, raw))
    assert info.value.path == "sweep.batch.size"
    assert "grid axis" in str(info.value)


def test_bad_value_inside_a_sweep_is_caught_at_expansion(tmp_path):
    raw = experiment(sweep={"batch": {"model.projections.EI.J": [-1.5, 0.5]}})
    with pytest.raises(ConfigError) as info:
        Experiment(_write(tmp_path, raw))
    assert info.value.path == "model.projections.EI.J"
    assert "J=0.5" in str(info.value)


def test_grid_expansion_names_jobs_and_sets_values(tmp_path):
    model = two_population_model("sparse", K=5.0)
    raw = experiment(model, sweep={"grid": {"model.K": [5, 10], "simulation.seed": [0, 1, 2]},
                                   "batch": {"model.external.M0": [1.0, 2.0]}})
    exp = Experiment(_write(tmp_path, raw))
    assert exp.job_names() == [f"K~{k}/seed~{s}" for k in (5, 10) for s in (0, 1, 2)]
    job = validate(exp.job_config("K~10/seed~2"))
    assert job.model.K == 10.0 and job.simulation.seed == 2
    assert job.job["grid"] == {"K": 10, "seed": 2}
    assert job.sweep.grid == {}
    elements = batch_elements(job)
    assert [e.model.external.M0 for e in elements] == [1.0, 2.0]
    assert all(e.model.K == 10.0 for e in elements)


def test_batch_axes_expand_in_c_order(tmp_path):
    raw = experiment(sweep={"batch": {"model.external.M0": [1.0, 2.0], "J_EE": {"path": "model.projections.EE.J",
                                                                                 "values": [0.5, 1.0, 1.5]}}})
    job = validate(Experiment(_write(tmp_path, raw)).job_config("default"))
    pairs = [(e.model.external.M0, e.model.projections["EE"].J) for e in batch_elements(job)]
    assert pairs == [(m, j) for m in (1.0, 2.0) for j in (0.5, 1.0, 1.5)]


def test_duplicate_dimension_names_are_refused(tmp_path):
    raw = experiment(sweep={"batch": {"model.projections.EE.J": [0.5, 1.0], "model.projections.IE.J": [0.5, 1.0]}})
    with pytest.raises(ConfigError, match="distinct dimension names"):
        Experiment(_write(tmp_path, raw))


def test_scale_overrides_are_deep_merged(tmp_path):
    raw = experiment(scales={"quick": {"model": {"populations": {"E": {"size": 7}}}}})
    exp = Experiment(_write(tmp_path, raw), "quick")
    spec = validate(exp.job_config("default"))
    assert spec.model.populations["E"].size == 7
    assert spec.model.populations["E"].tau == 20.0  # untouched siblings survive the merge
    for not_a_name in ("quick paper", "../quick", ""):
        with pytest.raises(ConfigError, match="scale: got .*expected a scale name"):
            Experiment(_write(tmp_path, raw), not_a_name)


def test_an_experiment_without_scales_runs_at_its_own_values_at_scale_quick(tmp_path, caplog):
    """The pipeline asks every experiment for its scale; a user's own file need not define one."""
    raw = experiment(sweep={"grid": {"simulation.seed": [0, 1]}})
    with caplog.at_level("INFO", logger="einet"):
        exp = Experiment(_write(tmp_path, raw), "quick")
    assert exp.job_names() == ["seed~0", "seed~1"]
    assert exp.job_config("seed~1") == Experiment(_write(tmp_path, raw), None).job_config("seed~1")
    assert validate(exp.job_config("seed~1")).simulation.duration == 100.0
    said = [r for r in caplog.records if r.levelname == "INFO" and "scale" in r.getMessage()]
    assert len(said) == 1 and "no scale 'quick'" in said[0].getMessage() and "own values" in said[0].getMessage()


def test_an_experiment_with_only_a_paper_scale_runs_at_its_own_values_at_scale_quick(tmp_path, caplog):
    raw = experiment(scales={"paper": {"simulation": {"duration": 5000.0}, "model": {"populations": {"E": {
        "size": 400}}}}})
    with caplog.at_level("INFO", logger="einet"):
        quick = validate(Experiment(_write(tmp_path, raw), "quick").job_config("default"))
    assert (quick.simulation.duration, quick.model.populations["E"].size) == (100.0, 20)
    assert "it defines paper" in caplog.text
    paper = validate(Experiment(_write(tmp_path, raw), "paper").job_config("default"))
    assert (paper.simulation.duration, paper.model.populations["E"].size) == (5000.0, 400)


def test_a_misspelt_key_inside_a_scale_is_still_an_error_naming_it(tmp_path):
    raw = experiment(scales={"quick": {"simulation": {"duraton": 50.0}}})
    with pytest.raises(ConfigError, match=r"simulation\.duraton: got 50\.0, expected a known key"):
        Experiment(_write(tmp_path, raw), "quick")
    raw = experiment(scales={"quick": [{"simulation": {"duration": 50.0}}]})
    with pytest.raises(ConfigError, match=r"scales\.quick: got .*expected a mapping of overrides"):
        Experiment(_write(tmp_path, raw), "quick")


def test_spec_yaml_roundtrip_is_lossless():
    spec = validate(experiment(sweep={"batch": {"model.external.M0": [1.0, 2.0]}}))
    text = yaml.safe_dump(to_dict(spec), sort_keys=False)
    again = validate(yaml.safe_load(text))
    assert again == spec


def test_shipped_experiments_validate():
    for scale in ("quick", None):
        exp = Experiment("config/experiments/balanced.yaml", scale)
        assert exp.job_names()
        assert all(name.count("~") == len(exp.grid) for name in exp.job_names())


def test_config_readme_is_generated_from_the_code():
    from einet.config.docs import markdown

    with open("config/README.md") as fh:
        assert fh.read() == markdown(), "run: einet config-docs > config/README.md"


def test_defaults_fill_in_and_do_not_leak_between_specs():
    a = validate(experiment())
    b = validate(experiment())
    assert a.model.external.noise == {} and a.model.external.noise is not b.model.external.noise
    raw = copy.deepcopy(experiment())
    raw["model"]["external"]["noise"] = {"E": 0.1}
    assert validate(raw).model.external.noise == {"E": 0.1}


# ------------------------------------------------------------------ tagged sections
ODR = {"kind": "odr", "population": "E", "epochs": {"fixation": 10.0, "cue": 10.0, "delay": 10.0, "erase": 0.0}}


@pytest.mark.parametrize("kind, key, value, owners", [
    ("dual", "footprint", 20.0, "odr, serial_odr"),
    ("odr", "patterns", "low_rank", "dual, go_nogo"),
    ("serial_odr", "cue_angles", [0.0], "odr"),
    ("go_nogo", "coherences", [10.0], "perceptual_decision"),
])
def test_a_key_of_another_task_kind_is_refused_with_the_kinds_that_have_it(kind, key, value, owners):
    """Tagged by kind: a key that would silently not apply to this task is an error naming who has it."""
    with pytest.raises(ConfigError) as err:
        validate(experiment(task={"kind": kind, "population": "E", key: value}))
    message = str(err.value)
    assert f"task.{key}" in message and f"kind {kind!r}" in message and f"only kind {owners} has {key!r}" in message


def test_a_task_kind_parses_its_own_keys_and_keeps_the_common_ones():
    spec = validate(experiment(task={**ODR, "footprint": 12.0, "cue_angles": [0.0, 90.0], "strength": 2.0}))
    assert type(spec.task).__name__ == "OdrTaskSpec"
    assert (spec.task.footprint, spec.task.cue_angles, spec.task.strength) == (12.0, [0.0, 90.0], 2.0)
    assert not hasattr(spec.task, "patterns") and not hasattr(spec.task, "sessions")
    assert to_dict(spec.task)["footprint"] == 12.0  # the resolved config keeps the kind's keys


def test_every_key_the_readme_gives_a_kind_is_a_key_of_exactly_those_kinds():
    """The generated docs label each kind-specific key with its kinds; those kinds accept it, the others refuse it."""
    import dataclasses

    from einet.config.task import TaskSpec

    with open("config/README.md") as fh:
        rows = [line for line in fh if line.startswith("| `task.")]
    labelled = {}
    for row in rows:
        key, doc = row.split("|")[1].strip(" `"), row.split("|")[4]
        if doc.strip().startswith("(kind "):
            labelled[key.split(".", 1)[1]] = doc.strip()[len("(kind "):].split(")")[0].split(", ")
    assert {"footprint", "patterns", "coherences", "sessions"} <= set(labelled)
    for name, kinds in labelled.items():
        for kind, variant in TaskSpec._variants.items():
            has = name in {f.name for f in dataclasses.fields(variant)}
            assert has == (kind in kinds), (name, kind)


def test_an_analysis_key_of_another_kind_is_refused():
    """``bins`` belongs to the balance, spiking and stdp analyses: for ring it would have been ignored."""
    with pytest.raises(ConfigError, match=r"analysis.bins.*kind 'ring'.*only kind balance, spiking, stdp has 'bins'"):
        validate(experiment(analysis={"kind": "ring", "bins": 20}))
    assert validate(experiment(analysis={"bins": 20})).analysis.bins == 20  # the default kind, balance, has it


def test_a_training_section_names_its_kind_and_takes_only_that_kinds_keys():
    """training was one union of three trainers' keys (hidden, dale, iterations ...); now each kind has its own."""
    from einet.config.training import TrainingSpec
    from einet.fields import parse_section

    with pytest.raises(ConfigError, match=r"training.kind.*<missing>"):
        parse_section(TrainingSpec, {"dataset": "iris"}, "training")
    with pytest.raises(ConfigError, match=r"training.hidden.*kind 'network'.*only kind classifier has 'hidden'"):
        parse_section(TrainingSpec, {"kind": "network", "dataset": "iris", "hidden": [5]}, "training")
    with pytest.raises(ConfigError, match=r"training.dataset.*kind 'task'.*only kind classifier, network has"):
        parse_section(TrainingSpec, {"kind": "task", "parameters": ["EE.weights"], "dataset": "iris"}, "training")
    mlp = parse_section(TrainingSpec, {"kind": "classifier", "dataset": "iris"}, "training")
    assert (mlp.loss, mlp.hidden_sizes) == ("bce", [5, 5])  # each kind's own default loss


# ------------------------------------------------------------------ sweeps and files that would mislead
def _file(tmp_path, raw: dict):
    path = tmp_path / "e.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


@pytest.mark.parametrize("name", ["../../escaped", "a/b", "K~1", "1K", "ok.dot", "with space"])
def test_an_axis_name_that_is_not_a_plain_name_is_refused(tmp_path, name):
    """Axis names become directories under results/ and netCDF dimensions: no path characters."""
    raw = experiment(sweep={"grid": {name: {"path": "model.external.M0", "values": [1.0, 2.0]}}})
    with pytest.raises(ConfigError, match="a dimension name of letters, digits and _") as err:
        Experiment(_file(tmp_path, raw))
    assert err.value.path == f"sweep.grid.{name}"


@pytest.mark.parametrize("kind, name", [("batch", "time"), ("batch", "population"), ("grid", "trial")])
def test_an_axis_named_like_a_dimension_of_einets_files_is_refused(tmp_path, kind, name):
    raw = experiment(sweep={kind: {name: {"path": "model.external.M0", "values": [1.0, 2.0]}}})
    with pytest.raises(ConfigError, match=r"a dimension name einet's files do not use already"):
        Experiment(_file(tmp_path, raw))


@pytest.mark.parametrize("values", [[10, 10.0], [10.0, 10.000001], [0.1, 0.1000000001]])
def test_grid_values_that_would_share_a_job_name_are_refused_not_collapsed(tmp_path, values):
    raw = experiment(sweep={"grid": {"model.external.M0": values}})
    with pytest.raises(ConfigError, match=r"values that name distinct jobs: .* both give job 'M0~") as err:
        Experiment(_file(tmp_path, raw))
    assert err.value.path == "sweep.grid.M0"


def test_a_key_given_twice_in_a_file_is_an_error_naming_it_and_its_line(tmp_path):
    text = yaml.safe_dump(experiment(), sort_keys=False)
    text += "simulation:\n  dt: 0.1\n"  # a second simulation section would silently replace the first
    path = tmp_path / "e.yaml"
    path.write_text(text)
    line = text.count("\n") - 1
    with pytest.raises(ConfigError, match=rf"e.yaml: line {line}: got 'simulation', expected each key once"):
        Experiment(path)
    nested = tmp_path / "n.yaml"
    nested.write_text("name: n\nmodel:\n  K: 10\n  K: 20\n")
    with pytest.raises(ConfigError, match=r"line 4: got 'K'"):
        Experiment(nested)


@pytest.mark.parametrize("simulation, key, words", [
    ({"dt": 200.0}, "simulation.duration", "at least one step of dt = 200 ms"),
    ({"duration": 0.2, "dt": 0.5}, "simulation.duration", "at least one step"),
    ({"record": {"average_from": 150.0}}, "simulation.record.average_from", "at most 99 ms, the last sample"),
    ({"record": {"every": 30.0, "average_from": 95.0}}, "simulation.record.average_from", "at most 90 ms"),
])
def test_a_run_that_would_record_nothing_to_average_is_refused(simulation, key, words):
    """A run without a step, or an averaging window without a sample, used to exit 0 with rates of 0."""
    raw = experiment()
    for name, value in simulation.items():
        if isinstance(value, dict):
            raw["simulation"][name].update(value)
        else:
            raw["simulation"][name] = value
    with pytest.raises(ConfigError, match=words) as err:
        validate(raw)
    assert err.value.path == key


def test_a_task_shorter_than_the_averaging_window_is_refused_before_the_first_step():
    """With a task the run lasts the task's epochs, known once the task is built: the recorder refuses it."""
    import einet

    raw = experiment(task={**ODR, "trials": 2})  # 30 ms of epochs
    raw["analysis"] = {"kind": "ring"}
    raw["simulation"]["record"].update(average_from=50.0, bump=True)
    spec = validate(raw)
    with pytest.raises(ConfigError, match=r"simulation.record.average_from.*the last sample of a 30 ms run"):
        einet.simulate(spec, progress=False)
