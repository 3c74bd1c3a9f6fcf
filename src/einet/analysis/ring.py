"""Working memory on a ring: what the bump reports at the end of the delay, and how it wandered.

Needs a run with a task that has a delay epoch and per-trial cue angles (ODR)
and bump decoding in the recorder (``simulation.record.bump: true``).

The baseline check: at the last recorded time before the cue (the end of
fixation) the ring must hold no bump, its persistence m1/m0 below
``analysis.bump_threshold`` in every trial (``baseline_persistence``); a ring
whose noise nucleates a bump during fixation would report that bump, moved or
not by the cue.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from einet.measures.bump import drift_diffusion, persistence
from einet.errors import EinetError


def analyze(run: xr.Dataset, spec) -> xr.Dataset:
    """Per trial: reported phase, error and persistence; per parameter set: drift and diffusion."""
    missing = [v for v in ("bump_phase", "bump_m0", "bump_m1", "cue_angle", "epoch") if v not in run.variables]
    if missing:
        raise EinetError(
            f"the ring analysis needs {', '.join(missing)}: run an ODR task (task.kind: odr) with "
            "simulation.record.bump: true"
        )
    delay = run.epoch.values == "delay"
    if delay.sum() < 2:
        raise EinetError("the ring analysis needs at least two samples in the delay epoch")
    during = run.isel(time=np.flatnonzero(delay))
    end = during.isel(time=-1)
    error = np.mod(end.bump_phase - run.cue_angle + np.pi, 2 * np.pi) - np.pi  # wrapped, stays a DataArray
    u = {"units": "rad"}
    ds = xr.Dataset(
        {
            "report": end.bump_phase.assign_attrs(long_name="decoded phase at the end of the delay", **u),
            "error": error.assign_attrs(long_name="report - cue, wrapped to [-pi, pi)", **u),
            "persistence": xr.apply_ufunc(persistence, end.bump_m0, end.bump_m1).assign_attrs(
                long_name="m1 / m0 at the end of the delay", units="1"),
        }
    )
    ds["mean_abs_error"] = np.abs(ds.error).mean("trial").assign_attrs(long_name="mean |error| over trials", **u)

    def wander(phase: np.ndarray) -> np.ndarray:  # [..., trial, time] -> [..., 2]
        flat = phase.reshape(-1, *phase.shape[-2:])
        out = [list(drift_diffusion(p, during.time.values).values()) for p in flat]
        return np.asarray(out).reshape(*phase.shape[:-2], 2)

    both = xr.apply_ufunc(wander, during.bump_phase, input_core_dims=[["trial", "time"]],
                          output_core_dims=[["measure"]], dask="forbidden")
    ds["drift"] = both.isel(measure=0, drop=True).assign_attrs(long_name="phase drift over the delay", units="rad/s")
    ds["diffusion"] = both.isel(measure=1, drop=True).assign_attrs(
        long_name="phase diffusion over the delay (var = 2 D t)", units="rad2/s")
    ds.update(_ring_traces(run, spec, during))
    ds.update(_baseline(run, spec))
    for name, coord in run.coords.items():
        if name not in ds.coords and name != "time" and (coord.ndim == 0 or set(coord.dims) <= set(ds.dims)):
            ds = ds.assign_coords({name: coord})
    ds.attrs.update({"experiment": run.attrs.get("experiment", ""), "job": run.attrs.get("job", ""),
                     "analysis": "ring", "population": spec.task.population})
    return ds


def _baseline(run: xr.Dataset, spec) -> dict[str, xr.DataArray]:
    """Per trial the cued ring's persistence m1/m0 at the last recorded time before the cue, with the
    threshold it must stay below and that time; nothing when no time before the cue was recorded."""
    cue = np.flatnonzero(run.epoch.values == "cue")
    if not cue.size or cue[0] == 0:
        return {}
    before = run.isel(time=int(cue[0]) - 1)
    pop = spec.task.population
    ratio = xr.apply_ufunc(persistence, before.bump_m0.sel(population=pop, drop=True),
                           before.bump_m1.sel(population=pop, drop=True))
    return {
        "baseline_persistence": ratio.drop_vars(["time", "epoch"], errors="ignore").assign_attrs(
            units="1", long_name=f"m1 / m0 of {pop} at the end of fixation, before the cue (no bump: below "
            "bump_threshold)"),
        "bump_threshold": xr.DataArray(float(getattr(spec.analysis, "bump_threshold", 0.25)), attrs={
            "units": "1", "long_name": "persistence m1 / m0 above which a ring holds a bump"}),
        "baseline_time": xr.DataArray(float(run.time.values[int(cue[0]) - 1]), attrs={
            "units": "ms", "long_name": "time of the last recorded sample before the cue"}),
    }


def _ring_traces(run: xr.Dataset, spec, during: xr.Dataset) -> dict[str, xr.DataArray]:
    """For figures: the cued population's phase over the trial, the spread of its
    displacement over the delay, and its rate profile centred on the report."""
    pop = spec.task.population
    phase = run.bump_phase.sel(population=pop, drop=True)
    trial_time = run.time.rename({"time": "trial_time"})
    if "epoch" in run.coords:
        trial_time = trial_time.assign_coords(trial_epoch=("trial_time", run.epoch.values, run.epoch.attrs))
    out = {"phase_trace": phase.rename({"time": "trial_time"}).assign_coords(trial_time=trial_time).assign_attrs(
        units="rad", long_name=f"decoded phase of {pop} over the trial")}
    m0 = run.bump_m0.sel(population=pop, drop=True)
    ratio = xr.apply_ufunc(persistence, m0, run.bump_m1.sel(population=pop, drop=True))
    out["persistence_trace"] = ratio.rename({"time": "trial_time"}).assign_coords(trial_time=trial_time).mean(
        "trial").assign_attrs(units="1", long_name=f"m1 / m0 of {pop} over the trial, mean over trials")
    out.update(_cued_stp(run, spec, trial_time))
    delay_phase = np.unwrap(during.bump_phase.sel(population=pop, drop=True).values, axis=-1)
    displacement = delay_phase - delay_phase[..., :1]
    spread = displacement.var(axis=-2, ddof=1) if displacement.shape[-2] > 1 else np.zeros_like(displacement[..., 0, :])
    delay_time = ("delay_time", during.time.values - during.time.values[0], {"units": "ms",
                                                                            "long_name": "time since the delay began"})
    dims = [d for d in during.bump_phase.dims if d not in ("population", "trial", "time")] + ["delay_time"]
    out["phase_variance"] = xr.DataArray(spread, dims=dims, coords={"delay_time": delay_time}).assign_attrs(
        units="rad2", long_name=f"variance over trials of the phase displacement of {pop} since the delay began")
    if "rate_avg" in run.variables:
        rates = run.rate_avg.isel(neuron=np.flatnonzero(run.neuron_population.values == pop))
        n = rates.sizes["neuron"]
        report = run.bump_phase.sel(population=pop, drop=True).isel(time=-1).values  # [..., trial]
        shift = np.rint(report / (2 * np.pi) * n).astype(int)
        index = (np.arange(n) + shift[..., None] - n // 2) % n  # neuron n // 2 becomes the report's
        centred = np.take_along_axis(rates.values, index, axis=-1)
        offset = ("offset", (np.arange(n) - n // 2) * 360.0 / n, {"units": "degree",
                                                                  "long_name": "preferred angle - report"})
        centred_da = xr.DataArray(centred, dims=list(rates.dims[:-1]) + ["offset"], coords={"offset": offset})
        out["bump_profile"] = centred_da.mean("trial").assign_attrs(
            units=run.rate_avg.attrs["units"], long_name=f"rate profile of {pop} at the end of the delay, centred on the report, "
            "mean over trials")
    return out


def _cued_stp(run: xr.Dataset, spec, trial_time: xr.DataArray) -> dict[str, xr.DataArray]:
    """u and x of the traced presynaptic neuron nearest the cue and of the one opposite it,
    mean over trials: the synaptic trace a facilitation-based memory is held in."""
    if "stp_u_trace" not in run.variables or "cue_angle" not in run.coords:
        return {}
    out = {}
    for p, name in enumerate(run.stp_projection.values):
        neurons = run.stp_sample_neuron.isel(stp_projection=p).values
        valid = np.flatnonzero(neurons >= 0)
        source = spec.model.projections[str(name)].source
        if source != spec.task.population or not len(valid):
            continue  # only synapses leaving the cued ring have a cued neuron
        n_source = spec.model.populations[source].size
        angles = 2 * np.pi * neurons[valid] / n_source
        cue = run.cue_angle.values[:, None]
        distance = np.abs(np.angle(np.exp(1j * (angles[None, :] - cue))))  # [trial, sample]
        picks = {"cued": valid[np.argmin(distance, axis=1)], "opposite": valid[np.argmax(distance, axis=1)]}
        for var in ("u", "x"):
            trace = run[f"stp_{var}_trace"].isel(stp_projection=p, drop=True)
            rows = []
            for where, index in picks.items():
                chosen = trace.isel(stp_sample=xr.DataArray(index, dims="trial"))
                rows.append(chosen.mean("trial").expand_dims(site=[where]))
            da = xr.concat(rows, "site").rename({"time": "trial_time"}).assign_coords(trial_time=trial_time)
            da["site"].attrs.update(long_name="traced presynaptic neuron: nearest the cue or opposite")
            out[f"stp_{var}_{name}"] = da.assign_attrs(
                units="1", long_name=f"{var} of projection {name} at the traced neuron nearest the cue and opposite "
                "it, mean over trials")
    return out
