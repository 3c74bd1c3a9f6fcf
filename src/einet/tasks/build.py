"""Build a task object from its validated config section, through the task's registry entry (each entry
converts its angles from the config's degrees to radians, once)."""

from __future__ import annotations

import torch

from einet.tasks.registry import TASKS


def build_task(spec, population_names: list[str], sizes: list[int], dtype=torch.float32, device="cpu",
               low_rank_vectors: dict | None = None):
    """The task of ``spec`` (a :class:`~einet.config.experiment.TaskSpec`) for a network's populations,
    built by its :data:`~einet.tasks.registry.TASKS` entry.

    ``low_rank_vectors`` (population -> (m, n), see
    :func:`einet.synapses.connectivity.network_low_rank_vectors`) is needed for ``patterns: low_rank``.
    """
    kind = TASKS.get(spec.kind)
    population = population_names.index(spec.population)
    common = dict(population=population, sizes=list(sizes), strength=spec.strength, dtype=dtype, device=device)
    if kind.patterns:
        common["patterns"] = low_rank_patterns(spec, low_rank_vectors) if spec.patterns == "low_rank" else {}
    return kind.build(spec, common, dict(spec.epochs))


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

    low_rank = getattr(spec.task, "patterns", None) == "low_rank"
    vectors = network_low_rank_vectors(spec.model, spec.simulation.seed) if low_rank else None
    sizes = [p.size for p in spec.model.populations.values()]
    return build_task(spec.task, list(spec.model.populations), sizes, getattr(torch, spec.simulation.dtype), device,
                      low_rank_vectors=vectors)
