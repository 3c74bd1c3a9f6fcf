"""Two-choice decisions: the network's psychometric curve beside the ideal observer of the same evidence."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from einet.analysis.decision import ideal_accuracy
from einet.errors import EinetError
from einet.figures import caption


@caption("""\
Perceptual decisions (experiment ``{{ snakemake.wildcards.exp }}``): two noisy evidence channels, one per
choice, with means (1 +- c/100)/2 at motion coherence c, drive the two halves of a population (the random-dot
task in neurogym's form); the network's choice is the half with the higher mean rate over the decision epoch.
Points: fraction of trials decided correctly per coherence (bars: binomial standard error; averaged over grid
jobs). Black line: the ideal observer, who integrates both channels over the whole stimulus,
Phi(c/100 / (sigma sqrt(2/T))), the upper bound of any decoder of the same evidence; the text gives the
network's mean and largest shortfall from it. Dotted: chance. The baseline check, also in the text: before
the stimulus (end of fixation) the two halves' rates are equal, so no choice is made before the evidence:
the largest ``|difference|`` over trials then, beside the median ``|difference|`` the choices are read from.
""")
def draw_psychometric(ds: xr.Dataset) -> plt.Figure:
    """Accuracy against coherence with the ideal observer and the deviation in numbers."""
    if "accuracy" not in ds or "coherence_level" not in ds.dims:
        raise EinetError("the psychometric figure needs the summary of a decision analysis (analysis.kind: decision)")
    extra = [d for d in ds.accuracy.dims if d != "coherence_level"]
    accuracy = ds.accuracy.mean(extra) if extra else ds.accuracy
    se = (ds.accuracy_se**2).mean(extra) ** 0.5 / np.sqrt(max(1, int(np.prod([ds.sizes[d] for d in extra])))) \
        if extra else ds.accuracy_se
    levels = accuracy.coherence_level.values
    sigma, duration = float(ds.attrs["sigma"]), float(ds.attrs["stimulus_ms"])
    fine = np.linspace(0.0, max(levels.max(), 1.0), 200)
    ideal = ideal_accuracy(levels, sigma, duration)
    shortfall = ideal - accuracy.values
    fig, ax = plt.subplots(figsize=(5.5, 4.2), constrained_layout=True)
    ax.plot(fine, ideal_accuracy(fine, sigma, duration), color="k", lw=1.5,
            label=f"ideal observer (sigma = {sigma:g}, T = {duration:g} ms)")
    ax.errorbar(levels, accuracy.values, yerr=se.values, fmt="o", color="tab:red", capsize=3, label="network")
    ax.axhline(0.5, color="0.5", ls=":", lw=1)
    ax.set(xlabel="coherence [%]", ylabel="fraction correct", ylim=(0.4, 1.02),
           title=f"{ds.attrs.get('population', '')}: choice over the {ds.attrs.get('read_epoch', '')} epoch")
    text = f"shortfall from ideal: mean {np.mean(shortfall):.3f}, max {np.max(shortfall):.3f}"
    if "baseline_half_difference" in ds and "half_difference" in ds:
        text += (f"\nbefore the stimulus: |half difference| <= {float(abs(ds.baseline_half_difference).max()):.1e}"
                 f"\n(read over the {ds.attrs.get('read_epoch', 'decision')} epoch: median "
                 f"{float(abs(ds.half_difference).median()):.2g})")
    ax.text(0.98, 0.02, text, transform=ax.transAxes, ha="right", va="bottom", fontsize=7)  # below chance
    ax.legend(loc="center right", fontsize=8)
    return fig
