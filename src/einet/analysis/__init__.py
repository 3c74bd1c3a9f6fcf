"""Analyses: each turns a run dataset (and its config) into a summary dataset.

``ANALYSES`` maps ``analysis.kind`` to an :class:`Analysis`: a callable
``(run, spec) -> xr.Dataset`` that also says which run kinds
(:data:`einet.runs.RUNS`) it accepts, so a config that pairs an analysis with
a run it cannot read fails when the experiment file is loaded. An analysis is
one file here with an ``analyze(run, spec)`` function, plus one
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

    def __call__(self, run, spec):
        return importlib.import_module(f"einet.analysis.{self.module}").analyze(run, spec)


ANALYSES: Registry[Analysis] = Registry("analysis")


def analyze(run, spec):
    """The summary of ``run`` by the analysis its config names (``analysis.kind``)."""
    return ANALYSES.get(spec.analysis.kind)(run, spec)


def register_analysis(name: str, module: str | None = None, *, runs: tuple[str, ...]) -> Analysis:
    """Register analysis ``name`` (module ``module``, default ``name``) for the run kinds ``runs``."""
    return ANALYSES.register(name, Analysis(name, module or name, tuple(runs)))


register_analysis("balance", runs=("rate",))
register_analysis("ring", runs=("rate",))
register_analysis("multistability", runs=("rate",))
register_analysis("dual", runs=("rate",))
register_analysis("recurrent_ei", runs=("rate",))
register_analysis("serial_bias", runs=("sessions",))
register_analysis("information", "trained", runs=("classifier",))
register_analysis("learning", runs=("network_training",))
register_analysis("spiking", runs=("spiking",))
register_analysis("reservoir", runs=("reservoir",))
register_analysis("stdp", runs=("stdp",))
register_analysis("task_training", runs=("task_training",))
register_analysis("decision", runs=("rate",))
