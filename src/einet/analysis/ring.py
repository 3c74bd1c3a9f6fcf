"""Working memory on a ring: what the bump reports at the end of the delay, and how it wandered.

Needs a run with a task that has a delay epoch and per-trial cue angles (ODR)
and bump decoding in the recorder (``simulation.record.bump: true``).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from einet.analysis.bump import drift_diffusion, persistence
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
    for name, coord in run.coords.items():
        if name not in ds.coords and (coord.ndim == 0 or set(coord.dims) <= set(ds.dims)):
            ds = ds.assign_coords({name: coord})
    ds.attrs.update({"experiment": run.attrs.get("experiment", ""), "job": run.attrs.get("job", ""),
                     "analysis": "ring"})
    return ds
