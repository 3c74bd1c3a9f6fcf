"""Task schedules and stimuli: epochs, conditions, and the cue's location."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from einet.analysis.bump import decode
from einet.tasks import ODR, Epoch, Schedule


def test_schedule_epochs_are_consecutive_and_located():
    s = Schedule.of(("fixation", 100.0), ("cue", 50.0), ("delay", 0.0), ("test", 25.0))
    assert [(e.name, e.start, e.stop) for e in s.epochs] == [("fixation", 0, 100), ("cue", 100, 150), ("test", 150, 175)]
    assert s.duration == 175.0 and s.n_steps(0.5) == 350
    assert s.epoch_at(99.9) == "fixation" and s.epoch_at(100.0) == "cue" and s.epoch_at(175.0) is None
    with pytest.raises(ValueError, match="consecutive"):
        Schedule([Epoch("a", 0, 10), Epoch("b", 11, 20)])
    with pytest.raises(KeyError, match="epochs: fixation, cue, test"):
        s["delay"]


def test_odr_cue_is_where_and_when_it_should_be():
    angles = [0.0, 1.0, math.pi, 5.5]
    task = ODR(population=0, sizes=[360, 90], cue_angles=angles, strength=2.0, footprint=0.3,
               fixation=10.0, cue=5.0, delay=20.0, erase=5.0, erase_strength=-0.5, dtype=torch.float64)
    dt = 0.5
    seen = {}
    for step in range(task.schedule.n_steps(dt)):
        stim = task.stimulus(step, dt)
        seen.setdefault(task.schedule.epoch_at(step * dt), []).append(stim)
    assert all(s is None for s in seen["fixation"] + seen["delay"])
    assert len(seen["cue"]) == 10 and len(seen["erase"]) == 10
    cue, other = seen["cue"][0]
    assert other is None and cue.shape == (4, 360)
    _, _, phase = decode(cue)
    error = np.angle(np.exp(1j * (phase.numpy() - np.asarray(angles))))  # circular difference
    np.testing.assert_allclose(error, 0.0, atol=1e-9)
    assert float(cue.max()) <= 2.0 and math.isclose(float(cue[1].max()), 2.0 * math.exp(-(1.0 - 2 * math.pi * 57 / 360) ** 2 / 0.18), rel_tol=1e-9)
    erase, _ = seen["erase"][0]
    assert float(erase.squeeze()) == -0.5
    np.testing.assert_allclose(task.conditions()["cue_angle"].numpy(), angles)
