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


#: Names of the estimators on the axes and in the legends.
_ESTIMATOR_LABEL = {"ei": "EI", "ei_parts": "EI_parts"}
_OPEN = dict(facecolors="none", linewidths=1.2)


def _saturated(ds: xr.Dataset, name: str, dims: list[str]) -> np.ndarray:
    """``name`` (a 0/1 flag) as bools, true where any seed (any dimension not in ``dims``) is saturated."""
    flag = ds[name].astype(bool)
    extra = [d for d in flag.dims if d not in dims]
    return (flag.any(extra) if extra else flag).transpose(*dims).values


def _plane_of(part: xr.Dataset, layer) -> tuple[str, xr.DataArray, np.ndarray]:
    """One layer's causal-plane estimator, degeneracy (mean over seeds) and saturation (any seed).

    Seeds that chose different estimators (the vector EI saturated in some) are all drawn with EI_parts,
    so that one mean is one quantity."""
    one = part.sel(layer=layer)
    chosen = set(np.asarray(one.plane_estimator.values).ravel().tolist())
    if chosen == {"ei"}:
        return "ei", _keep(one.plane_degeneracy, ["epoch"]), _saturated(one, "plane_saturated", ["epoch"])
    flag = _saturated(one, "sensitivity_saturated", ["epoch"]) | _saturated(one, "ei_parts_saturated", ["epoch"])
    return "ei_parts", _keep(one.degeneracy, ["epoch"]), flag


def _saturated_legend_entry(ax, handles: list, labels: list, any_saturated: bool) -> None:
    handles.append(ax.scatter([], [], s=28, edgecolors="0.3", marker="o", **_OPEN))
    labels.append("open: saturated (at its estimator's ceiling, not a measurement)"
                  + ("" if any_saturated else "; none here"))


@caption("""\
Layers of sigmoid classifiers (experiment ``{{ snakemake.wildcards.exp }}``) in the causal
plane during plain-SGD training, after Marrow, Michaud & Hoel (2020): each layer's sensitivity (x)
and degeneracy = sensitivity - EI (y), in raw bits, at log-spaced checkpoints from epoch 0 (light)
to the end (dark, arrow), averaged over seeds, one panel per dataset. Inputs are uniform
(maximum-entropy) interventions binned into equal bins. EI is the layer's vector EI where it can be
estimated, and EI_parts (the sum of pairwise informations) for a layer whose vector EI is saturated
at any checkpoint, i.e. reads its estimator's ceiling, log2 of the sample count (+0.72 bit of
Miller-Madow), even after the samples were doubled up to the configured cap
(``training.ei.max_samples``); the axis label and the legend name the estimator of each layer. Open
markers are points whose sensitivity or subtracted EI is itself saturated (within 0.5 bit of its
ceiling): bounds, not measurements.
""")
def draw_causal_plane(ds: xr.Dataset) -> plt.Figure:
    """Each layer's path through the causal plane (sensitivity, degeneracy) over training."""
    _require(ds, ["sensitivity", "degeneracy", "plane_degeneracy", "plane_estimator", "plane_saturated",
                  "sensitivity_saturated", "ei_parts_saturated"], "causal_plane")
    groups = _groups(ds)
    fig, axes = plt.subplots(1, len(groups), figsize=(5.2 * len(groups), 5.4), constrained_layout=True,
                             squeeze=False)
    for ax, (name, part) in zip(axes[0], groups):
        sens = _keep(part.sensitivity, ["epoch", "layer"])
        epochs = part.epoch.values
        shade = np.linspace(0.35, 1.0, len(epochs))  # the lightest fill still reads as filled beside an open marker
        used: dict[str, list[str]] = {}
        handles, labels, any_saturated = [], [], False
        for i, layer in enumerate(part.layer.values):
            x = sens.sel(layer=layer).values
            if not np.isfinite(x).any():
                continue
            estimator, deg, flag = _plane_of(part, layer)
            y = deg.values
            used.setdefault(estimator, []).append(str(layer))
            color = f"C{i}"
            (line,) = ax.plot(x, y, "-", color=color, lw=1)
            handles.append(line)
            labels.append(f"{layer} ({_ESTIMATOR_LABEL[estimator]})")
            ax.scatter(x[~flag], y[~flag], c=shade[~flag], cmap="Greys", vmin=0, vmax=1, edgecolors=color, s=28,
                       zorder=3)
            ax.scatter(x[flag], y[flag], edgecolors=color, s=28, zorder=3, **_OPEN)
            any_saturated |= bool(flag.any())
            ax.annotate("", xy=(x[-1], y[-1]), xytext=(x[-2], y[-2]),
                        arrowprops=dict(arrowstyle="->", color=color)) if len(x) > 1 else None
        _saturated_legend_entry(ax, handles, labels, any_saturated)
        ax.axhline(0, color="k", lw=0.5)
        ax.set_xlabel("sensitivity (pairwise, one input perturbed at a time) [bit]")
        if len(used) == 1:
            subtracted = _ESTIMATOR_LABEL[next(iter(used))]
        else:
            subtracted = " or ".join(f"{_ESTIMATOR_LABEL[k]} ({', '.join(v)})" for k, v in used.items())
        ax.set_ylabel(f"degeneracy = sensitivity − {subtracted} [bit]")
        ax.set_title(f"{name}: epochs {epochs[0]:g} (light) to {epochs[-1]:g} (dark)" if name else "causal plane")
        ax.legend(handles, labels, title="layer (estimator)", fontsize=7, title_fontsize=8, loc="upper center",
                  bbox_to_anchor=(0.5, -0.16), ncol=2)
    return fig


@caption("""\
Effective information during training (experiment ``{{ snakemake.wildcards.exp }}``). Left:
EI_parts (solid, circles) and EI of the whole layer (dashed, squares) of each layer against epoch.
Open markers are saturated estimates, within 0.5 bit of their estimator's ceiling: for the vector EI
log2 of the sample count (+0.72 bit of Miller-Madow), which a layer with more input states than
samples reads whatever its weights; such an estimate was redone with doubled samples up to the
configured cap (``training.ei.max_samples``), and one still saturated there is a bound, not a
measurement (its value then follows the sample count, not the layer). EI_parts needs only each pair's
joint histogram and is the measure to compare across layers. Right: loss (black) and accuracy
(green) on the training (solid) and test (dashed) sets. Averaged over seeds (a point is open when any
seed's estimate is saturated), one row per dataset.
""")
def draw_ei_training(ds: xr.Dataset) -> plt.Figure:
    """EI_parts and EI of each layer against epoch, beside loss and accuracy; saturated estimates open."""
    _require(ds, ["ei_parts", "ei", "loss_train", "accuracy_test", "ei_saturated", "ei_parts_saturated"],
             "ei_training")
    groups = _groups(ds)
    fig, axes = plt.subplots(len(groups), 2, figsize=(11, 4.6 * len(groups)), constrained_layout=True,
                             squeeze=False)
    for (ax_ei, ax_loss), (name, part) in zip(axes, groups):
        epochs = part.epoch.values
        handles, labels = [], []
        for i, layer in enumerate(part.layer.values):
            one = part.sel(layer=layer)
            parts = _keep(one.ei_parts, ["epoch"]).values
            if not np.isfinite(parts).any():
                continue
            color = f"C{i}"
            for values, flag, marker, style, label in (
                (parts, _saturated(one, "ei_parts_saturated", ["epoch"]), "o", "-", f"{layer} EI_parts"),
                (_keep(one.ei, ["epoch"]).values, _saturated(one, "ei_saturated", ["epoch"]), "s", "--",
                 f"{layer} EI"),
            ):
                lw = 1.5 if style == "-" else 0.8
                ax_ei.plot(epochs, values, style, color=color, lw=lw)
                ax_ei.plot(epochs[~flag], values[~flag], marker, color=color, ms=4, ls="none")
                ax_ei.plot(epochs[flag], values[flag], marker, color=color, ms=5, ls="none", mfc="white", mew=1.2)
                handles.append(plt.Line2D([], [], ls=style, lw=lw, marker=marker, ms=4, color=color))
                labels.append(label)
        handles.append(plt.Line2D([], [], marker="s", ls="none", color="0.3", mfc="white", mew=1.2, ms=5))
        labels.append("open: saturated (at the ceiling)")
        ax_ei.set_ylabel("bits")
        ax_ei.set_title(f"{name}: EI per layer" if name else "EI per layer")
        ax_ei.legend(handles, labels, fontsize=7, ncol=4, loc="upper center", bbox_to_anchor=(0.5, -0.2))
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
