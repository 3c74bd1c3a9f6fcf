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


@caption("""\
Working memory held by short-term facilitation (experiment ``{{ snakemake.wildcards.exp }}``,
after Mongillo, Barak & Tsodyks 2008). A cue (grey) switches on a bump on an E/I ring whose
recurrent excitation is facilitating; each colour is a facilitation time constant tau_fac
(tau_fac = 1 ms keeps u at its baseline U: no facilitation). Left: bump persistence m1/m0 over
the trial (mean over cues). Middle: release probability u and available resources x of the
traced presynaptic neuron nearest the cue (solid) and of the one opposite it (dotted), mean over
trials. Right: persistence at the end of the delay against tau_fac (mean and s.d. over cues):
the bump survives the delay only when facilitation outlasts it.
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
        ax_end.set(xscale="log" if (x > 0).all() else "linear", xlabel=axis, ylabel="m1 / m0 at the end of the delay",
                   title="memory held at the end of the delay")
    else:
        ax_end.axis("off")
    fig.suptitle(f"{ds.attrs.get('experiment', 'stp')}: working memory held by short-term facilitation")
    return fig
