"""Every shipped experiment file validates and runs end to end (shrunk) into its figures."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from conftest import draw_through_cli, run_through_cli
from einet.config.sweep import Experiment

EXPERIMENTS = Path(__file__).resolve().parents[1] / "config" / "experiments"

# small enough to run in seconds; the physics is tested elsewhere
SHRINK = {
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
}


def test_every_experiment_file_validates_at_every_scale():
    for path in sorted(EXPERIMENTS.glob("*.yaml")):
        raw = yaml.safe_load(path.read_text())
        for scale in [None, *raw.get("scales", {})]:
            assert Experiment(path, scale).job_names(), f"{path.name} at scale {scale} has no jobs"


@pytest.mark.parametrize("name", sorted(SHRINK))
def test_experiment_runs_into_its_figures(name, tmp_path):
    raw = yaml.safe_load((EXPERIMENTS / f"{name}.yaml").read_text())
    summary = run_through_cli(raw, SHRINK[name], tmp_path)
    for figure in raw["figures"]:
        draw_through_cli(figure, summary, tmp_path)
