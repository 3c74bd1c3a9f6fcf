"""A corpus of bad inputs, each through the command line as a user or a rule would give it.

Every case must end as exactly one line that names the stage, the file and, for a config
error, the key (exit status 2), before anything is computed, with nothing written under the
output directory (no result and no temporary file). The cases are what an adversarial user
tried: wrong types and ranges in every section, values that only a cross-section check can
refuse, sweep axes that would escape results/ or collide, broken data files and misused
commands.
"""

from __future__ import annotations

import copy
import gzip
import re
from pathlib import Path

import numpy as np
import pytest
import yaml

import einet.runs
from einet.cli import main

EXPERIMENTS = Path(__file__).resolve().parents[1] / "config" / "experiments"
TRAIN_BASES = {"classifier_ei", "learning_rules", "trained_odr"}
DELETE = object()


def base(name: str, *, sweep: bool = False) -> dict:
    raw = yaml.safe_load((EXPERIMENTS / f"{name}.yaml").read_text())
    raw.pop("scales", None)
    if not sweep:
        raw["sweep"] = {}
    return raw


def apply(raw: dict, changes: dict) -> dict:
    """Set dotted keys (a tuple for keys that contain dots, such as sweep axes) to values; DELETE removes."""
    raw = copy.deepcopy(raw)
    for path, value in changes.items():
        parts = list(path) if isinstance(path, tuple) else path.split(".")
        node = raw
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        if value is DELETE:
            node.pop(parts[-1], None)
        else:
            node[parts[-1]] = value
    return raw


# (id, base experiment, changes, expected key). The message must read "<key>: got ...".
CONFIG_CASES = [
    # the rate model
    ("K negative", "balanced", {"model.K": -1}, "model.K"),
    ("K a word", "balanced", {"model.K": "many"}, "model.K"),
    ("size zero", "balanced", {"model.populations.E.size": 0}, "model.populations.E.size"),
    ("size fractional", "balanced", {"model.populations.E.size": 2.5}, "model.populations.E.size"),
    ("tau negative", "balanced", {"model.populations.E.tau": -1.0}, "model.populations.E.tau"),
    ("tau below dt", "balanced", {"model.populations.E.tau": 0.1}, "model.populations.E.tau"),
    ("type unknown", "balanced", {"model.populations.E.type": "excitatory"}, "model.populations.E.type"),
    ("transfer unknown", "balanced", {"model.populations.E.transfer.name": "relu6"},
     "model.populations.E.transfer.name"),
    ("threshold nan", "balanced", {"model.populations.E.transfer.threshold": float("nan")},
     "model.populations.E.transfer.threshold"),
    ("threshold inf", "balanced", {"model.populations.I.transfer.threshold": float("inf")},
     "model.populations.I.transfer.threshold"),
    ("population unknown key", "balanced", {"model.populations.E.colour": "red"}, "model.populations.E.colour"),
    ("no populations", "balanced", {"model.populations": {}, "model.projections": {}}, "model.populations"),
    ("projection source unknown", "balanced", {"model.projections.EE.source": "X"}, "model.projections.EE.source"),
    ("projection target unknown", "balanced", {"model.projections.EE.target": "X"}, "model.projections.EE.target"),
    ("Dale exc negative", "balanced", {"model.projections.EE.J": -0.5}, "model.projections.EE.J"),
    ("Dale inh positive", "balanced", {"model.projections.EI.J": 0.75}, "model.projections.EI.J"),
    ("connectivity unknown", "balanced", {"model.projections.EE.connectivity": "dense"},
     "model.projections.EE.connectivity"),
    ("K above source size", "balanced", {"model.projections.EE.K": 1e9}, "model.projections.EE.K"),
    ("K on all_to_all", "ring_attractor", {"model.projections.IE.K": 10.0}, "model.projections.IE.K"),
    ("von Mises without concentration", "balanced", {"model.projections.EE.profile": "von_mises"},
     "model.projections.EE.concentration"),
    ("von Mises concentration huge", "balanced",
     {"model.projections.EE.profile": "von_mises", "model.projections.EE.concentration": 1e6},
     "model.projections.EE.concentration"),
    ("gaussian without width", "balanced", {"model.projections.EE.profile": "gaussian"},
     "model.projections.EE.width"),
    ("gaussian width tiny", "balanced",
     {"model.projections.EE.profile": "gaussian", "model.projections.EE.width": 1e-300},
     "model.projections.EE.width"),
    ("width without gaussian", "balanced", {"model.projections.EE.width": 0.5}, "model.projections.EE.width"),
    ("kappa without cosine", "balanced", {"model.projections.EE.kappa": 0.5}, "model.projections.EE.kappa"),
    ("kappa above one", "ring_attractor", {"model.projections.EE.kappa": 1.5}, "model.projections.EE.kappa"),
    ("low_rank strength without vectors", "balanced", {"model.projections.EE.low_rank": 1.0},
     "model.projections.EE.low_rank"),
    ("external J of unknown population", "balanced", {"model.external.J.X": 1.0}, "model.external.J.X"),
    ("external noise negative", "balanced", {"model.external.noise": {"E": -1.0}}, "model.external.noise.E"),
    ("external unknown key", "balanced", {"model.external.drive": 1.0}, "model.external.drive"),
    ("model unknown key", "balanced", {"model.foo": 1}, "model.foo"),
    ("model a list", "balanced", {"model": [1, 2]}, "model"),
    # simulation
    ("dt zero", "balanced", {"simulation.dt": 0.0}, "simulation.dt"),
    ("dt above duration", "balanced", {"simulation.dt": 1000.0}, "simulation.duration"),
    ("duration negative", "balanced", {"simulation.duration": -5.0}, "simulation.duration"),
    ("average_from after the run", "balanced", {"simulation.record.average_from": 1e6},
     "simulation.record.average_from"),
    ("record every below dt", "balanced", {"simulation.record.every": 0.1}, "simulation.record.every"),
    ("record unknown variable", "balanced", {"simulation.record.variables": ["voltage"]},
     "simulation.record.variables"),
    ("record neurons negative", "balanced", {"simulation.record.neurons": -1}, "simulation.record.neurons"),
    ("seed beyond 64 bits", "balanced", {"simulation.seed": 2**70}, "simulation.seed"),
    ("seed negative", "balanced", {"simulation.seed": -1}, "simulation.seed"),
    ("seed fractional", "balanced", {"simulation.seed": 1.5}, "simulation.seed"),
    ("device unknown", "balanced", {"simulation.device": "tpu"}, "simulation.device"),
    ("dtype unknown", "balanced", {"simulation.dtype": "float8"}, "simulation.dtype"),
    ("simulation unknown key", "balanced", {"simulation.steps": 10}, "simulation.steps"),
    ("overlaps without low rank", "balanced", {"simulation.record.overlaps": True}, "simulation.record.overlaps"),
    # analysis, figures, top level
    ("analysis unknown", "balanced", {"analysis.kind": "nonexistent"}, "analysis.kind"),
    ("ring analysis without a task", "balanced", {"analysis": {"kind": "ring"}}, "task.kind"),
    ("analysis bins zero", "balanced", {"analysis.bins": 0}, "analysis.bins"),
    ("analysis of another run kind", "balanced", {"analysis.kind": "stdp"}, "analysis.kind"),
    ("figure unknown", "balanced", {"figures": ["nonexistent"]}, r"figures\[0\]"),
    ("figure of another analysis", "balanced", {"figures": ["rates_vs_K", "stdp"]}, r"figures\[1\]"),
    ("top-level unknown key", "balanced", {"simulations": {}}, "simulations"),
    ("name not a string", "balanced", {"name": 5}, "name"),
    ("no model", "balanced", {"model": None}, "model"),
    # tasks
    ("task kind unknown", "ring_attractor", {"task.kind": "odd"}, "task.kind"),
    ("task epoch unknown", "ring_attractor", {"task.epochs.nap": 100.0}, "task.epochs.nap"),
    ("task epoch negative", "ring_attractor", {"task.epochs.delay": -100.0}, "task.epochs.delay"),
    ("task population unknown", "ring_attractor", {"task.population": "X"}, "task.population"),
    ("task trials zero", "ring_attractor", {"task.trials": 0}, "task.trials"),
    ("task key of another kind", "ring_attractor", {"task.patterns": "random"}, "task.patterns"),
    ("ring analysis without bump", "ring_attractor", {"simulation.record.bump": False}, "simulation.record.bump"),
    ("ring analysis on a dual task", "ring_attractor", {"task": {"kind": "dual", "population": "E"}},
     "task.kind"),
    # low-rank networks
    ("dual analysis with random patterns", "dual_task", {"task.patterns": "random"}, "task.patterns"),
    ("dual analysis without overlaps", "dual_task", {"simulation.record.overlaps": False},
     "simulation.record.overlaps"),
    ("low rank rank zero", "dual_task", {"model.low_rank.rank": 0}, "model.low_rank.rank"),
    ("low rank covariance asymmetric", "dual_task",
     {"model.low_rank.cov": [[1, 0.5, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]}, "model.low_rank.cov"),
    ("low rank covariance not positive", "dual_task",
     {"model.low_rank.cov": [[1, 2, 0, 0], [2, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]}, "model.low_rank.cov"),
    ("low rank mean wrong length", "dual_task", {"model.low_rank.mean": [0.0, 1.0]}, "model.low_rank.mean"),
    ("low rank breaks Dale", "dual_task", {"model.populations.R.type": "exc"}, "model.projections.RR.low_rank"),
    # spiking networks
    ("spiking neuron unknown", "cuba", {"spiking.neuron": "hh"}, "spiking.neuron"),
    ("v_reset above v_th", "cuba", {"spiking.populations.E.params.v_reset": -40.0},
     "spiking.populations.E.params.v_reset"),
    ("tau_m negative", "cuba", {"spiking.populations.I.params.tau_m": -20.0}, "spiking.populations.I.params.tau_m"),
    ("neuron parameter unknown", "cuba", {"spiking.populations.E.params.c_m": 1.0},
     "spiking.populations.E.params.c_m"),
    ("tau_syn on a population", "cuba", {"spiking.populations.E.params.tau_syn": 5.0},
     "spiking.populations.E.params.tau_syn"),
    ("spiking exc weight negative", "cuba", {"spiking.projections.EE.weight": -1.62},
     "spiking.projections.EE.weight"),
    ("spiking inh weight positive", "cuba", {"spiking.projections.EI.weight": 9.0}, "spiking.projections.EI.weight"),
    ("connection probability above one", "cuba", {"spiking.projections.EE.p": 1.5}, "spiking.projections.EE.p"),
    ("delay not a multiple of dt", "cuba", {"spiking.projections.EE.delay": 0.15}, "spiking.projections.EE.delay"),
    ("conductance without reversal", "cuba", {"spiking.projections.EE.synapse": "conductance"},
     "spiking.projections.EE.reversal"),
    ("rate bin below dt", "cuba", {"spiking.record.rate_bin": 0.01}, "spiking.record.rate_bin"),
    ("transient after the run", "cuba", {"spiking.record.transient": 1e6}, "spiking.record.transient"),
    ("initial potentials reversed", "cuba", {"spiking.populations.E.init_v": [-50.0, -60.0]},
     "spiking.populations.E.init_v"),
    ("spiking target unknown", "cuba", {"spiking.projections.EE.target": "X"}, "spiking.projections.EE.target"),
    ("spiking population type unknown", "cuba", {"spiking.populations.E.type": "mixed"},
     "spiking.populations.E.type"),
    ("model beside spiking", "cuba", {"model": base("balanced")["model"]}, "model"),
    # reservoir and STDP
    ("reservoir size zero", "reservoir", {"reservoir.n": 0}, "reservoir.n"),
    ("reservoir train negative", "reservoir", {"reservoir.train": -1.0}, "reservoir.train"),
    ("reservoir unknown key", "reservoir", {"reservoir.leak": 0.5}, "reservoir.leak"),
    ("stdp inputs zero", "stdp", {"stdp.n_inputs": 0}, "stdp.n_inputs"),
    ("stdp dependence unknown", "stdp", {"stdp.dependences": ["additive", "quadratic"]}, r"stdp.dependences"),
    ("stdp w_max negative", "stdp", {"stdp.w_max": -1.0}, "stdp.w_max"),
    # training
    ("dataset unknown", "classifier_ei", {"training.dataset": "cifar"}, "training.dataset"),
    ("epochs zero", "classifier_ei", {"training.epochs": 0}, "training.epochs"),
    ("more checkpoints than epochs", "classifier_ei", {"training.checkpoints": 1000}, "training.checkpoints"),
    ("learning rate negative", "classifier_ei", {"training.learning_rate": -1.0}, "training.learning_rate"),
    ("mnist without a path", "classifier_ei", {"training.dataset": "mnist"}, "training.dataset"),
    ("mnist path missing", "classifier_ei", {"training.dataset": "mnist", "training.mnist_path": "/nonexistent"},
     "training.mnist_path"),
    ("training kind unknown", "classifier_ei", {"training.kind": "nonexistent"}, "training.kind"),
    ("training kind missing", "classifier_ei", {"training.kind": DELETE}, "training.kind"),
    ("training seed beyond 64 bits", "classifier_ei", {"training.seed": 2**64}, "training.seed"),
    ("dale not a boolean", "learning_rules", {"training.dale": "yes"}, "training.dale"),
    ("learning rule unknown", "learning_rules", {"training.network.layers.H.learning_rule": "magic"},
     "training.network.layers.H.learning_rule.name"),
    ("task loss of another task", "trained_odr", {"training.loss": "decision"}, "task.kind"),
    ("trained parameter unknown", "trained_odr", {"training.parameters": ["XX.weights"]},
     r"training.parameters\[0\]"),
    ("iterations zero", "trained_odr", {"training.iterations": 0}, "training.iterations"),
    ("optimizer unknown", "trained_odr", {"training.optimizer": "lbfgs"}, "training.optimizer"),
]


def _write(raw: dict, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "job.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def _no_compute(monkeypatch) -> None:
    """Finding the run kind is the last step before compute: a case that gets there was checked too late."""
    def refuse(*args, **kwargs):
        raise AssertionError("the stage started computing")

    monkeypatch.setattr(einet.runs, "run_kind_for_stage", refuse)


def _stage_args(stage: str, config: Path, out: Path) -> list[str]:
    if stage == "expand":
        return ["expand", str(config), "--out", str(out / "configs")]
    args = [stage, str(config), "--out", str(out / "result.nc")]
    return args + (["--model", str(out / "model.pt")] if stage == "train" else [])


def _check_refused(status: int, err: str, out: Path, prefix: str, pattern: str, code: int = 2) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert status == code, err
    assert lines[0].startswith(prefix), lines[0]
    assert re.search(pattern, lines[0]), lines[0]
    written = [p for p in out.rglob("*")] if out.exists() else []
    assert not written, written


@pytest.mark.parametrize("name, experiment, changes, key", CONFIG_CASES, ids=[c[0] for c in CONFIG_CASES])
def test_a_bad_config_is_one_line_naming_its_key_before_anything_runs(name, experiment, changes, key, tmp_path,
                                                                      capsys, monkeypatch):
    stage = "train" if experiment in TRAIN_BASES else "simulate"
    config = _write(apply(base(experiment), changes), tmp_path / "in")
    _no_compute(monkeypatch)
    status = main(_stage_args(stage, config, tmp_path / "out"))
    _check_refused(status, capsys.readouterr().err, tmp_path / "out", f"einet {stage}: {config}: config error: ",
                   rf"config error: {key}: got ")


def test_the_corpus_holds_at_least_a_hundred_cases():
    cases = len(CONFIG_CASES) + len(SWEEP_CASES) + len(FILE_CASES) + len(DATA_CASES) + len(USAGE_CASES)
    assert cases >= 100


# sweeps: refused when the experiment file is expanded, before any job config is written
SWEEP_CASES = [
    ("grid axis empty", {("sweep", "grid", "model.K"): []}, r"sweep.grid.model.K"),
    ("grid axis a string", {("sweep", "grid", "model.K"): "50"}, r"sweep.grid.model.K"),
    ("grid path unknown", {("sweep", "grid", "model.nothing"): [1, 2]}, r"sweep.grid.nothing"),
    ("grid name escapes results", {("sweep", "grid", "../../escaped"): {"path": "model.K", "values": [10, 20]}},
     r"sweep.grid.\.\./\.\./escaped"),
    ("grid name with a slash", {("sweep", "grid", "a/b"): {"path": "model.K", "values": [10, 20]}},
     r"sweep.grid.a/b"),
    ("grid name reserved", {("sweep", "grid", "time"): {"path": "model.K", "values": [10, 20]}},
     r"sweep.grid.time"),
    ("batch name reserved", {("sweep", "batch", "population"): {"path": "model.external.M0", "values": [1.0]}},
     r"sweep.batch.population"),
    ("grid values equal as numbers", {("sweep", "grid", "model.K"): [10, 10.0]}, r"sweep.grid.K"),
    ("grid values with one job name", {("sweep", "grid", "model.K"): [10.0, 10.000001]}, r"sweep.grid.K"),
    ("grid long form without values", {("sweep", "grid", "a"): {"path": "model.K"}}, r"sweep.grid.a"),
    ("grid value with a slash", {("sweep", "grid", "name"): ["a/b"]}, r"sweep.grid.name"),
    ("grid value out of range", {("sweep", "grid", "model.K"): [50, -50]}, r"model.K"),
    ("batch of a connectivity setting", {("sweep", "batch", "model.K"): [10, 20]}, r"sweep.batch.K"),
    ("batch value a word", {("sweep", "batch", "model.external.M0"): [1.0, "x"]}, r"model.external.M0"),
    ("batch value breaks Dale", {("sweep", "batch", "model.projections.EE.J"): [0.5, -0.5]},
     r"model.projections.EE.J"),
    ("grid name an analysis variable", {("sweep", "grid", "rate_meanfield"): {"path": "model.K", "values": [10, 20]}},
     r"sweep.grid.rate_meanfield"),
    ("grid name a run variable", {("sweep", "grid", "rate_trace"): {"path": "model.K", "values": [10, 20]}},
     r"sweep.grid.rate_trace"),
    ("batch name an analysis variable", {("sweep", "batch", "rate"): {"path": "model.external.M0", "values": [1.0]}},
     r"sweep.batch.rate"),
    ("grid and batch axes share a name", {("sweep", "grid", "M0"): {"path": "model.K", "values": [10, 20]}},
     r"sweep.batch.M0"),
    ("two axes one name", {("sweep", "grid", "model.K"): [10], ("sweep", "grid", "model.projections.EE.K"): [10]},
     r"sweep.grid"),
]


@pytest.mark.parametrize("name, changes, key", SWEEP_CASES, ids=[c[0] for c in SWEEP_CASES])
def test_a_bad_sweep_is_refused_before_any_job_is_written(name, changes, key, tmp_path, capsys):
    config = _write(apply(base("balanced", sweep=True), changes), tmp_path / "in")
    status = main(_stage_args("expand", config, tmp_path / "out"))
    _check_refused(status, capsys.readouterr().err, tmp_path / "out", f"einet expand: {config}: config error: ",
                   rf"config error: {key}: got ")


def test_a_sweep_axis_name_cannot_make_snakemake_write_outside_results(tmp_path):
    """The escape the adversarial run found: the job wildcard once let '../' through."""
    import subprocess
    import sys

    raw = apply(base("balanced", sweep=True), {("sweep", "grid", "../../escaped"): {"path": "model.K",
                                                                                     "values": [10, 20]}})
    (tmp_path / "config" / "experiments").mkdir(parents=True)
    (tmp_path / "config" / "experiments" / "bad.yaml").write_text(yaml.safe_dump(raw))
    (tmp_path / "config" / "config.yaml").write_text("experiments: [bad]\nscale: null\n")
    repo = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-m", "snakemake", "-s", str(repo / "workflow" / "Snakefile"), "--directory",
                           str(tmp_path), "-n", "--quiet"], capture_output=True, text=True)
    assert done.returncode != 0
    assert "sweep.grid.../../escaped" in done.stdout + done.stderr
    assert not (tmp_path / "results").exists() and not (tmp_path.parent.parent / "escaped").exists()


# files that are not what a config or a stage expects
def _low_rank_file(tmp: Path, content: bytes | None = None, arrays: dict | None = None, suffix: str = ".npz"):
    path = tmp / f"vectors{suffix}"
    if arrays is not None:
        (np.save if suffix == ".npy" else np.savez)(path, **arrays) if suffix != ".npy" else np.save(path, arrays)
    elif content is not None:
        path.write_bytes(content)
    return path


def _valid_npz(tmp: Path) -> bytes:
    path = tmp / "valid.npz"
    np.savez(path, m_R=np.zeros((10, 2)), n_R=np.zeros((10, 2)))
    data = path.read_bytes()
    path.unlink()
    return data


FILE_CASES = [
    ("low rank file missing", lambda tmp: str(tmp / "none.npz")),
    ("low rank file truncated", lambda tmp: str(_low_rank_file(tmp, _valid_npz(tmp)[:60]))),
    ("low rank file garbage", lambda tmp: str(_low_rank_file(tmp, b"not an archive" * 10))),
    ("low rank file empty", lambda tmp: str(_low_rank_file(tmp, b""))),
    ("low rank file a single array", lambda tmp: str(_low_rank_file(tmp, arrays=np.zeros(3), suffix=".npy"))),
    ("low rank file without n", lambda tmp: str(_low_rank_file(tmp, arrays={"m_R": np.zeros((200, 2))}))),
    ("low rank file of wrong shape", lambda tmp: str(_low_rank_file(
        tmp, arrays={"m_R": np.zeros((7, 2)), "n_R": np.zeros((7, 2))}))),
    ("low rank file with nan", lambda tmp: str(_low_rank_file(
        tmp, arrays={"m_R": np.full((200, 2), np.nan), "n_R": np.zeros((200, 2))}))),
    ("low rank file a directory", lambda tmp: str(tmp)),
]


@pytest.mark.parametrize("name, make", FILE_CASES, ids=[c[0] for c in FILE_CASES])
def test_a_bad_low_rank_file_names_model_low_rank_file(name, make, tmp_path, capsys, monkeypatch):
    raw = base("dual_task")
    raw["model"]["populations"]["R"]["size"] = 200
    raw["model"]["low_rank"] = {"rank": 2, "file": make(tmp_path)}
    config = _write(raw, tmp_path / "in")
    _no_compute(monkeypatch)
    status = main(_stage_args("simulate", config, tmp_path / "out"))
    _check_refused(status, capsys.readouterr().err, tmp_path / "out", f"einet simulate: {config}: config error: ",
                   r"config error: model.low_rank.file: got ")


def _mnist_dir(tmp: Path, *, labels=None, images=None, truncate=None, garbage=None, gz=False) -> Path:
    from einet.datasets import MNIST_FILES, write_idx

    directory = tmp / "mnist"
    directory.mkdir()
    parts = {"x_train": np.zeros((60, 28, 28), np.uint8), "y_train": np.arange(60, dtype=np.uint8) % 10,
             "x_test": np.zeros((20, 28, 28), np.uint8), "y_test": np.arange(20, dtype=np.uint8) % 10}
    parts.update(labels or {})
    parts.update(images or {})
    for key, stem in MNIST_FILES.items():
        path = write_idx(parts[key], directory / stem)
        if key == truncate:
            path.write_bytes(path.read_bytes()[:100])
        if key == garbage:
            path.write_bytes(b"\x00\x00\x99\x01" + b"x" * 50)
        if gz and key == "y_test":
            (directory / f"{stem}.gz").write_bytes(gzip.compress(path.read_bytes())[:20])
            path.unlink()
    return directory


DATA_CASES = [
    ("mnist labels out of range", lambda tmp: _mnist_dir(tmp, labels={"y_train": np.full(60, 200, np.uint8)})),
    ("mnist one label short", lambda tmp: _mnist_dir(tmp, labels={"y_train": np.zeros(59, np.uint8)})),
    ("mnist images not 28x28", lambda tmp: _mnist_dir(tmp, images={"x_test": np.zeros((20, 8, 8), np.uint8)})),
    ("mnist file truncated", lambda tmp: _mnist_dir(tmp, truncate="x_train")),
    ("mnist file not IDX", lambda tmp: _mnist_dir(tmp, garbage="y_test")),
    ("mnist gzip truncated", lambda tmp: _mnist_dir(tmp, gz=True)),
]


@pytest.mark.parametrize("name, make", DATA_CASES, ids=[c[0] for c in DATA_CASES])
def test_a_bad_data_set_names_training_mnist_path_before_training(name, make, tmp_path, capsys):
    raw = base("classifier_ei")
    raw["training"].update(dataset="mnist", mnist_path=str(make(tmp_path)), epochs=2, checkpoints=1)
    config = _write(raw, tmp_path / "in")
    status = main(_stage_args("train", config, tmp_path / "out"))
    _check_refused(status, capsys.readouterr().err, tmp_path / "out", f"einet train: {config}: config error: ",
                   r"config error: training.mnist_path: got .*mnist")


def _config_file(tmp: Path, content: bytes) -> Path:
    (tmp / "in").mkdir()
    path = tmp / "in" / "job.yaml"
    path.write_bytes(content)
    return path


USAGE_CASES = [
    # (id, arguments built from the temporary directory, exit status, pattern of the one line)
    ("config not UTF-8", lambda t: ["simulate", str(_config_file(t, b"name: \xff\xfe")), "--out", str(t / "out/x.nc")],
     2, r"config error: .*job.yaml: got '<byte 0xff at offset 6>', expected UTF-8 text"),
    ("config not YAML", lambda t: ["simulate", str(_config_file(t, b"model: [1, 2")), "--out", str(t / "out/x.nc")],
     2, r"config error: .*job.yaml: got '<unparsable>', expected valid YAML"),
    ("config a list", lambda t: ["simulate", str(_config_file(t, b"- 1\n- 2\n")), "--out", str(t / "out/x.nc")],
     2, r"config error: .*job.yaml: got \[1, 2\], expected a mapping"),
    ("config key twice", lambda t: ["simulate", str(_config_file(t, b"model: {K: 1}\nmodel: {K: 2}\n")), "--out",
                                    str(t / "out/x.nc")], 2, r"config error: .*job.yaml: line 2: got 'model'"),
    ("config missing", lambda t: ["simulate", str(t / "none.yaml"), "--out", str(t / "out/x.nc")],
     2, r"config error: experiment file: got .*none.yaml"),
    ("config a directory", lambda t: ["simulate", str(t), "--out", str(t / "out/x.nc")],
     2, r"config error: experiment file: got .*expected a YAML file, not a directory"),
    ("stage misspelt", lambda t: ["simulte", "x.yaml"], 2, r"^einet: usage error: argument COMMAND: invalid choice"),
    ("output missing", lambda t: ["simulate", "x.yaml"], 2, r"^einet simulate: usage error: .*--out"),
    ("device unknown", lambda t: ["simulate", "x.yaml", "--out", "y.nc", "--device", "gpu"], 2,
     r"^einet simulate: usage error: argument --device"),
    ("threads not a number", lambda t: ["train", "x.yaml", "--out", "y.nc", "--model", "m.pt", "--threads", "two"],
     2, r"^einet train: usage error: argument --threads"),
    ("train without model", lambda t: ["train", "x.yaml", "--out", "y.nc"], 2, r"^einet train: usage error: .*--model"),
    ("expand without out", lambda t: ["expand", str(_config_file(t, yaml.safe_dump(base("balanced")).encode()))],
     2, r"config error: --out: got None"),
    ("expand job unknown", lambda t: ["expand", str(_config_file(t, yaml.safe_dump(base("balanced")).encode())),
                                      "--job", "K~7", "--out", str(t / "out/x.yaml")], 2, r"config error: job: got 'K~7'"),
    ("expand scale not a name", lambda t: ["expand", str(EXPERIMENTS / "balanced.yaml"), "--scale", "huge;", "--out",
                                           str(t / "out")], 2, r"config error: scale: got 'huge;'"),
    ("simulate a training config", lambda t: ["simulate", str(_config_file(t, yaml.safe_dump(
        base("classifier_ei")).encode())), "--out", str(t / "out/x.nc")], 2, r"config error: "),
    ("train a simulation config", lambda t: ["train", str(_config_file(t, yaml.safe_dump(base("balanced")).encode())),
                                             "--out", str(t / "out/x.nc"), "--model", str(t / "out/m.pt")],
     2, r"config error: "),
    ("analyze a missing run", lambda t: ["analyze", str(t / "none.nc"), "--out", str(t / "out/x.nc")], 1,
     r"^einet analyze: .*none.nc: "),
    ("analyze a YAML file", lambda t: ["analyze", str(_config_file(t, b"a: 1\n")), "--out", str(t / "out/x.nc")], 1,
     r"^einet analyze: .*job.yaml: "),
    ("analyze a garbage run", lambda t: ["analyze", str(_config_file(t, b"CDF\x01garbage")), "--out",
                                         str(t / "out/x.nc")], 1, r"^einet analyze: .*job.yaml: "),
    ("figure unknown", lambda t: ["figure", "nonexistent", str(_config_file(t, b"a: 1\n")), "--pdf",
                                  str(t / "out/x.pdf")], 1, r"^einet figure: .*job.yaml: "),
    ("device cuda without CUDA", lambda t: ["simulate", str(_config_file(t, yaml.safe_dump(
        apply(base("balanced"), {"simulation.device": "cuda"})).encode())), "--out", str(t / "out/x.nc")],
     2, r"config error: simulation.device: got 'cuda', expected auto or cpu"),
    ("device override cuda without CUDA", lambda t: ["simulate", str(_config_file(t, yaml.safe_dump(
        base("balanced")).encode())), "--out", str(t / "out/x.nc"), "--device", "cuda"],
     2, r"config error: --device: got 'cuda'"),
    ("recording beyond memory", lambda t: ["simulate", str(_config_file(t, yaml.safe_dump(
        apply(base("balanced"), {"simulation.duration": 1e10, "model.populations.E.size": 100,
                                 "model.populations.I.size": 100, "model.K": 10})).encode())),
        "--out", str(t / "out/x.nc")], 1, r"recording \d+ samples needs about .* GiB .*simulation.record.every"),
    ("spikes beyond memory", lambda t: ["-q", "simulate", str(_config_file(t, yaml.safe_dump(
        apply(base("cuba"), {"simulation.duration": 1e10, "spiking.populations.E.size": 400,
                             "spiking.populations.I.size": 100})).encode())),
        "--out", str(t / "out/x.nc")], 1, r"keeping the spikes of \d+ steps .* needs about .* GiB"),
]


@pytest.mark.parametrize("name, args, code, pattern", USAGE_CASES, ids=[c[0] for c in USAGE_CASES])
def test_a_misused_command_or_broken_file_is_one_line(name, args, code, pattern, tmp_path, capsys):
    import torch

    if "CUDA" in name and torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    try:
        status = main(args(tmp_path))
    except SystemExit as exit_:  # argparse's usage errors
        status = exit_.code
    _check_refused(status, capsys.readouterr().err, tmp_path / "out", "einet", pattern, code=code)
