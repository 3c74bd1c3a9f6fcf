"""Run a :class:`~einet.network.spiking.SpikingNetwork` and keep its spikes as an event list.

Spikes are sparse (a few per thousand neurons per step), so the run keeps
``(step, batch, neuron, count)`` events rather than a dense raster; rates,
ISI statistics and rasters are all computed from the events afterwards
(:mod:`einet.measures.spike_statistics`).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from einet.errors import SimulationDiverged
from einet.progress import progress_bar
from einet.threads import governed


class SpikeEvents(NamedTuple):
    """Numpy arrays, one entry per (step, batch element, neuron) with spikes; ``count`` is 1 except for the QIF."""

    step: np.ndarray
    batch: np.ndarray
    neuron: np.ndarray
    count: np.ndarray


def run_network(net, n_steps: int, *, progress: bool = False, label: str = "simulate", state=None):
    """Integrate ``n_steps`` steps from ``state`` (default: the initial state); returns ``(events, state)``.

    A network whose history is dense (off the CPU) has its spikes gathered into a device buffer and turned
    into events once per chunk of steps, so the host waits for the device once per chunk, not per step."""
    state = net.initial_state() if state is None else state
    steps, indices, counts = [], [], []
    stored = 0
    dense = getattr(net, "dense_history", False)
    if dense:
        v = state.neuron.v
        chunk = max(1, min(CHECK_EVERY, _DENSE_CHUNK_BYTES // max(1, net.batch_size * net.n * v.element_size())))
        buffer = torch.zeros((chunk, net.batch_size, net.n), dtype=v.dtype, device=v.device)
        filled, first = 0, 0
    bar = progress_bar(total=n_steps, desc=label, unit="step", enabled=progress, mininterval=5.0)
    with torch.inference_mode(), governed(state.neuron.v.device) as governor:
        for step in range(n_steps):
            _, state, _ = net.step(state, arrivals=False)
            governor.tick()
            if dense:
                buffer[filled] = state.history[-1].spikes
                filled += 1
                if filled == chunk or step == n_steps - 1:
                    stored += _flush(buffer[:filled], first, steps, indices, counts, net.model_name == "qif")
                    first, filled = step + 1, 0
            else:
                b, j, count = state.history[-1]
                if j.numel():
                    steps.append((step, j.numel()))
                    indices.append((b, j))
                    stored += j.numel()
                    if count is not None:
                        counts.append(count)
            if step % CHECK_EVERY == CHECK_EVERY - 1:
                _check_event_memory(stored, step + 1, n_steps, state.neuron.v.device)
            bar.update(1)
        bar.close()
        if not bool(torch.isfinite(state.neuron.v).all()):
            raise SimulationDiverged(f"non-finite membrane potentials after {n_steps} steps")
    return _events(steps, indices, counts), state


#: Bytes of the device buffer that gathers a dense history's spikes between transfers.
_DENSE_CHUNK_BYTES = 1 << 26


def _flush(buffer: torch.Tensor, first: int, steps: list, indices: list, counts: list, with_counts: bool) -> int:
    """Append the events of ``buffer`` ([k, batch, neuron], steps ``first`` ..) in step, batch, neuron order."""
    s, b, j = buffer.nonzero(as_tuple=True)
    if not j.numel():
        return 0
    per_step = torch.bincount(s, minlength=buffer.shape[0]).cpu().tolist()
    steps.extend((first + k, n) for k, n in enumerate(per_step) if n)
    indices.append((b, j))
    if with_counts:
        counts.append(buffer[s, b, j])
    return int(j.numel())


#: Steps between extrapolations of the event list's final size.
CHECK_EVERY = 2_000
#: Bytes an event costs while the run lasts (its tensors) and once gathered (four int64 arrays).
_EVENT_BYTES = 2 * 8 + 4 * 8


def _check_event_memory(stored: int, done: int, n_steps: int, device: torch.device) -> None:
    """Stop a run whose spikes, at the rate so far, would not fit in memory by its end: better now, with the
    numbers, than an out-of-memory kill hours later."""
    from einet.network.memory import require

    events = stored / done * n_steps
    what = f"keeping the spikes of {n_steps} steps (about {stored / done:.3g} spikes per step so far)"
    advice = "shorten simulation.duration or shrink the populations"
    if device.type != "cpu":  # the events stay on the device until the run ends
        require(int(events * 2 * 8), device, what, advice)
    require(int(events * _EVENT_BYTES), torch.device("cpu"), what, advice)


def _events(steps, indices, counts) -> SpikeEvents:
    if not indices:
        empty = np.zeros(0, dtype=np.int64)
        return SpikeEvents(empty, empty, empty, empty)
    batch = torch.cat([b for b, _ in indices]).cpu().numpy().astype(np.int64)
    neuron = torch.cat([j for _, j in indices]).cpu().numpy().astype(np.int64)
    step = np.repeat(np.array([s for s, _ in steps], dtype=np.int64), [n for _, n in steps])
    count = torch.cat(counts).cpu().numpy().astype(np.int64) if counts else np.ones(len(step), dtype=np.int64)
    return SpikeEvents(step, batch, neuron, count)
