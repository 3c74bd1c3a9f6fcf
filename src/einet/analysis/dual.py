"""The dual task read out from a low-rank network: which sample is held, which distractor passed.

With ``task.patterns: low_rank`` the samples are A = +m^1, B = -m^1 and the
distractors Go = +m^2, NoGo = -m^2 (see :mod:`einet.tasks.build`), so the
overlaps of the rates with m^1 and m^2 (recorded with
``simulation.record.overlaps``) are the natural decoders: the sign of the m^1
overlap names the sample; the m^2 overlap, against its mean over the trials
without a distractor, names the distractor.

The baseline check: at the last recorded time before the sample is shown (the
end of fixation) both overlaps should be at 0 within the network's noise, in
every trial: a network that already holds one sample's sign before any sample
(issue 15: both samples' trials sat at the "B" state, m1 overlap -0.33) fails
it. ``baseline_overlap`` (per condition) and its trial-to-trial spread
``baseline_overlap_sd`` and largest ``baseline_overlap_max`` store it.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from einet.errors import EinetError


def analyze(run: xr.Dataset, spec) -> xr.Dataset:
    """Mean overlaps per condition over time, and decoding accuracies over time."""
    if spec.task is None or spec.task.kind != "dual" or spec.task.patterns != "low_rank":
        raise EinetError("the dual analysis needs task.kind: dual with task.patterns: low_rank")
    if "overlap" not in run.variables:
        raise EinetError("the dual analysis needs simulation.record.overlaps: true")
    overlap = run.overlap.sel(population=spec.task.population, drop=True)  # [..., trial, rank, time]
    sample_axis, distractor_axis = overlap.sel(rank=1, drop=True), overlap.sel(rank=2, drop=True)
    variant, sample = run.task, run.sample
    decoded_sample = xr.where(sample_axis > 0, "A", "B")
    correct_sample = (decoded_sample == sample).astype(float)
    baseline = distractor_axis.where(variant == "DPA").mean("trial")  # no distractor: where m2 rests
    with_distractor = variant != "DPA"
    decoded_distractor = xr.where(distractor_axis > baseline, "Go", "NoGo")
    correct_distractor = (decoded_distractor == variant).astype(float).where(with_distractor)

    labels = [f"{v} {s} {t}" for v, s, t in zip(run.task.values, run.sample.values, run.test.values)]
    conditions = list(dict.fromkeys(labels))  # in task order, each once
    by_condition = overlap.assign_coords(condition=("trial", labels)).groupby("condition").mean("trial")
    by_condition = by_condition.sel(condition=conditions)
    parts = [c.split(" ") for c in conditions]
    by_condition = by_condition.assign_coords(
        condition_task=("condition", [p[0] for p in parts], {"long_name": "task variant"}),
        condition_sample=("condition", [p[1] for p in parts], {"long_name": "sample"}),
        condition_test=("condition", [p[2] for p in parts], {"long_name": "test"}),
    )
    by_condition["condition"].attrs.update(long_name="task variant, sample and test")
    sample_accuracy = correct_sample.groupby(variant.rename("variant")).mean("trial")
    sample_accuracy["variant"].attrs.update(long_name="task variant (DPA, Go, NoGo)")
    ds = xr.Dataset(
        {
            "overlap": by_condition.assign_attrs(
                units="1", long_name="overlap with m^k of the cued population, mean over the repeats of a condition"),
            "sample_accuracy": sample_accuracy.assign_attrs(
                units="1", long_name="fraction of trials whose m^1 overlap has the sample's sign"),
            "distractor_accuracy": correct_distractor.mean("trial").assign_attrs(
                units="1", long_name="fraction of Go/NoGo trials whose m^2 overlap, against the DPA trials' "
                "mean, has the distractor's sign"),
        }
    )
    delay_end = np.flatnonzero(np.isin(run.epoch.values, ["delay_2", "delay"]))
    if delay_end.size:
        last = int(delay_end[-1])
        ds["sample_accuracy_end_of_delay"] = ds.sample_accuracy.isel(time=last, drop=True).assign_attrs(
            units="1", long_name="sample decoding accuracy at the end of the delay")
        ds["sample_accuracy_per_condition"] = correct_sample.isel(time=last, drop=True).assign_coords(
            condition=("trial", labels)).groupby("condition").mean("trial").sel(condition=conditions).assign_attrs(
            units="1", long_name="fraction of a condition's trials whose m^1 overlap has the sample's sign at the end "
            "of the delay")
    distractor_end = np.flatnonzero(run.epoch.values == "distractor")
    if distractor_end.size:
        ds["distractor_accuracy_per_condition"] = correct_distractor.isel(
            time=int(distractor_end[-1]), drop=True).assign_coords(condition=("trial", labels)).groupby(
            "condition").mean("trial").sel(condition=conditions).assign_attrs(
            units="1", long_name="fraction of a condition's trials whose m^2 overlap names the distractor at the end of "
            "the distractor epoch (NaN: DPA, no distractor)")
    ds.update(_baseline(run, overlap, labels, conditions))
    ds["condition"].attrs.update(long_name="task variant, sample and test")  # groupby results carry none
    ds = ds.assign_coords(epoch=run.epoch)
    ds.attrs.update({"experiment": run.attrs.get("experiment", ""), "job": run.attrs.get("job", ""),
                     "analysis": "dual"})
    return ds


def _baseline(run: xr.Dataset, overlap: xr.DataArray, labels: list[str], conditions: list[str]) -> dict:
    """The overlaps at the last recorded time before the sample (the end of fixation), per condition
    (mean over its repeats), their spread over all trials and their largest size: all at 0 within the
    network's noise when the network starts from its neutral state."""
    before = np.flatnonzero(run.epoch.values == "sample")
    if not before.size or before[0] == 0:
        return {}  # no fixation recorded before the sample
    last = int(before[0]) - 1
    at = overlap.isel(time=last, drop=True)  # [..., trial, rank]
    spread = at.std("trial", ddof=1) if at.sizes["trial"] > 1 else xr.zeros_like(at.isel(trial=0, drop=True))
    return {
        "baseline_overlap": at.assign_coords(condition=("trial", labels)).groupby("condition").mean("trial").sel(
            condition=conditions).assign_attrs(
            units="1", long_name="overlap with m^k at the end of fixation (before the sample), mean over the repeats of "
            "a condition"),
        "baseline_overlap_sd": spread.assign_attrs(
            units="1", long_name="standard deviation over all trials of the overlap with m^k at the end of fixation"),
        "baseline_overlap_max": abs(at).max("trial").assign_attrs(
            units="1", long_name="largest |overlap with m^k| over all trials at the end of fixation"),
        "baseline_time": xr.DataArray(float(run.time.values[last]), attrs={
            "units": "ms", "long_name": "time of the last recorded sample before the sample epoch"}),
    }
