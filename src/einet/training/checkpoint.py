"""Files of trained layered networks: the final model and resumable training checkpoints.

Both hold tensors and plain values only (no pickled objects), so
``torch.load(path, weights_only=True)`` reads them, and both appear
atomically: written to a temporary name beside the target, then renamed,
so a run killed while saving leaves the previous file intact.

A model file is ``{"state_dict", "spec" (the network spec as YAML text),
"config" (the job's resolved config as YAML text), "kind": "layered"}``;
:func:`load_network` rebuilds the network from the spec and loads the
state dict (weights, biases and the rules' state buffers).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

__all__ = ["save_atomic", "load_checkpoint", "save_network", "load_network"]


def _cpu(value: Any) -> Any:
    """``value`` with every tensor detached, cloned and on the CPU (dicts, lists and tuples walked)."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().clone()
    if isinstance(value, dict):
        return {k: _cpu(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_cpu(v) for v in value)
    return value


def save_atomic(payload: dict, path: str | Path) -> Path:
    """``torch.save`` of ``payload`` (tensors moved to the CPU) under a temporary name, then renamed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        torch.save(_cpu(payload), tmp)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def load_checkpoint(path: str | Path, tag: str) -> dict | None:
    """The checkpoint at ``path`` if it exists and was written for ``tag`` (the job's config hash), else None."""
    path = Path(path)
    if not path.is_file():
        return None
    payload = torch.load(path, map_location="cpu", weights_only=True)
    return payload if payload.get("tag") == tag else None


def save_network(network, config_yaml: str, path: str | Path) -> Path:
    """Save a :class:`~einet.network.layered.LayeredNetwork`: state dict, spec YAML and the job's config."""
    from einet.config.layered import spec_to_yaml

    payload = {"kind": "layered", "state_dict": network.state_dict(), "spec": spec_to_yaml(network.spec),
               "config": config_yaml}
    return save_atomic(payload, path)


def load_network(path: str | Path):
    """The network saved by :func:`save_network` and the payload (spec and config YAML text)."""
    from einet.network.layered import LayeredNetwork
    from einet.config.layered import spec_from_yaml

    payload = torch.load(path, map_location="cpu", weights_only=True)
    state = payload["state_dict"]
    network = LayeredNetwork(spec_from_yaml(payload["spec"]), dtype=state["weights.0"].dtype
                             if "weights.0" in state else torch.float32)
    network.load_state_dict(state)
    return network, payload
