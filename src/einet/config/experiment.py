"""The experiment file: model, simulation, analysis, figures and sweep.

Each section checks itself; what needs the registries (which run kind the file
describes, which analyses and figures fit it) is checked by :mod:`einet.experiment`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Optional

from einet.fields import finite as finite_number
from einet.fields import non_negative, option, positive
from einet.errors import ConfigError
from einet.config.information import RecurrentEISpec
from einet.config.serial_bias import SerialBiasSpec
from einet.config.reservoir import ReservoirSpec
from einet.config.spiking import SpikingAnalysisSpec, SpikingSpec
from einet.config.stdp import StdpSpec
from einet.config.training import TrainingSpec
from einet.config.model import ModelSpec

RECORDABLE = ("rate", "current_exc", "current_inh", "current_ext")


def _known_variables(values) -> str | None:
    bad = [v for v in values if v not in RECORDABLE]
    return f"variables among {', '.join(RECORDABLE)}" if bad else None


@dataclass(frozen=True)
class RecordSpec:
    """What the recorder keeps. Population means of every variable are always kept."""

    every: float = option(1.0, doc="interval between recorded samples", unit="ms", check=positive)
    variables: list[str] = option(
        factory=lambda: ["rate"],
        doc=f"variables traced for the sampled neurons: {', '.join(RECORDABLE)}",
        check=_known_variables,
    )
    neurons: int = option(10, doc="neurons traced per population (evenly spaced indices)", check=non_negative)
    bump: bool = option(
        False,
        doc="also keep, per population and sample, the population-vector decoding of the rates on the "
        "ring: mean m0, first-harmonic amplitude m1 and phase (see einet.measures.bump)",
    )
    overlaps: bool = option(
        False,
        doc="also keep, per population and sample, the overlaps (1/N) sum_i m_i^k r_i of the rates with the "
        "population's low-rank vectors m^k (model.low_rank): the latent variables of a low-rank network",
    )
    average_from: float = option(
        0.0,
        doc="start of the window over which per-neuron time averages of every variable are kept",
        unit="ms",
        check=non_negative,
    )


@dataclass(frozen=True)
class SimulationSpec:
    """How to integrate: time step, duration, device, precision, seed."""

    dt: float = option(0.1, doc="integration time step", unit="ms", check=positive)
    duration: float = option(1000.0, doc="simulated time", unit="ms", check=positive)
    device: Literal["auto", "cpu", "cuda"] = option("auto", doc="auto picks cuda when available")
    dtype: Literal["float32", "float64"] = option("float32", doc="floating point precision")
    method: Literal["integrate", "fixed_point"] = option("integrate", doc="integrate over duration, or fixed_point: step the noise-free network until its rates stop changing (at most duration; einet.runs.fixed_point)")
    seed: int = option(0, doc="seed of connectivity, noise and sampling", check=non_negative)
    kernels: Literal["auto", "torch"] = option(
        "auto",
        doc="auto: on the CPU, use einet's compiled kernels when a C++ compiler is available (built once per "
        "machine): batches of 2+ multiply sparse projections with a pattern kernel, and the short-term "
        "plasticity and threshold-linear updates run fused; torch: plain torch everywhere (torch.sparse). "
        "Both give the same numbers up to rounding",
    )
    max_rate: float = option(
        1e6, doc="a rate above this (or NaN/inf) stops the run as diverged", check=positive
    )
    record: RecordSpec = option(factory=RecordSpec, doc="recorder settings")


@dataclass(frozen=True)
class AnalysisSpec:
    """Which analysis turns a run into summary numbers."""

    kind: str = option(
        "balance",
        doc="a registered analysis (einet.analysis.ANALYSES) applied to every run, one that accepts the "
        "experiment's run kind: balance (E/I balance vs theory), ring (ODR memory), "
        "multistability (uniform, bump or bistable per parameter set, from two initial states), "
        "dual (sample and distractor decoded from the low-rank overlaps in the 12 dual-task conditions), "
        "recurrent_ei (effective information of the network's one-step and unrolled maps) or information "
        "(a trained classifier's EI history with causal-plane coordinates; needs a training section) or "
        "serial_bias (error against the previous cue, with a bootstrapped fit; needs a serial_odr task) or "
        "learning (a trained network's learning curves and final accuracy; needs training.network) or "
        "spiking (rates, ISI CV, Fano factor and synchrony of a spiking network; needs a spiking section) or "
        "reservoir (held-out R² of the ridge and FORCE readouts; needs a reservoir section) or "
        "stdp (weights of correlated and independent inputs over time, final weight distributions and the "
        "postsynaptic rate of a neuron learning by STDP; needs an stdp section) or "
        "task_training (a rate network trained on its task: loss and errors over training, and the trained "
        "against the initial network; needs training.recurrent)",
    )
    bins: int = option(40, doc="bins of the rate histograms", check=positive)
    active_threshold: float = option(
        0.01,
        doc="a neuron counts as active if its time-averaged rate exceeds this fraction of its "
        "population's mean rate (relative, so slowly decaying silent neurons do not count)",
        check=non_negative,
    )
    population: str = option(
        "", doc="multistability: the population whose bump is read (default: the first one)"
    )
    start_axis: str = option(
        "start",
        doc="multistability: the batch axis over an init_modulation; its smallest value is the uniform "
        "start, its largest the bump start",
    )
    bump_threshold: float = option(
        0.25,
        doc="multistability: a steady state with persistence m1/m0 above this counts as a bump",
        check=positive,
    )
    ei: RecurrentEISpec = option(factory=RecurrentEISpec, doc="settings of the recurrent_ei analysis")
    serial_bias: SerialBiasSpec = option(factory=SerialBiasSpec, doc="settings of the serial_bias analysis")
    spiking: SpikingAnalysisSpec = option(factory=SpikingAnalysisSpec, doc="settings of the spiking analysis")


@dataclass(frozen=True)
class TaskSpec:
    """A behavioural task run on every parameter set; its trials become the ``trial`` dimension."""

    kind: str = option(
        doc="a registered task (einet.tasks.TASKS): odr, dual (DPA with Go/NoGo distractors), go_nogo, or "
        "serial_odr (sessions of ODR trials with random cues whose network state carries over from trial to "
        "trial; see einet.tasks.sequence)")
    population: str = option(doc="the population that receives the stimuli")
    trials: int = option(
        8, doc="odr: number of evenly spaced cue angles (unless cue_angles is given); dual, go_nogo: "
        "repeats of each condition; serial_odr: trials per session", check=positive,
    )
    cue_angles: list[float] = option(factory=list, doc="odr cue angles (default: `trials` evenly spaced)", unit="deg")
    strength: float = option(1.0, doc="stimulus amplitude", check=finite_number)
    footprint: float = option(30.0, doc="odr: standard deviation of the Gaussian cue", unit="deg", check=positive)
    erase_strength: float = option(-1.0, doc="odr: uniform input during the erase epoch", check=finite_number)
    epochs: dict[str, float] = option(
        factory=dict,
        doc="epoch durations overriding the task's defaults; odr: fixation, cue, delay, erase; dual: fixation, "
        "sample, delay, distractor, test, response; go_nogo: fixation, stimulus, response; serial_odr: the odr "
        "epochs and iti (inter-trial interval after the delay and erase, without input)",
        unit="ms",
    )
    seed: int = option(0, doc="seed of the random stimulus patterns (dual, go_nogo) or cue angles (serial_odr)",
                       check=non_negative)
    sessions: int = option(1, doc="serial_odr: independent sessions run side by side (the session dimension)",
                           check=positive)
    reset: bool = option(False, doc="serial_odr: re-initialise the network state before every trial (the control "
                         "without trial-to-trial coupling)")
    patterns: Literal["random", "low_rank"] = option(
        "random",
        doc="dual, go_nogo: random Gaussian patterns, or low_rank: samples A, B = +m^1, -m^1 and distractors "
        "Go, NoGo = +m^2, -m^2 of the population's low-rank vectors (model.low_rank, rank >= 2), tests random",
    )

    def _check(self, path: str) -> None:
        for name, duration in self.epochs.items():
            if duration < 0:
                raise ConfigError(f"{path}.epochs.{name}", duration, "a duration >= 0")


@dataclass(frozen=True)
class SweepSpec:
    """Parameter sweeps. Keys are dotted paths (``model.K``) or names with ``{path, values}``."""

    grid: dict[str, Any] = option(
        factory=dict, doc="axes that become separate Snakemake jobs (seeds, sizes, model variants)"
    )
    batch: dict[str, Any] = option(
        factory=dict, doc="axes vectorised inside one job as a leading tensor dimension"
    )


@dataclass(frozen=True)
class ExperimentSpec:
    """One experiment: everything needed to regenerate its runs, analyses and figures."""

    name: str = option(doc="experiment name; results go to results/<name>/")
    description: str = option("", doc="one line shown in the report")
    model: Optional[ModelSpec] = option(
        factory=ModelSpec, doc="the network; null for an experiment with a training section (it has no network)"
    )
    simulation: SimulationSpec = option(factory=SimulationSpec, doc="integration settings")
    analysis: AnalysisSpec = option(factory=AnalysisSpec, doc="analysis settings")
    task: Optional[TaskSpec] = option(
        None, doc="a behavioural task; with one, a run lasts the task's epochs instead of simulation.duration"
    )
    training: Optional[TrainingSpec] = option(
        None, doc="a classifier trained instead of a network simulated (rule train); null for none"
    )
    spiking: Optional[SpikingSpec] = option(
        None, doc="a spiking network simulated instead of model (set model: null); null for none"
    )
    reservoir: Optional[ReservoirSpec] = option(
        None, doc="a rate reservoir trained with ridge and FORCE readouts instead of model (set model: null)"
    )
    stdp: Optional[StdpSpec] = option(
        None, doc="one LIF neuron whose Poisson inputs learn by STDP, instead of model (set model: null)"
    )
    figures: list[str] = option(factory=list, doc="figures drawn from the experiment's summary")
    sweep: SweepSpec = option(factory=SweepSpec, doc="grid and batch axes")
    scales: dict[str, Any] = option(
        factory=dict,
        doc="named overrides (quick, paper) deep-merged into the file before validation",
    )
    job: dict[str, Any] = option(
        factory=dict, doc="set by expansion: the job name and its grid values (leave unset)"
    )
