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

import logging
from pathlib import Path
from typing import Any

import torch

__all__ = ["save_atomic", "save_checkpoint", "load_checkpoint", "remove_checkpoint", "save_network", "load_network"]

log = logging.getLogger("einet")


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


def _files(path: Path) -> tuple[Path, Path]:
    """The previous checkpoint kept beside ``path``, and the checksum file of a checkpoint."""
    return path.with_name(path.name + ".prev"), path.with_name(path.name + ".sha256")


def _digest(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def save_checkpoint(payload: dict, path: str | Path) -> Path:
    """Save a resumable checkpoint with its sha256 beside it, keeping the previous one as ``<path>.prev``.

    Each file is written atomically; a damaged or truncated checkpoint (a disk error, a copy cut
    short, a kill between the file and its checksum) fails its checksum, and :func:`load_checkpoint`
    falls back to the previous one.
    """
    from einet.io import atomic_write

    path = Path(path)
    prev, _ = _files(path)
    if path.is_file():
        path.replace(prev)
        if _files(path)[1].is_file():
            _files(path)[1].replace(_files(prev)[1])
    save_atomic(payload, path)
    digest = _digest(path)
    atomic_write(_files(path)[1], lambda tmp: tmp.write_text(digest + "\n"))
    return path


def _read_verified(path: Path, tag: str) -> dict | None:
    """The checkpoint at ``path`` if its checksum holds and it was written for ``tag``; None (and a warning) if not."""
    checksum = _files(path)[1]
    if not path.is_file():
        return None
    try:
        if not checksum.is_file() or checksum.read_text().strip() != _digest(path):
            raise ValueError("its sha256 does not match")
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # a damaged file, whatever torch makes of it
        log.warning("ignoring the damaged checkpoint %s (%s)", path, str(err).splitlines()[0][:200])
        return None
    return payload if isinstance(payload, dict) and payload.get("tag") == tag else None


def load_checkpoint(path: str | Path, tag: str) -> dict | None:
    """The newest good checkpoint written for ``tag`` (the job's config hash): ``path``, else the previous
    one kept beside it, else None (the training starts from the beginning)."""
    path = Path(path)
    for candidate in (path, _files(path)[0]):
        payload = _read_verified(candidate, tag)
        if payload is not None:
            if candidate != path:
                log.warning("resuming from the previous checkpoint %s", candidate)
            return payload
    return None


def remove_checkpoint(path: str | Path) -> None:
    """Remove a checkpoint, its checksum and the previous one (once the training's outputs exist)."""
    path = Path(path)
    prev, checksum = _files(path)
    for file in (path, checksum, prev, _files(prev)[1]):
        file.unlink(missing_ok=True)


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
