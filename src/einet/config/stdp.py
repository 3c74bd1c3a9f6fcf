"""The optional ``stdp:`` section: one LIF neuron whose excitatory Poisson inputs learn by STDP.

After Song, Miller & Abbott (2000, Nat Neurosci 3:919): a group of correlated
inputs competes with a group of independent ones for the control of the
neuron's firing. An STDP experiment sets ``model: null``; ``simulation.dt``,
``duration``, ``device``, ``dtype`` and ``seed`` apply, ``analysis.kind`` is
``stdp``. Each weight dependence listed runs as one batch element of the same
job (dimension ``dependence``), so their runs share every other setting; see
:mod:`einet.network.stdp_neuron`.
"""

from __future__ import annotations

from dataclasses import dataclass

from einet.errors import ConfigError
from einet.fields import finite, non_negative, option, positive

#: The largest expected spike count per step of one input: 0/1 spikes per step undercount
#: a Poisson rate by about half of it (2.5 %), see einet.synapses.poisson.
MAX_COUNT_PER_STEP = 0.05


def _fraction(value) -> str | None:
    return None if 0 <= value <= 1 else "a number in [0, 1]"


def _distinct(values) -> str | None:
    if not values or len(set(values)) != len(values):
        return "a non-empty list of distinct weight dependences (additive, multiplicative)"
    return None


@dataclass(frozen=True)
class StdpNeuronSpec:
    """The postsynaptic LIF neuron (current-based exponential synapses; Song et al.'s voltages)."""

    tau_m: float = option(20.0, doc="membrane time constant", unit="ms", check=positive)
    tau_syn: float = option(5.0, doc="decay time constant of the synaptic current (both input types)", unit="ms",
                            check=positive)
    v_rest: float = option(-70.0, doc="resting potential", unit="mV", check=finite)
    v_th: float = option(-54.0, doc="spike threshold", unit="mV", check=finite)
    v_reset: float = option(-60.0, doc="reset potential, below v_th", unit="mV", check=finite)
    t_ref: float = option(1.0, doc="absolute refractory period (rounded to whole steps)", unit="ms",
                          check=non_negative)

    def _check(self, path: str) -> None:
        if self.v_reset >= self.v_th:
            raise ConfigError(f"{path}.v_reset", self.v_reset, f"below v_th = {self.v_th} mV")


@dataclass(frozen=True)
class StdpSpec:
    """Inputs, plasticity and recording of the single-neuron STDP experiment."""

    n_inputs: int = option(1000, doc="excitatory inputs, all plastic", check=positive)
    n_correlated: int = option(500, doc="the first n_correlated inputs form the correlated group (one shared "
                               "mother train), the others are independent", check=non_negative)
    rate: float = option(10.0, doc="rate of every excitatory input", unit="Hz", check=positive)
    correlation: float = option(0.1, doc="pairwise spike-count correlation within the correlated group (copies "
                                "of a mother train at rate/correlation, each spike kept with probability "
                                "correlation; see einet.synapses.poisson)", check=_fraction)
    n_inhibitory: int = option(200, doc="inhibitory Poisson inputs with fixed weights (0 for none)",
                               check=non_negative)
    rate_inhibitory: float = option(10.0, doc="rate of every inhibitory input", unit="Hz", check=non_negative)
    w_inhibitory: float = option(-2.0, doc="jump of the synaptic current per inhibitory spike (R I, <= 0)",
                                 unit="mV", check=lambda v: None if v <= 0 else "a number <= 0")
    w_max: float = option(1.0, doc="jump of the synaptic current per spike of an excitatory input at full "
                          "strength (R I); weights are learnt as fractions of it, in [0, 1]", unit="mV",
                          check=positive)
    w_init: list[float] = option(factory=lambda: [0.0, 1.0], doc="[low, high]: initial weights drawn uniformly, "
                                 "as fractions of w_max")
    dependences: list[str] = option(
        factory=lambda: ["additive", "multiplicative"],
        doc="weight dependences run side by side (dimension dependence): additive (hard bounds) or "
        "multiplicative (potentiation times 1 - w, depression times w)", check=_distinct,
    )
    a_plus: float = option(0.005, doc="potentiation per pre-before-post pair at zero lag, as a fraction of w_max "
                           "(multiplicative: at w = 0)", check=non_negative)
    a_minus: float = option(0.00525, doc="depression per post-before-pre pair at zero lag, as a fraction of w_max "
                            "(multiplicative: at w = w_max); above a_plus tau_plus / tau_minus the rule "
                            "depresses independent inputs", check=non_negative)
    tau_plus: float = option(20.0, doc="potentiation window (presynaptic trace time constant)", unit="ms",
                             check=positive)
    tau_minus: float = option(20.0, doc="depression window (postsynaptic trace time constant)", unit="ms",
                              check=positive)
    neuron: StdpNeuronSpec = option(factory=StdpNeuronSpec, doc="the postsynaptic neuron")
    record_every: float = option(1000.0, doc="interval between snapshots of every weight", unit="ms",
                                 check=positive)
    rate_bin: float = option(1000.0, doc="bin of the postsynaptic rate time series", unit="ms", check=positive)

    def _check(self, path: str) -> None:
        if self.n_correlated > self.n_inputs:
            raise ConfigError(f"{path}.n_correlated", self.n_correlated, f"at most n_inputs = {self.n_inputs}")
        low_high = self.w_init
        if len(low_high) != 2 or not 0 <= low_high[0] <= low_high[1] <= 1:
            raise ConfigError(f"{path}.w_init", low_high, "[low, high] with 0 <= low <= high <= 1")


def check_stdp(spec) -> None:
    """Checks that need the simulation section: recording intervals and input rates against dt and duration."""
    sim, cfg = spec.simulation, spec.stdp
    for key in ("record_every", "rate_bin"):
        value = getattr(cfg, key)
        if not sim.dt <= value <= sim.duration:
            raise ConfigError(f"stdp.{key}", value, f"between dt = {sim.dt} ms and duration = {sim.duration} ms")
    limit = MAX_COUNT_PER_STEP * 1000.0 / sim.dt
    for key in ("rate", "rate_inhibitory"):
        if getattr(cfg, key) > limit:
            raise ConfigError(f"stdp.{key}", getattr(cfg, key),
                              f"at most {limit:g} Hz at dt = {sim.dt} ms (0/1 spikes per step undercount faster "
                              f"inputs; lower dt)")
    if spec.sweep.batch:
        raise ConfigError("sweep.batch", spec.sweep.batch, "no batch axes: an stdp experiment runs its dependences "
                          "side by side; use grid axes (e.g. stdp.correlation) for anything else")
