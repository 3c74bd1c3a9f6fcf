"""Build a task object from its validated config section (degrees -> radians here, once)."""

from __future__ import annotations

import math

import torch

from einet.tasks.dual import DualTask, GoNoGo
from einet.tasks.odr import ODR


def build_task(spec, population_names: list[str], sizes: list[int], dtype=torch.float32, device="cpu"):
    """The task of ``spec`` (a :class:`~einet.config.experiment.TaskSpec`) for a network's populations."""
    population = population_names.index(spec.population)
    common = dict(population=population, sizes=list(sizes), strength=spec.strength, dtype=dtype, device=device)
    epochs = dict(spec.epochs)
    if spec.kind == "odr":
        angles = spec.cue_angles or [360.0 * i / spec.trials for i in range(spec.trials)]
        return ODR(cue_angles=[math.radians(a) for a in angles], footprint=math.radians(spec.footprint),
                   erase_strength=spec.erase_strength, **common, **epochs)
    if spec.kind == "dual":
        return DualTask(trials=spec.trials, seed=spec.seed, **common, **epochs)
    if "stimulus" in epochs:
        epochs["stimulus_duration"] = epochs.pop("stimulus")
    return GoNoGo(trials=spec.trials, seed=spec.seed, **common, **epochs)
