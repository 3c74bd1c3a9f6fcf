"""Runs: what one job does, one file per kind, each ending in ``register_run(...)``.

==================  ============================================================
``rate``            a rate network integrated over its duration or its task's trials
``sessions``        sessions of trials whose state carries over (serial ODR)
``spiking``         a spiking network: per-neuron statistics, rates, raster
``reservoir``       a reservoir with ridge and FORCE readouts
``stdp``            one LIF neuron learning its Poisson inputs by STDP
``task_training``   a rate network trained on its task by BPTT (train stage)
``network_training`` a layered network trained on a data set (train stage)
``classifier``      a sigmoid classifier and its layers' EI (train stage)
``base``            what they share: device, batch labels, sweep coordinates
``recorder``        what a rate run records, step by step
``registry``        ``RUNS``, ``RunKind``, ``register_run``, ``run_kind_of``
==================  ============================================================

Every module of this folder is imported with the package, so a new run file is
all it takes for its kind to be known.
"""

import importlib as _importlib
import pkgutil as _pkgutil

from einet.runs.registry import RUNS, RunKind, register_run, run_kind_for_stage, run_kind_of

for _module in _pkgutil.iter_modules(__path__):
    _importlib.import_module(f"{__name__}.{_module.name}")


def simulate(spec, *, progress: bool = True, device=None):
    """Run a simulate-stage job of any kind and return its dataset (without provenance)."""
    from einet.runs.base import resolve_device

    kind = run_kind_for_stage(spec, "simulate")
    return kind.run(spec, progress=progress, device=device or resolve_device(spec.simulation.device))


def train(spec, *, device=None, checkpoint=None, tag: str = "", progress: bool = True, label: str = "train"):
    """Run a train-stage job of any kind; returns ``(dataset, model)``."""
    from einet.runs.base import resolve_device

    kind = run_kind_for_stage(spec, "train")
    return kind.run(spec, device=device or resolve_device(spec.training.device, "training.device"), checkpoint=checkpoint, tag=tag,
                    progress=progress, label=label)


__all__ = ["RUNS", "RunKind", "register_run", "run_kind_for_stage", "run_kind_of", "simulate", "train"]
