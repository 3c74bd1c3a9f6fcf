"""Experiment configuration: typed sections, validation with clear errors, sweep expansion."""

from einet.config.experiment import ExperimentSpec, RecordSpec, SimulationSpec
from einet.config.sweep import Axis, Experiment, batch_axes, batch_elements, validate

__all__ = [
    "Axis",
    "Experiment",
    "ExperimentSpec",
    "RecordSpec",
    "SimulationSpec",
    "batch_axes",
    "batch_elements",
    "validate",
]
