"""The ``stdp`` analysis: how the weights of correlated and independent inputs evolve, where they end, and the rate.

Per dependence and input group: the mean weight and its 10/50/90 % quantiles
over time, a few individual weights (evenly spaced inputs of each group), the
final weight histogram (``analysis.bins`` bins over [0, 1], as fractions of
the group's inputs) and final mean. Per dependence: the fractions of all
weights within :data:`NEAR_BOUND` of the lower and the upper bound at the end
(a bimodal distribution pushed to the bounds has most weights there, a
unimodal one in the middle almost none), and the postsynaptic rate over time
and over the last :data:`FINAL_FRACTION` of the run. An empty group (no
correlated inputs, say) has NaN means and an empty histogram.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from einet.runs.stdp import GROUPS

#: Distance from a bound, as a fraction of w_max, within which a weight counts as at that bound.
NEAR_BOUND = 0.1
#: The final rate is the mean over this last fraction of the rate bins (at least one bin).
FINAL_FRACTION = 0.25
QUANTILES = (0.1, 0.5, 0.9)
SAMPLES_PER_GROUP = 5


def analyze(run: xr.Dataset, spec) -> xr.Dataset:
    weight = run["weight"]  # [dependence, weight_time, input]
    group = run["group"].values
    final = weight.isel(weight_time=-1)
    edges = np.linspace(0.0, 1.0, spec.analysis.bins + 1)
    n_dep, n_time = weight.sizes["dependence"], weight.sizes["weight_time"]
    shape = (n_dep, len(GROUPS))
    mean = np.full(shape + (n_time,), np.nan)
    quantile = np.full(shape + (len(QUANTILES), n_time), np.nan)
    histogram = np.zeros(shape + (len(edges) - 1,))
    final_mean = np.full(shape, np.nan)
    input_rate = np.full(shape, np.nan)
    samples, sample_group = [], []
    for k, name in enumerate(GROUPS):
        members = np.flatnonzero(group == name)
        if members.size == 0:
            continue
        w = weight.values[:, :, members]
        mean[:, k] = w.mean(-1)
        quantile[:, k] = np.moveaxis(np.quantile(w, QUANTILES, axis=-1), 0, 1)
        final_mean[:, k] = w[:, -1].mean(-1)
        input_rate[:, k] = run["input_rate"].values[:, members].mean(-1)
        for d in range(n_dep):
            histogram[d, k] = np.histogram(np.clip(w[d, -1], 0.0, 1.0), bins=edges)[0] / members.size
        picked = members[np.linspace(0, members.size - 1, min(SAMPLES_PER_GROUP, members.size)).round().astype(int)]
        samples.extend(picked.tolist())
        sample_group.extend([name] * len(picked))
    low = (final <= NEAR_BOUND).mean("input")
    high = (final >= 1.0 - NEAR_BOUND).mean("input")
    rate = run["post_rate"]
    last = max(int(round(FINAL_FRACTION * rate.sizes["rate_time"])), 1)
    dims = ("dependence", "group")
    ds = xr.Dataset(
        {
            "mean_weight": (dims + ("weight_time",), mean,
                            {"units": "1", "long_name": "mean weight of the group (fraction of w_max)"}),
            "weight_quantile": (dims + ("quantile", "weight_time"), quantile,
                                {"units": "1", "long_name": "quantiles of the group's weights (fraction of w_max)"}),
            "weight_sample": (("dependence", "weight_time", "sample"), weight.values[:, :, samples],
                              {"units": "1", "long_name": "weights of evenly spaced inputs of each group "
                                                          "(fraction of w_max)"}),
            "weight_histogram": (dims + ("weight_bin",), histogram,
                                 {"units": "1", "long_name": "final weights: fraction of the group's inputs per bin"}),
            "final_mean_weight": (dims, final_mean,
                                  {"units": "1", "long_name": "final mean weight of the group (fraction of w_max)"}),
            "fraction_low": (("dependence",), low.values,
                             {"units": "1", "long_name": f"fraction of final weights within {NEAR_BOUND} w_max "
                                                        "of the lower bound 0"}),
            "fraction_high": (("dependence",), high.values,
                              {"units": "1", "long_name": f"fraction of final weights within {NEAR_BOUND} w_max "
                                                         "of the upper bound w_max"}),
            "near_bounds": (("dependence",), (low + high).values,
                            {"units": "1", "long_name": f"fraction of final weights within {NEAR_BOUND} w_max "
                                                        "of either bound"}),
            "post_rate": rate,
            "final_rate": (("dependence",), rate.isel(rate_time=slice(-last, None)).mean("rate_time").values,
                           {"units": "Hz", "long_name": f"postsynaptic rate over the last {FINAL_FRACTION:.0%} "
                                                       "of the run"}),
            "input_rate": (dims, input_rate, {"units": "Hz", "long_name": "mean realised rate of the group's inputs"}),
        },
        coords={
            "dependence": run["dependence"],
            "group": ("group", np.array(GROUPS), {"long_name": "input group"}),
            "weight_time": run["weight_time"],
            "rate_time": run["rate_time"],
            "quantile": ("quantile", np.array(QUANTILES), {"units": "1", "long_name": "quantile"}),
            "weight_bin": ("weight_bin", 0.5 * (edges[1:] + edges[:-1]),
                           {"units": "1", "long_name": "bin centre of the final weight (fraction of w_max)"}),
            "sample": ("sample", np.arange(len(samples)), {"units": "1", "long_name": "sampled input"}),
            "sample_input": ("sample", np.array(samples, dtype=np.int64),
                             {"units": "1", "long_name": "input index of each sampled weight"}),
            "sample_group": ("sample", np.array(sample_group, dtype=str),
                             {"long_name": "group of each sampled input"}),
        },
    )
    for name, coord in run.coords.items():
        if coord.ndim == 0:  # grid coordinates
            ds = ds.assign_coords({name: coord})
    ds.attrs.update({k: run.attrs[k] for k in ("experiment", "job", "w_max_mV", "correlation", "dt_ms",
                                               "duration_ms") if k in run.attrs})
    ds.attrs["near_bound"] = NEAR_BOUND
    return ds
