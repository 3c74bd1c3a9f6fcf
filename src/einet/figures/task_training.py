"""Figures of rate networks trained on tasks: the trained ODR network and the trained dual task.

Both compare the network before training (grey) with the trained one, so the
figure shows what training changed; with several jobs (e.g. seeds) the first
is drawn and the errors of all are averaged.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from einet.analysis.task_training import circular_error
from einet.errors import EinetError
from einet.figures import caption

__all__ = ["draw_trained_odr", "draw_trained_dual"]

_OWN = {"stage", "delay", "cue", "eval_time", "iteration", "condition", "readout", "task_variant", "epoch",
        "pattern"}


def _require(ds: xr.Dataset, variables: list[str], figure: str) -> None:
    missing = [v for v in variables if v not in ds]
    if missing:
        raise EinetError(f"figure {figure} needs variables {', '.join(missing)} (analysis kind task_training)")


def _first(ds: xr.Dataset) -> xr.Dataset:
    """The first job of a summary with grid dimensions (seeds, ...)."""
    return ds.isel({d: 0 for d in ds.dims if d not in _OWN})


def _job_mean(da: xr.DataArray) -> xr.DataArray:
    extra = [d for d in da.dims if d not in _OWN]
    return da.mean(extra) if extra else da


def _history(ax, ds: xr.Dataset, score: str, label: str) -> None:
    it = ds.iteration.values
    ax.plot(it, ds["loss"].values, color="k", lw=0.8, label="loss")
    ax.set_xlabel("iteration")
    ax.set_ylabel("loss")
    if score in ds:
        twin = ax.twinx()
        twin.plot(it, ds[score].values, color="C3", lw=0.8)
        twin.set_ylabel(label, color="C3")
    ax.set_title("training")


@caption("""\
An E/I rate network trained on the oculomotor delayed response by backpropagation through time
(experiment ``{{ snakemake.wildcards.exp }}``). The loss is 1 - cos(decoded - cue) of the
population-vector angle of the cued ring over the delay; the chosen weights learn with Dale's law
(clamped after every update). Left: loss and the decoded-angle error at the end of the delay per
training iteration. Second: decoded angle against the cue at each test delay after the cue (colours),
and the untrained network at the longest delay (grey); the dotted line is a perfect report. Third:
mean absolute error against delay, untrained and trained (dotted: chance, 90°); delays longer than the
trained one show whether the memory generalises. Right: decoded phase over the evaluation trial for
every cue (solid: trained, dotted: untrained). The baseline check, in the text of the third panel:
the ring's persistence m1/m0 when the cue begins (mean and largest over cues), untrained and trained,
against the held bump's (about 1.3) and the ring analysis's bump threshold 0.25; above it, the network
has begun to form a bump of its own before any cue. With grid axes (seeds), the first job is shown and
the errors are averaged.
""")
def draw_trained_odr(ds: xr.Dataset) -> plt.Figure:
    """Loss, decoded angle against cue per delay, error against delay, decoded phase over the trial."""
    _require(ds, ["decoded_angle", "decoded_phase", "evaluation_error", "loss"], "trained_odr")
    first = _first(ds)
    fig, axes = plt.subplots(1, 4, figsize=(17, 4.2), constrained_layout=True)
    _history(axes[0], first, "angle_error", "decoded-angle error at the delay's end [deg]")
    ax = axes[1]
    cues = first.cue.values
    delays = first.delay.values
    colors = plt.cm.viridis(np.linspace(0, 0.9, len(delays)))
    ax.plot(cues, first.decoded_angle.sel(stage="initial").isel(delay=-1), "o", color="0.6", ms=4,
            label=f"initial, {delays[-1]:g} ms")
    for d, color in zip(delays, colors):
        ax.plot(cues, first.decoded_angle.sel(stage="trained", delay=d), "o", color=color, ms=4,
                label=f"trained, {d:g} ms")
    ax.plot([0, 360], [0, 360], "k:", lw=0.7)
    ax.set_xlim(0, 360)
    ax.set_ylim(0, 360)
    ax.set_xlabel("cue angle [deg]")
    ax.set_ylabel("decoded angle [deg]")
    ax.set_title("decoded angle after each delay")
    ax.legend(fontsize=7)
    ax = axes[2]
    for stage, color in (("initial", "0.6"), ("trained", "C0")):
        ax.plot(delays, _job_mean(ds.evaluation_error.sel(stage=stage)), "o-", color=color, label=stage)
    ax.axhline(90.0, color="k", ls=":", lw=0.7, label="chance")
    ax.set_xlabel("delay [ms]")
    ax.set_ylabel("mean |decoded - cue| [deg]")
    ax.set_ylim(0, None)
    ax.set_title("error against delay")
    ax.legend(fontsize=7)
    ax = axes[3]
    t = first.eval_time.values
    for stage, color, lw in (("initial", "0.7", 0.5), ("trained", None, 0.8)):
        error = circular_error(first.decoded_phase.sel(stage=stage).values, cues[None, :])
        for i, cue in enumerate(cues):
            ax.plot(t, error[:, i], color=color or plt.cm.hsv(cue / 360.0), lw=lw)
    ax.axhline(0.0, color="k", lw=0.5)
    if "fixation_persistence" in first:
        _fixation_text(axes[2], first)  # in the empty middle of the error-against-delay panel
    ax.set_xlabel("time in evaluation trial [ms]")
    ax.set_ylabel("decoded - cue [deg]")
    ax.set_ylim(-180, 180)
    ax.set_title("error over the trial (grey: untrained)")
    return fig


@caption("""\
A rate network trained on the dual task by backpropagation through time (experiment
``{{ snakemake.wildcards.exp }}``): two linear readouts, trained with the network, report the
Go/NoGo choice after the distractor (over delay_2) and the DPA choice (paired sample and test: A-C,
B-D) while the test is shown, each with binary cross-entropy; the response epoch is not scored. Left: loss and DPA accuracy per iteration.
Middle: lick probability of each readout over the evaluation trial for the 12 conditions after
training (blue DPA, green Go, red NoGo distractor; solid: paired; grey bands: sample, distractor and
test). Right: choice accuracy per task variant before (grey) and after training (hatched:
Go/NoGo readout, only Go and NoGo trials); dotted: chance. The baseline check, in the text of the DPA
panel: the overlaps (1/N) sum r_i p_i of the rates with the sample pattern A and the distractor pattern Go
when the sample begins (mean over the 12 conditions), untrained and trained; from a neutral state both are 0,
while a held sample sits near +-0.3 (the untrained rank-three start falls to one sample's state during
fixation).
""")
def draw_trained_dual(ds: xr.Dataset) -> plt.Figure:
    """Loss, both readouts over time per condition after training, and accuracy per task variant."""
    _require(ds, ["lick_probability", "accuracy", "loss"], "trained_dual")
    first = _first(ds)
    fig, axes = plt.subplots(1, 4, figsize=(18, 4.2), constrained_layout=True)
    _history(axes[0], first, "dpa_accuracy", "DPA accuracy")
    t = first.eval_time.values
    names = first.condition.values
    for ax, readout, title in ((axes[1], "go_nogo", "Go/NoGo readout"), (axes[2], "dpa", "DPA readout")):
        for e0, e1, name in zip(first.epoch_start.values, first.epoch_stop.values, first.epoch.values):
            if name in ("sample", "distractor", "test"):
                ax.axvspan(e0, e1, color="0.9")
        for i, name in enumerate(names):
            task = str(first.task.values[i])
            color = {"DPA": "C0", "Go": "C2", "NoGo": "C3"}[task]
            style = "-" if str(first.paired.values[i]) == "yes" else "--"
            ax.plot(t, first.lick_probability.sel(stage="trained", readout=readout).isel(condition=i), style,
                    color=color, lw=0.9, label=name)
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel("time in trial [ms]")
        ax.set_ylabel("P(lick)")
        ax.set_title(f"{title} (solid: paired)")
    axes[2].legend(fontsize=6, ncol=2)
    ax = axes[3]
    acc = _job_mean(ds.accuracy)
    variants = list(first.task_variant.values)
    x = np.arange(len(variants))
    for j, (stage, color) in enumerate((("initial", "0.6"), ("trained", "C0"))):
        for k, readout in enumerate(("go_nogo", "dpa")):
            values = acc.sel(stage=stage, readout=readout).values
            ax.bar(x + 0.2 * (2 * j + k) - 0.3, np.nan_to_num(values), width=0.18, color=color,
                   hatch="//" if readout == "go_nogo" else None, edgecolor="k", lw=0.4,
                   label=f"{stage}, {readout}")
    ax.axhline(0.5, color="k", ls=":", lw=0.7)
    ax.set_xticks(x, variants)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("choice accuracy")
    ax.set_title("accuracy per task variant")
    ax.legend(fontsize=7, loc="upper left")
    if "fixation_overlap" in first:
        lines = ["before the sample, overlap with A / Go:"]
        for stage in ("initial", "trained"):
            mean = first.fixation_overlap.sel(stage=stage).mean("condition")
            lines.append(f"{stage}: {float(mean.sel(pattern='A')):+.3f} / {float(mean.sel(pattern='Go')):+.3f}")
        axes[2].text(0.2, 0.98, "\n".join(lines), transform=axes[2].transAxes, fontsize=7, ha="left",
                     va="top")  # above the DPA readouts of the delay, which rest near 0.5
    return fig


def _fixation_text(ax, ds: xr.Dataset) -> None:
    """The ring's persistence when the cue begins (the end of fixation), untrained and trained."""
    lines = ["m1/m0 when the cue begins (mean, max):"]
    for stage in ("initial", "trained"):
        p = ds.fixation_persistence.sel(stage=stage)
        lines.append(f"{stage}: {float(p.mean()):.2f}, {float(p.max()):.2f}")
    ax.text(0.97, 0.45, "\n".join(lines), transform=ax.transAxes, fontsize=7, ha="right", va="center")

