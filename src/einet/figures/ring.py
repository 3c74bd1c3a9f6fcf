"""The ring attractor in the ODR task: the bump, its phase over trials, and its diffusion."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from einet.errors import EinetError
from einet.figures import caption


def _parameter_axis(ds: xr.Dataset) -> str | None:
    """The one batch or grid axis besides trials (noise, coupling, ...), if any."""
    extra = [d for d in ds.diffusion.dims if d not in ("population", "seed")]
    if len(extra) > 1:
        raise EinetError(f"the ring_attractor figure takes at most one parameter axis, got {extra}")
    return extra[0] if extra else None


@caption("""\
Ring attractor in the oculomotor delayed-response task (experiment
``{{ snakemake.wildcards.exp }}``). Left: the rate profile of the cued population at the end of
the delay, centred on each trial's decoded report and averaged over trials, per noise level.
Second: the decoded (population-vector) phase over the trial for eight of the cue angles at the
lowest noise; dotted lines mark the cues. Third: variance over trials of the phase displacement
since the delay began, with the random-walk fit 2 D t (dashed). Right: the diffusion
coefficient D against the noise amplitude, with a slope-two reference: for a continuous
attractor driven by weak noise D grows with the noise variance. The baseline check (the
fixation band, shaded blue in the phase panel): before the cue the ring holds no bump; the
inset (right; text in the phase panel without a parameter axis) gives the largest persistence
m1/m0 over trials at the end of fixation per noise level against the bump threshold of the
analysis (dashed), and a level whose fixation already holds a bump is marked with a red ring.
""")
def draw_ring_attractor(ds: xr.Dataset) -> plt.Figure:
    """Four panels: bump profile, phase vs time per cue, phase variance over the delay, D per parameter."""
    for var in ("phase_trace", "phase_variance", "bump_profile"):
        if var not in ds:
            raise EinetError(f"the ring_attractor figure needs {var!r} from the ring analysis")
    if "seed" in ds.dims:
        ds = ds.isel(seed=0)
    axis = _parameter_axis(ds)
    values = ds[axis].values if axis else [None]
    pop = ds.attrs.get("population")  # the cued population, set by the ring analysis
    diffusion = ds.diffusion.sel(population=pop) if pop in ds.population.values else ds.diffusion.isel(population=0)
    fig, axes = plt.subplots(1, 4, figsize=(17, 4.2), constrained_layout=True)
    ax_profile, ax_phase, ax_var, ax_d = axes
    colors = plt.cm.viridis(np.linspace(0.1, 0.85, len(values)))

    def pick(da, value):
        return da.sel({axis: value}) if axis else da

    for color, value in zip(colors, values):
        label = f"{axis} = {value:g}" if axis else None
        ax_profile.plot(ds.offset, pick(ds.bump_profile, value), color=color, label=label)
        var = pick(ds.phase_variance, value)
        t = ds.delay_time.values / 1000.0
        ax_var.plot(t, var, color=color, label=label)
        ax_var.plot(t, 2 * float(pick(diffusion, value)) * t, color=color, ls="--", lw=0.8)
    ax_profile.set(xlabel="preferred angle - report [deg]", ylabel="rate", title="bump at the end of the delay")
    ax_var.set(xlabel="time in the delay [s]", ylabel="var of phase displacement [rad$^2$]",
               title="diffusion (dashed: 2 D t)")
    if axis:
        ax_profile.legend(fontsize=8)
        ax_var.legend(fontsize=8)

    first = pick(ds.phase_trace, values[0])
    trials = first.trial.values
    shown = trials[:: max(1, len(trials) // 8)]
    cue_colors = plt.cm.twilight(np.linspace(0, 1, len(shown), endpoint=False))
    t_trial = ds.trial_time.values / 1000.0
    for color, trial in zip(cue_colors, shown):
        ax_phase.plot(t_trial, np.degrees(first.sel(trial=trial)), ".", ms=1.5, color=color)
        ax_phase.axhline(np.degrees(float(ds.cue_angle.sel(trial=trial))), color=color, lw=0.6, ls=":")
    _fixation_band(ax_phase, ds)
    ax_phase.set(xlabel="time in the trial [s]", ylabel="decoded phase [deg]", ylim=(0, 360),
                 title="phase per cue" + (f" ({axis} = {values[0]:g}; dotted: cue)" if axis else " (dotted: cue)"))
    if axis:
        x = np.asarray(values, dtype=float)
        d = np.asarray([float(pick(diffusion, v)) for v in values])
        ax_d.loglog(x, d, "o-", color="k", label="measured")
        positive = d > 0
        if positive.any():
            anchor = np.flatnonzero(positive)[0]
            ax_d.loglog(x, d[anchor] * (x / x[anchor]) ** 2, "k:", lw=0.8, label=r"$\propto$ " + f"{axis}$^2$")
        ax_d.set(xlabel=axis, ylabel="D [rad$^2$/s]", title="phase diffusion coefficient")
        if "baseline_persistence" in ds:
            _baseline_inset(ax_d, ds, axis, x, d)
        ax_d.legend(fontsize=8, loc="upper left")
    else:
        ax_d.axis("off")
        if "baseline_persistence" in ds:
            worst = float(ds.baseline_persistence.max())
            ax_phase.text(0.01, 0.99, f"before the cue: m1/m0 <= {worst:.2f} (bump above "
                          f"{float(ds.bump_threshold):g})", transform=ax_phase.transAxes, fontsize=7, va="top")
    fig.suptitle(f"{ds.attrs.get('experiment', 'ring')}: ring attractor in the oculomotor delayed response task")
    return fig


def _fixation_band(ax, ds: xr.Dataset) -> None:
    """Shade the fixation epoch of the trial (before the cue)."""
    if "trial_epoch" not in ds.coords:
        return
    t = ds.trial_time.values / 1000.0
    inside = np.asarray(ds.trial_epoch.values == "fixation")
    if inside.any():
        ax.axvspan(t[inside][0], t[inside][-1], color="#dde7f3", zorder=0, lw=0)


def _baseline_inset(ax, ds: xr.Dataset, axis: str, x: np.ndarray, d: np.ndarray) -> None:
    """The baseline check per parameter value: the largest pre-cue persistence over trials against the
    bump threshold, in an inset; values whose fixation holds a bump are ringed red on the D curve."""
    worst = ds.baseline_persistence.max([dim for dim in ds.baseline_persistence.dims if dim != axis])
    worst = np.asarray([float(worst.sel({axis: v})) for v in ds[axis].values])
    threshold = float(ds.bump_threshold)
    failed = worst > threshold
    if failed.any():
        ax.loglog(x[failed], d[failed], "o", ms=11, mfc="none", mec="tab:red", label="bump before the cue")
    inset = ax.inset_axes([0.6, 0.1, 0.37, 0.3])
    inset.plot(x, worst, "s-", color="tab:blue", ms=3, lw=1)
    inset.axhline(threshold, color="k", ls="--", lw=0.8)
    inset.set_xticks(x, [f"{v:g}" for v in x], fontsize=6, rotation=45 if len(x) > 3 else 0)
    inset.set_ylim(0, max(2 * threshold, 1.1 * worst.max()))
    inset.set_title("pre-cue max m1/m0", fontsize=7)
    inset.tick_params(labelsize=6)
