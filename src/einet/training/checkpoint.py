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
    """``torch.save`` of ``payload`` (tensors moved to the CPU) through :func:`einet.io.atomic_write`."""
    from einet.io import atomic_write

    cpu = _cpu(payload)
    return atomic_write(path, lambda tmp: torch.save(cpu, tmp))


def save_model_file(kind: str, state_dict: dict, config_yaml: str, path: str | Path, **meta: Any) -> Path:
    """The one model-file format (``models/<job>.pt``): a mapping of ``kind``, the ``state_dict`` (tensors), the
    job's resolved ``config`` (YAML text, which rebuilds the model) and plain ``meta`` values, so that
    ``torch.load(..., weights_only=True)`` reads it without running code."""
    return save_atomic({"kind": kind, "state_dict": state_dict, "config": config_yaml, **meta}, path)


def read_model_file(path: str | Path, kind: str) -> dict:
    """The payload of a model file written by :func:`save_model_file` for ``kind`` (another kind is an error)."""
    payload = torch.load(path, map_location="cpu", weights_only=True)
    found = payload.get("kind") if isinstance(payload, dict) else None
    if found != kind:
        raise ValueError(f"{path}: a {found or 'unknown'} model file, not a {kind} one")
    return payload


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

    return save_model_file("layered", network.state_dict(), config_yaml, path, spec=spec_to_yaml(network.spec))


def load_network(path: str | Path):
    """The network saved by :func:`save_network` and the payload (spec and config YAML text)."""
    from einet.network.layered import LayeredNetwork
    from einet.config.layered import spec_from_yaml

    payload = read_model_file(path, "layered")
    state = payload["state_dict"]
    network = LayeredNetwork(spec_from_yaml(payload["spec"]), dtype=state["weights.0"].dtype
                             if "weights.0" in state else torch.float32)
    network.load_state_dict(state)
    return network, payload
