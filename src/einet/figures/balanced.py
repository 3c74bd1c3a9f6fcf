"""Balanced networks: rates approach the balanced limit like 1/sqrt(K)."""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np
import xarray as xr

from einet.errors import EinetError
from einet.figures import caption

POP_STYLE = {"E": ("tab:red", "o"), "I": ("tab:blue", "s")}


def _style(pop: str, index: int):
    default = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    return POP_STYLE.get(pop, (default[index % len(default)], "^"))


def _over_seeds(da: xr.DataArray):
    """Mean and standard error over seeds (if there is a seed dimension)."""
    if "seed" in da.dims and da.sizes["seed"] > 1:
        return da.mean("seed"), da.std("seed") / np.sqrt(da.sizes["seed"])
    da = da.mean("seed") if "seed" in da.dims else da
    return da, xr.zeros_like(da)


@caption("""\
Balanced E/I network (experiment ``{{ snakemake.wildcards.exp }}``). Top left: mean rate
of each population against the mean in-degree K, averaged over seeds (error bars:
standard error), for each external drive; dotted lines are the balanced limit
(the O(sqrt K) mean input vanishes: C m + external = 0) and solid lines the finite-K
mean-field solution. Top middle: relative distance to the balanced limit, which
shrinks like 1/sqrt(K) (dashed). Top right: excitatory (recurrent + external),
inhibitory and net input; both grow like sqrt(K) while the net input stays O(1).
Bottom left: balance index ``|net| / |excitatory|``. Bottom middle: fraction of active
neurons with the mean-field prediction. Bottom right: distribution of time-averaged
rates (normalised by the population mean) at the smallest and largest K, with the
mean-field density in black.
""")
def draw_balanced(ds: xr.Dataset) -> plt.Figure:
    """Six panels: rates vs K with theory, deviation, currents, balance index, activity, distributions."""
    if "K" not in ds.dims:
        raise EinetError("the balanced figure needs a grid axis named K (sweep.grid: {model.K: [...]})")
    extra = [d for d in ds.rate.dims if d not in ("K", "seed", "population")]
    drive_dim = extra[0] if extra else None
    drives = list(ds[drive_dim].values) if drive_dim else [None]
    K = ds.K.values
    pops = [str(p) for p in ds.population.values]
    fig, axes = plt.subplots(2, 3, figsize=(13, 7.5), constrained_layout=True)
    ax_rate, ax_dev, ax_cur, ax_bal, ax_act, ax_hist = axes.flat
    shades = np.linspace(0.45, 1.0, len(drives))

    def sel(da, drive):
        return da.sel({drive_dim: drive}) if drive_dim else da

    for a, pop in enumerate(pops):
        color, marker = _style(pop, a)
        for shade, drive in zip(shades, drives):
            label = f"{pop}" + (f", {drive_dim}={drive:g}" if drive_dim else "")
            kw = dict(color=color, alpha=shade)
            rate, err = _over_seeds(sel(ds.rate, drive).sel(population=pop))
            ax_rate.errorbar(K, rate, yerr=err, fmt=marker, ms=4, label=label, **kw)
            mf, _ = _over_seeds(sel(ds.rate_meanfield, drive).sel(population=pop))
            ax_rate.plot(K, mf, "-", lw=1, **kw)
            bal = float(sel(ds.rate_balanced, drive).sel(population=pop).mean())
            ax_rate.axhline(bal, ls=":", lw=1, **kw)
            dev, derr = _over_seeds(sel(ds.deviation_balanced, drive).sel(population=pop))
            ax_dev.errorbar(K, dev, yerr=derr, fmt=marker + "-", ms=4, lw=0.8, **kw)
            bi, berr = _over_seeds(sel(ds.balance_index, drive).sel(population=pop))
            ax_bal.errorbar(K, bi, yerr=berr, fmt=marker + "-", ms=4, lw=0.8, **kw)
            act, aerr = _over_seeds(sel(ds.fraction_active, drive).sel(population=pop))
            ax_act.errorbar(K, act, yerr=aerr, fmt=marker, ms=4, **kw)
            mfa, _ = _over_seeds(sel(ds.fraction_active_meanfield, drive).sel(population=pop))
            ax_act.plot(K, mfa, "-", lw=1, **kw)
        middle = drives[len(drives) // 2]
        for var, ls, name in (("current_exc", "-", "exc"), ("current_inh", "--", "inh"), ("current_net", ":", "net")):
            cur, _ = _over_seeds(sel(ds[var], middle).sel(population=pop))
            if var == "current_exc":
                cur = cur + _over_seeds(sel(ds.current_ext, middle).sel(population=pop))[0]
            ax_cur.plot(K, cur, ls, color=color, marker=marker, ms=3, label=f"{pop} {name}")
        for K_value, ls in ((K[0], "--"), (K[-1], "-")):
            h = sel(ds.rate_hist, middle).sel(population=pop, K=K_value)
            h = h.mean("seed") if "seed" in h.dims else h
            ax_hist.step(ds.rate_bin, h, where="mid", color=color, ls=ls, lw=1, label=f"{pop}, K={K_value:g}")
            mfh = sel(ds.rate_hist_meanfield, middle).sel(population=pop, K=K_value)
            mfh = mfh.mean("seed") if "seed" in mfh.dims else mfh
            if np.isfinite(mfh).any():
                ax_hist.plot(ds.rate_bin, mfh, color="k", ls=ls, lw=0.6)

    ref = K.astype(float) ** -0.5
    for ax, data in ((ax_dev, ds.deviation_balanced), (ax_bal, ds.balance_index)):
        anchor = float(data.isel(K=0).mean())
        if np.isfinite(anchor) and anchor > 0:
            ax.plot(K, anchor * ref / ref[0], "k--", lw=1, label=r"$\propto 1/\sqrt{K}$")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.legend(fontsize=7)
    ax_rate.set(xscale="log", xlabel="K", ylabel="mean rate", title="rates (dots: balanced limit, lines: mean field)")
    handles, labels = ax_rate.get_legend_handles_labels()  # the empty lower part of the activity panel
    ax_act.legend(handles, labels, fontsize=7, ncol=2, loc="lower right", title="simulation", title_fontsize=7)
    ax_dev.set(xlabel="K", ylabel="|rate - balanced| / balanced", title="distance to the balanced limit")
    ax_cur.set(xscale="log", xlabel="K", ylabel="mean input",
               title="inputs" + (f" ({drive_dim}={middle:g})" if drive_dim else ""))
    ax_cur.axhline(0, color="0.7", lw=0.5)
    ax_cur.legend(fontsize=7, ncol=2)
    ax_bal.set(xlabel="K", ylabel="|net| / |exc + ext|", title="balance index")
    ax_act.set(xscale="log", xlabel="K", ylabel="fraction active", ylim=(0, 1.05), title="active neurons (lines: mean field)")
    ax_hist.set(xlabel="rate / mean rate", ylabel="density",
                title="rate distribution (black: mean field)", yscale="log", ylim=(1e-4, None))
    ax_hist.legend(fontsize=7)
    for ax in axes.flat[:5]:
        ax.set_xticks(K)
        ax.xaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
        ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    fig.suptitle(f"{ds.attrs.get('experiment', 'balanced')}: balanced E/I network")
    return fig
