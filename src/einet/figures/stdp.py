"""Competition between correlated and independent inputs under STDP: weights over time, final weights, rate."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from einet.errors import EinetError
from einet.figures import caption

COLORS = {"correlated": "tab:red", "independent": "tab:blue"}


@caption("""\
Synaptic competition by spike-timing-dependent plasticity (experiment ``{{ snakemake.wildcards.exp }}``,
after Song, Miller & Abbott 2000): one LIF neuron receives excitatory Poisson inputs through plastic
weights (red: a group of correlated inputs, copies of one shared mother train with pairwise count
correlation c; blue: independent inputs at the same rate) and inhibitory Poisson inputs with fixed
weights. One row per weight dependence of pair-based STDP, run side by side from the same uniform
start. Left: weights over time as fractions of w_max (thick: group mean; band: 10-90 % of the group;
thin: a few single inputs). Middle: final weight distribution of each group, with the fraction of all
weights within 0.1 w_max of a bound. Right: postsynaptic rate per bin, dashed: its mean over the last
quarter of the run. Additive STDP (hard bounds) drives the weights to the bounds, the correlated group
to the top, and the output rate settles as the independent inputs are depressed; multiplicative STDP
(soft bounds) keeps one mode, the correlated group only shifted up. With grid axes, the first job is shown.
""")
def draw_stdp(ds: xr.Dataset) -> plt.Figure:
    """One row per weight dependence: group weights over time, final weight histograms, postsynaptic rate."""
    if "weight_histogram" not in ds or "mean_weight" not in ds:
        raise EinetError("the stdp figure needs the summary of an stdp analysis (analysis.kind: stdp)")
    extra = [d for d in ds["near_bounds"].dims if d != "dependence"]
    one = ds.isel({d: 0 for d in extra})
    label = ", ".join(f"{d} = {one[d].values}" for d in extra)
    deps = [str(d) for d in one.dependence.values]
    fig, axes = plt.subplots(len(deps), 3, figsize=(14, 3.4 * len(deps)), squeeze=False, constrained_layout=True,
                             gridspec_kw={"width_ratios": [1.5, 1, 1.2]})
    t_w = one.weight_time.values / 1000.0
    t_r = one.rate_time.values / 1000.0
    width = float(np.diff(one.weight_bin.values[:2])[0]) if one.sizes["weight_bin"] > 1 else 1.0
    for row, dep in zip(axes, deps):
        d = one.sel(dependence=dep)
        ax_w, ax_h, ax_r = row
        for group in (str(g) for g in d.group.values):
            g = d.sel(group=group)
            if np.isnan(g.mean_weight.values).all():
                continue  # an empty group
            color = COLORS.get(group)
            lo, hi = g.weight_quantile.sel(quantile=0.1).values, g.weight_quantile.sel(quantile=0.9).values
            ax_w.fill_between(t_w, lo, hi, color=color, alpha=0.15, lw=0)
            ax_w.plot(t_w, g.mean_weight.values, color=color, lw=2.0,
                      label=f"{group}: mean, 10-90 % (final {float(g.final_mean_weight):.2f})")
            samples = d.weight_sample.values[:, d.sample_group.values.astype(str) == group]
            ax_w.plot(t_w, samples, color=color, lw=0.5, alpha=0.6)
            ax_h.bar(one.weight_bin.values, g.weight_histogram.values, width=width, color=color, alpha=0.5,
                     label=group)
        ax_w.set(ylim=(-0.02, 1.02), xlabel="time [s]", ylabel="weight / w_max",
                 title=f"{dep} STDP: weights{' (' + label + ')' if label else ''}")
        ax_w.legend(fontsize=8, loc="best")
        ax_h.set(xlim=(0, 1), xlabel="final weight / w_max", ylabel=f"fraction of the group (bin {width:.2g})",
                 title=f"{float(d.near_bounds):.0%} within {ds.attrs.get('near_bound', 0.1):g} w_max of a bound")
        ax_h.legend(fontsize=8)
        ax_r.plot(t_r, d.post_rate.values, color="k", lw=1.0, drawstyle="steps-mid")
        ax_r.axhline(float(d.final_rate), color="0.5", ls="--", lw=1.0,
                     label=f"last part: {float(d.final_rate):.1f} Hz")
        ax_r.set(xlabel="time [s]", ylabel="postsynaptic rate [Hz]", ylim=(0, None), title=f"{dep}: output rate")
        ax_r.legend(fontsize=8)
    return fig
