"""An experiment file checked against everything einet knows: schema, run kinds, analyses, figures.

:mod:`einet.config` checks each section on its own (types, ranges, names within
the file). This module adds what needs the registries: which kind of run the
file describes (:data:`einet.runs.RUNS`), whether its analysis accepts that run
and its figures that analysis, and the run kind's own cross-section checks.
The workflow, the command line and library users load experiments through
here, so a mismatch fails with the key, the value and what was expected before
any job starts.
"""

from __future__ import annotations

from pathlib import Path

from einet.config.experiment import ExperimentSpec
from einet.config.sweep import Experiment as _SchemaExperiment
from einet.config.sweep import load_yaml
from einet.config.sweep import validate as validate_schema
from einet.errors import ConfigError

__all__ = ["Experiment", "check", "load_job", "validate"]


def check(spec: ExperimentSpec) -> ExperimentSpec:
    """Cross-check a schema-valid spec against the run, analysis and figure registries; returns it."""
    from einet.analysis import ANALYSES
    from einet.figures import FIGURES
    from einet.runs import run_kind_of

    if spec.task is not None:
        _check_task(spec.task)
    kind = run_kind_of(spec)
    if kind.uses_model and spec.model is None:
        raise ConfigError("model", None, f"a network: a {kind.name} run simulates the model section ({kind.doc})")
    if not kind.uses_model and spec.model is not None:
        raise ConfigError("model", "<a model section>", f"null: a {kind.name} run ({kind.doc}) simulates no "
                          "model network")
    analysis = spec.analysis.kind
    if analysis not in ANALYSES:
        raise ConfigError("analysis.kind", analysis, f"one of the registered analyses "
                          f"{', '.join(map(repr, ANALYSES.names()))}")
    if not kind.accepts(ANALYSES.get(analysis)):
        accepted = [name for name in ANALYSES.names() if kind.accepts(ANALYSES.get(name))]
        raise ConfigError("analysis.kind", analysis, f"{' or '.join(accepted)} for a {kind.name} run ({kind.doc})")
    lacking = ANALYSES.get(analysis).requirement(spec)
    if lacking:
        raise ConfigError(*lacking)
    for i, name in enumerate(spec.figures):
        if name not in FIGURES:
            raise ConfigError(f"figures[{i}]", name, f"one of the figures {', '.join(FIGURES.names())}")
        if analysis not in FIGURES.get(name).analyses:
            drawable = [f for f in FIGURES.names() if analysis in FIGURES.get(f).analyses]
            raise ConfigError(f"figures[{i}]", name, f"a figure of the {analysis} analysis: {', '.join(drawable)}")
    _check_axis_names(spec, kind, ANALYSES.get(analysis))
    if kind.check is not None:
        kind.check(spec)
    return spec


def _check_axis_names(spec: ExperimentSpec, kind, analysis) -> None:
    """A sweep axis becomes a dimension of the run and analysis files, so it may not take a name the run kind
    or the analysis writes already (it would fail, or overwrite data, after the simulation)."""
    from fnmatch import fnmatchcase

    from einet.config.sweep import parse_axes

    axes = [("grid", a.name) for a in parse_axes(spec.sweep.grid, "grid")]
    axes += [("grid", name) for name in spec.job.get("grid", {})]
    axes += [("batch", a.name) for a in parse_axes(spec.sweep.batch, "batch")]
    for section, name in axes:
        for owner, names in ((f"the {kind.name} run", kind.writes), (f"the {analysis.name} analysis", analysis.writes)):
            taken = next((n for n in names if fnmatchcase(name, n)), None)
            if taken is not None:
                key = next((k for k in getattr(spec.sweep, section) if k == name or k.rsplit(".", 1)[-1] == name),
                           name)
                raise ConfigError(f"sweep.{section}.{key}", name, f"a dimension name that {owner} does not write "
                                  f"already (it writes {taken!r}); rename the axis with the long form "
                                  "{name: {path, values}}")


def _check_task(task) -> None:
    from einet.tasks import TASKS

    if task.kind not in TASKS:
        raise ConfigError("task.kind", task.kind, f"one of the registered tasks {', '.join(map(repr, TASKS.names()))}")
    epochs = TASKS.get(task.kind).epochs
    for name, duration in task.epochs.items():
        if name not in epochs:
            raise ConfigError(f"task.epochs.{name}", duration, f"an epoch of the {task.kind} task: {', '.join(epochs)}")


def validate(raw: dict) -> ExperimentSpec:
    """Validate a raw experiment mapping (one job's worth, or the whole file) and cross-check it.

    The kinds of the tagged sections come first: a misspelt ``analysis.kind`` is reported as such, not as
    an option that the (unknown) kind lacks."""
    _check_kinds(raw)
    return check(validate_schema(raw))


def _check_kinds(raw: dict) -> None:
    from einet.analysis import ANALYSES
    from einet.tasks import TASKS

    for section, registry in (("analysis", ANALYSES), ("task", TASKS)):
        kind = raw.get(section).get("kind") if isinstance(raw.get(section), dict) else None
        if isinstance(kind, str) and kind not in registry:
            raise ConfigError(f"{section}.kind", kind, f"one of the registered {registry.kind} kinds "
                              f"{', '.join(map(repr, registry.names()))}")


def load_job(path: str | Path) -> ExperimentSpec:
    """Validate a resolved job config file (as the expand stage writes it)."""
    return validate(load_yaml(path))


class Experiment(_SchemaExperiment):
    """An experiment file at a scale, its jobs and their resolved configs, each checked as :func:`validate`
    does (see :class:`einet.config.sweep.Experiment`)."""

    @staticmethod
    def validate(raw: dict) -> ExperimentSpec:
        return validate(raw)

    def job_spec(self, job: str) -> ExperimentSpec:
        """The validated spec of one job (what its resolved config file holds)."""
        return validate(self.job_config(job))
