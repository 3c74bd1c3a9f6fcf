"""Estimate a network's memory before allocating it, and refuse what will not fit."""

from __future__ import annotations

import torch

from einet.errors import InsufficientMemory
from einet.synapses import connectivity
from einet.config.model import ModelSpec

#: Fraction of the available memory a network may plan to use.
HEADROOM = 0.8


def estimate(spec: ModelSpec, batch_size: int, dtype: torch.dtype, segmented: bool = False) -> dict[str, int]:
    """Bytes needed on the device (weights, state) and on the host while sampling; ``segmented``: sparse
    patterns also get the compiled CPU kernel's segmented copy (2 bytes a synapse)."""
    itemsize = torch.empty((), dtype=dtype).element_size()
    sizes = {name: p.size for name, p in spec.populations.items()}
    weights = 0
    host = 0
    for proj in spec.projections.values():
        K = spec.in_degree(proj) if proj.connectivity == "sparse" else None
        n_t, n_s = sizes[proj.target], sizes[proj.source]
        weights += connectivity.estimate_bytes(n_t, n_s, K, proj.connectivity, itemsize, proj.profile, segmented)
        host = max(host, connectivity.sampling_bytes(n_t, n_s, K))
    n = spec.size
    # rates, three current buffers, the transfer output and one temporary per projection
    state = batch_size * n * itemsize * (6 + len(spec.projections))
    return {"weights": weights, "state": state, "sampling": host}


def available_bytes(device: torch.device) -> int:
    """Free memory on ``device`` (MemAvailable for the CPU)."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free)
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except ImportError:  # cannot tell: do not block the run
        return 1 << 62


def check_fits(spec: ModelSpec, batch_size: int, dtype: torch.dtype, device: torch.device,
               kernels: str = "auto") -> dict[str, int]:
    """Raise :class:`InsufficientMemory` if the network would not fit, with the numbers."""
    need = estimate(spec, batch_size, dtype, segmented=device.type == "cpu" and kernels == "auto")
    device_need = need["weights"] + need["state"]
    host_need = need["sampling"] + (device_need if device.type == "cpu" else need["weights"])
    checks = [(device, device_need)] if device.type != "cpu" else []
    checks.append((torch.device("cpu"), host_need))
    for dev, bytes_needed in checks:
        have = available_bytes(dev)
        if bytes_needed > HEADROOM * have:
            raise InsufficientMemory(
                f"the network needs about {bytes_needed / 2**30:.2f} GiB on {dev} "
                f"(weights {need['weights'] / 2**30:.2f} GiB, state for batch {batch_size} "
                f"{need['state'] / 2**30:.2f} GiB) but only {have / 2**30:.2f} GiB is available; "
                "reduce population sizes, K or the batch, or use float32"
            )
    return need


def require(bytes_needed: int, device: torch.device, what: str, advice: str) -> None:
    """Raise :class:`InsufficientMemory` if ``bytes_needed`` for ``what`` exceed the headroom of ``device``."""
    have = available_bytes(device)
    if bytes_needed > HEADROOM * have:
        raise InsufficientMemory(f"{what} needs about {bytes_needed / 2**30:.2f} GiB on {device} but only "
                                 f"{have / 2**30:.2f} GiB is available; {advice}")
