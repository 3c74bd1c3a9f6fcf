"""Build a task object from its validated config section (degrees -> radians here, once)."""

from __future__ import annotations

import math

import torch

from einet.tasks.dual import DualTask, GoNoGo
from einet.tasks.odr import ODR
from einet.tasks.sequence import SerialODR


def build_task(spec, population_names: list[str], sizes: list[int], dtype=torch.float32, device="cpu",
               low_rank_vectors: dict | None = None):
    """The task of ``spec`` (a :class:`~einet.config.experiment.TaskSpec`) for a network's populations.

    ``low_rank_vectors`` (population -> (m, n), see
    :func:`einet.synapses.connectivity.network_low_rank_vectors`) is needed for ``patterns: low_rank``.
    """
    population = population_names.index(spec.population)
    common = dict(population=population, sizes=list(sizes), strength=spec.strength, dtype=dtype, device=device)
    if spec.kind in ("dual", "go_nogo"):
        common["patterns"] = low_rank_patterns(spec, low_rank_vectors) if spec.patterns == "low_rank" else {}
    epochs = dict(spec.epochs)
    if spec.kind == "odr":
        angles = spec.cue_angles or [360.0 * i / spec.trials for i in range(spec.trials)]
        return ODR(cue_angles=[math.radians(a) for a in angles], footprint=math.radians(spec.footprint),
                   erase_strength=spec.erase_strength, **common, **epochs)
    if spec.kind == "serial_odr":
        return SerialODR(sessions=spec.sessions, trials=spec.trials, footprint=math.radians(spec.footprint),
                         erase_strength=spec.erase_strength, reset=spec.reset, seed=spec.seed, **common, **epochs)
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


def task_for(spec, device="cpu"):
    """The task of a whole experiment spec (None without one), with the network's low-rank vectors
    when its patterns need them: what the simulate stage runs."""
    if spec.task is None:
        return None
    from einet.synapses.connectivity import network_low_rank_vectors

    vectors = network_low_rank_vectors(spec.model, spec.simulation.seed) if spec.task.patterns == "low_rank" else None
    sizes = [p.size for p in spec.model.populations.values()]
    return build_task(spec.task, list(spec.model.populations), sizes, getattr(torch, spec.simulation.dtype), device,
                      low_rank_vectors=vectors)
