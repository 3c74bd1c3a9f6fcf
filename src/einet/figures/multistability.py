"""Multistability of a ring: the region map and the two branches that make the hysteresis."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from matplotlib.colors import ListedColormap
from matplotlib.patches import Patch

from einet.analysis.multistability import REGIONS
from einet.errors import EinetError
from einet.figures import caption

REGION_COLORS = {"uniform": "0.85", "bistable": "tab:purple", "bump": "tab:orange",
                 "bump_from_uniform_only": "tab:red", "bistable_high": "tab:green"}
REGION_LABELS = {"uniform": "uniform (both starts)", "bistable": "bistable: low uniform / bump",
                 "bump": "bump (both starts)", "bump_from_uniform_only": "bump from the uniform start only",
                 "bistable_high": "bistable: high-rate uniform / bump"}
BISTABLE = ("bistable", "bistable_high")


def _map_axes(ds: xr.Dataset) -> tuple[str, str]:
    """The two parameter axes of the map: (x, y) = (last, first) of the region's dimensions."""
    dims = [d for d in ds.region.dims if d != "seed"]
    if len(dims) != 2:
        raise EinetError(f"the multistability figure needs exactly two parameter axes besides the start, got {dims}")
    return dims[1], dims[0]


@caption("""\
Multistability of a ring network (experiment ``{{ snakemake.wildcards.exp }}``). Every pair of
parameters (the two batch axes, here the recurrent excitation J and its cosine modulation
kappa) is run from the uniform state and from a bump (batch axis ``start`` over
``init_modulation``). Left: the region of each pair: uniform (both starts end uniform), bump
(both end in a bump), and two kinds of bistability (each start keeps its state: hysteresis), told
apart by the steady mean rate m0 of the uniform state against the bump's: purple, a low-rate
uniform state beside the bump (the regime in which a transient cue can switch a persistent bump
on); green, a high-rate uniform state beside a bump of lower mean rate (with the sigmoid, the
uniform state saturated at r_max, from which a cue cannot switch a bump on). In the default map
(quick scale) the purple band lies below the bump band in J (J = 8-10, uniform m0 0.05-0.08
against bump m0 0.27-0.38) and the green band above it (J = 12-13, uniform m0 = 1.00 = r_max
against bump m0 0.55-0.64); the uniform region likewise holds the low state (m0 <= 0.08, J <= 10)
and the saturated one (m0 = 1.00, J >= 12). A steady state counts as a bump when its persistence m1/m0 (mean over
the last part of the run) exceeds the analysis threshold. Middle and right: persistence and mean
rate along the dashed column of the map (the one with the most bistable pairs) from both starts,
its bistable pairs shaded in their region's colour: where the two branches differ, the network is
bistable; the bump branch reaching lower J than the uniform start's bump is the low kind, reaching
higher J (while the uniform start saturates) the high kind.
""")
def draw_multistability(ds: xr.Dataset) -> plt.Figure:
    """Left: region of each parameter pair. Middle, right: m1/m0 and m0 from both starts along y."""
    x, y = _map_axes(ds)
    start = ds.attrs.get("start_axis", "start")
    region = ds.region.isel(seed=0) if "seed" in ds.region.dims else ds.region
    region = region.transpose(y, x)
    fig, (ax_map, ax_per, ax_m0) = plt.subplots(1, 3, figsize=(14, 4.3), constrained_layout=True)
    cmap = ListedColormap([REGION_COLORS[r] for r in REGIONS])
    xv, yv = ds[x].values, ds[y].values
    ax_map.pcolormesh(_edges(xv), _edges(yv), region.values, cmap=cmap, vmin=-0.5, vmax=len(REGIONS) - 0.5)
    present = sorted(set(np.unique(region.values).tolist()))
    ax_map.legend(handles=[Patch(color=REGION_COLORS[REGIONS[i]], label=REGION_LABELS[REGIONS[i]]) for i in present],
                  fontsize=8, loc="lower left")
    ax_map.set(xlabel=x, ylabel=y, title="steady states from the uniform and the bump start")

    bistable = region.isin([REGIONS.index(r) for r in BISTABLE]).sum(y)
    column = xv[int(np.argmax(bistable.values))] if int(bistable.max()) > 0 else xv[len(xv) // 2]
    ax_map.axvline(column, color="k", lw=0.8, ls="--")
    line = ds.sel({x: column})
    line = line.isel(seed=0) if "seed" in line.dims else line
    starts = ds[start].values
    kinds = region.sel({x: column}).values
    edges = _edges(yv)
    for i, code in enumerate(kinds):  # shade the column's bistable pairs in their region's colour
        if REGIONS[int(code)] in BISTABLE:
            for ax in (ax_per, ax_m0):
                ax.axvspan(edges[i], edges[i + 1], color=REGION_COLORS[REGIONS[int(code)]], alpha=0.2, lw=0)
    for value, style, label in ((starts.min(), "o-", "from uniform"), (starts.max(), "s--", "from bump")):
        branch = line.sel({start: value})
        ax_per.plot(yv, branch.persistence, style, ms=4, label=label)
        ax_m0.plot(yv, branch.m0, style, ms=4, label=label)
    threshold = float(ds.attrs.get("bump_threshold", np.nan))
    ax_per.axhline(threshold, color="0.5", lw=0.8, ls=":")
    ax_per.set(xlabel=y, ylabel="m1 / m0", title=f"persistence at {x} = {column:g} (hysteresis)")
    ax_per.legend(fontsize=8, title=f"dotted: bump threshold {threshold:g}", title_fontsize=7)
    ax_m0.set(xlabel=y, ylabel="m0", title=f"mean rate at {x} = {column:g}")
    ax_m0.legend(fontsize=8)
    fig.suptitle(f"{ds.attrs.get('experiment', 'multistability')}: uniform, bump and bistable states of the ring")
    return fig


def _edges(values: np.ndarray) -> np.ndarray:
    """Cell edges around (possibly uneven) grid values, for pcolormesh."""
    v = np.asarray(values, dtype=float)
    if v.size == 1:
        return np.array([v[0] - 0.5, v[0] + 0.5])
    mid = (v[1:] + v[:-1]) / 2
    return np.concatenate([[v[0] - (mid[0] - v[0])], mid, [v[-1] + (v[-1] - mid[-1])]])
