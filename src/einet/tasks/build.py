"""Build a task object from its validated config section (degrees -> radians here, once)."""

from __future__ import annotations

import math

import torch

from einet.tasks.dual import DualTask, GoNoGo
from einet.tasks.odr import ODR


def build_task(spec, population_names: list[str], sizes: list[int], dtype=torch.float32, device="cpu",
               low_rank_vectors: dict | None = None):
    """The task of ``spec`` (a :class:`~einet.config.experiment.TaskSpec`) for a network's populations.

    ``low_rank_vectors`` (population -> (m, n), see
    :func:`einet.model.connectivity.network_low_rank_vectors`) is needed for ``patterns: low_rank``.
    """
    population = population_names.index(spec.population)
    common = dict(population=population, sizes=list(sizes), strength=spec.strength, dtype=dtype, device=device)
    if spec.kind != "odr":
        common["patterns"] = low_rank_patterns(spec, low_rank_vectors) if spec.patterns == "low_rank" else {}
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


def low_rank_patterns(spec, vectors: dict | None) -> dict[str, torch.Tensor]:
    """Samples along +-m^1 and distractors along +-m^2 of the cued population's low-rank vectors."""
    if not vectors or spec.population not in vectors or vectors[spec.population][0].shape[1] < 2:
        raise ValueError(f"task.patterns: low_rank needs rank >= 2 vectors of population {spec.population!r}")
    m = vectors[spec.population][0]
    return {"A": m[:, 0], "B": -m[:, 0], "Go": m[:, 1], "NoGo": -m[:, 1]}
