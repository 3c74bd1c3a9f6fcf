"""Run the ``spiking:`` section of a job config and label its records as xarray (the simulate stage).

The run file keeps, per batch element: every neuron's spike count, rate and
ISI statistics (after ``spiking.record.transient``), the population rates in
bins of ``spiking.record.rate_bin``, and the spike times of the first
``spiking.record.raster_neurons`` neurons of each population as an event list
(dimension ``spike``; ``spike_element`` is the flat index over the batch axes).
"""

from __future__ import annotations

import dataclasses
import logging
import time

import numpy as np
import torch
import xarray as xr

from einet.measures import spike_statistics as st
from einet.network.spiking import SpikingNetwork
from einet.network.spike_events import run_network
from einet.runs.base import batch_labels, sweep_coords
from einet.config.spiking import check_spiking
from einet.config.sweep import iter_batch_elements
from einet.errors import ConfigError
from einet.neurons import NEURONS
from einet.numeric import ParameterError
from einet.runs.registry import RunKind, register_run

log = logging.getLogger("einet")


def build_network(spec, device: torch.device) -> SpikingNetwork:
    """The batched spiking network of a job: one element per point of its batch axes."""
    from einet.config.sweep import batch_elements

    sim = spec.simulation
    return SpikingNetwork([e.spiking for e in batch_elements(spec)], sim.dt, device=device,
                          dtype=getattr(torch, sim.dtype), seed=sim.seed)


def simulate_spiking(spec, *, progress: bool = True, device: torch.device | None = None) -> xr.Dataset:
    """Integrate a spiking job and return its records (without provenance; see :mod:`einet.io`)."""
    from einet.config.sweep import batch_axes

    started = time.perf_counter()
    device = device or torch.device("cpu")
    net = build_network(spec, device)
    n_steps = int(round(spec.simulation.duration / net.dt))
    events, _ = run_network(net, n_steps, progress=progress, label=f"simulate {spec.job.get('name', spec.name)}")
    ds = to_dataset(spec, net, events, batch_axes(spec), n_steps)
    log.info("%d spikes in %d steps of %d networks of %d neurons", events.count.sum(), n_steps, net.batch_size, net.n)
    ds.attrs["wall_time_s"] = time.perf_counter() - started
    ds.attrs["device"] = str(net.device)
    return ds


def to_dataset(spec, net: SpikingNetwork, events, axes, n_steps: int) -> xr.Dataset:
    """Per-neuron statistics, population rates and the raster subset, with units on everything."""
    rec, dt = spec.spiking.record, net.dt
    batch_dims, batch_shape = [a.name for a in axes], [len(a.values) for a in axes]
    first = int(round(rec.transient / dt))
    kept = st.window(events, first)
    seconds = (n_steps - first) * dt / 1000.0
    counts = st.counts_per_neuron(kept, net.batch_size, net.n)
    isi_mean, isi_cv = st.isi_statistics(kept, net.batch_size, net.n, dt)
    isi_cv2 = st.isi_cv2(kept, net.batch_size, net.n, dt)
    bin_steps = max(int(round(rec.rate_bin / dt)), 1)
    n_bins = n_steps // bin_steps
    population = np.repeat(np.arange(len(net.sizes)), net.sizes)
    pop_counts = st.binned_counts(events, net.batch_size, population, len(net.sizes), 0, bin_steps, n_bins)
    pop_rate = pop_counts / np.asarray(net.sizes, dtype=float)[:, None] / (bin_steps * dt / 1000.0)
    raster_mask = np.concatenate([np.arange(size) < rec.raster_neurons for size in net.sizes])
    in_raster = raster_mask[events.neuron]

    def shaped(array, axis=0):
        return array.reshape(array.shape[:axis] + tuple(batch_shape) + array.shape[axis + 1:])

    data = {
        "spike_count": (batch_dims + ["neuron"], shaped(counts.astype(np.int64)),
                        {"units": "1", "long_name": "spikes per neuron after the transient"}),
        "rate": (batch_dims + ["neuron"], shaped(counts / seconds),
                 {"units": "Hz", "long_name": "firing rate per neuron after the transient"}),
        "isi_mean": (batch_dims + ["neuron"], shaped(isi_mean),
                     {"units": "ms", "long_name": "mean inter-spike interval per neuron (NaN: under 3 spikes)"}),
        "isi_cv": (batch_dims + ["neuron"], shaped(isi_cv),
                   {"units": "1", "long_name": "coefficient of variation of the inter-spike intervals "
                                               "(NaN: under 3 spikes)"}),
        "isi_cv2": (batch_dims + ["neuron"], shaped(isi_cv2),
                    {"units": "1", "long_name": "mean local variation CV2 of consecutive inter-spike intervals "
                                                "(Holt et al. 1996; NaN: under 3 spikes)"}),
        "population_rate": (batch_dims + ["population", "time"], shaped(pop_rate),
                            {"units": "Hz", "long_name": "population firing rate per bin"}),
        "spike_time": (("spike",), events.step[in_raster] * dt,
                       {"units": "ms", "long_name": "spike time (raster neurons)"}),
        "spike_neuron": (("spike",), events.neuron[in_raster],
                         {"units": "1", "long_name": "neuron index of each raster spike"}),
        "spike_element": (("spike",), events.batch[in_raster],
                          {"units": "1", "long_name": "flat batch index (C order over the batch axes) of each "
                                                      "raster spike"}),
    }
    labels = np.array(net.population_of())
    coords = {
        "neuron": ("neuron", np.arange(net.n), {"units": "1", "long_name": "neuron index"}),
        "neuron_population": ("neuron", labels, {"long_name": "population of each neuron"}),
        "in_raster": ("neuron", raster_mask.astype(np.int8),
                      {"units": "1", "long_name": "1 where the neuron's spike times are kept"}),
        "population": ("population", np.array(net.population_names), {"long_name": "population name"}),
        "population_size": ("population", np.array(net.sizes), {"units": "1", "long_name": "neurons per population"}),
        "time": ("time", (np.arange(n_bins) + 0.5) * bin_steps * dt, {"units": "ms", "long_name": "bin centre"}),
    }
    coords.update(sweep_coords(spec, axes))
    ds = xr.Dataset(data, coords=coords)
    ds.attrs.update({"experiment": spec.name, "job": spec.job.get("name", "default"), "dt_ms": dt,
                     "duration_ms": n_steps * dt, "transient_ms": first * dt, "neuron_model": net.model_name,
                     "batch_labels": "; ".join(batch_labels(axes))})
    return ds


def check_spiking_models(spec) -> None:
    """The spiking section against the neuron registry: a known model, parameters it has, conductance synapses
    only on models with a threshold, reversal potentials on the side of it that the source's type promises."""
    net = spec.spiking
    if net.neuron not in NEURONS:
        raise ConfigError("spiking.neuron", net.neuron, f"a registered spiking neuron model: {', '.join(NEURONS.names())}")
    model = NEURONS.get(net.neuron)
    fields = {f.name for f in dataclasses.fields(model.params)}
    for name, pop in net.populations.items():
        for key in pop.params:
            if key not in fields:
                raise ConfigError(f"spiking.populations.{name}.params.{key}", pop.params[key],
                                  f"a parameter of {net.neuron}: {', '.join(sorted(fields))}")
    for element in iter_batch_elements(spec):  # the model's own ranges (v_reset below v_th, ...), per element
        for name, pop in element.spiking.populations.items():
            try:
                model.params(**pop.params)
            except ParameterError as err:
                label = " (in one of the batch elements)" if spec.sweep.batch else ""
                raise ConfigError(f"spiking.populations.{name}.params.{err.key}", err.value,
                                  f"{err.expected}{label}") from None
    for name, proj in net.projections.items():
        if proj.synapse != "conductance":
            continue
        where, kind = f"spiking.projections.{name}", net.populations[proj.source].type
        if "v_th" not in fields:
            raise ConfigError(f"{where}.synapse", "conductance",
                              f"current for a {net.neuron} network (conductance synapses need lif or alif)")
        v_th = net.populations[proj.target].params.get("v_th", model.params().v_th)
        if (kind == "exc") != (proj.reversal > v_th):
            raise ConfigError(f"{where}.reversal", proj.reversal,
                              f"{'above' if kind == 'exc' else 'at or below'} the threshold v_th = {v_th} mV of "
                              f"{proj.target} (source {proj.source} is {kind})")
    check_spiking(spec)


def _run(spec, *, device: torch.device, progress: bool = True) -> xr.Dataset:
    return simulate_spiking(spec, progress=progress, device=device)


register_run(RunKind(
    name="spiking", doc="a network of spiking neurons (the spiking section)", stage="simulate", run=_run,
    selected_by="spiking", uses_model=False, check=check_spiking_models, gpu_capable=True,
    writes=tuple((
        "in_raster isi_cv isi_cv2 isi_mean neuron neuron_population population population_rate "
        "population_size rate spike_count spike_element spike_neuron spike_time time"
    ).split()),
))
