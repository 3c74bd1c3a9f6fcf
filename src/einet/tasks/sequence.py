"""Sessions of ODR trials in a row: random cues, one network state carried from trial to trial.

Serial bias is the pull of the previous trial's cue on the current report, so
the trials of a session must share one network: rates, synaptic currents and
STP ``u``, ``x`` run on through an inter-trial interval (ITI) into the next
trial. Sessions are the batch; the trials of a session follow one another in
time, each lasting fixation, cue, delay, erase and iti. As every task here,
the input is generated step by step: only the current trial's cue profile
``[session, neuron]`` is ever held.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from einet.numeric import ring_angles
from einet.tasks.odr import cue_profile
from einet.tasks.registry import TaskKind, register_task
from einet.tasks.schedule import Schedule


def wrap(angle):
    """Angles wrapped to [-pi, pi) [rad]."""
    return np.mod(np.asarray(angle, dtype=float) + np.pi, 2 * np.pi) - np.pi


def previous_distance(cues: np.ndarray) -> np.ndarray:
    """previous - current cue along the last (trial) axis, wrapped [rad]; NaN for the first trial."""
    cues = np.asarray(cues, dtype=float)
    out = np.full(cues.shape, np.nan)
    out[..., 1:] = wrap(cues[..., :-1] - cues[..., 1:])
    return out


@dataclass
class SerialODR:
    """``sessions`` sessions of ``trials`` ODR trials each, with uniformly random cue angles.

    Parameters
    ----------
    population : int
        Index of the ring population that receives the cue.
    sizes : list of int
        Population sizes of the network.
    sessions, trials : int
        Sessions run side by side (the batch) and trials per session (in time).
    strength : float
        Peak cue input.
    footprint : float
        Standard deviation of the Gaussian cue [rad].
    fixation, cue, delay, erase, iti : float
        Epoch durations of one trial [ms]; the report is read at the end of the
        delay; erase delivers ``erase_strength`` to the whole ring; the ITI
        delivers nothing.
    reset : bool
        Start every trial from the network's initial state (no carry-over).
    seed : int
        Seed of the cue angles (numpy's default generator).
    """

    population: int
    sizes: list[int]
    sessions: int = 1
    trials: int = 2
    strength: float = 1.0
    footprint: float = 0.5
    fixation: float = 200.0
    cue: float = 300.0
    delay: float = 1000.0
    erase: float = 0.0
    iti: float = 1000.0
    erase_strength: float = -1.0
    reset: bool = False
    seed: int = 0
    dtype: torch.dtype = torch.float32
    device: str | torch.device = "cpu"
    schedule: Schedule = field(init=False)
    cue_angles: np.ndarray = field(init=False)

    sequential = True  # simulate() runs tasks with this flag through einet.runs.sessions

    def __post_init__(self):
        self.schedule = Schedule.of(("fixation", self.fixation), ("cue", self.cue), ("delay", self.delay),
                                    ("erase", self.erase), ("iti", self.iti))
        rng = np.random.default_rng(self.seed)
        self.cue_angles = rng.uniform(0.0, 2 * np.pi, size=(self.sessions, self.trials))  # [session, trial]
        self._theta = ring_angles(self.sizes[self.population], dtype=torch.float64)
        self._erase = torch.full((1, 1), self.erase_strength, dtype=self.dtype, device=self.device)
        self._cached: tuple[int, torch.Tensor] | None = None

    @property
    def batch_size(self) -> int:
        return self.sessions

    def trial_steps(self, dt: float) -> int:
        """Steps of one trial, ITI included."""
        return self.schedule.n_steps(dt)

    def n_steps(self, dt: float) -> int:
        return self.trials * self.trial_steps(dt)

    def report_step(self, dt: float) -> int:
        """Step within a trial whose starting state is the one at the end of the delay."""
        return int(round(self.schedule["delay"].stop / dt))

    def iti_start_step(self, dt: float) -> int:
        """Step within a trial at which the ITI begins (the trial's length if there is none)."""
        stop = self.schedule["iti"].start if self.iti > 0 else self.schedule.duration
        return int(round(stop / dt))

    def cue_input(self, trial: int) -> torch.Tensor:
        """The cue of ``trial`` in every session, ``[session, neuron]`` (kept for the trial's duration)."""
        if self._cached is None or self._cached[0] != trial:
            angles = torch.as_tensor(self.cue_angles[:, trial], dtype=torch.float64)
            profile = cue_profile(self._theta, angles, self.strength, self.footprint)
            self._cached = (trial, profile.to(dtype=self.dtype, device=self.device))
        return self._cached[1]

    def stimulus(self, step: int, dt: float):
        """One entry per population for session step ``step`` (None where nothing is delivered), or None."""
        trial, local = divmod(step, self.trial_steps(dt))
        epoch = self.schedule.epoch_at(local * dt)
        value = self.cue_input(trial) if epoch == "cue" else self._erase if epoch == "erase" else None
        if value is None:
            return None
        return tuple(value if a == self.population else None for a in range(len(self.sizes)))

    def conditions(self) -> dict[str, np.ndarray]:
        """Per session and trial: the cue angle and the previous - current cue distance [rad]."""
        return {"cue_angle": self.cue_angles.copy(), "previous_cue_distance": previous_distance(self.cue_angles)}


def _build(spec, common: dict, epochs: dict) -> SerialODR:
    return SerialODR(sessions=spec.sessions, trials=spec.trials, footprint=math.radians(spec.footprint),
                     erase_strength=spec.erase_strength, reset=spec.reset, seed=spec.seed, **common, **epochs)


register_task(TaskKind(
    name="serial_odr", doc="sessions of ODR trials with random cues whose network state carries over",
    epochs=("fixation", "cue", "delay", "erase", "iti"), build=_build,
))
