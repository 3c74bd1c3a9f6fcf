r"""Two-choice decisions read from a rate run of the perceptual decision task, against the ideal observer.

The choice of a trial is the half of the receiving population (see
:mod:`einet.tasks.perceptual_decision`) with the higher mean rate over the
decision epoch (the end of the stimulus when there is none); accuracy per
coherence is the psychometric curve. Its reference is the ideal observer, who
sums the two evidence channels over the whole stimulus: their time-averaged
difference has mean :math:`c/100` and standard deviation
:math:`\sigma\sqrt{2/T}`, so

.. math:: P_{ideal}(c) = \Phi\!\left(\frac{c/100}{\sigma\sqrt{2/T}}\right),

which no network given the same evidence can beat beyond sampling error.
Traced neurons (``simulation.record.neurons``) must cover the population.

The baseline check: at the last recorded time before the stimulus (the end of
fixation) the two halves' mean rates are equal, so the decoded choice is
undetermined until evidence arrives (``baseline_half_difference``, against the
``half_difference`` the choice is read from).
"""

from __future__ import annotations

import math

import numpy as np
import xarray as xr
from scipy.stats import norm

from einet.errors import EinetError


def ideal_accuracy(coherence: np.ndarray, sigma: float, duration: float) -> np.ndarray:
    """Accuracy of the ideal observer integrating both channels over ``duration`` ms at noise ``sigma``."""
    return norm.cdf(np.asarray(coherence, dtype=float) / 100.0 / (sigma * math.sqrt(2.0 / duration)))


def analyze(run: xr.Dataset, spec) -> xr.Dataset:
    """Per trial the decided choice; per coherence accuracy, its binomial standard error and the ideal observer."""
    from einet.tasks.build import task_for

    if spec.task is None or spec.task.kind != "perceptual_decision":
        raise EinetError("the decision analysis needs task.kind: perceptual_decision")
    task = task_for(spec)
    pop = spec.task.population
    names = list(spec.model.populations)
    offset = sum(spec.model.populations[n].size for n in names[: names.index(pop)])
    size = spec.model.populations[pop].size
    index = run.sample_neuron.values - offset
    inside = (index >= 0) & (index < size)
    if inside.sum() < size:
        raise EinetError(f"the decision analysis reads every neuron of {pop}: set simulation.record.neurons >= {size}")
    epoch = "decision" if "decision" in set(run.epoch.values) else "stimulus"
    window = run.rate_trace.where(run.epoch == epoch, drop=True)
    if epoch == "stimulus":
        window = window.isel(time=[-1])
    traced = window.isel(sample=np.flatnonzero(inside)).mean("time")
    half = (index[inside] >= size // 2).astype(int)
    first = traced.isel(sample=np.flatnonzero(half == 0)).mean("sample")
    second = traced.isel(sample=np.flatnonzero(half == 1)).mean("sample")
    before = np.flatnonzero(run.epoch.values == "stimulus")
    baseline = None
    if before.size and before[0] > 0:
        at = run.rate_trace.isel(time=int(before[0]) - 1, sample=np.flatnonzero(inside))
        baseline = (at.isel(sample=np.flatnonzero(half == 1)).mean("sample")
                    - at.isel(sample=np.flatnonzero(half == 0)).mean("sample"))
    decided = xr.where(second > first, 1.0, 0.0).where(second != first, 0.5)  # a tie is a coin flip
    for name in decided.coords:  # xr.where drops the coordinates' units and names
        decided[name].attrs.update(run[name].attrs)
    correct = (decided == run.choice).astype(float).where(decided != 0.5, 0.5)
    by_coherence = correct.groupby(run.coherence.rename("coherence_level"))
    accuracy = by_coherence.mean("trial")
    count = by_coherence.count("trial")
    levels = accuracy.coherence_level.values
    ideal = ideal_accuracy(levels, task.sigma, task.stimulus_duration)
    ds = xr.Dataset(
        {
            "decided": decided.assign_attrs(units="1", long_name=f"choice decided by the {pop} halves' rates over "
                                            f"the {epoch} epoch (0: first half, 1: second, 0.5: tie)"),
            "accuracy": accuracy.assign_attrs(units="1", long_name="fraction of trials decided correctly"),
            "accuracy_se": np.sqrt(accuracy * (1 - accuracy) / count).assign_attrs(
                units="1", long_name="binomial standard error of the accuracy"),
            "ideal_accuracy": (("coherence_level",), ideal,
                               {"units": "1", "long_name": "accuracy of the ideal observer of the same evidence"}),
        }
    )
    rate_units = run.rate_trace.attrs.get("units", "1")
    ds["half_difference"] = (second - first).assign_attrs(
        units=rate_units, long_name=f"mean rate of the second half of {pop} minus the first's over the {epoch} epoch "
        "(the choice is its sign)")
    if baseline is not None:
        ds["baseline_half_difference"] = baseline.drop_vars(["time", "epoch"], errors="ignore").assign_attrs(
            units=rate_units, long_name=f"mean rate of the second half of {pop} minus the first's at the end of "
            "fixation, before the stimulus")
        ds["baseline_time"] = xr.DataArray(float(run.time.values[int(before[0]) - 1]), attrs={
            "units": "ms", "long_name": "time of the last recorded sample before the stimulus"})
    ds["coherence_level"].attrs.update(units="%", long_name="motion coherence")
    ds.attrs.update({"experiment": run.attrs.get("experiment", ""), "job": run.attrs.get("job", ""),
                     "analysis": "decision", "population": pop, "sigma": float(task.sigma),
                     "stimulus_ms": float(task.stimulus_duration), "read_epoch": epoch})
    return ds
