"""Serial bias: how the previous trial's cue pulls (or pushes) the current report.

Every trial gives an error ``report - cue`` and a distance ``previous - current``
cue (both wrapped to [-180, 180) deg). An attractive bias makes the error
share the sign of the distance.

**Folding.** The network has no preferred direction on the ring, so a pull
toward a previous cue 40 deg clockwise is the mirror image of one 40 deg
counter-clockwise. The folded curve therefore plots ``error * sign(distance)``
against ``|distance|`` in [0, 180] deg: positive means attraction, negative
repulsion, and both halves of the data enter every bin. The signed (unfolded)
curve is kept beside it so a reviewer can check the symmetry.

**Fit.** The curve is fitted, on single trials, by a derivative of Gaussian
parameterised so that both parameters read directly off the curve:

.. math::

    \\mathrm{error}(\\Delta) = a\\, \\frac{\\Delta}{w}\\, \\exp\\Big(\\frac{1 - (\\Delta / w)^2}{2}\\Big)

It is odd in Δ, peaks at ``Δ = w`` with value ``a``: ``amplitude`` a is the
peak bias [deg] (> 0 attraction, < 0 repulsion) and ``width`` w the
distance of the peak [deg]. (The same curve as ``a w' √2 e^{1/2} Δ e^{-(w'Δ)²}``
with ``w' = 1 / (√2 w)``.) Because it is odd, fitting the signed or the folded
data is the same least-squares problem. The model is linear in ``a``, so for
each ``w`` on a grid the best ``a`` and residual are closed-form; the fit is
the grid point of least residual (a profile least-squares fit, no local minima
or starting values to tune).

**Confidence intervals.** Trials of one session share a network state, so
they are not independent; the bootstrap resamples whole sessions with
replacement (seeded) and refits, and the intervals are percentiles of the
refitted parameters. Resampling only changes session weights, so every
resample is one matrix product of weights with per-session sums.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from einet.errors import EinetError
from einet.fields import to_dict

DEG = "degree"
BUMP_THRESHOLD = 0.25  # m1/m0 above which the ring holds a bump (the ring and multistability analyses' default)


def wrap_deg(angle):
    """Angles wrapped to [-180, 180) [deg]."""
    return np.mod(np.asarray(angle, dtype=float) + 180.0, 360.0) - 180.0


def dog(delta, amplitude, width):
    """Derivative-of-Gaussian bias curve with peak ``amplitude`` at ``delta = width`` (all in deg)."""
    x = np.asarray(delta, dtype=float) / width
    return amplitude * x * np.exp(0.5 * (1.0 - x * x))


def fold(delta, error):
    """(|delta|, error * sign(delta)): the folded curve's coordinates (attraction > 0)."""
    delta = np.asarray(delta, dtype=float)
    return np.abs(delta), np.asarray(error, dtype=float) * np.sign(delta)


def _session_sums(delta, error, widths):
    """Per session and width: sums of e g_w and g_w^2 over valid trials, ``[session, width]`` each."""
    delta, error = np.atleast_2d(delta), np.atleast_2d(error)
    valid = np.isfinite(delta) & np.isfinite(error)
    d, e = np.where(valid, delta, 0.0), np.where(valid, error, 0.0)  # g(0) = 0: invalid trials add nothing
    g = dog(d[..., None], 1.0, np.asarray(widths, dtype=float))  # [session, trial, width]
    return np.einsum("st,stw->sw", e, g), np.einsum("stw,stw->sw", g, g)


def _best(eg, gg, widths):
    """Least-squares amplitude and width from summed ``e g`` and ``g g`` over ``[..., width]``."""
    with np.errstate(invalid="ignore", divide="ignore"):
        score = np.where(gg > 0, eg * eg / gg, -np.inf)  # residual = sum e^2 - score
    k = np.argmax(score, axis=-1)
    eg_k, gg_k = np.take_along_axis(eg, k[..., None], -1)[..., 0], np.take_along_axis(gg, k[..., None], -1)[..., 0]
    amplitude = np.divide(eg_k, gg_k, out=np.full(eg_k.shape, np.nan), where=gg_k > 0)
    return amplitude, np.asarray(widths, dtype=float)[k]


def fit_dog(delta, error, widths) -> tuple[float, float]:
    """Least-squares (amplitude, width) of :func:`dog` over trials; widths is the search grid [deg]."""
    eg, gg = _session_sums(delta, error, widths)
    amplitude, width = _best(eg.sum(0), gg.sum(0), widths)
    return float(amplitude), float(width)


def bootstrap_dog(delta, error, widths, resamples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Amplitudes and widths refitted on ``resamples`` resamples of whole sessions (rows of ``delta``)."""
    eg, gg = _session_sums(delta, error, widths)
    n = eg.shape[0]
    weights = np.random.default_rng(seed).multinomial(n, np.full(n, 1.0 / n), size=resamples).astype(float)
    return _best(weights @ eg, weights @ gg, widths)


def bias_curve(delta, error, edges) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean, standard error and count of ``error`` in bins of ``delta`` (NaNs ignored)."""
    delta, error = np.ravel(delta), np.ravel(error)
    ok = np.isfinite(delta) & np.isfinite(error)
    index = np.digitize(delta[ok], edges) - 1
    index[delta[ok] == edges[-1]] = len(edges) - 2  # the closed right edge
    mean, sem, count = (np.full(len(edges) - 1, np.nan) for _ in range(3))
    for b in range(len(edges) - 1):
        values = error[ok][index == b]
        count[b] = len(values)
        if len(values):
            mean[b] = values.mean()
        if len(values) > 1:
            sem[b] = values.std(ddof=1) / np.sqrt(len(values))
    return mean, sem, count


def analyze(run: xr.Dataset, spec) -> xr.Dataset:
    """Per trial: cue, report, error, previous distance; per parameter set: curve, fit and intervals."""
    missing = [v for v in ("report", "cue_angle", "previous_cue_distance", "session", "trial") if v not in run.variables]
    if missing:
        raise EinetError(f"the serial_bias analysis needs {', '.join(missing)}: run a serial_odr task")
    cfg = spec.analysis.serial_bias
    widths = np.arange(cfg.width_range[0], cfg.width_range[1] + cfg.width_step / 2, cfg.width_step)
    report = run.report.transpose(..., "session", "trial")
    batch_dims = [d for d in report.dims if d not in ("session", "trial")]
    cue = np.degrees(run.cue_angle.transpose("session", "trial").values)
    previous = np.degrees(run.previous_cue_distance.transpose("session", "trial").values)
    reports = np.degrees(report.values)
    errors = wrap_deg(reports - cue)
    shape = reports.shape[:-2]
    flat = errors.reshape(-1, *errors.shape[-2:])  # [element, session, trial]

    fold_edges = np.linspace(0.0, 180.0, cfg.bins + 1)
    signed_edges = np.linspace(-180.0, 180.0, 2 * cfg.bins + 1)
    fit_x = np.linspace(0.0, 180.0, 91)
    tail = (1.0 - cfg.confidence) / 2.0
    results = {k: [] for k in ("amplitude", "width", "amp_ci", "width_ci", "band", "fold", "signed", "n")}
    for err in flat:
        amplitude, width = fit_dog(previous, err, widths)
        amps, wids = bootstrap_dog(previous, err, widths, cfg.bootstrap, cfg.seed)
        results["amplitude"].append(amplitude)
        results["width"].append(width)
        results["amp_ci"].append(np.nanquantile(amps, [tail, 1 - tail]))
        results["width_ci"].append(np.quantile(wids, [tail, 1 - tail]))
        curves = dog(fit_x[None, :], amps[:, None], wids[:, None])
        results["band"].append([dog(fit_x, amplitude, width), *np.nanquantile(curves, [tail, 1 - tail], axis=0)])
        results["fold"].append(bias_curve(*fold(previous, err), fold_edges))
        results["signed"].append(bias_curve(previous, err, signed_edges))
        results["n"].append(int((np.isfinite(previous) & np.isfinite(err)).sum()))

    def arr(key, *tail_shape):
        return np.asarray(results[key], dtype=float).reshape(tuple(shape) + tail_shape)

    coords = {d: run[d] for d in batch_dims}
    coords["session"], coords["trial"] = run.session, run.trial
    coords["distance_bin"] = ("distance_bin", (fold_edges[:-1] + fold_edges[1:]) / 2,
                              {"units": DEG, "long_name": "|previous - current cue|, bin centre"})
    coords["signed_bin"] = ("signed_bin", (signed_edges[:-1] + signed_edges[1:]) / 2,
                            {"units": DEG, "long_name": "previous - current cue, bin centre"})
    coords["fit_distance"] = ("fit_distance", fit_x, {"units": DEG, "long_name": "|previous - current cue|"})
    trial_dims = ["session", "trial"]
    level = f"{100 * cfg.confidence:g}%"
    fold_stats, signed_stats, band = arr("fold", 3, cfg.bins), arr("signed", 3, 2 * cfg.bins), arr("band", 3, 91)
    data = {
        "cue": (trial_dims, cue, {"units": DEG, "long_name": "cue angle"}),
        "previous_distance": (trial_dims, previous, {"units": DEG, "long_name": "previous - current cue angle, "
                                                     "wrapped to [-180, 180) (NaN on the first trial)"}),
        "report": (batch_dims + trial_dims, reports, {"units": DEG, "long_name": "decoded phase at the end of "
                                                      "the delay"}),
        "error": (batch_dims + trial_dims, errors, {"units": DEG, "long_name": "report - cue, wrapped to "
                                                    "[-180, 180)"}),
        "bias_amplitude": (batch_dims, arr("amplitude"), {"units": DEG, "long_name": "peak serial bias a of the "
                                                          "derivative-of-Gaussian fit (> 0: attraction)"}),
        "bias_width": (batch_dims, arr("width"), {"units": DEG, "long_name": "distance w of the peak bias"}),
        "bias_trials": (batch_dims, arr("n"), {"units": "1", "long_name": "trials in the fit (all but each "
                                               "session's first)"}),
        "curve_mean": (batch_dims + ["distance_bin"], fold_stats[..., 0, :],
                       {"units": DEG, "long_name": "mean folded error, error * sign(previous - current)"}),
        "curve_sem": (batch_dims + ["distance_bin"], fold_stats[..., 1, :],
                      {"units": DEG, "long_name": "standard error of the mean folded error over trials"}),
        "curve_count": (batch_dims + ["distance_bin"], fold_stats[..., 2, :], {"units": "1", "long_name": "trials"}),
        "signed_curve_mean": (batch_dims + ["signed_bin"], signed_stats[..., 0, :],
                              {"units": DEG, "long_name": "mean error against previous - current (unfolded)"}),
        "signed_curve_sem": (batch_dims + ["signed_bin"], signed_stats[..., 1, :],
                             {"units": DEG, "long_name": "standard error of the mean unfolded error"}),
        "fit_curve": (batch_dims + ["fit_distance"], band[..., 0, :],
                      {"units": DEG, "long_name": "fitted derivative-of-Gaussian bias"}),
        "fit_low": (batch_dims + ["fit_distance"], band[..., 1, :],
                    {"units": DEG, "long_name": f"lower end of the pointwise {level} bootstrap band of the fit"}),
        "fit_high": (batch_dims + ["fit_distance"], band[..., 2, :],
                     {"units": DEG, "long_name": f"upper end of the pointwise {level} bootstrap band of the fit"}),
    }
    for name, key, what in (("bias_amplitude", "amp_ci", "amplitude"), ("bias_width", "width_ci", "width")):
        ci = arr(key, 2)
        for i, end in enumerate(("low", "high")):
            data[f"{name}_{end}"] = (batch_dims, ci[..., i], {
                "units": DEG, "long_name": f"{'lower' if i == 0 else 'upper'} end of the {level} session-bootstrap "
                f"interval of the {what}"})
    if "bump_m0" in run:
        m0, m1 = run.bump_m0.transpose(*report.dims).values, run.bump_m1.transpose(*report.dims).values
        data["persistence"] = (batch_dims + trial_dims, np.divide(m1, m0, out=np.zeros_like(m1), where=m0 > 0),
                               {"units": "1", "long_name": "m1 / m0 at the end of the delay"})
    if "bump_m0_cue" in run:  # the baseline check: no bump left when the next cue begins
        m0, m1 = run.bump_m0_cue.transpose(*report.dims).values, run.bump_m1_cue.transpose(*report.dims).values
        data["baseline_persistence"] = (
            batch_dims + trial_dims, np.divide(m1, m0, out=np.zeros_like(m1), where=m0 > 0),
            {"units": "1", "long_name": "m1 / m0 when the cue begins (after fixation; after the previous trial's "
             "erase and ITI): no bump below bump_threshold"})
        data["bump_threshold"] = ((), BUMP_THRESHOLD, {"units": "1", "long_name": "persistence m1 / m0 above which "
                                                       "a ring holds a bump"})
    ds = xr.Dataset(data, coords=coords)
    for name, coord in run.coords.items():
        if coord.ndim == 0 and name not in ds.coords:
            ds = ds.assign_coords({name: coord})
    ds.attrs.update({"experiment": run.attrs.get("experiment", ""), "job": run.attrs.get("job", ""),
                     "analysis": "serial_bias", "bootstrap_resamples": cfg.bootstrap,
                     "confidence": cfg.confidence, "iti_ms": run.attrs.get("iti_ms", np.nan),
                     "reset": run.attrs.get("reset", 0)})
    ds.attrs.update(standard_values(spec))
    return ds


def standard_values(spec) -> dict[str, float]:
    """``standard_<axis>``: the configured (base) value of each batch axis, which figures single out."""
    from einet.config.sweep import batch_axes

    config = to_dict(spec)
    out = {}
    for axis in batch_axes(spec):
        node = config
        for part in axis.path.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, (int, float)) and not isinstance(node, bool):
            out[f"standard_{axis.name}"] = float(node)
    return out
