"""Run a :class:`~einet.network.spiking.SpikingNetwork` and keep its spikes as an event list.

Spikes are sparse (a few per thousand neurons per step), so the run keeps
``(step, batch, neuron, count)`` events rather than a dense raster; rates,
ISI statistics and rasters are all computed from the events afterwards
(:mod:`einet.measures.spike_statistics`).
"""

from __future__ import annotations

import sys
from typing import NamedTuple

import numpy as np
import torch
from tqdm import tqdm

from einet.errors import SimulationDiverged


class SpikeEvents(NamedTuple):
    """Numpy arrays, one entry per (step, batch element, neuron) with spikes; ``count`` is 1 except for the QIF."""

    step: np.ndarray
    batch: np.ndarray
    neuron: np.ndarray
    count: np.ndarray


def run_network(net, n_steps: int, *, progress: bool = False, label: str = "simulate", state=None):
    """Integrate ``n_steps`` steps from ``state`` (default: the initial state); returns ``(events, state)``."""
    state = net.initial_state() if state is None else state
    steps, indices, counts = [], [], []
    bar = tqdm(total=n_steps, desc=label, unit="step", disable=not progress, mininterval=5.0, file=sys.stderr)
    with torch.inference_mode():
        for step in range(n_steps):
            _, state, _ = net.step(state, arrivals=False)
            b, j, count = state.history[-1]
            if j.numel():
                steps.append((step, j.numel()))
                indices.append((b, j))
                if count is not None:
                    counts.append(count)
            bar.update(1)
        bar.close()
        if not bool(torch.isfinite(state.neuron.v).all()):
            raise SimulationDiverged(f"non-finite membrane potentials after {n_steps} steps")
    return _events(steps, indices, counts), state


def _events(steps, indices, counts) -> SpikeEvents:
    if not indices:
        empty = np.zeros(0, dtype=np.int64)
        return SpikeEvents(empty, empty, empty, empty)
    batch = torch.cat([b for b, _ in indices]).cpu().numpy().astype(np.int64)
    neuron = torch.cat([j for _, j in indices]).cpu().numpy().astype(np.int64)
    step = np.repeat(np.array([s for s, _ in steps], dtype=np.int64), [n for _, n in steps])
    count = torch.cat(counts).cpu().numpy().astype(np.int64) if counts else np.ones(len(step), dtype=np.int64)
    return SpikeEvents(step, batch, neuron, count)
