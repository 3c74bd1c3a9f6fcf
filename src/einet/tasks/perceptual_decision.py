r"""Perceptual decision making: a noisy two-choice stimulus whose coherence sets how hard the choice is.

The random-dot motion task in the form neurogym's ``PerceptualDecisionMaking``
gives it: after a fixation epoch, two evidence channels are shown, one per
choice, with means

.. math:: s_{\pm} = \tfrac{1}{2}\,(1 \pm c/100)

for the correct (+) and the other (-) choice at coherence ``c`` (in %), each
plus independent white noise of standard deviation ``sigma / sqrt(dt)`` per
step (so that the noise integrated over a fixed time does not depend on
``dt``); a delay without input and a decision epoch follow. Here the channels
enter a population: its first half prefers choice 0, its second half choice 1,
and every neuron of a half receives its channel times ``strength``. Every
(coherence, choice) pair is a condition, repeated ``trials`` times along the
batch; the noise is drawn per trial and step from ``seed``, the same whatever
else runs in the batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from einet.config.task import COHERENCES  # neurogym's default coherences [%]
from einet.tasks.registry import TaskKind, register_task
from einet.tasks.schedule import Schedule, duration_fields


@dataclass
class PerceptualDecision:
    """All (coherence, choice) conditions of the two-choice task, each ``trials`` times along the batch.

    Parameters
    ----------
    population, sizes
        Which population receives the evidence (its two halves are the two choices), every population's size.
    coherences : sequence of float
        Coherences [%] (0: no net evidence; 100: noise only on top of a full signal).
    strength : float
        Input per unit of evidence.
    sigma : float
        Noise level, in units of evidence times sqrt(ms).
    fixation, stimulus_duration, delay, decision : float
        Epoch durations [ms] (the config's epochs fixation, stimulus, delay, decision).
    """

    population: int
    sizes: list[int]
    coherences: tuple[float, ...] = COHERENCES
    strength: float = 1.0
    sigma: float = 1.0
    trials: int = 1
    seed: int = 0
    fixation: float = 100.0
    stimulus_duration: float = 2000.0
    delay: float = 0.0
    decision: float = 100.0
    dtype: torch.dtype = torch.float32
    device: str | torch.device = "cpu"
    schedule: Schedule = field(init=False)

    def __post_init__(self):
        n = self.sizes[self.population]
        if n < 2:
            raise ValueError(f"the perceptual decision task needs a population of >= 2 neurons (one half per choice), "
                             f"not {n}")
        self.schedule = Schedule.of(("fixation", self.fixation), ("stimulus", self.stimulus_duration), ("delay", self.delay),
                                    ("decision", self.decision))
        self.condition_list = [(c, choice) for c in self.coherences for choice in (0, 1) for _ in range(self.trials)]
        coherence = torch.tensor([c for c, _ in self.condition_list], dtype=torch.float64)
        choice = torch.tensor([g for _, g in self.condition_list])
        self._means = torch.stack([0.5 * (1 + coherence / 100 * (1 - 2 * choice)),  # channel 0: + if choice 0
                                   0.5 * (1 - coherence / 100 * (1 - 2 * choice))], 1)  # [trial, 2]
        self._group = (torch.arange(n) >= n // 2).long()  # choice preferred by each neuron

    @property
    def batch_size(self) -> int:
        return len(self.condition_list)

    def evidence(self, step: int, dt: float) -> torch.Tensor:
        """``[trial, 2]`` evidence of the two channels at ``step`` (noise drawn from ``seed`` and ``step``)."""
        generator = torch.Generator().manual_seed(int(self.seed) * 1_000_003 + int(step))
        noise = torch.randn(self.batch_size, 2, generator=generator, dtype=torch.float64)
        return self._means + self.sigma / dt**0.5 * noise

    def stimulus(self, step: int, dt: float):
        """One entry per population for this step (None where nothing is delivered), or None."""
        if self.schedule.epoch_at(step * dt) != "stimulus":
            return None
        value = (self.strength * self.evidence(step, dt)[:, self._group]).to(dtype=self.dtype, device=self.device)
        return tuple(value if a == self.population else None for a in range(len(self.sizes)))

    def conditions(self) -> dict[str, torch.Tensor]:
        """Per-trial coordinates: coherence [%] and the correct choice (0: first half, 1: second half)."""
        return {"coherence": torch.tensor([c for c, _ in self.condition_list], dtype=torch.float64),
                "choice": torch.tensor([g for _, g in self.condition_list])}


def _build(spec, common: dict, epochs: dict) -> PerceptualDecision:
    return PerceptualDecision(coherences=tuple(spec.coherences), sigma=spec.sigma, trials=spec.trials, seed=spec.seed,
                              **common, **duration_fields(epochs))


register_task(TaskKind(
    name="perceptual_decision", doc="two-choice random-dot motion: noisy evidence at a coherence, then a decision",
    epochs=("fixation", "stimulus", "delay", "decision"), build=_build,
))
