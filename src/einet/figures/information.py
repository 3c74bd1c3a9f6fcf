"""Effective-information figures: classifier layers during training, recurrent E/I networks across K."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from einet.errors import EinetError
from einet.figures import caption


def _keep(da: xr.DataArray, dims: list[str]) -> xr.DataArray:
    """Average over every dimension not in ``dims`` (seeds, batch axes)."""
    extra = [d for d in da.dims if d not in dims]
    return da.mean(extra) if extra else da


def _require(ds: xr.Dataset, variables: list[str], figure: str) -> None:
    missing = [v for v in variables if v not in ds]
    if missing:
        raise EinetError(f"figure {figure} needs variables {', '.join(missing)} (analysis kind information "
                         "or recurrent_ei)")


def _groups(ds: xr.Dataset) -> list[tuple[str, xr.Dataset]]:
    """One panel group per dataset when the summary has a dataset axis, else one."""
    if "dataset" in ds.dims:
        return [(str(d), ds.sel(dataset=d)) for d in ds.dataset.values]
    return [(str(ds.attrs.get("dataset", "")), ds)]


@caption("""\
Layers of sigmoid classifiers (experiment ``{{ snakemake.wildcards.exp }}``) in the causal
plane during plain-SGD training: each layer's sensitivity (x) and degeneracy (y), in raw
bits, at log-spaced checkpoints from epoch 0 (light) to the end (dark, arrow), averaged over
seeds, one panel per dataset. Inputs are uniform (maximum-entropy) interventions binned into
equal bins; degeneracy = sensitivity - EI_parts.
""")
def draw_causal_plane(ds: xr.Dataset) -> plt.Figure:
    """Each layer's path through the causal plane (sensitivity, degeneracy) over training."""
    _require(ds, ["sensitivity", "degeneracy"], "causal_plane")
    groups = _groups(ds)
    fig, axes = plt.subplots(1, len(groups), figsize=(5.2 * len(groups), 4.4), constrained_layout=True,
                             squeeze=False)
    for ax, (name, part) in zip(axes[0], groups):
        sens = _keep(part.sensitivity, ["epoch", "layer"])
        deg = _keep(part.degeneracy, ["epoch", "layer"])
        epochs = part.epoch.values
        shade = np.linspace(0.15, 1.0, len(epochs))
        for i, layer in enumerate(part.layer.values):
            x, y = sens.sel(layer=layer).values, deg.sel(layer=layer).values
            if not np.isfinite(x).any():
                continue
            color = f"C{i}"
            ax.plot(x, y, "-", color=color, lw=1, label=str(layer))
            ax.scatter(x, y, c=shade, cmap="Greys", vmin=0, vmax=1, edgecolors=color, s=28, zorder=3)
            ax.annotate("", xy=(x[-1], y[-1]), xytext=(x[-2], y[-2]),
                        arrowprops=dict(arrowstyle="->", color=color)) if len(x) > 1 else None
        ax.axhline(0, color="k", lw=0.5)
        ax.set_xlabel("sensitivity [bit]")
        ax.set_ylabel("degeneracy [bit]")
        ax.set_title(f"{name}: epochs {epochs[0]:g} (light) to {epochs[-1]:g} (dark)" if name else "causal plane")
        ax.legend(title="layer", fontsize=8)
    return fig


@caption("""\
Effective information during training (experiment ``{{ snakemake.wildcards.exp }}``). Left:
EI_parts (solid) and EI of the whole layer (dashed) of each layer against epoch; EI of a wide
layer is bounded by log2 of the sample count, so EI_parts is the measure to compare across
layers. Right: loss (black) and accuracy (green) on the training (solid) and test (dashed)
sets. Averaged over seeds, one row per dataset.
""")
def draw_ei_training(ds: xr.Dataset) -> plt.Figure:
    """EI_parts and EI of each layer against epoch, beside loss and accuracy."""
    _require(ds, ["ei_parts", "ei", "loss_train", "accuracy_test"], "ei_training")
    groups = _groups(ds)
    fig, axes = plt.subplots(len(groups), 2, figsize=(11, 3.6 * len(groups)), constrained_layout=True,
                             squeeze=False)
    for (ax_ei, ax_loss), (name, part) in zip(axes, groups):
        epochs = part.epoch.values
        for i, layer in enumerate(part.layer.values):
            parts = _keep(part.ei_parts.sel(layer=layer), ["epoch"])
            if not np.isfinite(parts).any():
                continue
            ax_ei.plot(epochs, parts, "o-", color=f"C{i}", ms=3, label=f"{layer} EI_parts")
            ax_ei.plot(epochs, _keep(part.ei.sel(layer=layer), ["epoch"]), "s--", color=f"C{i}", ms=3, lw=0.8,
                       label=f"{layer} EI")
        ax_ei.set_ylabel("bits")
        ax_ei.set_title(f"{name}: EI per layer" if name else "EI per layer")
        ax_ei.legend(fontsize=7, ncol=2)
        for key, style in (("loss_train", "k-"), ("loss_test", "k--")):
            ax_loss.plot(epochs, _keep(part[key], ["epoch"]), style, label=key.replace("_", " "))
        ax_loss.set_ylabel("loss")
        ax_acc = ax_loss.twinx()
        for key, style in (("accuracy_train", "g-"), ("accuracy_test", "g--")):
            ax_acc.plot(epochs, _keep(part[key], ["epoch"]), style, label=key.replace("_", " "))
        ax_acc.set_ylim(0, 1.02)
        ax_acc.set_ylabel("accuracy", color="g")
        lines = ax_loss.get_legend_handles_labels()
        more = ax_acc.get_legend_handles_labels()
        ax_loss.legend(lines[0] + more[0], lines[1] + more[1], fontsize=7, loc="center right")
        ax_loss.set_title(f"{name}: loss and accuracy" if name else "loss and accuracy")
        for ax in (ax_ei, ax_loss):
            ax.set_xscale("symlog", linthresh=1)
            ax.set_xlim(left=0)
            ax.set_xlabel("epoch")
    return fig


@caption("""\
Effective information of balanced E/I rate networks (experiment
``{{ snakemake.wildcards.exp }}``) against the mean in-degree K. Sampled neurons of the source
population get uniform rates over [0, 2 x mean rate], every other neuron rests at its
time-averaged rate from the simulation, and the target's rates are binned after one time step
(solid) or the map unrolled over T steps (dashed). Panels: EI_parts, sensitivity and
degeneracy per projection (target-source, e.g. EI: from I to E), and EI_parts into each
population when all sampled neurons are drawn; averaged over seeds.
""")
def draw_recurrent_ei(ds: xr.Dataset) -> plt.Figure:
    """Per-projection EI_parts, sensitivity and degeneracy against K, one-step and unrolled."""
    names = ["ei_parts_projection", "sensitivity_projection", "degeneracy_projection"]
    _require(ds, names, "recurrent_ei")
    if "K" not in ds.dims:
        raise EinetError("the recurrent_ei figure needs a grid axis named K (sweep.grid: {model.K: [...]})")
    K = ds.K.values
    steps = ds.steps.values
    fig, axes = plt.subplots(1, 4, figsize=(17, 4.6), constrained_layout=True)
    for ax, var in zip(axes, names):
        for p, proj in enumerate(ds.projection.values):
            for s, ls in zip(steps, ("-", "--", ":", "-.")):
                da = _keep(ds[var].sel(projection=proj, steps=s), ["K"])
                ax.plot(K, da, ls, marker="o", ms=3, color=f"C{p}", label=f"{proj}, T={s}")
        ax.set_xscale("log")
        ax.set_xlabel("K (mean in-degree)")
        ax.set_ylabel("bits")
        ax.set_title(var.replace("_projection", "").replace("_", " ") + " per projection")
        ax.axhline(0, color="k", lw=0.5)
    axes[0].legend(fontsize=7, ncol=2)
    ax = axes[3]
    for a, pop in enumerate(ds.population.values):
        for s, ls in zip(steps, ("-", "--", ":", "-.")):
            da = _keep(ds["ei_parts_population"].sel(population=pop, steps=s), ["K"])
            ax.plot(K, da, ls, marker="s", ms=3, color=("tab:red", "tab:blue")[a % 2], label=f"{pop}, T={s}")
    ax.set_xscale("log")
    ax.set_xlabel("K (mean in-degree)")
    ax.set_ylabel("bits")
    ax.set_title("EI_parts into each population")
    ax.legend(fontsize=7)
    for ax in axes:
        ax.set_xticks(K, [f"{k:g}" for k in K])
        ax.minorticks_off()
    return fig
