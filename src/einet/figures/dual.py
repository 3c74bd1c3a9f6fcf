"""The dual task: sample and distractor decoded from a low-rank network in all 12 conditions."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from einet.errors import EinetError
from einet.figures import caption

SAMPLE_COLORS = {"A": "tab:red", "B": "tab:blue"}
VARIANT_STYLES = {"DPA": "-", "Go": "--", "NoGo": ":"}
VARIANT_COLORS = {"DPA": "0.4", "Go": "tab:green", "NoGo": "tab:purple"}
EPOCH_SHADES = {"fixation": "#dde7f3", "sample": "0.85", "distractor": "#d9ead3", "test": "#fce5cd"}


def _shade(ax, ds: xr.Dataset) -> None:
    t = ds.time.values / 1000.0
    for epoch, color in EPOCH_SHADES.items():
        inside = np.asarray(ds.epoch.values == epoch)
        if inside.any():
            ax.axvspan(t[inside][0], t[inside][-1], color=color, zorder=0, lw=0)


@caption("""\
The dual task (DPA with a Go/NoGo distractor in the delay) on a rank-two network (experiment
``{{ snakemake.wildcards.exp }}``), all 12 conditions (task variant x sample x test). Samples
drive +-m1, distractors +-m2. Left: overlap of the rates with m1, per condition (red sample A,
blue B; solid DPA, dashed Go, dotted NoGo); along m1 the network feeds back onto itself, so the
sample is held through the delay and the distractor does not erase it. Middle: overlap with m2
(green Go, purple NoGo, grey DPA): no feedback, only a transient. Right: decoding accuracy of the
sample (sign of the m1 overlap) per task variant, and of the distractor (m2 overlap against its
mean in DPA trials) in Go/NoGo trials; the text gives the conditions decoded correctly at the end
of the delay (sample) and of the distractor. Shaded: fixation (blue), sample, distractor and test
epochs. The baseline check: the boxed text at the fixation band of the left and middle panels gives the
overlaps at the end of fixation, before any sample, mean over the trials of each sample with the
trial-to-trial standard deviation; from the network's neutral state they are 0 within that noise
(a network already holding a sample there would show it at +-0.3).
""")
def draw_dual_task(ds: xr.Dataset) -> plt.Figure:
    """Overlap with m1 (sample) and m2 (distractor) per condition; decoding accuracy over time."""
    for var in ("overlap", "sample_accuracy", "distractor_accuracy"):
        if var not in ds:
            raise EinetError(f"the dual_task figure needs {var!r} from the dual analysis")
    if "seed" in ds.dims:
        ds = ds.mean("seed")  # accuracies and mean overlaps average over seeds
    t = ds.time.values / 1000.0
    fig, (ax_s, ax_d, ax_acc) = plt.subplots(1, 3, figsize=(16, 4.4), constrained_layout=True)
    for c in range(ds.sizes["condition"]):
        row = ds.isel(condition=c)
        variant, sample, test = str(row.condition_task.values), str(row.condition_sample.values), str(
            row.condition_test.values)
        label = f"{variant} {sample}{test}"
        ax_s.plot(t, row.overlap.sel(rank=1), color=SAMPLE_COLORS.get(sample, "k"),
                  ls=VARIANT_STYLES.get(variant, "-"), lw=1, label=label if test == "C" else None)
        ax_d.plot(t, row.overlap.sel(rank=2), color=VARIANT_COLORS.get(variant, "k"),
                  ls="-" if sample == "A" else "--", lw=1, label=f"{variant}, sample {sample}" if test == "C" else None)
    for variant in ds.variant.values:
        ax_acc.plot(t, ds.sample_accuracy.sel(variant=variant), color=VARIANT_COLORS.get(str(variant), "k"),
                    label=f"sample ({variant} trials)")
    ax_acc.plot(t, ds.distractor_accuracy, color="k", lw=1.5, ls="-.", label="distractor (Go/NoGo trials)")
    ax_acc.axhline(0.5, color="0.6", lw=0.8, ls=":")
    _decoded_text(ax_acc, ds)
    _baseline_text(ax_s, ds, 1, (0.25, 0.5), "center")  # between the held A and B states
    _baseline_text(ax_d, ds, 2, (0.01, 0.02), "bottom")
    for ax in (ax_s, ax_d, ax_acc):
        _shade(ax, ds)
        ax.set_xlabel("time in the trial [s]")
    ax_s.set(ylabel="overlap with m$^1$", title="sample axis (red A, blue B; line: task variant)")
    ax_d.set(ylabel="overlap with m$^2$", title="distractor axis (green Go, purple NoGo, grey DPA)")
    ax_acc.set(ylabel="decoding accuracy", ylim=(-0.02, 1.05),
               title="decoding (shaded: fixation, sample, distractor, test)")
    ax_s.legend(fontsize=7, ncol=2)
    ax_d.legend(fontsize=7, ncol=2)
    ax_acc.legend(fontsize=7, loc="lower right")
    fig.suptitle(f"{ds.attrs.get('experiment', 'dual')}: dual task on a low-rank network, 12 conditions")
    return fig


def _baseline_text(ax, ds: xr.Dataset, rank: int, where: tuple[float, float], va: str) -> None:
    """The pre-sample overlap with m^rank per sample (mean over its trials, +- the trial-to-trial s.d.),
    written at the fixation band: the check that the network starts neutral."""
    if "baseline_overlap" not in ds:
        return
    at = ds.baseline_overlap.sel(rank=rank)
    sd = float(ds.baseline_overlap_sd.sel(rank=rank))
    lines = [f"end of fixation, m$^{rank}$ overlap:"]
    for sample in ("A", "B"):
        mean = float(at.where(ds.condition_sample == sample, drop=True).mean())
        lines.append(f"sample {sample}: {mean:+.1e}")
    lines.append(f"trial s.d. {sd:.1e}")
    ax.text(*where, "\n".join(lines), transform=ax.transAxes, fontsize=7, va=va, ha="left",
            bbox={"facecolor": "white", "edgecolor": "#9fb7d6", "alpha": 0.85, "lw": 0.6})


def _decoded_text(ax, ds: xr.Dataset) -> None:
    """How many of the conditions are decoded correctly in all their trials."""
    parts = []
    if "sample_accuracy_per_condition" in ds:
        acc = ds.sample_accuracy_per_condition
        parts.append(f"sample (end of delay): {int((acc == 1).sum())}/{acc.sizes['condition']}")
    if "distractor_accuracy_per_condition" in ds:
        acc = ds.distractor_accuracy_per_condition.dropna("condition")
        parts.append(f"distractor (its end): {int((acc == 1).sum())}/{acc.sizes['condition']}")
    if parts:
        ax.text(0.2, 0.1, "conditions correct in all trials:\n" + "\n".join(parts), transform=ax.transAxes,
                fontsize=7, va="bottom", ha="left")  # below the held accuracies, left of the legend
