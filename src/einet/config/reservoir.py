"""The optional ``reservoir:`` section: a rate reservoir whose readout is trained by ridge and by FORCE.

A reservoir experiment sets ``model: null``; ``simulation.dt`` and
``simulation.seed`` apply (the seed draws the reservoir). See
:mod:`einet.spiking.reservoir`.
"""

from __future__ import annotations

from dataclasses import dataclass

from einet.errors import ConfigError
from einet.fields import non_negative, option, positive


@dataclass(frozen=True)
class ReservoirSpec:
    """Reservoir, target (a product of two sines given as inputs) and the two readouts' settings."""

    n: int = option(300, doc="neurons", check=positive)
    g_ridge: float = option(0.9, doc="recurrent gain of the reservoir read out by ridge (< 1: a stable echo "
                            "state)", check=non_negative)
    g_force: float = option(1.5, doc="recurrent gain of the reservoir trained by FORCE (> 1: chaotic "
                            "without feedback)", check=non_negative)
    p: float = option(0.1, doc="recurrent connection probability",
                      check=lambda v: None if 0 < v <= 1 else "a probability in (0, 1]")
    tau: float = option(10.0, doc="time constant", unit="ms", check=positive)
    input_scale: float = option(1.0, doc="standard deviation of the input weights", check=non_negative)
    feedback_scale: float = option(1.0, doc="standard deviation of the FORCE feedback weights", check=non_negative)
    bias_scale: float = option(0.5, doc="standard deviation of the biases (0 leaves the rates odd in the input)",
                               check=non_negative)
    periods: list[float] = option(factory=lambda: [200.0, 130.0], doc="periods of the two input sines; the "
                                  "target is their product", unit="ms")
    train: float = option(3000.0, doc="training time (from the start)", unit="ms", check=positive)
    test: float = option(1000.0, doc="held-out time after training", unit="ms", check=positive)
    washout: float = option(100.0, doc="initial time left out of training", unit="ms", check=non_negative)
    ridge_alpha: float = option(1e-4, doc="ridge penalty", check=non_negative)
    rls_alpha: float = option(1.0, doc="RLS prior penalty (P0 = I / alpha)", check=positive)
    rls_every: int = option(2, doc="FORCE: steps between RLS updates", check=positive)

    def _check(self, path: str) -> None:
        if len(self.periods) != 2 or min(self.periods) <= 0:
            raise ConfigError(f"{path}.periods", self.periods, "two positive periods")
        if self.washout >= self.train:
            raise ConfigError(f"{path}.washout", self.washout, f"less than train = {self.train} ms")
