"""Settings of effective-information measurements (trained layers and recurrent networks)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from einet.errors import ConfigError
from einet.fields import option, positive, seed_value

BiasCorrection = Literal["none", "miller_madow"]


def _at_least_two(value) -> str | None:
    return None if value >= 2 else "an integer >= 2"


@dataclass(frozen=True)
class EISpec:
    """How each layer's EI is estimated (see einet.measures.information)."""

    bins: int = option(8, doc="equal-width bins of every input and output range", check=_at_least_two)
    samples: int = option(4096, doc="uniform (maximum-entropy) input draws per estimate", check=positive)
    max_samples: int = option(
        2**18, doc="convergence cap: an estimate within 0.5 bit of its estimator's ceiling (saturated: log2 of "
        "the draws, plus 0.72 bit with miller_madow, for a layer's vector EI) is redone with twice the draws "
        "while the draws set that ceiling and it stays saturated or still rises by more than 0.5 bit a doubling, "
        "up to this many; where the cap is reached the value keeps its "
        "saturated flag (the run file's <measure>_saturated, drawn as open markers). At or below samples: no "
        "more draws", check=positive,
    )
    in_range: list[float] = option(
        factory=lambda: [-2.0, 2.0],
        doc="range [lo, hi] the first layer's inputs are drawn from; the datasets are standardised, so "
        "[-2, 2] covers about 95% of every feature; later layers use their input's sigmoid range (0, 1)",
    )
    bias_correction: BiasCorrection = option("none", doc="none (plug-in MI) or miller_madow")
    seed: int = option(0, doc="seed of the input draws (the same at every checkpoint)", check=seed_value)

    def _check(self, path: str) -> None:
        if len(self.in_range) != 2 or not self.in_range[1] > self.in_range[0]:
            raise ConfigError(f"{path}.in_range", self.in_range, "two numbers [lo, hi] with lo < hi")


@dataclass(frozen=True)
class RecurrentEISpec:
    """EI of a recurrent network's one-step and unrolled maps (analysis kind recurrent_ei)."""

    neurons: int = option(
        16, doc="neurons sampled per population (evenly spaced); the others are clamped at their "
        "time-averaged rates, because every pairwise measure costs n_in * n_out histograms", check=positive,
    )
    steps: list[int] = option(
        factory=lambda: [1, 10], doc="unrolled map lengths T in time steps (1: the one-step map)",
        check=lambda v: None if v and all(s >= 1 for s in v) else "a non-empty list of integers >= 1",
    )
    bins: int = option(8, doc="equal-width bins of every rate range", check=_at_least_two)
    samples: int = option(4096, doc="uniform (maximum-entropy) input draws per estimate", check=positive)
    range_scale: float = option(
        2.0, doc="threshold-linear rates are drawn from [0, range_scale x the population's mean rate in the "
        "run] (2: centred on the operating point); sigmoid and erf rates from [0, r_max]", check=positive,
    )
    ranges: dict[str, list[float]] = option(
        factory=dict, doc="explicit rate range [lo, hi] per population, overriding the above",
    )
    bias_correction: BiasCorrection = option("none", doc="none (plug-in MI) or miller_madow")
    seed: int = option(0, doc="seed of the input draws", check=seed_value)

    def _check(self, path: str) -> None:
        for pop, value in self.ranges.items():
            if len(value) != 2 or not value[1] > value[0]:
                raise ConfigError(f"{path}.ranges.{pop}", value, "two numbers [lo, hi] with lo < hi")
