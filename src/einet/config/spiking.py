"""The optional ``spiking:`` section: a network of spiking neurons run instead of a rate model.

A spiking experiment sets ``model: null`` and describes its network here:
populations of one registered neuron model (:data:`einet.neurons.NEURONS`),
sparse random projections with a weight, a synaptic time constant and a
transmission delay. Synapses are current-based by default; ``synapse:
conductance`` (lif and alif) makes a projection's spikes open a conductance
with a reversal potential instead, the weight then being the conductance
jump in units of the leak conductance. ``simulation`` still gives dt, duration, device, dtype
and seed; ``analysis.kind`` is ``spiking``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Optional

from einet.errors import ConfigError
from einet.fields import finite, non_negative, option, positive


def _probability(value) -> str | None:
    return None if 0 <= value <= 1 else "a probability in [0, 1]"


def _range(value) -> str | None:
    return None if len(value) in (0, 2) and (not value or value[0] <= value[1]) else "[] or [low, high] with low <= high"


@dataclass(frozen=True)
class SpikingPopulationSpec:
    """A population of the network's neuron model."""

    size: int = option(doc="number of neurons", check=positive)
    type: Literal["exc", "inh"] = option(doc="exc or inh: fixes the sign of every outgoing weight (Dale's law)")
    params: dict[str, float] = option(
        factory=dict, doc="neuron parameters overriding the model's defaults, by the field names of its "
        "<Model>Params (e.g. tau_m, v_rest, v_th, v_reset, t_ref for lif; ms and mV)",
    )
    drive: float = option(0.0, doc="constant external input (R I_ext, mV for lif/alif)", check=finite)
    drive_until: Optional[float] = option(
        None, doc="time at which the drive switches off (rounded to whole steps): a kick that starts a network "
        "whose activity then sustains itself, like the COBA benchmark's initial stimulation; null: on throughout",
        unit="ms", check=positive,
    )
    init_v: list[float] = option(
        factory=list, doc="[low, high]: initial membrane potentials drawn uniformly (mV for lif/alif); "
        "[]: the model's resting state", check=_range,
    )


@dataclass(frozen=True)
class SpikingProjectionSpec:
    """Sparse random synapses from one population to another, exponential, current- or conductance-based."""

    source: str = option(doc="source population")
    target: str = option(doc="target population")
    weight: float = option(doc="current synapses: jump of the synaptic current per spike (R I, mV for lif/alif), "
                           "> 0 from exc, < 0 from inh; conductance synapses: jump of the conductance per spike in "
                           "units of the leak conductance (g/g_L, e.g. 6 nS / 10 nS = 0.6), >= 0 whatever the source",
                           check=finite)
    synapse: Literal["current", "conductance"] = option(
        "current", doc="current: the spike adds a current (the CUBA model); conductance (lif, alif): it opens a "
        "conductance g that drives the membrane towards the reversal potential, g (E_rev - v), so its effect "
        "shrinks near E_rev and the membrane's effective time constant is tau_m / (1 + sum g) (the COBA model)",
    )
    reversal: Optional[float] = option(
        None, doc="conductance synapses: reversal potential E_rev (e.g. 0 for excitation, -80 for inhibition); "
        "required for them, unused by current synapses. Above the target's threshold from exc sources, below it "
        "from inh ones (Dale's law)", unit="mV", check=finite,
    )
    connectivity: Literal["fixed_probability", "fixed_indegree"] = option(
        "fixed_probability", doc="fixed_probability: each pair independently with probability p (autapses "
        "allowed, as PyNN's FixedProbabilityConnector); fixed_indegree: K sources per target drawn with replacement",
    )
    p: float = option(0.02, doc="fixed_probability: connection probability", check=_probability)
    K: int = option(0, doc="fixed_indegree: sources per target", check=non_negative)
    tau_syn: float = option(5.0, doc="decay time constant of the synaptic current or conductance", unit="ms",
                            check=positive)
    delay: float = option(0.1, doc="time from a spike to its arrival, a multiple of dt and >= dt", unit="ms",
                          check=positive)


@dataclass(frozen=True)
class SpikingRecordSpec:
    """What a spiking run keeps besides every neuron's spike count and ISI statistics."""

    raster_neurons: int = option(100, doc="neurons per population (the first ones) whose spike times are kept",
                                 check=non_negative)
    rate_bin: float = option(1.0, doc="bin of the population rate time series", unit="ms", check=positive)
    transient: float = option(0.0, doc="initial time left out of rates and ISI statistics", unit="ms",
                              check=non_negative)


@dataclass(frozen=True)
class SpikingSpec:
    """A spiking network: one neuron model, populations and projections."""

    neuron: str = option("lif", doc="the neuron model of every population: a registered spiking model (lif, alif, qif)")
    populations: dict[str, SpikingPopulationSpec] = option(factory=dict, doc="populations by name")
    projections: dict[str, SpikingProjectionSpec] = option(factory=dict, doc="projections by name")
    record: SpikingRecordSpec = option(factory=SpikingRecordSpec, doc="recording settings")

    def _check(self, path: str) -> None:
        if not self.populations:
            raise ConfigError(f"{path}.populations", {}, "at least one population")
        for name, pop in self.populations.items():
            if "tau_syn" in pop.params:
                raise ConfigError(f"{path}.populations.{name}.params.tau_syn", pop.params["tau_syn"],
                                  "no value here: each projection sets its own tau_syn")
        for name, proj in self.projections.items():
            where = f"{path}.projections.{name}"
            for end in ("source", "target"):
                if getattr(proj, end) not in self.populations:
                    raise ConfigError(f"{where}.{end}", getattr(proj, end),
                                      f"one of the populations {', '.join(self.populations)}")
            kind = self.populations[proj.source].type
            if proj.synapse == "conductance":
                if proj.weight < 0:
                    raise ConfigError(f"{where}.weight", proj.weight, ">= 0 (a conductance in units of g_L; the "
                                      "reversal potential sets the sign)")
                if proj.reversal is None:
                    raise ConfigError(f"{where}.reversal", None, "a reversal potential [mV] for a conductance synapse")
            elif (kind == "exc" and proj.weight < 0) or (kind == "inh" and proj.weight > 0):
                raise ConfigError(f"{where}.weight", proj.weight,
                                  f"{'>= 0' if kind == 'exc' else '<= 0'} (source {proj.source} is {kind})")
            if proj.connectivity == "fixed_indegree" and proj.K < 1:
                raise ConfigError(f"{where}.K", proj.K, "an in-degree >= 1 for fixed_indegree")


def check_spiking(spec) -> None:
    """Checks that need the simulation section: delays and bins against dt and duration."""
    sim, net = spec.simulation, spec.spiking
    for name, proj in net.projections.items():
        n = round(proj.delay / sim.dt)
        if n < 1 or abs(n * sim.dt - proj.delay) > 1e-9 * max(1.0, proj.delay):
            raise ConfigError(f"spiking.projections.{name}.delay", proj.delay,
                              f"a whole multiple >= 1 of dt = {sim.dt} ms")
    if net.record.rate_bin < sim.dt:
        raise ConfigError("spiking.record.rate_bin", net.record.rate_bin, f"at least dt = {sim.dt} ms")
    if net.record.transient >= sim.duration:
        raise ConfigError("spiking.record.transient", net.record.transient, f"less than duration = {sim.duration} ms")


@dataclass(frozen=True)
class SpikingAnalysisSpec:
    """Settings of the ``spiking`` analysis (histogram ranges, count bins, raster window)."""

    rate_max: float = option(50.0, doc="upper edge of the firing-rate histogram (analysis.bins bins)", unit="Hz",
                             check=positive)
    cv_max: float = option(3.0, doc="upper edge of the ISI CV histogram (analysis.bins bins)", check=positive)
    count_bin: float = option(
        5.0, doc="bin of the spike counts behind the Fano factor and the synchrony chi", unit="ms", check=positive
    )
    raster_window: float = option(500.0, doc="length of the raster kept for the figure (the run's last ms)",
                                  unit="ms", check=positive)
