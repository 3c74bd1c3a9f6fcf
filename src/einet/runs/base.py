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


def rate_units(spec: ExperimentSpec) -> str:
    """Units of a rate network's rates: Hz once a projection has short-term plasticity, which reads them as
    Hz (``model.projections.<name>.stp``); otherwise the model fixes no unit and they are ``"1"``."""
    model = spec.model
    return "Hz" if model is not None and any(p.stp is not None for p in model.projections.values()) else "1"


def batch_labels(axes: list[Axis]) -> list[str]:
    """One label per batch element (C order), such as ``J=1.0, kappa=2``; ``0`` without axes."""
    combos = itertools.product(*(a.values for a in axes))
    return [", ".join(f"{a.name}={v}" for a, v in zip(axes, c)) or "0" for c in combos]


def _meta(path: str) -> dict:
    try:
        return field_info(ExperimentSpec, path)
    except KeyError:
        return {}


def _first_clause(doc: str) -> str:
    """``doc`` up to its first ``;`` outside parentheses: the noun phrase a config field's doc opens with."""
    depth = 0
    for i, char in enumerate(doc):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == ";" and depth == 0:
            return doc[:i]
    return doc


def _axis_attrs(path: str, values) -> dict:
    """CF attributes of the coordinate of a sweep over config ``path``: the field's unit (none on strings),
    its documentation as ``long_name`` with the entries it belongs to (``(EE)`` for a projection's ``J``),
    and the key itself in ``einet_config_key``."""
    parts = path.split(".")
    metas = [_meta(".".join(parts[:i + 1])) for i in range(len(parts))]
    # an entry name (population, projection, epoch) is a part field_info skips: it finds the same field
    entries = [parts[i] for i in range(1, len(parts)) if metas[i] and metas[i] == metas[i - 1]]
    meta = metas[-1]
    long_name = _first_clause(meta["doc"]) if meta.get("doc") else path
    attrs = {"long_name": f"{long_name} ({', '.join(entries)})" if entries else long_name, "einet_config_key": path}
    if np.asarray(values).dtype.kind not in "UO":
        attrs["units"] = meta.get("unit") or "1"
    return attrs


def sweep_coords(spec: ExperimentSpec, axes: list[Axis]) -> dict:
    """Coordinates of a job's sweep: one per batch axis, and a scalar per grid value, with units
    from the config field each sets; every runner labels its output with these."""
    coords = {axis.name: (axis.name, np.asarray(axis.values), _axis_attrs(axis.path, axis.values)) for axis in axes}
    grid_paths = spec.job.get("paths", {})  # grid axis name -> config path, recorded at expansion
    for name, value in spec.job.get("grid", {}).items():
        coords[name] = ((), value, _axis_attrs(grid_paths.get(name, name), value))
    return coords


def tile_stimulus(stimulus, repeats: int):
    """Repeat per-trial inputs for every parameter set (trials are the innermost batch axis)."""
    if stimulus is None or repeats == 1:
        return stimulus
    return tuple(s if s is None or s.shape[0] == 1 else s.repeat(repeats, 1) for s in stimulus)
