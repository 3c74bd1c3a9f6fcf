"""Learning-rule figures: learning curves with a table of final accuracies, and first-layer receptive fields.

A *variant* is one combination of the summary's grid values other than the
seed (e.g. rule x dale); curves average over seeds, receptive fields show
the first seed (weights of different seeds do not average into a picture).
"""

from __future__ import annotations

import itertools
import math

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from einet.errors import EinetError
from einet.figures import caption

__all__ = ["draw_learning_curves", "draw_receptive_fields"]

_NOT_VARIANTS = ("epoch", "projection", "unit", "feature", "seed")


def _require(ds: xr.Dataset, variables: list[str], figure: str) -> None:
    missing = [v for v in variables if v not in ds]
    if missing:
        raise EinetError(f"figure {figure} needs variables {', '.join(missing)} (analysis kind learning)")


def _label(dim: str, value) -> str:
    if dim == "dale":
        return "Dale" if bool(value) else "no Dale"
    return f"{value}" if dim == "rule" else f"{dim}={value}"


def _variants(ds: xr.Dataset) -> list[tuple[str, xr.Dataset]]:
    """(label, selection) per combination of the grid dimensions other than seed, in coordinate order."""
    dims = [d for d in ds.dims if d not in _NOT_VARIANTS]
    if not dims:
        return [(str(ds.attrs.get("job", "")) or "network", ds)]
    out = []
    for values in itertools.product(*(ds[d].values for d in dims)):
        label = ", ".join(_label(d, v) for d, v in zip(dims, values))
        out.append((label, ds.sel(dict(zip(dims, values)))))
    return out


def _seed_mean(da: xr.DataArray) -> xr.DataArray:
    return da.mean("seed") if "seed" in da.dims else da


@caption("""\
Learning rules on an E/I population network (experiment ``{{ snakemake.wildcards.exp }}``): test
(solid) and training (dashed) accuracy after each epoch, for every rule on the feed-forward
projections into the hidden layer, with Dale's law (every projection keeps its source's sign,
by projection after each update) and without it; the readout always learns by backprop, so the
local rules (Hebbian, BCM, Oja) supply unsupervised features. Curves are means over seeds; the
dotted line is chance. Table: final test accuracy, mean and standard deviation over seeds.
""")
def draw_learning_curves(ds: xr.Dataset) -> plt.Figure:
    """Test (solid) and training (dashed) accuracy per epoch for every variant, and a table of final accuracies."""
    _require(ds, ["test_accuracy", "train_accuracy", "final_test_accuracy"], "learning_curves")
    variants = _variants(ds)
    fig, (ax, ax_table) = plt.subplots(1, 2, figsize=(12, 0.9 + max(4.0, 0.32 * len(variants) + 1.5)),
                                       gridspec_kw={"width_ratios": [1.4, 1]}, constrained_layout=True)
    rows = []
    for i, (label, part) in enumerate(variants):
        color = f"C{i % 10}"
        epochs = part.epoch.values
        ax.plot(epochs, _seed_mean(part.test_accuracy), "o-", ms=3, color=color, label=label)
        ax.plot(epochs, _seed_mean(part.train_accuracy), "--", lw=0.8, color=color)
        final = np.atleast_1d(part.final_test_accuracy.values)
        spread = f"{final.std(ddof=1):.3f}" if final.size > 1 else "-"
        rows.append([label, f"{final.mean():.3f}", spread, str(final.size)])
    ax.axhline(0.1, color="k", lw=0.5, ls=":")
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy (solid: test, dashed: training)")
    ax.set_ylim(0, 1.02)
    ax.set_title(f"learning curves ({ds.attrs.get('dataset', '')})")
    ax.legend(fontsize=7, ncol=2, loc="lower right")
    ax_table.axis("off")
    table = ax_table.table(cellText=rows, colLabels=["variant", "final test acc.", "s.d.", "seeds"], loc="center",
                           cellLoc="left")
    table.auto_set_font_size(False)
    table.set_fontsize(8)
    table.scale(1, 1.3)
    ax_table.set_title("final test accuracy (mean over seeds)")
    return fig


@caption("""\
Receptive fields after training (experiment ``{{ snakemake.wildcards.exp }}``): the final weights
from the input pixels onto evenly spaced neurons of the first hidden population, as images (red
excitatory, blue inhibitory weights; each panel scaled to its own largest weight), one row per
rule and sign constraint, first seed. The input population carries standardised pixels of
either sign and is not sign-constrained, so these fields have both colours with and without
Dale's law. A blank panel marks a run whose weights diverged.
""")
def draw_receptive_fields(ds: xr.Dataset, units: int = 8) -> plt.Figure:
    """Final first-layer weights of ``units`` neurons per variant, as images when the input is square."""
    _require(ds, ["receptive_field"], "receptive_fields")
    variants = _variants(ds)
    n_units = min(units, ds.sizes["unit"])
    n_features = ds.sizes["feature"]
    side = int(ds.attrs.get("image_side", 0)) or math.isqrt(n_features)
    shape = (side, side) if side * side == n_features else (1, n_features)
    fig, axes = plt.subplots(len(variants), n_units, figsize=(1.3 * n_units + 1.6, 1.35 * len(variants) + 0.6),
                             squeeze=False, constrained_layout=True)
    for row, (label, part) in zip(axes, variants):
        fields = part.receptive_field
        if "seed" in fields.dims:
            fields = fields.isel(seed=0)
        for j, ax in enumerate(row):
            w = fields.isel(unit=j).values.reshape(shape)
            finite = np.abs(w[np.isfinite(w)])
            scale = float(finite.max()) if finite.size and finite.max() > 0 else 1.0  # a diverged run: blank
            ax.imshow(w, cmap="RdBu_r", vmin=-scale, vmax=scale, interpolation="nearest", aspect="auto")
            ax.set_xticks([])
            ax.set_yticks([])
            if j == 0:
                ax.set_ylabel(label, fontsize=7, rotation=0, ha="right", va="center")
    fig.suptitle(f"receptive fields: final weights {ds.attrs.get('receptive_field_projection', '')} "
                 "(red > 0, blue < 0; each panel scaled to its own max)", fontsize=9)
    return fig
