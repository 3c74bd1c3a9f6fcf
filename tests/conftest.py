"""Shared fixtures: small experiment configs built in code, so each test states its numbers."""

from __future__ import annotations

import copy

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


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    """Tests share two cores with whatever else runs (snakemake jobs, other tests); one torch
    thread per process avoids the oversubscription that makes MKL spin instead of compute."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
