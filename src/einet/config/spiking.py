"""The optional ``spiking:`` section: a network of spiking neurons run instead of a rate model.

A spiking experiment sets ``model: null`` and describes its network here:
populations of one registered neuron model (:data:`einet.spiking.NEURONS`),
sparse random projections with a weight, a synaptic time constant and a
transmission delay. ``simulation`` still gives dt, duration, device, dtype
and seed; ``analysis.kind`` is ``spiking``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

from einet.errors import ConfigError
from einet.fields import finite, non_negative, option, positive


def _known_neuron(name) -> str | None:
    from einet.spiking import NEURONS

    return None if name in NEURONS else f"a registered spiking neuron model: {', '.join(NEURONS.names())}"


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
    init_v: list[float] = option(
        factory=list, doc="[low, high]: initial membrane potentials drawn uniformly (mV for lif/alif); "
        "[]: the model's resting state", check=_range,
    )


@dataclass(frozen=True)
class SpikingProjectionSpec:
    """Sparse random synapses from one population to another, current-based and exponential."""

    source: str = option(doc="source population")
    target: str = option(doc="target population")
    weight: float = option(doc="jump of the synaptic current per spike (R I, mV for lif/alif); "
                           "> 0 from exc, < 0 from inh", check=finite)
    connectivity: Literal["fixed_probability", "fixed_indegree"] = option(
        "fixed_probability", doc="fixed_probability: each pair independently with probability p (autapses "
        "allowed, as PyNN's FixedProbabilityConnector); fixed_indegree: K sources per target drawn with replacement",
    )
    p: float = option(0.02, doc="fixed_probability: connection probability", check=_probability)
    K: int = option(0, doc="fixed_indegree: sources per target", check=non_negative)
    tau_syn: float = option(5.0, doc="decay time constant of the synaptic current", unit="ms", check=positive)
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

    neuron: str = option("lif", doc="the neuron model of every population (lif, alif, qif)", check=_known_neuron)
    populations: dict[str, SpikingPopulationSpec] = option(factory=dict, doc="populations by name")
    projections: dict[str, SpikingProjectionSpec] = option(factory=dict, doc="projections by name")
    record: SpikingRecordSpec = option(factory=SpikingRecordSpec, doc="recording settings")

    def _check(self, path: str) -> None:
        from einet.spiking import NEURONS

        if not self.populations:
            raise ConfigError(f"{path}.populations", {}, "at least one population")
        fields = {f.name for f in dataclasses.fields(NEURONS.get(self.neuron).params)}
        for name, pop in self.populations.items():
            for key in pop.params:
                if key == "tau_syn":
                    raise ConfigError(f"{path}.populations.{name}.params.tau_syn", pop.params[key],
                                      "no value here: each projection sets its own tau_syn")
                if key not in fields:
                    raise ConfigError(f"{path}.populations.{name}.params.{key}", pop.params[key],
                                      f"a parameter of {self.neuron}: {', '.join(sorted(fields))}")
        for name, proj in self.projections.items():
            where = f"{path}.projections.{name}"
            for end in ("source", "target"):
                if getattr(proj, end) not in self.populations:
                    raise ConfigError(f"{where}.{end}", getattr(proj, end),
                                      f"one of the populations {', '.join(self.populations)}")
            kind = self.populations[proj.source].type
            if (kind == "exc" and proj.weight < 0) or (kind == "inh" and proj.weight > 0):
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
