"""The optional ``reservoir:`` section: a reservoir whose readout is trained by ridge and by FORCE.

The reservoir is a tanh rate network (``neuron: rate``) or a network of QIF
spiking neurons read out through their synaptic traces (``neuron: qif``);
most settings serve both, a few only the QIF. A reservoir experiment sets
``model: null``; ``simulation.dt`` and ``simulation.seed`` apply (the seed
draws the reservoir). See :mod:`einet.network.reservoir`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from einet.errors import ConfigError
from einet.fields import finite, non_negative, option, positive


@dataclass(frozen=True)
class ReservoirSpec:
    """Reservoir, target (a product of two sines given as inputs) and the two readouts' settings."""

    neuron: Literal["rate", "qif"] = option(
        "rate", doc="rate: tanh rate units; qif: quadratic integrate-and-fire spiking neurons, read out (and coupled) "
        "through their synaptic traces (Nicola & Clopath 2017)",
    )
    n: int = option(300, doc="neurons", check=positive)
    g_ridge: float = option(0.9, doc="recurrent gain of the reservoir read out by ridge (rate: < 1 is a stable "
                            "echo state)", check=non_negative)
    g_force: float = option(1.5, doc="recurrent gain of the reservoir trained by FORCE (rate: > 1 is chaotic "
                            "without feedback)", check=non_negative)
    p: float = option(0.1, doc="recurrent connection probability",
                      check=lambda v: None if 0 < v <= 1 else "a probability in (0, 1]")
    tau: float = option(10.0, doc="time constant (qif: of the membrane)", unit="ms", check=positive)
    input_scale: float = option(1.0, doc="standard deviation of the input weights (qif: in units of the QIF input)",
                                check=non_negative)
    feedback_scale: float = option(1.0, doc="standard deviation of the FORCE feedback weights", check=non_negative)
    bias_scale: float = option(0.5, doc="standard deviation of the biases (0 leaves the rates odd in the input); "
                               "qif: of the excitabilities eta around their mean", check=non_negative)
    eta: float = option(0.5, doc="qif: mean excitability (> 0: the neuron fires without input)", check=finite)
    tau_syn: float = option(20.0, doc="qif: time constant of the synaptic traces (filtered spikes) that the readout "
                            "and the recurrent weights see", unit="ms", check=positive)
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
