"""Oculomotor delayed response: a cue at an angle, a delay, optionally an erase pulse."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from einet.numeric import ring_angles
from einet.tasks.registry import TaskKind, register_task
from einet.tasks.schedule import EpochInputs, Schedule


def cue_profile(theta: torch.Tensor, angles: torch.Tensor, strength: float, footprint: float) -> torch.Tensor:
    """Gaussian cue over the circular distance (in [-pi, pi)), ``[len(angles), len(theta)]``; angles in rad."""
    distance = torch.remainder(theta[None, :] - angles[:, None] + math.pi, 2 * math.pi) - math.pi
    return strength * torch.exp(-(distance**2) / (2 * footprint**2))


@dataclass
class ODR(EpochInputs):
    """One ODR trial per batch element.

    Parameters
    ----------
    population : int
        Index of the ring population that receives the cue.
    sizes : list of int
        Population sizes of the network (the stimulus has one entry per population).
    cue_angles : sequence of float
        Cue angle of each trial [rad]; their number is the batch size.
    strength : float
        Peak cue input I0.
    footprint : float
        Standard deviation of the Gaussian cue over the circular distance [rad].
    fixation, cue, delay, erase : float
        Epoch durations [ms]; erase = 0 leaves the erase epoch out.
    erase_strength : float
        Uniform input to the whole ring during the erase epoch.
    """

    population: int
    sizes: list[int]
    cue_angles: list[float]
    strength: float = 1.0
    footprint: float = 0.5
    fixation: float = 100.0
    cue: float = 100.0
    delay: float = 1000.0
    erase: float = 0.0
    erase_strength: float = -1.0
    dtype: torch.dtype = torch.float32
    device: str | torch.device = "cpu"
    schedule: Schedule = field(init=False)

    def __post_init__(self):
        self.schedule = Schedule.of(("fixation", self.fixation), ("cue", self.cue), ("delay", self.delay),
                                    ("erase", self.erase))
        theta = ring_angles(self.sizes[self.population])
        profile = cue_profile(theta, torch.as_tensor(self.cue_angles, dtype=torch.float64), self.strength,
                              self.footprint)
        self._inputs = {
            "cue": profile.to(dtype=self.dtype, device=self.device),  # [trial, neuron], built once
            "erase": torch.full((1, 1), self.erase_strength, dtype=self.dtype, device=self.device),
        }

    @property
    def batch_size(self) -> int:
        return self._inputs["cue"].shape[0]

    def conditions(self) -> dict[str, torch.Tensor]:
        """Per-trial coordinates for the output files."""
        return {"cue_angle": torch.as_tensor(self.cue_angles, dtype=torch.float64)}


def _build(spec, common: dict, epochs: dict) -> ODR:
    angles = spec.cue_angles or [360.0 * i / spec.trials for i in range(spec.trials)]
    return ODR(cue_angles=[math.radians(a) for a in angles], footprint=math.radians(spec.footprint),
               erase_strength=spec.erase_strength, **common, **epochs)


register_task(TaskKind(
    name="odr", doc="oculomotor delayed response: a Gaussian cue on a ring, a delay, an erase pulse",
    epochs=("fixation", "cue", "delay", "erase"), build=_build,
))
