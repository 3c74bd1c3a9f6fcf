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
attractor driven by weak noise D grows with the noise variance.
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
        ax_d.legend(fontsize=8)
    else:
        ax_d.axis("off")
    fig.suptitle(f"{ds.attrs.get('experiment', 'ring')}: ring attractor in the oculomotor delayed response task")
    return fig
