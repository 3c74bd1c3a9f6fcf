"""Synaptic working memory: facilitation holds the bump; u and x show where the memory is."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from einet.errors import EinetError
from einet.figures import caption


def _shade_epochs(ax, ds: xr.Dataset) -> None:
    """Grey band over the cue (or sample) epoch, if the summary knows the epochs."""
    if "trial_epoch" not in ds.coords:
        return
    t = ds.trial_time.values / 1000.0
    for name in ("cue", "sample"):
        inside = np.asarray(ds.trial_epoch.values == name)
        if inside.any():
            ax.axvspan(t[inside][0], t[inside][-1], color="0.9", zorder=0)


def _epoch_length(ds: xr.Dataset, name: str) -> float | None:
    """Length of epoch ``name`` [ms] from the summary's trial_epoch labels (None if it has none)."""
    if "trial_epoch" not in ds.coords:
        return None
    t = ds.trial_time.values
    inside = np.flatnonzero(np.asarray(ds.trial_epoch.values == name))
    if inside.size == 0:
        return None
    step = float(t[1] - t[0]) if t.size > 1 else 0.0
    return float(t[inside[-1]] - t[inside[0]] + step)


@caption("""\
Working memory held by short-term facilitation (experiment ``{{ snakemake.wildcards.exp }}``,
after Mongillo, Barak & Tsodyks 2008). A cue (grey) switches on a bump on an E/I ring whose
recurrent excitation is facilitating; each colour is a facilitation time constant tau_fac
(tau_fac = 1 ms keeps u at its baseline U: no facilitation). Left: bump persistence m1/m0 over
the trial (mean over cues). Middle: release probability u and available resources x of the
traced presynaptic neuron nearest the cue (solid) and of the one opposite it (dotted), mean over
trials. Right: persistence at the end of the delay against tau_fac (mean and s.d. over cues; the
dotted line marks the delay's length). What the survival depends on is whether facilitation
lifts the cued synapses' effective coupling enough to sustain the bump by its own activity, not
whether tau_fac outlasts the delay. At the quick scale (3 s delay, 8 cues) m1/m0 falls below 0.1
within 50, 180 and 610 ms of the cue's end for tau_fac = 1, 250 and 500 ms (0.006, 0.009 and
0.010 at the end of the delay), and the bump is held through the whole delay for tau_fac = 1000
and 2000 ms, a third and two thirds of the delay (m1/m0 1.55 and 1.45 at its end, s.d. over cues
below 0.001, within 3 % of that value from 1.2 s after the cue on: a steady bump, not a slow
decay). In the held bump the cued neuron fires at the transfer's r_max = 50 Hz and its u sits at
the Tsodyks-Markram fixed point U (1 + tau_fac r) / (1 + U tau_fac r) = 0.729 and 0.842 (measured
0.729 and 0.842), while u opposite the cue stays at U = 0.05. This is the persistent-activity
regime of Mongillo, Barak & Tsodyks (2008), in which facilitation stabilises a firing bump.
Their activity-silent memory, u alone holding the cue for about tau_fac after the activity
stops, is not tested: the task has no read-out input that would reactivate the bump, and where
the bump dies u decays back towards U (0.059 and 0.070 at the end of the delay for tau_fac = 250
and 500 ms). Without facilitation (tau_fac = 1 ms) the bump decays, as in their model.
""")
def draw_stp_memory(ds: xr.Dataset) -> plt.Figure:
    """Persistence over the trial, u and x at the cued and opposite neuron, persistence per parameter."""
    stp_vars = sorted(v for v in ds.data_vars if v.startswith("stp_u_"))
    if "persistence_trace" not in ds or not stp_vars:
        raise EinetError("the stp_memory figure needs a ring analysis of an ODR run with STP on the cued ring "
                         "and traced neurons (simulation.record.neurons > 0)")
    if "seed" in ds.dims:
        ds = ds.isel(seed=0)
    projection = stp_vars[0][len("stp_u_"):]
    axes_dims = [d for d in ds.persistence_trace.dims if d != "trial_time"]
    if len(axes_dims) > 1:
        raise EinetError(f"the stp_memory figure takes at most one parameter axis, got {axes_dims}")
    axis = axes_dims[0] if axes_dims else None
    values = ds[axis].values if axis else [None]
    colors = plt.cm.plasma(np.linspace(0.05, 0.85, len(values)))
    fig, (ax_p, ax_u, ax_x, ax_end) = plt.subplots(1, 4, figsize=(17, 4.2), constrained_layout=True)
    t = ds.trial_time.values / 1000.0

    def pick(da, value):
        return da.sel({axis: value}) if axis else da

    for color, value in zip(colors, values):
        label = f"{axis} = {value:g}" if axis else None
        ax_p.plot(t, pick(ds.persistence_trace, value), color=color, label=label)
        for ax, var in ((ax_u, f"stp_u_{projection}"), (ax_x, f"stp_x_{projection}")):
            trace = pick(ds[var], value)
            ax.plot(t, trace.sel(site="cued"), color=color, label=label)
            ax.plot(t, trace.sel(site="opposite"), color=color, ls=":", lw=0.9)
    for ax in (ax_p, ax_u, ax_x):
        _shade_epochs(ax, ds)
        ax.set_xlabel("time in the trial [s]")
    ax_p.set(ylabel="m1 / m0", title="bump persistence (grey: cue)")
    ax_u.set(ylabel="u", title=f"release probability u ({projection}); dotted: opposite the cue")
    ax_x.set(ylabel="x", title=f"resources x ({projection}); dotted: opposite the cue")
    if axis:
        ax_p.legend(fontsize=8)
        pop = ds.attrs.get("population")  # the cued population, set by the ring analysis
        end = ds.persistence.sel(population=pop) if pop in ds.population.values else ds.persistence.isel(population=0)
        x = np.asarray(values, dtype=float)
        ax_end.errorbar(x, end.mean("trial"), yerr=end.std("trial"), fmt="o-", color="k", ms=4)
        unit = " ms" if axis == "tau_fac" else ""
        ax_end.text(0.03, 0.62, "m1/m0 at the end:\n" + "\n".join(
            f"{axis} = {xi:g}{unit}: {yi:.3f}" for xi, yi in zip(x, end.mean("trial").values)),
            transform=ax_end.transAxes, fontsize=7, va="top")
        delay = _epoch_length(ds, "delay")
        if delay and axis == "tau_fac":
            ax_end.axvline(delay, color="0.5", ls=":", lw=1.0, label=f"delay length ({delay:g} ms)")
            ax_end.legend(fontsize=7, loc="upper left")
        ax_end.set(xscale="log" if (x > 0).all() else "linear", xlabel=f"{axis}{' [ms]' if unit else ''}",
                   ylabel="m1 / m0 at the end of the delay",
                   title="memory held at the end of the delay")
    else:
        ax_end.axis("off")
    fig.suptitle(f"{ds.attrs.get('experiment', 'stp')}: working memory held by short-term facilitation")
    return fig
