"""The ``reservoir`` analysis: held-out R² of each readout, and the held-out target and outputs for the figure."""

from __future__ import annotations

import xarray as xr


def analyze(run: xr.Dataset, spec) -> xr.Dataset:
    test = run.where(run.phase == "test", drop=True)
    ds = xr.Dataset(
        {
            "r2": run["r2"],
            "target": test["target"].rename(time="test_time"),
            "output": test["output"].rename(time="test_time"),
        }
    )
    ds = ds.drop_vars("phase", errors="ignore")
    ds["test_time"].attrs.update({"units": "ms", "long_name": "held-out time"})
    for name in ("target", "output", "r2"):
        ds[name].attrs.update(run[name].attrs)
    for name, coord in run.coords.items():
        if coord.ndim == 0:  # grid coordinates
            ds = ds.assign_coords({name: coord})
    ds.attrs.update({k: run.attrs[k] for k in ("experiment", "job") if k in run.attrs})
    return ds
