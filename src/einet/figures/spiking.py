"""The asynchronous irregular state of a spiking network: raster, population rate, ISI CV and rates."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from einet.errors import EinetError
from einet.figures import caption

COLORS = {"E": "tab:red", "I": "tab:blue"}


def _cv_label(one: xr.Dataset, name: str) -> str:
    """Mean ISI CV of population ``name`` with the data behind it: CV2, ISIs and neurons."""
    pop = one.sel(population=name)
    text = f"CV {float(pop.cv_mean):.2f}"
    if "cv2_mean" in one and np.isfinite(float(pop.cv2_mean)):
        text += f", CV2 {float(pop.cv2_mean):.2f}"
    if "isi_count" in one:
        text += f" ({float(pop.isi_count):,.0f} ISIs, {float(pop.cv_defined * pop.population_size):.0f} neurons)"
    return text


def _first_element(ds: xr.Dataset) -> tuple[xr.Dataset, str]:
    """The first point of every batch and grid dimension, and a label naming it."""
    extra = [d for d in ds["rate_mean"].dims if d != "population"]
    picked = ds.isel({d: 0 for d in extra})
    label = ", ".join(f"{d} = {picked[d].values}" for d in extra)
    return picked, label


@caption("""\
The CUBA (or COBA) benchmark network of Brette et al. (2007), after Vogels & Abbott (2005) (experiment
``{{ snakemake.wildcards.exp }}``): 4000 LIF neurons (80 % excitatory), 2 % random connectivity,
exponential current synapses integrated exactly between steps (COBA: conductance synapses, held
over each step, the activity started by a 50 ms drive), dt = 0.1 ms. Top left: spikes of
the raster neurons in the last part of the run (red excitatory, blue inhibitory). Bottom left:
population rates in 1 ms bins, with the mean rate of each population. Right: distributions across
neurons of the ISI coefficient of variation (neurons with 3+ spikes after the transient; the legend
gives the mean CV, the mean local variation CV2 of consecutive intervals of Holt et al. (1996), and
the intervals and neurons behind them; dotted: CV = 1 of a Poisson process, which asynchronous
irregular states approach, Brunel 2000) and of the firing rate; titles give the window, the
synchrony chi of Golomb (2007) (about 1/sqrt(n) for independent neurons, 1 for full synchrony) and
the Fano factor of the population count. The CV needs long runs: a window short against the slow
neurons' intervals cuts their long ISIs off, and only neurons with 3+ spikes enter, so it reads
low; the title says so when the neurons average fewer than 10 intervals. For cuba (seed 0) the mean
E CV is 0.49 from a 1 s run (0.8 s after the transient, 4.7 spikes per neuron), 0.61 at 2 s, 0.72 at
10 s (the quick and paper scales: E 0.72 from 179,635 ISIs of 2919 neurons, I 0.72 from 43,203 of
722) and 0.77 at 40 s; E CV2, less sensitive to the window, reads 0.65, 0.71, 0.75 and 0.76. The
network is asynchronous (chi = 0.11 and 0.10 for 100 raster neurons per population, against
1/sqrt(100) = 0.10 for independent ones) and its firing irregular but less so than Poisson
(CV about 0.75, not 1: with E_L above threshold every neuron is driven to fire on its own, and
uncoupled it fires periodically). With batch or grid axes, the first parameter set is shown.
""")
def draw_cuba(ds: xr.Dataset) -> plt.Figure:
    """Raster and population rate of the first parameter set; ISI CV and rate histograms per population."""
    if "raster" not in ds or "cv_hist" not in ds:
        raise EinetError("the cuba figure needs the summary of a spiking analysis (analysis.kind: spiking)")
    one, label = _first_element(ds)
    pops = [str(p) for p in one.population.values]
    fig = plt.figure(figsize=(13, 7), constrained_layout=True)
    grid = fig.add_gridspec(2, 3, height_ratios=[1.4, 1])
    ax_raster = fig.add_subplot(grid[0, :2])
    ax_rate = fig.add_subplot(grid[1, :2], sharex=ax_raster)
    ax_cv, ax_hist = fig.add_subplot(grid[0, 2]), fig.add_subplot(grid[1, 2])

    raster = one["raster"].values
    row, col = np.nonzero(raster)
    times = one.raster_time.values
    pop_of_row = one.raster_population.values.astype(str)
    for name in pops:
        chosen = pop_of_row[row] == name
        ax_raster.scatter(times[col[chosen]], row[chosen], s=1.5, color=COLORS.get(name), label=name, linewidths=0)
    ax_raster.set(ylabel="neuron (raster subset)", title=f"spikes{' (' + label + ')' if label else ''}")
    ax_raster.legend(loc="upper right", markerscale=6, fontsize=8)

    window = (one.time.values >= times[0] - 1e-9) & (one.time.values <= times[-1] + 1e-9)
    for name in pops:
        ax_rate.plot(one.time.values[window], one.population_rate.sel(population=name).values[window],
                     color=COLORS.get(name), lw=0.8, label=f"{name}: {float(one.rate_mean.sel(population=name)):.1f} Hz")
    ax_rate.set(xlabel="time [ms]", ylabel="population rate [Hz]")
    ax_rate.legend(fontsize=8, loc="upper right")

    for ax, var, coord, xlabel, mean in ((ax_cv, "cv_hist", "cv_bin", "ISI CV", "cv_mean"),
                                         (ax_hist, "rate_hist", "rate_bin", "firing rate [Hz]", "rate_mean")):
        width = float(np.diff(one[coord].values[:2])[0]) if one.sizes[coord] > 1 else 1.0
        for name in pops:
            label = f"{name}: mean {float(one[mean].sel(population=name)):.2f}"
            if var == "cv_hist":
                label = f"{name}: {_cv_label(one, name)}"
            ax.step(one[coord].values, one[var].sel(population=name).values, where="mid", color=COLORS.get(name),
                    label=label)
        ax.set(xlabel=xlabel, ylabel=f"fraction of neurons (bin {width:.2g})")
        if var == "cv_hist":
            ax.axvline(1.0, color="0.4", ls=":", lw=1.0, label="Poisson process (CV = 1)")
            ax.set_ylim(0.0, 1.5 * max(float(one[var].max()), 1e-3))  # room for the legend above the data
        ax.legend(fontsize=7, loc="upper right") if var == "cv_hist" else ax.legend(fontsize=8)
    chi = ", ".join(f"{n} {float(one.synchrony.sel(population=n)):.2f}" for n in pops)
    fano = ", ".join(f"{n} {float(one.fano.sel(population=n)):.1f}" for n in pops)
    window = (float(ds.attrs.get("duration_ms", np.nan)) - float(ds.attrs.get("transient_ms", 0.0))) / 1000.0
    per_neuron = float(one.isi_count.sum() / (one.cv_defined * one.population_size).sum()) if "isi_count" in one \
        else np.nan
    short = " (short window: CV biased low)" if not per_neuron >= 10 else ""
    ax_cv.set_title(f"ISI CV over {window:g} s after the transient{short}\nsynchrony chi: {chi}", fontsize=9)
    ax_hist.set_title(f"rates; Fano factor of population counts: {fano}", fontsize=9)
    return fig
