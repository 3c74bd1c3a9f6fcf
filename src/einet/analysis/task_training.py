"""Analysis ``task_training``: how well a rate network trained on its task does it, before and after.

The trained file (:mod:`einet.runs.task_training`) holds the history and
the evaluations; this passes them on and adds the numbers a table needs:

* ODR: the circular error of the decoded angle at each test delay, as mean
  absolute error and RMS (``angle_error``, ``angle_rmse``, degrees, per stage
  and delay); chance is 90° mean absolute error;
* dual task: the choice accuracy of each readout per task variant
  (``accuracy[stage, task, readout]``; Go/NoGo only counts Go and NoGo trials).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

__all__ = ["analyze", "circular_error"]


def circular_error(decoded_deg, cue_deg):
    """Signed difference decoded - cue wrapped to [-180, 180) degrees."""
    return np.remainder(np.asarray(decoded_deg) - np.asarray(cue_deg) + 180.0, 360.0) - 180.0


def analyze(run: xr.Dataset, spec) -> xr.Dataset:
    ds = run.copy()
    if "decoded_angle" in ds:
        error = circular_error(ds["decoded_angle"].values, ds["cue"].values[None, None, :])
        dims = ("stage", "delay")
        ds["evaluation_error"] = (dims, np.abs(error).mean(axis=-1),
                             {"units": "degree", "long_name": "mean absolute error of the decoded angle"})
        ds["evaluation_rmse"] = (dims, np.sqrt((error**2).mean(axis=-1)),
                            {"units": "degree", "long_name": "root mean square error of the decoded angle"})
    if "choice_correct" in ds:
        correct = ds["choice_correct"].astype(float)
        tasks = np.unique(ds["task"].values)
        acc = np.full((ds.sizes["stage"], len(tasks), ds.sizes["readout"]), np.nan)
        for i, task in enumerate(tasks):
            rows = correct.values[:, ds["task"].values == task, :]
            acc[:, i, :] = rows.mean(axis=1)
        acc[:, tasks == "DPA", 0] = np.nan  # DPA trials have no Go/NoGo choice
        ds["accuracy"] = (("stage", "task_variant", "readout"), acc,
                          {"units": "1", "long_name": "fraction of correct choices"})
        ds = ds.assign_coords(task_variant=("task_variant", tasks, {"long_name": "task variant"}))
    ds.attrs.update({"experiment": run.attrs.get("experiment", spec.name), "job": run.attrs.get("job", ""),
                     "analysis": "task_training"})
    return ds
