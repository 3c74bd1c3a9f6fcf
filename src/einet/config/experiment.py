"""The experiment file: model, simulation, analysis, figures and sweep.

Each section checks itself; what needs the registries (which run kind the file
describes, which analyses and figures fit it) is checked by :mod:`einet.experiment`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Optional

from einet.errors import ConfigError
from einet.fields import non_negative, option, positive, seed_value
from einet.config.reservoir import ReservoirSpec
from einet.config.spiking import SpikingSpec
from einet.config.stdp import StdpSpec
from einet.config.analysis import AnalysisSpec
from einet.config.task import TaskSpec
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


def sample_stride(record: RecordSpec, dt: float) -> int:
    """Steps between recorded samples (at least one)."""
    return max(1, int(round(record.every / dt)))


def record_window_error(n_steps: int, dt: float, record: RecordSpec, duration: float) -> tuple[str, object, str] | None:
    """Why a run of ``n_steps`` steps of ``dt`` would record nothing to report, as (key, value, expected), or None.

    Samples are taken before steps 0, k, 2k, ... (k = ``record.every / dt``); per-neuron averages use the
    samples from ``average_from`` on. A run without a step, or a window without a sample, would exit 0
    with rates of 0, so it is refused before anything runs.
    """
    if n_steps < 1:
        return "simulation.duration", duration, f"at least one step of dt = {dt:g} ms"
    every = sample_stride(record, dt)
    last_sample = ((n_steps - 1) // every) * every
    if int(round(record.average_from / dt)) > last_sample:
        return ("simulation.record.average_from", record.average_from,
                f"at most {last_sample * dt:g} ms, the last sample of a {duration:g} ms run (recorded every "
                f"{every * dt:g} ms), so the averaging window holds at least one sample")
    return None


@dataclass(frozen=True)
class SimulationSpec:
    """How to integrate: time step, duration, device, precision, seed."""

    dt: float = option(0.1, doc="integration time step", unit="ms", check=positive)
    duration: float = option(1000.0, doc="simulated time", unit="ms", check=positive)
    device: Literal["auto", "cpu", "cuda"] = option("auto", doc="auto picks cuda when available")
    dtype: Literal["float32", "float64"] = option("float32", doc="floating point precision")
    method: Literal["integrate", "fixed_point"] = option("integrate", doc="integrate over duration, or fixed_point: step the noise-free network until its rates stop changing (at most duration; einet.runs.fixed_point)")
    seed: int = option(0, doc="seed of connectivity, noise and sampling", check=seed_value)
    kernels: Literal["auto", "torch"] = option(
        "auto",
        doc="auto: on the CPU, use einet's compiled kernels where they can be built or are in the kernel cache "
        "(einet kernels builds them once): sparse projections multiply through a segmented pattern kernel (2-byte indices), the "
        "short-term plasticity and threshold-linear updates run fused, LIF, adaptive-LIF and QIF neurons step in "
        "compiled code; torch: plain torch everywhere (torch.sparse). "
        "Both give the same numbers up to rounding",
    )
    max_rate: float = option(
        1e6, doc="a rate above this (or NaN/inf) stops the run as diverged", check=positive
    )
    threads: Optional[int] = option(
        None, doc="CPU threads of the job: the simulate rule's threads (what Snakemake reserves) and torch's "
        "intra-op threads; null: the rule's default of 2, and torch's choice outside the workflow. A run's "
        "numbers do not depend on it", check=positive,
    )
    record: RecordSpec = option(factory=RecordSpec, doc="recorder settings")


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

    def _check(self, path: str) -> None:
        sim = self.simulation
        if self.model is not None and self.task is None and sim.method == "integrate":  # a task sets its own length
            problem = record_window_error(int(round(sim.duration / sim.dt)), sim.dt, sim.record, sim.duration)
            if problem:
                raise ConfigError(*problem)
