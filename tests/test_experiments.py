"""Every shipped experiment file validates and runs end to end (shrunk) into its figures."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from conftest import draw_through_cli, run_through_cli
from einet.experiment import Experiment

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


@pytest.mark.parametrize("name", sorted(SHRINK))
def test_experiment_runs_into_its_figures(name, tmp_path):
    raw = yaml.safe_load((EXPERIMENTS / f"{name}.yaml").read_text())
    summary = run_through_cli(raw, SHRINK[name], tmp_path)
    for figure in raw["figures"]:
        draw_through_cli(figure, summary, tmp_path)
