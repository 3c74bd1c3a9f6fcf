"""Shared fixtures: small experiment configs built in code, so each test states its numbers."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch


def two_population_model(connectivity: str = "all_to_all", **overrides) -> dict:
    """The two-population E/I network of the foundation tests (raw config mapping)."""
    model = {
        "populations": {
            "E": {"size": 20, "type": "exc", "tau": 20.0, "transfer": {"name": "threshold_linear", "threshold": 1.0}},
            "I": {"size": 20, "type": "inh", "tau": 10.0, "transfer": {"name": "threshold_linear", "threshold": 1.0}},
        },
        "projections": {
            "EE": {"source": "E", "target": "E", "J": 1.0, "connectivity": connectivity},
            "EI": {"source": "I", "target": "E", "J": -1.5, "connectivity": connectivity},
            "IE": {"source": "E", "target": "I", "J": 1.0, "connectivity": connectivity},
            "II": {"source": "I", "target": "I", "J": -1.0, "connectivity": connectivity},
        },
        "external": {"M0": 2.0, "J": {"E": 2.0, "I": 1.0}},
    }
    model.update(overrides)
    return model


def experiment(model: dict | None = None, **sections) -> dict:
    raw = {
        "name": "test",
        "model": copy.deepcopy(model or two_population_model()),
        "simulation": {"dt": 0.5, "duration": 100.0, "dtype": "float64", "device": "cpu",
                       "record": {"every": 1.0, "neurons": 3}},
    }
    for key, value in sections.items():
        raw[key] = value
    return raw


def perceptual_decision_experiment(analysis: str, decision: float) -> dict:
    """The two-population network without E->E coupling receiving the perceptual decision task on E (20
    neurons, all traced): what the task and the decision analysis are tested on."""
    model = two_population_model()
    model["projections"]["EE"]["J"] = 0.0
    raw = experiment(model, task={"kind": "perceptual_decision", "population": "E", "trials": 2, "strength": 4.0,
                                  "epochs": {"fixation": 20.0, "stimulus": 200.0, "decision": decision}})
    raw["analysis"] = {"kind": analysis}
    raw["simulation"]["record"]["neurons"] = 20
    return raw


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    """Tests share two cores with whatever else runs (snakemake jobs, other tests); one torch
    thread per process avoids the oversubscription that makes MKL spin instead of compute."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def run_through_cli(raw: dict, scale: dict, tmp_path) -> Path:
    """Expand, simulate and analyse every job of experiment ``raw`` with ``scale`` as its scale
    ``test``, through the command line as the pipeline rules do; returns the collected summary."""
    from pathlib import Path

    import yaml

    from einet.cli import main
    from einet.experiment import Experiment, validate
    from einet.runs import run_kind_of

    raw = dict(raw, scales={"test": scale})  # merged the way a user's scale is
    config = Path(tmp_path) / f"{raw['name']}.yaml"
    config.write_text(yaml.safe_dump(raw, sort_keys=False))  # layer order is the mapping order
    analyses = []
    for job in Experiment(config, "test").job_names():
        job_file = Path(tmp_path) / "configs" / f"{job}.yaml"
        assert main(["-q", "expand", str(config), "--scale", "test", "--job", job, "--out", str(job_file)]) == 0
        run, analysis = Path(tmp_path) / "runs" / f"{job}.nc", Path(tmp_path) / "analysis" / f"{job}.nc"
        if run_kind_of(validate(yaml.safe_load(job_file.read_text()))).stage == "train":  # history, not a run
            model = Path(tmp_path) / "models" / f"{job}.pt"
            assert main(["-q", "train", str(job_file), "--out", str(run), "--model", str(model),
                         "--device", "cpu"]) == 0
        else:
            assert main(["-q", "simulate", str(job_file), "--out", str(run), "--device", "cpu"]) == 0
        assert main(["-q", "analyze", str(run), "--out", str(analysis)]) == 0
        analyses.append(str(analysis))
    summary = Path(tmp_path) / "summary.nc"
    assert main(["-q", "collect", *analyses, "--out", str(summary)]) == 0
    return summary


def draw_through_cli(figure: str, summary, tmp_path) -> None:
    """Draw ``figure`` from ``summary`` with the command line and check both files are real."""
    from pathlib import Path

    from einet.cli import main

    pdf, png = Path(tmp_path) / f"{figure}.pdf", Path(tmp_path) / f"{figure}.png"
    assert main(["-q", "figure", figure, str(summary), "--pdf", str(pdf), "--png", str(png)]) == 0
    assert pdf.stat().st_size > 1000 and png.stat().st_size > 1000
    assert_truetype_fonts(pdf)


def assert_truetype_fonts(pdf) -> None:
    """Every font in the PDF is embedded as TrueType (Type 42: a CIDFontType2 under Type0, or TrueType),
    none as Type 3, which journals' PDF checks refuse."""
    import re

    subtypes = set(re.findall(rb"/Subtype\s*/(\w+)", pdf.read_bytes()))
    assert b"Type3" not in subtypes, f"{pdf.name}: Type 3 fonts"
    assert subtypes & {b"CIDFontType2", b"TrueType"}, f"{pdf.name}: no TrueType font ({sorted(subtypes)})"
