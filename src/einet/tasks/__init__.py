"""Behavioural tasks: schedules of epochs and the stimuli they deliver, step by step.

A task never builds a [time, neuron] input tensor: ``stimulus(step)`` returns,
for the current step only, one entry per population (None where nothing is
delivered), which :meth:`einet.network.rate.RateNetwork.step` adds to the
external input. Trials and conditions are the batch dimension.

A task is one file here holding its class and ending in one
``register_task(TaskKind(...))`` (:mod:`einet.tasks.registry`); every module of
this folder is imported with the package, so a new file is all it takes for
``task.kind`` to know it.
"""

import importlib as _importlib
import pkgutil as _pkgutil

from einet.tasks.registry import TASKS, TaskKind, register_task

for _module in _pkgutil.iter_modules(__path__):
    _importlib.import_module(f"{__name__}.{_module.name}")

from einet.tasks.build import build_task  # noqa: E402
from einet.tasks.dual import DualTask, GoNoGo  # noqa: E402
from einet.tasks.odr import ODR  # noqa: E402
from einet.tasks.schedule import Epoch, Schedule  # noqa: E402
from einet.tasks.sequence import SerialODR  # noqa: E402

__all__ = ["TASKS", "TaskKind", "register_task", "build_task", "ODR", "DualTask", "GoNoGo", "Epoch", "Schedule",
           "SerialODR"]
