"""The ``analysis:`` section, tagged by ``kind``: which analysis turns a run into summary numbers, with its own keys.

The analyses live in :mod:`einet.analysis` (one file each, registered in ``ANALYSES`` with the
run kinds they accept); their options are declared here, with the rest of the schema, so an
experiment file is checked completely without loading torch. An analysis without options of
its own needs no entry here.
"""

from __future__ import annotations

from dataclasses import dataclass

from einet.config.information import RecurrentEISpec
from einet.config.serial_bias import SerialBiasSpec
from einet.config.spiking import SpikingAnalysisSpec
from einet.fields import non_negative, option, positive


@dataclass(frozen=True)
class AnalysisSpec:
    """Which analysis turns a run into summary numbers."""

    kind: str = option(
        "balance",
        doc="a registered analysis (einet.analysis.ANALYSES) applied to every run, one that accepts the "
        "experiment's run kind: balance (E/I balance vs theory), ring (ODR memory), "
        "multistability (uniform, bump or bistable per parameter set, from two initial states), "
        "dual (sample and distractor decoded from the low-rank overlaps in the 12 dual-task conditions), "
        "decision (choices and psychometric curve of the perceptual decision task), "
        "recurrent_ei (effective information of the network's one-step and unrolled maps) or information "
        "(a trained classifier's EI history with causal-plane coordinates; needs training.kind: classifier) or "
        "serial_bias (error against the previous cue, with a bootstrapped fit; needs a serial_odr task) or "
        "learning (a trained network's learning curves and final accuracy; needs training.kind: network) or "
        "spiking (rates, ISI CV, Fano factor and synchrony of a spiking network; needs a spiking section) or "
        "reservoir (held-out R² of the ridge and FORCE readouts; needs a reservoir section) or "
        "stdp (weights of correlated and independent inputs over time, final weight distributions and the "
        "postsynaptic rate of a neuron learning by STDP; needs an stdp section) or "
        "task_training (a rate network trained on its task: loss and errors over training, and the trained "
        "against the initial network; needs training.kind: task)",
    )


def _bins(doc: str):
    return option(40, doc=doc, check=positive)


@dataclass(frozen=True)
class BalanceAnalysisSpec(AnalysisSpec):
    """E/I balance against the mean-field theory."""

    bins: int = _bins("bins of the rate histograms")
    active_threshold: float = option(
        0.01,
        doc="a neuron counts as active if its time-averaged rate exceeds this fraction of its "
        "population's mean rate (relative, so slowly decaying silent neurons do not count)",
        check=non_negative,
    )


@dataclass(frozen=True)
class MultistabilityAnalysisSpec(AnalysisSpec):
    """Uniform, bump or bistable per parameter set, from two initial states."""

    population: str = option("", doc="the population whose bump is read (default: the first one)")
    start_axis: str = option(
        "start",
        doc="the batch axis over an init_modulation; its smallest value is the uniform start, its largest the "
        "bump start",
    )
    bump_threshold: float = option(
        0.25, doc="a steady state with persistence m1/m0 above this counts as a bump", check=positive)


@dataclass(frozen=True)
class RingAnalysisSpec(AnalysisSpec):
    """ODR memory on a ring, with the check that no bump is there before the cue."""

    bump_threshold: float = option(
        0.25, doc="persistence m1/m0 above which the cued ring holds a bump; before the cue (the end of "
        "fixation) every trial must be below it (the baseline check)", check=positive)


@dataclass(frozen=True)
class RecurrentEIAnalysisSpec(AnalysisSpec):
    ei: RecurrentEISpec = option(factory=RecurrentEISpec, doc="effective information of the network's maps")


@dataclass(frozen=True)
class SerialBiasAnalysisSpec(AnalysisSpec):
    serial_bias: SerialBiasSpec = option(factory=SerialBiasSpec, doc="the serial-bias fit")


@dataclass(frozen=True)
class SpikingAnalysisKindSpec(AnalysisSpec):
    bins: int = _bins("bins of the rate and ISI-CV histograms")
    spiking: SpikingAnalysisSpec = option(factory=SpikingAnalysisSpec, doc="spike statistics")


@dataclass(frozen=True)
class StdpAnalysisSpec(AnalysisSpec):
    bins: int = _bins("bins of the final weight histogram over [0, 1] of the weight bound")


AnalysisSpec._variants = {
    "balance": BalanceAnalysisSpec, "multistability": MultistabilityAnalysisSpec, "ring": RingAnalysisSpec,
    "recurrent_ei": RecurrentEIAnalysisSpec, "serial_bias": SerialBiasAnalysisSpec,
    "spiking": SpikingAnalysisKindSpec, "stdp": StdpAnalysisSpec,
}
