"""Run ``simulation.method: fixed_point``: the steady state of a rate network, without a time series.

The network's exponential-Euler step has the same fixed points as its ODE at any
``dt``, so stepping the deterministic network until no rate changes finds the
steady state that a long simulation would average: ``dt`` only sets how fast it
gets there. Each batch element is stepped until its largest rate change in a
step falls below the tolerance (relative to its largest rate), or until
``simulation.duration``; the run file holds the rates and inputs of every neuron
there, under the names the rate run gives its time averages (so the ``balance``
analysis reads either), and per element whether it converged, after how many
steps and with what residual. A state that keeps moving (a limit cycle, chaos)
is reported as not converged, never as a fixed point.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import xarray as xr

from einet.config.sweep import batch_axes
from einet.errors import ConfigError
from einet.progress import progress_bar
from einet.runs.base import batch_labels, rate_units, sweep_coords
from einet.runs.rate import LONG_NAMES, build_network
from einet.runs.recorder import check_finite
from einet.runs.registry import RunKind, register_run
from einet.threads import governed

#: a step that changes no rate by more than this fraction of the element's largest rate ends the search
TOLERANCE = {"float64": 1e-9, "float32": 1e-5}


def find_fixed_point(spec, *, device: torch.device, progress: bool = True) -> xr.Dataset:
    """Step every batch element of the job's network to its steady state (module docstring)."""
    started = time.perf_counter()
    sim = spec.simulation
    net = build_network(spec, device)
    axes = batch_axes(spec)
    labels = batch_labels(axes)
    tolerance = TOLERANCE[sim.dtype]
    n_steps = int(round(sim.duration / net.dt))
    state = net.initial_state()
    converged = torch.zeros(net.batch_size, dtype=torch.bool, device=net.device)
    steps = torch.full((net.batch_size,), n_steps, dtype=torch.int64, device=net.device)
    residual = torch.full((net.batch_size,), float("inf"), dtype=torch.float64, device=net.device)
    on_cpu = net.device.type == "cpu"
    bar = progress_bar(total=n_steps, desc=f"fixed point {spec.job.get('name', spec.name)}", unit="step",
                       enabled=progress, mininterval=5.0)
    with torch.inference_mode(), governed(net.device) as governor:
        for step in range(n_steps):
            new_state, currents = net.step(state)
            governor.tick()
            change = torch.stack([(n - o).abs().amax(dim=1) for n, o in zip(new_state.rates, state.rates)]).amax(0)
            scale = torch.stack([r.abs().amax(dim=1) for r in new_state.rates]).amax(0).clamp(min=1.0)
            relative = (change / scale).double()
            done = ~converged & (relative <= tolerance)
            steps = torch.where(done, torch.full_like(steps, step + 1), steps)
            residual = torch.where(converged, residual, relative)
            converged |= done
            state = new_state
            bar.update()
            # a device is asked every 64 steps (each question waits for it); steps and residuals stay exact
            if (on_cpu or step % 64 == 63) and bool(converged.all()):
                break
        check_finite(net, state.rates, step, sim.max_rate, labels)
        _, currents = net.step(state)  # the inputs the final rates produce
    bar.close()
    ds = _dataset(spec, net, state, currents, axes, converged, steps, residual)
    ds.attrs.update({"wall_time_s": time.perf_counter() - started, "device": str(net.device),
                     "tolerance": tolerance})
    return ds


def _dataset(spec, net, state, currents, axes, converged, steps, residual) -> xr.Dataset:
    batch_dims, batch_shape = [a.name for a in axes], [len(a.values) for a in axes]

    def per_element(x: torch.Tensor) -> np.ndarray:
        return x.cpu().numpy().reshape(batch_shape + list(x.shape[1:]))

    values = {"rate": state.rates, "current_exc": currents.exc, "current_inh": currents.inh,
              "current_ext": currents.ext}
    data = {}
    for var, per_pop in values.items():
        long_name, units = LONG_NAMES[var]
        units = rate_units(spec) if var == "rate" else units
        data[f"{var}_avg"] = (batch_dims + ["neuron"], per_element(torch.cat(list(per_pop), dim=1)),
                              {"units": units, "long_name": f"{long_name} per neuron at the fixed point"})
    data["converged"] = (batch_dims, per_element(converged).astype(np.int8),
                         {"units": "1", "long_name": "1 if the rates stopped changing within the tolerance"})
    data["steps"] = (batch_dims, per_element(steps),
                     {"units": "1", "long_name": "steps until converged (duration/dt if not)"})
    data["residual"] = (batch_dims, per_element(residual),
                        {"units": "1", "long_name": "largest rate change of the last step over the largest rate"})
    pops = net.population_names
    labels = np.concatenate([[name] * n for name, n in zip(pops, net.sizes)])
    coords = {
        "population": ("population", np.array(pops), {"long_name": "population name"}),
        "neuron": ("neuron", np.arange(len(labels)), {"units": "1", "long_name": "neuron index"}),
        "neuron_population": ("neuron", labels, {"long_name": "population of each neuron"}),
        "population_size": ("population", np.array(net.sizes), {"units": "1", "long_name": "neurons per population"}),
    }
    coords.update(sweep_coords(spec, axes))
    ds = xr.Dataset(data, coords=coords)
    ds.attrs.update({"experiment": spec.name, "job": spec.job.get("name", "default"), "method": "fixed_point"})
    return ds


def check_fixed_point(spec) -> None:
    """A fixed point is a property of the deterministic, autonomous network: no noise, no task."""
    if spec.task is not None:
        raise ConfigError("task", spec.task.kind, "null: a fixed_point run has no trials (use method: integrate)")
    for pop, sigma in spec.model.external.noise.items():
        if sigma:
            raise ConfigError(f"model.external.noise.{pop}", sigma, "0: a noisy network has no fixed point")


def _run(spec, *, device: torch.device, progress: bool = True) -> xr.Dataset:
    return find_fixed_point(spec, device=device, progress=progress)


register_run(RunKind(
    name="fixed_point", doc="the steady state of a rate network, stepped until it stops changing",
    stage="simulate", run=_run, selected_by="simulation.method", selected_value="fixed_point",
    check=check_fixed_point, analyses=("balance",), gpu_capable=True,
    writes=tuple((
        "converged current_exc_avg current_ext_avg current_inh_avg neuron neuron_population "
        "population population_size rate_avg residual steps"
    ).split()),
))
