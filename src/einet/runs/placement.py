"""Where a job should run: whether it gains from a GPU, and how much host memory to ask a scheduler for.

The workflow asks this before submitting a job to a cluster (``workflow/rules/resources.smk``), so a
CPU-only reservoir or a tiny classifier never waits for a GPU node, and a large sweep gets one. The
numbers are the job's own: the memory comes from the same estimate the run checks before it
allocates (:func:`einet.network.memory.estimate`).
"""

from __future__ import annotations

import math

import torch

from einet.config.sweep import parse_axes
from einet.network.memory import estimate
from einet.runs.registry import run_kind_of

#: A job whose state (neurons x parameter sets x trials) is smaller than this is faster on a CPU than it
#: would be after waiting for a GPU: one step is a few microseconds of work either way.
GPU_MIN_STATE = 200_000
#: ... unless its connectivity alone is this large (a GPU reads weights several times faster).
GPU_MIN_WEIGHT_BYTES = 256 << 20
#: What a job process costs besides its network: Python, torch, xarray and the recorder's buffers.
BASE_MEMORY_MB = 1500


def batch_count(spec) -> int:
    """Parameter sets one job runs side by side: the product of its batch axes' lengths."""
    return math.prod(len(axis.values) for axis in parse_axes(spec.sweep.batch, "batch"))


def _trials(spec) -> int:
    task = getattr(spec, "task", None)
    return max(1, getattr(task, "trials", 1) or 1) if task is not None and task.kind else 1


def network_size(spec) -> int:
    """Neurons of the job's network (rate model or spiking network); 0 for kinds without one."""
    if getattr(spec, "model", None) is not None and run_kind_of(spec).uses_model:
        return spec.model.size
    spiking = getattr(spec, "spiking", None)
    if spiking is not None:
        return sum(pop.size for pop in spiking.populations.values())
    return 0


def _network_bytes(spec) -> dict[str, int]:
    if getattr(spec, "model", None) is None or not run_kind_of(spec).uses_model:
        return {"weights": 0, "state": 0, "sampling": 0}
    dtype = torch.float64 if spec.simulation.dtype == "float64" else torch.float32
    return estimate(spec.model, batch_count(spec) * _trials(spec), dtype)


def wants_gpu(spec) -> bool:
    """Whether the job gains from a GPU: its kind runs a network on the device (not a reservoir, the
    STDP neuron or the small classifiers), its device is not pinned to ``cpu``, and it is large enough."""
    kind = run_kind_of(spec)
    if not kind.gpu_capable:
        return False
    device = spec.training.device if kind.stage == "train" and spec.training is not None else spec.simulation.device
    if device == "cpu":
        return False
    state = network_size(spec) * batch_count(spec) * _trials(spec)
    return state >= GPU_MIN_STATE or _network_bytes(spec)["weights"] >= GPU_MIN_WEIGHT_BYTES


def memory_mb(spec) -> int:
    """Host memory to request, in MB: the network's estimate (weights, state, sampling) with 50 % headroom
    for the recorder and temporaries, on top of the process's own :data:`BASE_MEMORY_MB`."""
    need = _network_bytes(spec)
    network = need["weights"] + need["state"] + need["sampling"]
    return BASE_MEMORY_MB + math.ceil(1.5 * network / 1e6)
