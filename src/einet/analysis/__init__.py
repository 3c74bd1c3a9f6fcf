"""Analyses: each turns a run dataset (and its config) into a summary dataset.

``ANALYSES`` maps ``analysis.kind`` to an :class:`Analysis`: a callable
``(run, spec) -> xr.Dataset`` that also says which run kinds
(:data:`einet.runs.RUNS`) it accepts, so a config that pairs an analysis with
a run it cannot read fails when the experiment file is loaded, as does one
without the task or the records the analysis reads (``tasks``, ``records``).
An analysis is one file here with an ``analyze(run, spec)`` function, plus one
``register_analysis`` line below; modules are imported on first use.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from einet.registry import Registry

__all__ = ["ANALYSES", "Analysis", "analyze", "register_analysis"]


@dataclass(frozen=True)
class Analysis:
    """One analysis kind: ``einet.analysis.<module>.analyze``, imported when first called."""

    name: str
    module: str
    runs: tuple[str, ...]
    tasks: tuple[str, ...] = ()  # task kinds whose trials it reads (empty: no task needed)
    records: tuple[str, ...] = ()  # simulation.record switches that must be on (bump, overlaps)
    task_settings: tuple[tuple[str, object], ...] = ()  # (task key, value) pairs it reads, such as patterns

    def requirement(self, spec) -> tuple[str, object, str] | None:
        """What ``spec`` lacks for this analysis, as (key, value, expected), or None; checked at parse time."""
        if self.tasks and (spec.task is None or spec.task.kind not in self.tasks):
            return ("task.kind", None if spec.task is None else spec.task.kind,
                    f"{' or '.join(self.tasks)}: the {self.name} analysis reads the trials of that task")
        for key, value in self.task_settings:
            if getattr(spec.task, key, None) != value:
                return (f"task.{key}", getattr(spec.task, key, None), f"{value!r}: the {self.name} analysis reads it")
        for flag in self.records:
            if not getattr(spec.simulation.record, flag):
                return (f"simulation.record.{flag}", False, f"true: the {self.name} analysis reads it")
        return None

    def __call__(self, run, spec):
        return importlib.import_module(f"einet.analysis.{self.module}").analyze(run, spec)


ANALYSES: Registry[Analysis] = Registry("analysis")


def analyze(run, spec):
    """The summary of ``run`` by the analysis its config names (``analysis.kind``)."""
    return ANALYSES.get(spec.analysis.kind)(run, spec)


def register_analysis(name: str, module: str | None = None, *, runs: tuple[str, ...], tasks: tuple[str, ...] = (),
                      records: tuple[str, ...] = (), task_settings: dict | None = None) -> Analysis:
    """Register analysis ``name`` (module ``module``, default ``name``) for the run kinds ``runs``, needing a
    task of one of the kinds ``tasks`` with ``task_settings``, and the record switches ``records``."""
    return ANALYSES.register(name, Analysis(name, module or name, tuple(runs), tuple(tasks), tuple(records),
                                            tuple((task_settings or {}).items())))


register_analysis("balance", runs=("rate",))
register_analysis("ring", runs=("rate",), tasks=("odr",), records=("bump",))
register_analysis("multistability", runs=("rate",))
register_analysis("dual", runs=("rate",), tasks=("dual",), records=("overlaps",), task_settings={"patterns": "low_rank"})
register_analysis("recurrent_ei", runs=("rate",))
register_analysis("serial_bias", runs=("sessions",))
register_analysis("information", "trained", runs=("classifier",))
register_analysis("learning", runs=("network_training",))
register_analysis("spiking", runs=("spiking",))
register_analysis("reservoir", runs=("reservoir",))
register_analysis("stdp", runs=("stdp",))
register_analysis("task_training", runs=("task_training",))
register_analysis("decision", runs=("rate",), tasks=("perceptual_decision",))
