"""Analyses: each turns a run dataset (and its config) into a summary dataset.

``ANALYSES`` maps ``analysis.kind`` to a function ``(run, spec) -> xr.Dataset``.
Modules are imported when an analysis is looked up, so the mean-field tools
stay usable without xarray-heavy imports.
"""

from __future__ import annotations

from einet.registry import Registry

ANALYSES: Registry = Registry("analysis")


def _balance(run, spec):
    from einet.analysis import balance

    return balance.analyze(run, spec, bins=spec.analysis.bins, active_threshold=spec.analysis.active_threshold)


def _ring(run, spec):
    from einet.analysis import ring

    return ring.analyze(run, spec)


def _multistability(run, spec):
    from einet.analysis import multistability

    return multistability.analyze(run, spec)


def _dual(run, spec):
    from einet.analysis import dual

    return dual.analyze(run, spec)


def _recurrent_ei(run, spec):
    from einet.analysis import recurrent_ei

    return recurrent_ei.analyze(run, spec)


def _information(run, spec):
    from einet.analysis import trained

    return trained.analyze(run, spec)


def _serial_bias(run, spec):
    from einet.analysis import serial_bias

    return serial_bias.analyze(run, spec)


ANALYSES.register("balance", _balance)
ANALYSES.register("ring", _ring)
ANALYSES.register("multistability", _multistability)
ANALYSES.register("dual", _dual)
ANALYSES.register("recurrent_ei", _recurrent_ei)
ANALYSES.register("information", _information)
ANALYSES.register("serial_bias", _serial_bias)
