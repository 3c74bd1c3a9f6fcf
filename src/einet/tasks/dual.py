"""Delayed paired association (DPA), Go/NoGo, and the dual task that combines them.

A DPA trial shows a sample (A or B), a delay, then a test (C or D); the
dual task puts a Go or NoGo distractor in the middle of that delay. The
three task variants (DPA alone, with Go, with NoGo) times two samples times
two tests are the 12 conditions; ``trials`` repeats each.

Stimuli are patterns over a population's neurons: random Gaussian vectors
(seeded), or vectors given by the caller, e.g. the network's low-rank
vectors, so that a stimulus drives one direction of a low-rank network.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import torch

from einet.tasks.registry import TaskKind, register_task
from einet.tasks.schedule import EpochInputs, Schedule, duration_fields

SAMPLES, TESTS, VARIANTS = ("A", "B"), ("C", "D"), ("DPA", "Go", "NoGo")
PATTERNS = SAMPLES + TESTS + ("Go", "NoGo")


def stimulus_patterns(n: int, given: dict, seed: int) -> dict[str, torch.Tensor]:
    """Pattern per stimulus name, ``[n]`` float64: the given ones, the rest standard Gaussian from ``seed``.

    All six are always drawn, so a pattern does not depend on which others were given.
    """
    unknown = set(given) - set(PATTERNS)
    if unknown:
        raise ValueError(f"unknown stimulus names {sorted(unknown)}; known: {', '.join(PATTERNS)}")
    generator = torch.Generator().manual_seed(seed)
    drawn = {name: torch.randn(n, generator=generator, dtype=torch.float64) for name in PATTERNS}
    patterns = {k: torch.as_tensor(given.get(k, v), dtype=torch.float64) for k, v in drawn.items()}
    for name, p in patterns.items():
        if p.shape != (n,):
            raise ValueError(f"pattern {name!r} has shape {tuple(p.shape)}, expected ({n},)")
    return patterns


@dataclass
class _PatternTask(EpochInputs):
    """What the dual task and Go/NoGo share: patterned stimuli on one population, conditions as the batch."""

    population: int
    sizes: list[int]
    patterns: dict[str, torch.Tensor] = field(default_factory=dict)
    strength: float = 1.0
    trials: int = 1
    seed: int = 0
    dtype: torch.dtype = torch.float32
    device: str | torch.device = "cpu"
    schedule: Schedule = field(init=False)

    def _draw(self) -> None:
        self._patterns = stimulus_patterns(self.sizes[self.population], self.patterns, self.seed)

    def _stack(self, rows: list[torch.Tensor]) -> torch.Tensor:
        return (self.strength * torch.stack(rows)).to(dtype=self.dtype, device=self.device)

    @property
    def batch_size(self) -> int:
        return len(self.condition_list)

    def pattern(self, name: str) -> torch.Tensor:
        return self._patterns[name]


@dataclass
class DualTask(_PatternTask):
    """All 12 dual-task conditions, each repeated ``trials`` times along the batch.

    Parameters
    ----------
    population, sizes
        Which population receives the stimuli, and every population's size.
    patterns : dict, optional
        Pattern per stimulus name (A, B, C, D, Go, NoGo), each ``[N]``; missing
        ones are drawn as standard Gaussian vectors from ``seed``.
    strength : float
        Stimulus amplitude (multiplies the patterns).
    fixation, sample, delay, distractor, test, response : float
        Epoch durations [ms]; the distractor sits in the middle of the delay.
    """

    fixation: float = 100.0
    sample: float = 100.0
    delay: float = 1000.0
    distractor: float = 100.0
    test: float = 100.0
    response: float = 200.0

    def __post_init__(self):
        half = (self.delay - self.distractor) / 2
        if half < 0:
            raise ValueError(f"the distractor ({self.distractor} ms) must fit in the delay ({self.delay} ms)")
        self.schedule = Schedule.of(
            ("fixation", self.fixation), ("sample", self.sample), ("delay_1", half),
            ("distractor", self.distractor), ("delay_2", half), ("test", self.test), ("response", self.response),
        )
        self._draw()
        self.condition_list = [c for c in itertools.product(VARIANTS, SAMPLES, TESTS) for _ in range(self.trials)]
        zero = torch.zeros(self.sizes[self.population], dtype=torch.float64)
        per_epoch = {
            "sample": [self._patterns[s] for _, s, _ in self.condition_list],
            "distractor": [self._patterns[v] if v != "DPA" else zero for v, _, _ in self.condition_list],
            "test": [self._patterns[t] for _, _, t in self.condition_list],
        }
        self._inputs = {epoch: self._stack(rows) for epoch, rows in per_epoch.items()}

    def conditions(self) -> dict[str, list[str]]:
        """Per-trial coordinates: task variant, sample, test, and whether the pair is associated."""
        variant, sample, test = (list(x) for x in zip(*self.condition_list))
        paired = ["yes" if (s, t) in (("A", "C"), ("B", "D")) else "no" for s, t in zip(sample, test)]
        return {"task": variant, "sample": sample, "test": test, "paired": paired}


@dataclass
class GoNoGo(_PatternTask):
    """Go/NoGo alone: a Go or a NoGo stimulus, then a response window; ``trials`` of each.

    Its patterns are the dual task's Go and NoGo distractors for the same seed.
    """

    fixation: float = 100.0
    stimulus_duration: float = 100.0
    response: float = 500.0

    def __post_init__(self):
        self.schedule = Schedule.of(("fixation", self.fixation), ("stimulus", self.stimulus_duration),
                                    ("response", self.response))
        self._draw()
        self.condition_list = [v for v in ("Go", "NoGo") for _ in range(self.trials)]
        self._inputs = {"stimulus": self._stack([self._patterns[v] for v in self.condition_list])}

    def conditions(self) -> dict[str, list[str]]:
        return {"task": list(self.condition_list)}


def _build_dual(spec, common: dict, epochs: dict) -> DualTask:
    return DualTask(trials=spec.trials, seed=spec.seed, **common, **epochs)


def _build_go_nogo(spec, common: dict, epochs: dict) -> GoNoGo:
    return GoNoGo(trials=spec.trials, seed=spec.seed, **common, **duration_fields(epochs))


register_task(TaskKind(
    name="dual", doc="DPA with Go/NoGo distractors, all 12 conditions",
    epochs=("fixation", "sample", "delay", "distractor", "test", "response"), build=_build_dual, patterns=True,
))
register_task(TaskKind(
    name="go_nogo", doc="Go/NoGo alone, with the dual task's patterns",
    epochs=("fixation", "stimulus", "response"), build=_build_go_nogo, patterns=True,
))
