"""Settings of the serial-bias analysis, and the checks that tie it to a serial_odr task."""

from __future__ import annotations

from dataclasses import dataclass

from einet.errors import ConfigError
from einet.fields import option, positive, seed_value


def _at_least_two(value) -> str | None:
    return None if value >= 2 else "an integer >= 2"


def _fraction(value) -> str | None:
    return None if 0 < value < 1 else "a number in (0, 1)"


@dataclass(frozen=True)
class SerialBiasSpec:
    """How the serial-bias curve is binned and its derivative-of-Gaussian fit bootstrapped."""

    bins: int = option(9, doc="bins of the folded curve over |previous - current| in [0, 180] deg (the signed "
                       "curve uses twice as many over [-180, 180))", check=_at_least_two)
    bootstrap: int = option(1000, doc="bootstrap resamples of whole sessions for the confidence intervals",
                            check=positive)
    confidence: float = option(0.95, doc="level of the percentile bootstrap intervals", check=_fraction)
    seed: int = option(0, doc="seed of the bootstrap resampling", check=seed_value)
    width_range: list[float] = option(
        factory=lambda: [10.0, 150.0],
        doc="range [lo, hi] searched for the fit's width (the location of the peak bias), in steps of "
        "width_step; the lower end keeps a few trials at tiny distances from passing for a narrow, huge bias",
        unit="degree",
    )
    width_step: float = option(0.5, doc="grid step of the width search", unit="degree", check=positive)

    def _check(self, path: str) -> None:
        lo_hi = self.width_range
        if len(lo_hi) != 2 or not 0 < lo_hi[0] < lo_hi[1] <= 180:
            raise ConfigError(f"{path}.width_range", lo_hi, "two numbers [lo, hi] with 0 < lo < hi <= 180")
