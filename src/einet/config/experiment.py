"""The experiment file: model, simulation, analysis, figures and sweep."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Optional

from einet.fields import finite as finite_number
from einet.fields import non_negative, option, positive
from einet.errors import ConfigError
from einet.model.spec import ModelSpec

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
        "ring: mean m0, first-harmonic amplitude m1 and phase (see einet.analysis.bump)",
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
    seed: int = option(0, doc="seed of connectivity, noise and sampling", check=non_negative)
    sparse_kernel: Literal["auto", "torch"] = option(
        "auto",
        doc="auto: batches of 2+ on the CPU use einet's compiled pattern kernel when a C++ compiler "
        "is available (built once per machine), else torch.sparse; torch: always torch.sparse",
    )
    max_rate: float = option(
        1e6, doc="a rate above this (or NaN/inf) stops the run as diverged", check=positive
    )
    record: RecordSpec = option(factory=RecordSpec, doc="recorder settings")


@dataclass(frozen=True)
class AnalysisSpec:
    """Which analysis turns a run into summary numbers."""

    kind: Literal["balance", "ring"] = option(
        "balance", doc="analysis applied to every run: balance (E/I balance vs theory) or ring (ODR memory)"
    )
    bins: int = option(40, doc="bins of the rate histograms", check=positive)
    active_threshold: float = option(
        0.01,
        doc="a neuron counts as active if its time-averaged rate exceeds this fraction of its "
        "population's mean rate (relative, so slowly decaying silent neurons do not count)",
        check=non_negative,
    )


TASK_EPOCHS = {
    "odr": ("fixation", "cue", "delay", "erase"),
    "dual": ("fixation", "sample", "delay", "distractor", "test", "response"),
    "go_nogo": ("fixation", "stimulus", "response"),
}


@dataclass(frozen=True)
class TaskSpec:
    """A behavioural task run on every parameter set; its trials become the ``trial`` dimension."""

    kind: Literal["odr", "dual", "go_nogo"] = option(doc="odr, dual (DPA with Go/NoGo distractors) or go_nogo")
    population: str = option(doc="the population that receives the stimuli")
    trials: int = option(
        8, doc="odr: number of evenly spaced cue angles (unless cue_angles is given); dual, go_nogo: "
        "repeats of each condition", check=positive,
    )
    cue_angles: list[float] = option(factory=list, doc="odr cue angles (default: `trials` evenly spaced)", unit="deg")
    strength: float = option(1.0, doc="stimulus amplitude", check=finite_number)
    footprint: float = option(30.0, doc="odr: standard deviation of the Gaussian cue", unit="deg", check=positive)
    erase_strength: float = option(-1.0, doc="odr: uniform input during the erase epoch", check=finite_number)
    epochs: dict[str, float] = option(
        factory=dict,
        doc="epoch durations overriding the task's defaults; odr: fixation, cue, delay, erase; dual: fixation, "
        "sample, delay, distractor, test, response; go_nogo: fixation, stimulus, response",
        unit="ms",
    )
    seed: int = option(0, doc="seed of the random stimulus patterns (dual, go_nogo)", check=non_negative)

    def _check(self, path: str) -> None:
        for name, duration in self.epochs.items():
            if name not in TASK_EPOCHS[self.kind]:
                raise ConfigError(f"{path}.epochs.{name}", duration,
                                  f"an epoch of the {self.kind} task: {', '.join(TASK_EPOCHS[self.kind])}")
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
    model: ModelSpec = option(factory=ModelSpec, doc="the network")
    simulation: SimulationSpec = option(factory=SimulationSpec, doc="integration settings")
    analysis: AnalysisSpec = option(factory=AnalysisSpec, doc="analysis settings")
    task: Optional[TaskSpec] = option(
        None, doc="a behavioural task; with one, a run lasts the task's epochs instead of simulation.duration"
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
        from einet.figures import FIGURES

        for i, figure in enumerate(self.figures):
            if figure not in FIGURES:
                raise ConfigError(f"figures[{i}]", figure, f"one of the figures {', '.join(FIGURES.names())}")
        sim = self.simulation
        if sim.record.every < sim.dt:
            raise ConfigError("simulation.record.every", sim.record.every, f"at least dt = {sim.dt} ms")
        if sim.record.average_from >= sim.duration:
            raise ConfigError(
                "simulation.record.average_from", sim.record.average_from, f"less than duration = {sim.duration} ms"
            )
        if self.task is not None and self.task.population not in self.model.populations:
            raise ConfigError("task.population", self.task.population,
                              f"one of the populations {', '.join(self.model.populations)}")
        for name, pop in self.model.populations.items():
            if 0 < pop.tau <= sim.dt:
                raise ConfigError(
                    f"model.populations.{name}.tau", pop.tau, f"greater than dt = {sim.dt} ms (or 0 for instantaneous)"
                )
        for name, proj in self.model.projections.items():
            if 0 < proj.tau_syn <= sim.dt:
                raise ConfigError(
                    f"model.projections.{name}.tau_syn", proj.tau_syn, f"greater than dt = {sim.dt} ms (or 0)"
                )
