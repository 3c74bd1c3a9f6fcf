"""Behavioural tasks: schedules of epochs and the stimuli they deliver, step by step.

A task never builds a [time, neuron] input tensor: ``stimulus(step)`` returns,
for the current step only, one entry per population (None where nothing is
delivered), which :meth:`einet.network.rate.RateNetwork.step` adds to the
external input. Trials and conditions are the batch dimension.
"""

from einet.tasks.dual import DualTask, GoNoGo
from einet.tasks.build import build_task
from einet.tasks.odr import ODR
from einet.tasks.schedule import Epoch, Schedule
from einet.tasks.sequence import SerialODR

__all__ = ["ODR", "DualTask", "GoNoGo", "Epoch", "Schedule", "SerialODR", "build_task"]
