"""Analyses: each turns a run dataset (and its config) into a summary dataset.

``ANALYSES`` maps ``analysis.kind`` to a function ``(run, spec) -> xr.Dataset``.
Modules are imported when an analysis is looked up, so the mean-field tools
stay usable without xarray-heavy imports.
"""

from __future__ import annotations

import importlib

from einet.registry import Registry

ANALYSES: Registry = Registry("analysis")


def _balance(run, spec):
    from einet.analysis import balance

    return balance.analyze(run, spec, bins=spec.analysis.bins, active_threshold=spec.analysis.active_threshold)


def _lazy(module: str):
    """``einet.analysis.<module>.analyze``, imported on first use."""

    def analyze(run, spec):
        return importlib.import_module(f"einet.analysis.{module}").analyze(run, spec)

    return analyze


ANALYSES.register("balance", _balance)
for _kind, _module in (("ring", "ring"), ("multistability", "multistability"), ("dual", "dual"),
                      ("recurrent_ei", "recurrent_ei"), ("information", "trained"), ("serial_bias", "serial_bias"),
                      ("learning", "learning")):
    ANALYSES.register(_kind, _lazy(_module))
ANALYSES.register("spiking", _lazy("spiking"))
ANALYSES.register("reservoir", _lazy("reservoir"))
ANALYSES.register("stdp", _lazy("stdp"))
ANALYSES.register("task_training", _lazy("task_training"))
