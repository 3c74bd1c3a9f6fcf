"""Load an experiment file, apply a scale, and expand its sweep into jobs.

Grid axes become jobs, each written as one resolved YAML file; batch axes
stay inside the job and become a leading tensor dimension. Every value of
every axis is validated here, before any compute starts.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import itertools
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import yaml

from einet.config.experiment import ExperimentSpec, SweepSpec
from einet.config.inputs import external_files
from einet.fields import load_yaml as load_yaml_safely
from einet.fields import PathSetter, parse_section, to_dict
from einet.errors import ConfigError

#: Parameters a batch axis may vary: they change numbers, never the connectivity.
BATCHABLE = (
    r"model\.external\.M0",
    r"model\.external\.J\.[^.]+",
    r"model\.external\.noise\.[^.]+",
    r"model\.projections\.[^.]+\.J",
    r"model\.projections\.[^.]+\.kappa",
    r"model\.projections\.[^.]+\.low_rank",
    r"model\.projections\.[^.]+\.stp\.(U|tau_fac|tau_rec)",
    r"model\.populations\.[^.]+\.tau",
    r"model\.populations\.[^.]+\.(init_rate|init_modulation|init_phase)",
    r"model\.populations\.[^.]+\.transfer\.(threshold|gain|r_max)",
    r"spiking\.populations\.[^.]+\.(drive|params\.[^.]+)",
    r"spiking\.projections\.[^.]+\.weight",
)
_JOB_VALUE = re.compile(r"^[A-Za-z0-9_.+-]+$")
#: A scale name, as the pipeline's config schema allows it (it is spliced into the expand rule's command).
_SCALE_NAME = re.compile(r"^[A-Za-z0-9_-]+$")
log = logging.getLogger("einet")
#: A dimension name: it becomes a directory name in results/ and a netCDF dimension, so no path characters.
_AXIS_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
#: Dimensions einet's run, analysis and summary files use themselves; a sweep axis of the same name
#: would overwrite one of them.
RESERVED_DIMENSIONS = frozenset({
    "coherence_level", "condition", "cue", "cv_bin", "delay", "delay_time", "dependence", "distance_bin", "epoch",
    "eval_time", "feature", "fit_distance", "group", "input", "iteration", "layer", "neuron", "offset",
    "population", "projection", "quantile", "rank", "raster_neuron", "raster_time", "rate_bin", "rate_time",
    "readout", "sample", "session", "signed_bin", "site", "spike", "stage", "steps", "stp_projection",
    "stp_sample", "task_variant", "test_time", "time", "trial", "trial_time", "unit", "variant", "weight_bin",
    "weight_time",
})


@dataclass(frozen=True)
class Axis:
    """One sweep axis: a dimension name, the dotted config path it sets, its values."""

    name: str
    path: str
    values: tuple
    labels: tuple = ()  # grid only: the job-name and coordinate value of each value (default: the value)

    def label(self, i: int):
        return self.labels[i] if self.labels else self.values[i]


# ----------------------------------------------------------------- loading
def load_yaml(path: str | Path) -> dict:
    path = Path(path)
    if not path.exists():
        raise ConfigError("experiment file", str(path), "an existing YAML file")
    if not path.is_file():
        raise ConfigError("experiment file", str(path), "a YAML file, not a directory")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as err:
        raise ConfigError(str(path), f"<byte {err.object[err.start]:#04x} at offset {err.start}>",
                          "UTF-8 text (a YAML file)") from None
    try:
        data = load_yaml_safely(text, str(path))
    except yaml.YAMLError as err:
        raise ConfigError(str(path), "<unparsable>", f"valid YAML ({' '.join(str(err).split())})") from None
    if not isinstance(data, dict):
        raise ConfigError(str(path), data, "a mapping at the top level")
    data.setdefault("name", path.stem)
    return data


def apply_scale(raw: dict, scale: str | None) -> dict:
    """Deep-merge ``scales[scale]`` into the experiment; ``None`` keeps it as written. The result shares the
    unchanged parts with ``raw``.

    A file without that scale runs at its own values (an INFO line says so): the pipeline asks every listed
    experiment for the same scale, and a user's own experiment need not define one. A scale that is not a
    name is refused, as the pipeline's config schema refuses it."""
    scales = raw.get("scales") or {}
    if not isinstance(scales, dict):
        raise ConfigError("scales", scales, "a mapping of scale names to overrides")
    if scale is None:
        return dict(raw)
    if not isinstance(scale, str) or not _SCALE_NAME.match(scale):
        raise ConfigError("scale", scale, "a scale name of letters, digits, _ and - (such as quick or paper)")
    if scale not in scales:
        log.info("experiment %s defines no scale %r (%s): running it at its own values", raw.get("name"), scale,
                 f"it defines {', '.join(map(str, scales))}" if scales else "it has no scales section")
        return dict(raw)
    if not isinstance(scales[scale], (dict, type(None))):
        raise ConfigError(f"scales.{scale}", scales[scale], "a mapping of overrides (keys of the experiment file)")
    return _deep_merge(raw, scales[scale])


def _deep_merge(base: dict, override: dict) -> dict:
    out = dict(base)
    for key, value in (override or {}).items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def validate(raw: dict) -> ExperimentSpec:
    """Validate a raw experiment mapping (one job's worth, or the whole file)."""
    return parse_section(ExperimentSpec, raw, "")


# ----------------------------------------------------------------- sweeps
def parse_axes(section: dict, kind: str) -> list[Axis]:
    """Read ``sweep.grid`` or ``sweep.batch`` into axes (short or long form)."""
    axes = []
    for key, spec in (section or {}).items():
        where = f"sweep.{kind}.{key}"
        if isinstance(spec, dict):
            if set(spec) - {"path", "values"} or "path" not in spec or "values" not in spec:
                raise ConfigError(where, spec, "a list of values, or a mapping with keys path and values")
            name, path, values = key, spec["path"], spec["values"]
        else:
            name, path, values = key.rsplit(".", 1)[-1], key, spec
        if not isinstance(name, str) or not _AXIS_NAME.match(name):
            raise ConfigError(where, name, "a dimension name of letters, digits and _ starting with a letter (it "
                              "names directories and netCDF dimensions); give the axis one with the long form "
                              "{name: {path, values}}")
        if name in RESERVED_DIMENSIONS:
            raise ConfigError(where, name, "a dimension name einet's files do not use already (reserved: "
                              f"{', '.join(sorted(RESERVED_DIMENSIONS))}); rename it with the long form "
                              "{name: {path, values}}")
        labels: tuple = ()
        if isinstance(values, dict) and kind == "grid" and values:  # label -> value (a value may be a mapping)
            labels, values = tuple(values), list(values.values())
        if not isinstance(values, list) or not values:
            raise ConfigError(where, values, "a non-empty list of values" + (
                " or a mapping of label -> value" if kind == "grid" else ""))
        if len(set(map(repr, values))) != len(values):
            raise ConfigError(where, values, "distinct values")
        axes.append(Axis(name=name, path=path, values=tuple(values), labels=labels))
    names = [a.name for a in axes]
    for name in names:
        if names.count(name) > 1:
            raise ConfigError(
                f"sweep.{kind}", name, "distinct dimension names; use the long form {name: {path, values}}"
            )
    return axes


def check_path(spec: ExperimentSpec, path: str, where: str) -> None:
    """The dotted ``path`` must name an existing setting of ``spec`` (defaults count as existing)."""
    parts = path.split(".")
    node: Any = spec
    for i, part in enumerate(parts):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif hasattr(node, "__dataclass_fields__") and part in node.__dataclass_fields__:
            node = getattr(node, part)
        elif parts[: i - 1] == ["model", "external"] and i == 3 and part in spec.model.populations:
            node = 0.0  # external.J.<pop> and external.noise.<pop> default to 0
        else:
            raise ConfigError(where, path, "a dotted path to an existing setting (e.g. model.K)")


def set_path(raw: dict, path: str, value: Any, where: str) -> dict:
    """A copy of ``raw`` with the dotted ``path`` set (checked beforehand with :func:`check_path`).

    Only the mappings along the path are copied; the rest is shared with ``raw``, which parsing never
    changes, so a job costs the size of its path rather than of the whole file.
    """
    parts = path.split(".")
    out = dict(raw)
    target = out
    for part in parts[:-1]:
        child = target.get(part, {})
        if not isinstance(child, dict):  # e.g. a shorthand transfer: sigmoid
            raise ConfigError(where, path, "a path through mappings; write the section out in full")
        target[part] = dict(child)
        target = target[part]
    target[parts[-1]] = value
    return out


def _job_name(axes: list[Axis], values: tuple) -> str:
    parts = []
    for axis, value in zip(axes, values):
        text = f"{value:g}" if isinstance(value, float) else str(value)
        if not _JOB_VALUE.match(text):
            raise ConfigError(f"sweep.grid.{axis.name}", value, "values made of letters, digits and _ . + -")
        parts.append(f"{axis.name}~{text}")
    return "/".join(parts) if parts else "default"


class Experiment:
    """An experiment file at a scale: its jobs and the resolved config of each.

    Parameters
    ----------
    path : str or Path
        The experiment YAML file.
    scale : str, optional
        A key of the file's ``scales`` section (``quick``, ``paper``).
    """

    def __init__(self, path: str | Path, scale: str | None = None):
        self.path = Path(path)
        self.scale = scale
        file = load_yaml(self.path)
        raw = apply_scale(file, scale)  # checks the scales section and the scale's name
        #: the scale actually applied: ``scale`` where the file defines it, else None (the file's own values)
        self.applied_scale = scale if scale is not None and scale in (file.get("scales") or {}) else None
        # where every job comes from, for its files' provenance, so a figure traces to one file and command
        self._origin = {"experiment_file": self.path.name,
                        "experiment_sha256": hashlib.sha256(self.path.read_bytes()).hexdigest(),
                        "scale": self.applied_scale or "none"}
        raw.pop("scales", None)
        self.spec = self.validate(raw)
        self.grid = parse_axes(self.spec.sweep.grid, "grid")
        self.batch = parse_axes(self.spec.sweep.batch, "batch")
        for axis in self.batch:
            if axis.name in {a.name for a in self.grid}:
                raise ConfigError(f"sweep.batch.{axis.name}", axis.name, "a dimension name that no grid axis has "
                                  "(both become dimensions of the same files); rename one with the long form "
                                  "{name: {path, values}}")
        self._base = raw
        self._external: dict[str, dict[str, list[Path]]] = {}
        self._jobs = self._expand()

    @staticmethod
    def validate(raw: dict) -> ExperimentSpec:
        """The schema check of the file and of every job (:class:`einet.experiment.Experiment` adds the
        registries' cross-checks)."""
        return validate(raw)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def raw(self) -> dict:
        """The experiment file as written at its scale, before the sweep is expanded (shared: read only)."""
        return self._base

    def job_names(self) -> list[str]:
        return list(self._jobs)

    def external_files(self, job: str | None = None) -> list[Path]:
        """The files outside the experiment that one job (default: any job) reads, such as model.low_rank.file
        (see :mod:`einet.config.inputs`): the workflow declares them as the job's inputs."""
        jobs = [job] if job is not None else list(self._jobs)
        return sorted({path for name in jobs for paths in self._external[name].values() for path in paths})

    def job_config(self, job: str) -> dict:
        """The resolved config of one job, as a plain mapping ready for YAML."""
        try:
            return copy.deepcopy(self._jobs[job])
        except KeyError:
            raise ConfigError("job", job, f"one of {', '.join(self._jobs)}") from None

    def _expand(self) -> dict[str, dict]:
        for axis in self.batch:
            if not any(re.fullmatch(pattern, axis.path) for pattern in BATCHABLE):
                raise ConfigError(
                    f"sweep.batch.{axis.name}",
                    axis.path,
                    "a parameter that leaves the connectivity unchanged (external drive, noise, J, "
                    "kappa of all_to_all projections, tau, init_rate/modulation/phase, transfer threshold/gain/r_max); "
                    "use a grid axis for anything else",
                )
        for axis in self.grid:
            check_path(self.spec, axis.path, f"sweep.grid.{axis.name}")
        jobs, origin = {}, {}  # origin: job name -> the grid indices that gave it
        for indices in itertools.product(*(range(len(a.values)) for a in self.grid)):
            raw = self._base
            for axis, i in zip(self.grid, indices):
                raw = set_path(raw, axis.path, axis.values[i], f"sweep.grid.{axis.name}")
            raw = {**raw, "sweep": {"grid": {}, "batch": raw.get("sweep", {}).get("batch", {})}}
            labels = tuple(a.label(i) for a, i in zip(self.grid, indices))
            name = _job_name(self.grid, labels)
            if name in origin:
                axis, i, j = next((a, i, j) for a, i, j in zip(self.grid, origin[name], indices) if i != j)
                raise ConfigError(f"sweep.grid.{axis.name}", list(axis.values), f"values that name distinct jobs: "
                                  f"{axis.values[i]!r} and {axis.values[j]!r} both give job {name!r}")
            origin[name] = indices
            raw["job"] = {
                "name": name,
                "grid": {a.name: v for a, v in zip(self.grid, labels)},
                "paths": {a.name: a.path for a in self.grid},
                **self._origin,
            }
            spec = self.validate(raw)
            for _ in iter_batch_elements(spec):  # every batch value must be valid too
                pass
            jobs[name] = to_dict(spec)
            self._external[name] = external_files(spec)
        return jobs


def batch_axes(spec: ExperimentSpec) -> list[Axis]:
    return parse_axes(spec.sweep.batch, "batch")


def batch_elements(spec: ExperimentSpec) -> list[ExperimentSpec]:
    """One validated spec per batch element, in C order over the batch axes (see :func:`iter_batch_elements`)."""
    return list(iter_batch_elements(spec))


def iter_batch_elements(spec: ExperimentSpec) -> Iterator[ExperimentSpec]:
    """The batch elements one at a time: each is the job's spec with the batch values set by
    :class:`einet.fields.PathSetter`, which checks them as a full parse of the element would."""
    axes = batch_axes(spec)
    for axis in axes:
        check_path(spec, axis.path, f"sweep.batch.{axis.name}")
    base = dataclasses.replace(spec, sweep=SweepSpec())
    setters = [PathSetter(base, axis.path, f"sweep.batch.{axis.name}") for axis in axes]
    for values in itertools.product(*(a.values for a in axes)):
        element = base
        try:
            for setter, value in zip(setters, values):
                element = setter(value, element)
        except ConfigError as err:
            label = ", ".join(f"{a.name}={v}" for a, v in zip(axes, values))
            raise ConfigError(err.path, err.value, f"{err.expected} (in batch element {label})") from None
        yield element
