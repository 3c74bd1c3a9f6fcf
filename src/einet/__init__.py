"""einet: excitatory-inhibitory network models in PyTorch, run as a reproducible pipeline.

The names a library user needs are importable from here, whatever folder they
live in (the layout may change; these imports will not). They load on first
use, so ``import einet`` stays light::

    import einet

    exp = einet.Experiment("config/experiments/balanced.yaml", scale="quick")
    spec = exp.job_spec("K~200/seed~0")
    run = einet.simulate(spec)            # any simulate-stage run kind
    summary = einet.analyze(run, spec)    # the analysis the config names

Documented subpackages with their own ``__all__``: :mod:`einet.measures`
(numerical library), :mod:`einet.neurons`, :mod:`einet.plasticity`,
:mod:`einet.tasks`, :mod:`einet.runs`.
"""

import os as _os
from importlib import import_module as _import_module
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("einet")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

# Before MKL's first call: matrix products whose bits do not depend on the thread count (einet.threads).
_os.environ.setdefault("MKL_CBWR", "AUTO,STRICT")

#: public name -> module that defines it
_PUBLIC = {
    # experiments and the pipeline's steps
    "Experiment": "einet.experiment",
    "validate": "einet.experiment",
    "load_job": "einet.experiment",
    "simulate": "einet.runs",
    "train": "einet.runs",
    "analyze": "einet.analysis",
    "draw": "einet.figures",
    "read_dataset": "einet.io",
    "write_dataset": "einet.io",
    # building networks
    "NetworkBuilder": "einet.network.builder",
    "LayeredNetwork": "einet.network.layered",
    "RateNetwork": "einet.network.rate",
    "SpikingNetwork": "einet.network.spiking",
    "ModelSpec": "einet.config.model",
    "RSNN": "einet.network.rsnn",
    # training: the one gradient loop and its objectives
    "fit_bptt": "einet.training.bptt",
    "SequenceObjective": "einet.training.spiking",
    "TaskTrials": "einet.training.task_training",
    "OPTIMIZERS": "einet.training.bptt",
    # measures
    "ei": "einet.measures.information",
    "ei_parts": "einet.measures.information",
    "sensitivity": "einet.measures.information",
    "degeneracy": "einet.measures.information",
    "causal_plane": "einet.measures.information",
    "topology_of": "einet.measures.topology",
    "solve_mean_field": "einet.measures.meanfield",
    "balanced_limit": "einet.measures.meanfield",
    "decode_bump": "einet.measures.bump",
    # registries, to look components up or add one
    "NEURONS": "einet.neurons",
    "register_neuron": "einet.neurons",
    "LEARNING_RULES": "einet.plasticity",
    "register_rule": "einet.plasticity",
    "learning_rule": "einet.plasticity",
    "TASKS": "einet.tasks",
    "register_task": "einet.tasks",
    "RUNS": "einet.runs",
    "register_run": "einet.runs",
    "ANALYSES": "einet.analysis",
    "register_analysis": "einet.analysis",
    "FIGURES": "einet.figures",
    "register_figure": "einet.figures",
    # errors
    "EinetError": "einet.errors",
    "ConfigError": "einet.errors",
    "SimulationDiverged": "einet.errors",
    "InsufficientMemory": "einet.errors",
}
_RENAMED = {"decode_bump": "decode"}

__all__ = ["__version__", *_PUBLIC]


def __getattr__(name: str):
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'einet' has no attribute {name!r}")
    value = getattr(_import_module(module), _RENAMED.get(name, name))
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_PUBLIC))
