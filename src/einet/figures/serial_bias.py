"""Serial bias: the folded bias curve with its fit, and the fitted amplitude against ITI and facilitation."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from einet.errors import EinetError
from einet.figures import caption

FACILITATION = ("tau_fac", "U")  # batch axes of the STP parameters, in the order they are plotted


def _standard(ds: xr.Dataset, dim: str):
    """The configured value of a batch axis (``standard_<dim>``), else its first value."""
    value = ds.attrs.get(f"standard_{dim}")
    values = ds[dim].values
    return value if value is not None and np.isclose(values, value).any() else values[0]


def _select(ds: xr.Dataset, keep: tuple[str, ...] = ()) -> xr.Dataset:
    """Pin every parameter dimension not in ``keep``: batch axes at their standard value, the ITI at its
    shortest, seeds at the first, reset at off."""
    for dim in [d for d in ds.bias_amplitude.dims if d not in keep]:
        if dim == "reset":
            value = ds[dim].values[np.argmin(ds[dim].values.astype(int))]
        elif dim == "iti":
            value = ds[dim].values.min()
        elif f"standard_{dim}" in ds.attrs:
            value = _standard(ds, dim)
        else:
            value = ds[dim].values[0]
        ds = ds.sel({dim: value})
    return ds


def _control(ds: xr.Dataset) -> xr.Dataset | None:
    """The reset (no carry-over) runs, if the summary has them."""
    if "reset" not in ds.dims or not ds.reset.values.astype(bool).any():
        return None
    return ds.sel(reset=ds.reset.values[np.argmax(ds.reset.values.astype(int))])


def _amplitude(ax, ds: xr.Dataset, x: str, label: str | None, **style) -> None:
    amp = ds.bias_amplitude
    err = np.stack([amp - ds.bias_amplitude_low, ds.bias_amplitude_high - amp])
    ax.errorbar(ds[x].values, amp.values, yerr=err, fmt="o-", ms=4, capsize=2, label=label, **style)


@caption("""\
Serial bias in sessions of oculomotor delayed-response trials with random cues (experiment
``{{ snakemake.wildcards.exp }}``); the network state, short-term facilitation included, carries
over from trial to trial through the inter-trial interval (ITI). Left: folded bias curve, mean of
error x sign(previous - current cue) against the distance ``|previous - current cue|`` (positive:
attraction to the previous cue), at the configured facilitation and the shortest ITI: points are
the binned means with bars of one standard error of the mean over the trials in the bin (not
bootstrap intervals); the line is the derivative-of-Gaussian fit (amplitude a = peak bias, width
w = distance of the peak) and the shaded band its pointwise 95 % percentile bootstrap band (whole
sessions resampled, ``analysis.serial_bias.bootstrap`` resamples, 1000 at the quick scale); the
legend gives a with its 95 % bootstrap interval in brackets; grey: the control that resets the
network before every trial. Middle: fitted amplitude against the ITI, one line per facilitation time
constant. Right: amplitude against facilitation (tau_fac) at the shortest ITI. Bars in the middle and
right panels: 95 % percentile bootstrap intervals of a over sessions (the level is
``analysis.serial_bias.confidence``; the title states the one drawn).
""")
def draw_serial_bias(ds: xr.Dataset) -> plt.Figure:
    """Bias curve at the standard parameters (and the reset control); amplitude against ITI and STP."""
    if "bias_amplitude" not in ds:
        raise EinetError("the serial_bias figure needs a serial_bias analysis (task.kind: serial_odr)")
    fig, (ax_c, ax_i, ax_f) = plt.subplots(1, 3, figsize=(15, 4.3), constrained_layout=True)
    control = _control(ds)
    coupled = ds.sel(reset=ds.reset.values[np.argmin(ds.reset.values.astype(int))]) if "reset" in ds.dims else ds

    std = _select(coupled)
    x = std.distance_bin.values
    ax_c.fill_between(std.fit_distance, std.fit_low, std.fit_high, color="C0", alpha=0.25, lw=0)
    level = f"{100 * float(ds.attrs.get('confidence', 0.95)):g}%"
    ax_c.plot(std.fit_distance, std.fit_curve, color="C0",
              label=f"fit (band: {level} bootstrap): a = {float(std.bias_amplitude):.2f} "
              f"[{float(std.bias_amplitude_low):.2f}, {float(std.bias_amplitude_high):.2f}] deg, "
              f"w = {float(std.bias_width):.0f} deg")
    ax_c.errorbar(x, std.curve_mean, yerr=std.curve_sem, fmt="o", color="C0", ms=4, capsize=2,
                  label=f"binned mean ± s.e.m. over trials ({int(std.curve_count.sum())} trials)")
    if control is not None:
        ctl = _select(control)
        ax_c.errorbar(x + 2, ctl.curve_mean, yerr=ctl.curve_sem, fmt="s", color="0.5", ms=3, capsize=2,
                      label=f"reset between trials (± s.e.m.): a = {float(ctl.bias_amplitude):.2f} "
                      f"[{float(ctl.bias_amplitude_low):.2f}, {float(ctl.bias_amplitude_high):.2f}] deg")
    ax_c.axhline(0, color="k", lw=0.6)
    pinned = ", ".join(f"{d} = {float(std[d]):g}" for d in ("iti", *FACILITATION) if d in std.coords)
    ax_c.set(xlabel="|previous - current cue| [deg]", ylabel="error x sign(previous - current) [deg]",
             title=f"folded serial bias ({pinned})", xlim=(0, 180))
    ax_c.legend(fontsize=7, loc="best")

    if "iti" in ds.dims:
        lines = [d for d in FACILITATION if d in ds.dims][:1]
        sweep = _select(coupled, ("iti", *lines))
        for value in (sweep[lines[0]].values if lines else [None]):
            one = sweep.sel({lines[0]: value}) if lines else sweep
            _amplitude(ax_i, one, "iti", f"{lines[0]} = {value:g}" if lines else None)
        if control is not None:
            _amplitude(ax_i, _select(control, ("iti",)), "iti", "reset between trials", color="0.5")
        ax_i.legend(fontsize=7)
    ax_i.axhline(0, color="k", lw=0.6)
    ax_i.set(xlabel="inter-trial interval [ms]", ylabel=f"bias amplitude a [deg] (bars: {level} bootstrap)",
             title="bias against ITI")

    axes = [d for d in FACILITATION if d in ds.dims]
    if axes:
        first, rest = axes[0], axes[1:]
        sweep = _select(coupled, (first, *rest))
        for value in (sweep[rest[0]].values if rest else [None]):
            one = sweep.sel({rest[0]: value}) if rest else sweep
            _amplitude(ax_f, one, first, f"{rest[0]} = {value:g}" if rest else "state carried over")
        if control is not None:
            _amplitude(ax_f, _select(control, (first,)), first, "reset between trials", color="0.5")
        ax_f.legend(fontsize=7)
        ax_f.set(xlabel=f"{first} [ms]" if first == "tau_fac" else first, xscale="log")
    ax_f.axhline(0, color="k", lw=0.6)
    iti = f" (ITI {float(ds.iti.min()):g} ms)" if "iti" in ds.dims else ""
    ax_f.set(ylabel=f"bias amplitude a [deg] (bars: {level} bootstrap)", title=f"bias against facilitation{iti}")
    resamples = ds.attrs.get("bootstrap_resamples")
    boot = f"{level} session bootstrap" + (f" ({int(resamples)} resamples)" if resamples else "")
    fig.suptitle(f"{ds.attrs.get('experiment', 'serial_bias')}: serial bias. Binned points ± s.e.m. over trials; "
                 f"fit band, [brackets] and amplitude bars: {boot}")
    return fig
