"""What every run kind shares: the device, batch labels, sweep coordinates, per-trial inputs."""

from __future__ import annotations

import itertools

import numpy as np
import torch

from einet.config.experiment import ExperimentSpec
from einet.config.sweep import Axis
from einet.errors import ConfigError
from einet.fields import field_info


def resolve_device(name: str, key: str = "simulation.device") -> torch.device:
    """``auto`` -> cuda when available, else cpu; an unavailable cuda is a config error naming ``key``."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError(key, name, "auto or cpu: no CUDA device is available on this machine")
    return torch.device(name)


def batch_labels(axes: list[Axis]) -> list[str]:
    """One label per batch element (C order), such as ``J=1.0, kappa=2``; ``0`` without axes."""
    combos = itertools.product(*(a.values for a in axes))
    return [", ".join(f"{a.name}={v}" for a, v in zip(axes, c)) or "0" for c in combos]


def _axis_attrs(path: str) -> dict:
    try:
        meta = field_info(ExperimentSpec, path)
    except KeyError:
        meta = {}
    return {"units": meta.get("unit") or "1", "long_name": path}


def sweep_coords(spec: ExperimentSpec, axes: list[Axis]) -> dict:
    """Coordinates of a job's sweep: one per batch axis, and a scalar per grid value, with units
    from the config field each sets; every runner labels its output with these."""
    coords = {axis.name: (axis.name, np.asarray(axis.values), _axis_attrs(axis.path)) for axis in axes}
    grid_paths = spec.job.get("paths", {})  # grid axis name -> config path, recorded at expansion
    for name, value in spec.job.get("grid", {}).items():
        coords[name] = ((), value, _axis_attrs(grid_paths.get(name, name)))
    return coords


def tile_stimulus(stimulus, repeats: int):
    """Repeat per-trial inputs for every parameter set (trials are the innermost batch axis)."""
    if stimulus is None or repeats == 1:
        return stimulus
    return tuple(s if s is None or s.shape[0] == 1 else s.repeat(repeats, 1) for s in stimulus)
