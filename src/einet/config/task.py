"""The ``task:`` section, tagged by ``kind``: the keys every task has, and each task's own.

The task classes live in :mod:`einet.tasks` (one file each, registered in ``TASKS``); their
options are declared here, beside the rest of the schema, so an experiment file is checked
completely without loading torch (the pipeline's expand and analyze jobs stay light). A task
without options of its own needs no entry here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from einet.errors import ConfigError
from einet.fields import finite as finite_number, seed_value
from einet.fields import non_negative, option, positive

#: neurogym's PerceptualDecisionMaking coherences [%]
COHERENCES = (0.0, 6.4, 12.8, 25.6, 51.2)


@dataclass(frozen=True)
class TaskSpec:
    """A behavioural task run on every parameter set; its trials become the ``trial`` dimension."""

    kind: str = option(
        doc="a registered task (einet.tasks.TASKS): odr, dual (DPA with Go/NoGo distractors), go_nogo, "
        "serial_odr (sessions of ODR trials with random cues whose network state carries over from trial to "
        "trial; see einet.tasks.sequence) or perceptual_decision (two-choice random-dot motion)")
    population: str = option(doc="the population that receives the stimuli")
    trials: int = option(
        8, doc="odr: number of evenly spaced cue angles (unless cue_angles is given); serial_odr: trials per "
        "session; the others: repeats of each condition", check=positive,
    )
    strength: float = option(1.0, doc="stimulus amplitude", check=finite_number)
    epochs: dict[str, float] = option(
        factory=dict,
        doc="epoch durations overriding the task's defaults; odr: fixation, cue, delay, erase; dual: fixation, "
        "sample, delay, distractor, test, response; go_nogo: fixation, stimulus, response; serial_odr: the odr "
        "epochs and iti (inter-trial interval after the delay and erase, without input); perceptual_decision: "
        "fixation, stimulus, delay, decision",
        unit="ms",
    )
    seed: int = option(0, doc="seed of the random stimulus patterns (dual, go_nogo), cue angles (serial_odr) or "
                       "evidence noise (perceptual_decision)", check=seed_value)

    def _check(self, path: str) -> None:
        for name, duration in self.epochs.items():
            if duration < 0:
                raise ConfigError(f"{path}.epochs.{name}", duration, "a duration >= 0")


@dataclass(frozen=True)
class OdrTaskSpec(TaskSpec):
    """Oculomotor delayed response: a Gaussian cue on a ring, a delay, an erase."""

    cue_angles: list[float] = option(factory=list, doc="cue angles (default: `trials` evenly spaced)", unit="degree")
    footprint: float = option(30.0, doc="standard deviation of the Gaussian cue", unit="degree", check=positive)
    erase_strength: float = option(-1.0, doc="uniform input during the erase epoch", check=finite_number)


@dataclass(frozen=True)
class SerialOdrTaskSpec(TaskSpec):
    """Sessions of ODR trials with random cue angles drawn from ``seed``."""

    footprint: float = option(30.0, doc="standard deviation of the Gaussian cue", unit="degree", check=positive)
    erase_strength: float = option(-1.0, doc="uniform input during the erase epoch", check=finite_number)
    sessions: int = option(1, doc="independent sessions run side by side (the session dimension)", check=positive)
    reset: bool = option(False, doc="re-initialise the network state before every trial (the control without "
                         "trial-to-trial coupling)")


@dataclass(frozen=True)
class PatternTaskSpec(TaskSpec):
    """The dual task and Go/NoGo: stimuli are patterns over the population."""

    patterns: Literal["random", "low_rank"] = option(
        "random",
        doc="random Gaussian patterns, or low_rank: samples A, B = +m^1, -m^1 and distractors Go, NoGo = +m^2, "
        "-m^2 of the population's low-rank vectors (model.low_rank, rank >= 2), tests random",
    )


def _coherences(values) -> str | None:
    ok = values and all(0.0 <= c <= 100.0 for c in values)
    return None if ok else "a non-empty list of coherences in [0, 100] %"


@dataclass(frozen=True)
class PerceptualDecisionTaskSpec(TaskSpec):
    """Two noisy evidence channels whose mean difference is the coherence."""

    coherences: list[float] = option(
        factory=lambda: list(COHERENCES), doc="coherences, each a condition with both correct choices "
        "(default: neurogym's)", unit="%", check=_coherences)
    sigma: float = option(
        1.0, doc="noise of each evidence channel: standard deviation sigma / sqrt(dt) per step, so its "
        "integral over a fixed time does not depend on dt", check=non_negative)


TaskSpec._variants = {
    "odr": OdrTaskSpec, "serial_odr": SerialOdrTaskSpec, "dual": PatternTaskSpec, "go_nogo": PatternTaskSpec,
    "perceptual_decision": PerceptualDecisionTaskSpec,
}
