"""Run one job: build the batched network, integrate, and return the records as xarray."""

from __future__ import annotations

import time

import numpy as np
import torch
import xarray as xr

from einet.config.experiment import ExperimentSpec
from einet.errors import ConfigError
from einet.config.sweep import Axis, batch_axes, batch_elements, iter_batch_elements
from einet.network.rate import RateNetwork
from einet.synapses import connectivity
from einet.synapses.connectivity import network_low_rank_vectors
from einet.progress import progress_bar
from einet.runs.base import batch_labels, rate_units, resolve_device, sweep_coords, tile_stimulus
from einet.runs.recorder import Recorder
from einet.runs.registry import RunKind, register_run
from einet.tasks import TASKS
from einet.threads import governed

LONG_NAMES = {
    "rate": ("rate", "1"),
    "current_exc": ("recurrent input from excitatory populations", "1"),
    "current_inh": ("recurrent input from inhibitory populations", "1"),
    "current_ext": ("external input (drive and noise)", "1"),
}


def build_network(spec: ExperimentSpec, device: torch.device | None = None, trials: int = 1) -> RateNetwork:
    """The batched network of a job: one element per point of the batch axes (times ``trials``, innermost)."""
    sim = spec.simulation
    return RateNetwork(
        [e.model for e in batch_elements(spec) for _ in range(trials)],
        sim.dt,
        device=device or resolve_device(sim.device),
        dtype=getattr(torch, sim.dtype),
        seed=sim.seed,
        kernels=sim.kernels,
    )


def simulate(spec: ExperimentSpec, *, progress: bool = True, device: torch.device | None = None,
             task=None) -> xr.Dataset:
    """Integrate a job and return its records (without provenance; see :mod:`einet.io`).

    With a ``task`` (see :mod:`einet.tasks`; by default the one the config's
    ``task`` section describes) every batch element runs each of
    the task's trials (a ``trial`` dimension, innermost, with the task's
    conditions as coordinates), the run lasts the task's schedule, and the
    time axis carries the epoch of each sample. A sequential task (sessions of
    trials, :mod:`einet.tasks.sequence`) is another run kind,
    :mod:`einet.runs.sessions`.
    """
    started = time.perf_counter()
    if task is None and spec.task is not None:
        from einet.tasks.build import task_for

        task = task_for(spec, device or resolve_device(spec.simulation.device))
    if getattr(task, "sequential", False):
        raise ValueError(f"{type(task).__name__} is a sequential task: run it with einet.runs.sessions.simulate_sessions "
                         "(einet.runs.simulate picks the run kind from the config)")
    axes = batch_axes(spec)
    trials = task.batch_size if task is not None else 1
    net = build_network(spec, device, trials)
    if task is not None:
        n_steps = task.schedule.n_steps(net.dt)
        axes = axes + [Axis(name="trial", path="trial", values=tuple(range(trials)))]
    else:
        n_steps = int(round(spec.simulation.duration / net.dt))
    repeats = net.batch_size // trials
    recorder = Recorder(net, spec.simulation.record, n_steps, spec.simulation.max_rate, batch_labels(axes))
    state = net.initial_state()
    bar = progress_bar(total=n_steps, desc=f"simulate {spec.job.get('name', spec.name)}", unit="step",
                       enabled=progress, mininterval=5.0)
    with torch.inference_mode(), governed(net.device) as governor:
        for step in range(n_steps):
            stimulus = tile_stimulus(task.stimulus(step, net.dt), repeats) if task is not None else None
            new_state, currents = net.step(state, stimulus)
            if recorder.wants(step):
                recorder.observe(step, state, currents)
                bar.update(recorder.every)
            state = new_state
            governor.tick()
        recorder.check_finite(n_steps, state.rates, final=True)
    bar.close()
    ds = to_dataset(spec, net, recorder, axes)
    if task is not None:
        ds = _with_task_coordinates(ds, task)
    ds.attrs["wall_time_s"] = time.perf_counter() - started
    ds.attrs["device"] = str(net.device)
    return ds


def _with_task_coordinates(ds: xr.Dataset, task) -> xr.Dataset:
    coords = {
        "epoch": ("time", np.array([task.schedule.epoch_at(float(t)) or "" for t in ds.time.values]),
                  {"long_name": "task epoch of each sample"}),
    }
    for name, values in task.conditions().items():
        values = np.asarray(values.cpu() if hasattr(values, "cpu") else values)
        attrs = {"long_name": f"{name.replace('_', ' ')} of each trial"}
        if values.dtype.kind not in "UO":  # labels (a dual task's sample and test) have no units
            attrs["units"] = "rad" if name.endswith("angle") else "1"
        coords[name] = ("trial", values, attrs)
    ds = ds.assign_coords(coords)
    ds.attrs["task"] = type(task).__name__
    return ds


def to_dataset(spec: ExperimentSpec, net: RateNetwork, rec: Recorder, axes: list[Axis]) -> xr.Dataset:
    """Turn the recorder's tensors into a labelled dataset with units on everything."""
    batch_dims = [a.name for a in axes]
    batch_shape = [len(a.values) for a in axes]
    pops = net.population_names
    labels = np.concatenate([[name] * n for name, n in zip(pops, net.sizes)])
    sample_global = np.concatenate(
        [np.asarray(s, dtype=np.int64) + off for s, off in zip(rec.samples, np.cumsum([0] + net.sizes[:-1]))]
    )

    def unbatch(array: np.ndarray, axis: int) -> np.ndarray:
        """Split the flat batch axis into the batch dimensions (C order)."""
        shape = array.shape[:axis] + tuple(batch_shape) + array.shape[axis + 1 :]
        return array.reshape(shape)

    data = {}
    for var, (long_name, units) in LONG_NAMES.items():
        units = rate_units(spec) if var == "rate" else units
        means = rec.means[var].cpu().numpy()  # [time, batch, pop]
        means = np.moveaxis(unbatch(means, 1), 0, -1)  # [*batch, pop, time]
        data[f"{var}_mean"] = (batch_dims + ["population", "time"], means,
                               {"units": units, "long_name": f"population mean {long_name}"})
        avg = unbatch(rec.averages()[var], 0)
        data[f"{var}_avg"] = (batch_dims + ["neuron"], avg,
                              {"units": units, "long_name": f"time-averaged {long_name} per neuron"})
        if var in rec.traces:
            traces = np.moveaxis(unbatch(rec.traces[var].cpu().numpy(), 1), 0, -2)  # [*batch, time, sample]
            data[f"{var}_trace"] = (batch_dims + ["time", "sample"], traces,
                                    {"units": units, "long_name": f"{long_name} of sampled neurons"})
    bump_names = {"m0": ("mean rate over the ring", rate_units(spec)),
                  "m1": ("first-harmonic amplitude of the rates", rate_units(spec)),
                  "phase": ("population-vector phase of the rates", "rad")}
    for var, values in rec.bump.items():
        long_name, units = bump_names[var]
        data[f"bump_{var}"] = (batch_dims + ["population", "time"], np.moveaxis(unbatch(values.cpu().numpy(), 1), 0, -1),
                               {"units": units, "long_name": long_name})
    if rec.stp_projections:
        for var, long_name in (("u", "release probability u"), ("x", "available resources x")):
            means = np.moveaxis(unbatch(rec.stp_means[var].cpu().numpy(), 1), 0, -1)  # [*batch, proj, time]
            data[f"stp_{var}_mean"] = (batch_dims + ["stp_projection", "time"], means,
                                       {"units": "1", "long_name": f"mean short-term plasticity {long_name} "
                                                                   "over presynaptic neurons"})
    if rec.overlaps is not None:
        overlaps = np.moveaxis(unbatch(rec.overlaps.cpu().numpy(), 1), 0, -1)  # [*batch, pop, rank, time]
        data["overlap"] = (batch_dims + ["population", "rank", "time"], overlaps,
                           {"units": "1", "long_name": "overlap (1/N) sum_i m_i^k r_i of the rates with the "
                                                       "low-rank vector m^k"})
    for var, long_name in (("u", "release probability u"), ("x", "available resources x")):
        if var in rec.stp_traces:
            traces = np.moveaxis(unbatch(rec.stp_traces[var].cpu().numpy(), 1), 0, -2)  # [*batch, proj, time, s]
            data[f"stp_{var}_trace"] = (batch_dims + ["stp_projection", "time", "stp_sample"], traces,
                                        {"units": "1", "long_name": f"short-term plasticity {long_name} of traced "
                                                                    "presynaptic neurons (NaN: padding)"})
    coords = {
        "time": ("time", rec.times, {"units": "ms", "long_name": "time"}),
        "population": ("population", np.array(pops), {"long_name": "population name"}),
        "neuron": ("neuron", np.arange(len(labels)), {"units": "1", "long_name": "neuron index"}),
        "neuron_population": ("neuron", labels, {"long_name": "population of each neuron"}),
        "sample": ("sample", np.arange(len(sample_global)), {"units": "1", "long_name": "traced neuron"}),
        "sample_neuron": ("sample", sample_global, {"units": "1", "long_name": "neuron index of each traced neuron"}),
        "population_size": ("population", np.array(net.sizes), {"units": "1", "long_name": "neurons per population"}),
    }
    if rec.overlaps is not None:
        coords["rank"] = ("rank", np.arange(1, rec.overlaps.shape[-1] + 1),
                          {"units": "1", "long_name": "index k of the low-rank vector pair"})
    if rec.stp_traces:
        width = rec.stp_traces["u"].shape[-1]
        neuron = np.full((len(rec.stp_samples), width), -1, dtype=np.int64)
        for i, samples in enumerate(rec.stp_samples):
            neuron[i, : len(samples)] = samples
        coords["stp_sample_neuron"] = (("stp_projection", "stp_sample"), neuron,
                                       {"units": "1", "long_name": "index within the source population of each "
                                                                   "traced presynaptic neuron (-1: padding)"})
    if rec.stp_projections:
        coords["stp_projection"] = ("stp_projection", np.array([n for _, n in rec.stp_projections]),
                                    {"long_name": "projection with short-term plasticity"})
    coords.update(sweep_coords(spec, axes))
    ds = xr.Dataset(data, coords=coords)
    ds.attrs["experiment"] = spec.name
    ds.attrs["job"] = spec.job.get("name", "default")
    ds.attrs["averaged_samples"] = rec.n_averaged
    ds.attrs["average_from_ms"] = spec.simulation.record.average_from
    return ds


def check_rate(spec: ExperimentSpec) -> None:
    """What a rate run needs across sections: recording and time constants against dt, the task's population
    and patterns against the model."""
    sim, model = spec.simulation, spec.model
    if sim.record.every < sim.dt:
        raise ConfigError("simulation.record.every", sim.record.every, f"at least dt = {sim.dt} ms")
    if spec.task is None and sim.record.average_from >= sim.duration:  # a task sets its own length
        raise ConfigError(
            "simulation.record.average_from", sim.record.average_from, f"less than duration = {sim.duration} ms"
        )
    if spec.task is not None and spec.task.population not in model.populations:
        raise ConfigError("task.population", spec.task.population,
                          f"one of the populations {', '.join(model.populations)}")
    if sim.record.overlaps and model.low_rank is None:
        raise ConfigError("simulation.record.overlaps", True, "false unless model.low_rank defines vectors")
    if spec.task is not None and getattr(spec.task, "patterns", None) == "low_rank":
        rank = model.low_rank.rank if model.low_rank is not None else 0
        if not TASKS.get(spec.task.kind).patterns or rank < 2:
            raise ConfigError("task.patterns", "low_rank",
                              f"random, unless the task is dual or go_nogo and model.low_rank has rank >= 2 "
                              f"(kind {spec.task.kind}, rank {rank})")
    for name, pop in model.populations.items():
        if 0 < pop.tau <= sim.dt:
            raise ConfigError(
                f"model.populations.{name}.tau", pop.tau, f"greater than dt = {sim.dt} ms (or 0 for instantaneous)"
            )
    for name, proj in model.projections.items():
        if 0 < proj.tau_syn <= sim.dt:
            raise ConfigError(
                f"model.projections.{name}.tau_syn", proj.tau_syn, f"greater than dt = {sim.dt} ms (or 0)"
            )
    check_low_rank_signs(spec)


def check_low_rank_signs(spec: ExperimentSpec) -> None:
    """Dale's law for all-to-all low-rank projections, before anything runs: the vectors are drawn (or read)
    exactly as the network will draw them, and every batch element's strength is checked against every
    pair. (A sparse projection's check needs its sampled synapses and runs when the network is built.)"""
    model = spec.model
    checked = [name for name, proj in model.projections.items()
               if proj.connectivity == "all_to_all" and model.populations[proj.source].type != "mixed"
               and model.low_rank is not None]
    strengths = {name: [] for name in checked}
    for element in iter_batch_elements(spec) if checked else ():
        for name in checked:
            strengths[name].append(element.model.projections[name].low_rank)
    checked = [name for name in checked if any(s != 0 for s in strengths[name])]
    if not checked:
        return
    vectors = network_low_rank_vectors(model, spec.simulation.seed)
    for name in checked:
        proj = model.projections[name]
        connectivity.check_low_rank_signs(name, (vectors[proj.target][0], vectors[proj.source][1]), strengths[name])


def _run(spec: ExperimentSpec, *, device: torch.device, progress: bool = True) -> xr.Dataset:
    return simulate(spec, progress=progress, device=device)


register_run(RunKind(
    name="rate", doc="a rate network (model) integrated over simulation.duration or its task's trials",
    stage="simulate", run=_run, check=check_rate, gpu_capable=True,
    writes=tuple((
        "bump_m0 bump_m1 bump_phase choice coherence cue_angle current_exc_avg current_exc_mean "
        "current_ext_avg current_ext_mean current_inh_avg current_inh_mean epoch neuron "
        "neuron_population overlap paired population population_size rank rate_avg rate_mean "
        "rate_trace sample sample_neuron stp_projection stp_sample_neuron task test time trial "
        "stp_u_* stp_x_*"
    ).split()),
))
