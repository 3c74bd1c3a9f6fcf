"""Every shipped experiment file validates and runs end to end (shrunk) into its figures.

The shrunk experiments are also the registries' contract: together they use every run kind,
every (run kind, analysis) pair a run kind accepts and every figure, and each file they write
carries units on every numeric variable and coordinate (none on strings) and the full provenance."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from conftest import draw_through_cli, run_through_cli
from einet.experiment import Experiment

EXPERIMENTS = Path(__file__).resolve().parents[1] / "config" / "experiments"

# small enough to run in seconds; the physics is tested elsewhere
SHRINK = {
    "balanced": {
        "model": {"populations": {"E": {"size": 200}, "I": {"size": 200}}},
        "simulation": {"duration": 60.0, "record": {"average_from": 40.0}},
        "sweep": {"grid": {"model.K": [20, 40], "simulation.seed": [0]}, "batch": {"model.external.M0": [1.0, 2.0]}},
    },
    "balanced_fixed_point": {
        "model": {"populations": {"E": {"size": 200}, "I": {"size": 200}}},
        "sweep": {"grid": {"model.K": [20, 40], "simulation.seed": [0]}, "batch": {"model.external.M0": [1.0, 2.0]}},
    },
    "balanced_ei": {
        "model": {"populations": {"E": {"size": 200}, "I": {"size": 200}}},
        "simulation": {"duration": 100.0, "record": {"average_from": 60.0}},
        "analysis": {"ei": {"neurons": 4, "samples": 512}},
        "sweep": {"grid": {"model.K": [25, 50], "simulation.seed": [0]}},
    },
    "classifier_ei": {
        "training": {"epochs": 4, "checkpoints": 2, "ei": {"samples": 512}},
        "sweep": {"grid": {"training.dataset": ["iris", "digits"], "training.seed": [0]}},
    },
    "learning_rules": {
        "training": {"epochs": 2, "checkpoint_every": 1, "schedule": {"kind": "constant"}},
        "sweep": {"grid": {"training.dale": [True], "training.seed": [0]}},
    },
    "cuba": {
        "spiking": {"populations": {"E": {"size": 800}, "I": {"size": 200}},
                    "record": {"transient": 100.0, "raster_neurons": 20}},
        "simulation": {"duration": 300.0},
        "analysis": {"spiking": {"raster_window": 200.0}},
    },
    "reservoir": {"reservoir": {"n": 100, "train": 1000.0, "test": 400.0}, "simulation": {"duration": 1500.0}},
    "serial_bias": {
        "model": {"populations": {"E": {"size": 64}, "I": {"size": 16}}},
        "task": {"sessions": 8, "trials": 4, "epochs": {"fixation": 50.0, "cue": 100.0, "delay": 200.0,
                                                        "erase": 100.0, "iti": 100.0}},
        "analysis": {"serial_bias": {"bootstrap": 50}},
        "sweep": {"grid": {"iti": {"values": [100.0]}, "reset": {"values": [False]}},
                  "batch": {"tau_fac": {"values": [1000.0]}}},
    },
    "multistability": {
        "model": {"populations": {"R": {"size": 64}}},
        "simulation": {"duration": 300.0, "record": {"average_from": 250.0}},
        "sweep": {"batch": {"J": {"path": "model.projections.EE.J", "values": [4.0, 10.0]},
                            "kappa": {"path": "model.projections.EE.kappa", "values": [0.0, 0.9]}}},
    },
    "ring_attractor": {
        "model": {"populations": {"E": {"size": 128}}},
        "task": {"trials": 4, "epochs": {"fixation": 50.0, "cue": 100.0, "delay": 300.0}},
        "simulation": {"record": {"average_from": 400.0}},
    },
    "stp_memory": {
        "model": {"populations": {"E": {"size": 128}}},
        "task": {"trials": 2, "epochs": {"fixation": 50.0, "cue": 200.0, "delay": 300.0}},
        "simulation": {"record": {"average_from": 500.0}},
    },
    "dual_task": {
        "model": {"populations": {"R": {"size": 200}}},
        "task": {"trials": 1, "epochs": {"fixation": 50.0, "sample": 50.0, "delay": 200.0, "distractor": 50.0,
                                         "test": 50.0, "response": 50.0}},
    },
    "coba": {
        "simulation": {"duration": 300.0},
        "spiking": {"record": {"transient": 100.0, "raster_neurons": 20}},
        "analysis": {"spiking": {"raster_window": 200.0}},
    },
    "reservoir_qif": {"reservoir": {"n": 200, "train": 1500.0, "test": 500.0}},
    "trained_odr": {
        "model": {"populations": {"E": {"size": 32}, "I": {"size": 8}}},
        "task": {"epochs": {"fixation": 20.0, "cue": 40.0, "delay": 60.0}},
        "training": {"iterations": 3, "trials": 4, "test_cues": 4, "test_delays": [20.0, 80.0],
                     "checkpoint_every": 2},
    },
    "trained_dual": {
        "model": {"populations": {"R": {"size": 40}}},
        "task": {"epochs": {"fixation": 10.0, "sample": 10.0, "delay": 40.0, "distractor": 10.0, "test": 10.0,
                            "response": 20.0}},
        "training": {"iterations": 2, "trials": 1, "checkpoint_every": 1},
    },
    "perceptual_decision": {
        "model": {"populations": {"E": {"size": 64}}},
        "simulation": {"record": {"neurons": 64}},
        "task": {"trials": 2, "epochs": {"fixation": 20.0, "stimulus": 200.0, "decision": 40.0}},
    },
    "stdp": {
        "stdp": {"n_inputs": 60, "n_correlated": 30, "n_inhibitory": 12, "w_max": 15.0, "w_inhibitory": -15.0,
                 "record_every": 250.0, "rate_bin": 500.0},
        "simulation": {"duration": 1000.0},
    },
}


def test_every_experiment_file_validates_at_every_scale():
    for path in sorted(EXPERIMENTS.glob("*.yaml")):
        raw = yaml.safe_load(path.read_text())
        for scale in [None, *raw.get("scales", {})]:
            assert Experiment(path, scale).job_names(), f"{path.name} at scale {scale} has no jobs"


def test_the_shrunk_experiments_cover_every_shipped_file_run_kind_analysis_pair_and_figure():
    """A new run kind, analysis or figure is only registered once a shipped experiment exercises it."""
    from einet.analysis import ANALYSES
    from einet.figures import FIGURES
    from einet.runs import RUNS, run_kind_of

    assert set(SHRINK) == {p.stem for p in EXPERIMENTS.glob("*.yaml")}
    specs = [Experiment(EXPERIMENTS / f"{name}.yaml", "quick").spec for name in SHRINK]
    accepted = {(run, analysis) for run in RUNS.names() for analysis in ANALYSES.names()
                if RUNS.get(run).accepts(ANALYSES.get(analysis))}
    assert {(run_kind_of(s).name, s.analysis.kind) for s in specs} == accepted
    assert {f.lower() for s in specs for f in s.figures} == set(FIGURES.names())


def _check_units_and_provenance(path: Path) -> None:
    import xarray as xr

    from einet.io import read_provenance

    with xr.open_dataset(path) as ds:
        for name, var in {**ds.data_vars, **ds.coords}.items():
            if var.dtype.kind in "UO":
                assert "units" not in var.attrs, f"{path.name}: {name} is text, yet has units"
            else:
                assert "units" in var.attrs, f"{path.name}: {name} has no units"
    prov = read_provenance(path)
    for key in ("config", "config_sha256", "einet_version", "torch_version", "device", "seed", "wall_time_s"):
        assert key in prov, f"{path.name}: no provenance {key}"
    assert prov["config_dict"] and prov["wall_time_s"] >= 0


def _check_names_are_declared(path: Path, declared: tuple[str, ...], owner: str) -> None:
    """Every variable and dimension is one the registry declares (``writes``) or a sweep axis: the list a
    sweep axis name is checked against when an experiment is parsed."""
    from fnmatch import fnmatchcase

    from einet.config.sweep import batch_axes, validate
    from einet.io import read_dataset, read_provenance

    config = read_provenance(path)["config_dict"]
    axes = set(config.get("job", {}).get("grid", {})) | {a.name for a in batch_axes(validate(config))}
    undeclared = [n for n in read_dataset(path).variables
                  if n not in axes and not any(fnmatchcase(n, d) for d in declared)]
    assert not undeclared, f"{path.name}: {owner} writes {undeclared}, not in its registry entry's writes"


@pytest.mark.parametrize("name", sorted(SHRINK))
def test_experiment_runs_into_its_figures(name, tmp_path):
    from einet.analysis import ANALYSES
    from einet.runs import run_kind_of

    raw = yaml.safe_load((EXPERIMENTS / f"{name}.yaml").read_text())
    summary = run_through_cli(raw, SHRINK[name], tmp_path)
    runs, analyses = sorted((tmp_path / "runs").rglob("*.nc")), sorted((tmp_path / "analysis").rglob("*.nc"))
    assert runs and analyses
    for path in [*runs, *analyses, summary]:
        _check_units_and_provenance(path)
    spec = Experiment(tmp_path / f"{name}.yaml", "test").spec
    kind, analysis = run_kind_of(spec), ANALYSES.get(spec.analysis.kind)
    for path in runs:
        _check_names_are_declared(path, kind.writes, f"the {kind.name} run")
    for path in analyses:
        _check_names_are_declared(path, analysis.writes, f"the {analysis.name} analysis")
    for figure in raw["figures"]:
        draw_through_cli(figure, summary, tmp_path)
