"""Analysis ``learning``: a trained network's learning curves, plus the numbers a table needs.

The train stage recorded the history every epoch; this passes it on
unchanged (so collect and the figures see the same numbers) and adds the
final and best test accuracy and the epoch of the best one.
"""

from __future__ import annotations

import xarray as xr

__all__ = ["analyze"]


def analyze(run: xr.Dataset, spec) -> xr.Dataset:
    """The run's history plus ``final_test_accuracy``, ``best_test_accuracy`` and ``best_epoch``."""
    ds = run.copy()
    acc = ds["test_accuracy"]
    ds["final_test_accuracy"] = acc.isel(epoch=-1, drop=True).assign_attrs(
        units="1", long_name="fraction of test samples classified correctly after the last epoch")
    ds["best_test_accuracy"] = acc.max("epoch").assign_attrs(
        units="1", long_name="highest test accuracy over the epochs")
    ds["best_epoch"] = acc.epoch[acc.argmax("epoch")].drop_vars("epoch").assign_attrs(
        units="1", long_name="first epoch with the highest test accuracy")
    ds.attrs.update({"experiment": run.attrs.get("experiment", spec.name), "job": run.attrs.get("job", ""),
                     "analysis": "learning"})
    return ds
