"""E/I balance of a run: rates against theory, input currents, balance index.

For every batch element and population the simulated mean rate is compared
with two predictions: the balanced limit (K -> infinity, where the O(sqrt K)
mean input must vanish) and the finite-K mean-field solution (Gaussian
quenched input across neurons, solved self-consistently).
"""

from __future__ import annotations

import math

import numpy as np
import xarray as xr
from scipy import stats

from einet.measures import meanfield
from einet.config.experiment import ExperimentSpec
from einet.config.sweep import batch_axes, batch_elements
from einet.config.model import ModelSpec


def coefficients(model: ModelSpec) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean coupling C, variance coefficient V and external input of the mean-field equations.

    A sparse projection with weight J/sqrt(K) and connection probability K/N
    gives mean input J sqrt(K) m and quenched variance J^2 (1 - K/N) q; an
    all-to-all one (J/N, any profile with unit mean) gives J m and no variance.
    """
    names = list(model.populations)
    P = len(names)
    C = np.zeros((P, P))
    V = np.zeros((P, P))
    for proj in model.projections.values():
        a, b = names.index(proj.target), names.index(proj.source)
        if proj.connectivity == "sparse":
            K = model.in_degree(proj)
            n_source = model.populations[proj.source].size
            C[a, b] += proj.J * math.sqrt(K)
            V[a, b] += proj.J**2 * (1.0 - K / n_source)
        else:
            C[a, b] += proj.J
    scale = math.sqrt(model.external_K) if model.external_K is not None else 1.0
    ext = np.array([scale * model.external.M0 * model.external.J.get(n, 0.0) for n in names])
    return C, V, ext


def _transfers(model: ModelSpec) -> list[dict]:
    return [
        {"name": p.transfer.name, "threshold": p.transfer.threshold, "gain": p.transfer.gain, "r_max": p.transfer.r_max}
        for p in model.populations.values()
    ]


def theory(model: ModelSpec) -> dict[str, np.ndarray]:
    """Balanced-limit and mean-field rates of one model (NaN where none exists)."""
    C, V, ext = coefficients(model)
    P = len(ext)
    out = {k: np.full(P, np.nan) for k in ("balanced", "meanfield", "mf_mu", "mf_sigma", "mf_active")}
    try:
        out["balanced"] = meanfield.balanced_limit(C, ext)
    except ValueError:
        pass
    try:
        sol = meanfield.solve_mean_field(C, V, ext, _transfers(model))
    except (RuntimeError, ValueError):
        return out
    out["meanfield"] = sol.m
    out["mf_mu"], out["mf_sigma"] = sol.mu, sol.sigma
    thresholds = np.array([p.transfer.threshold for p in model.populations.values()])
    out["mf_active"] = meanfield.fraction_active(sol.mu, sol.sigma, thresholds)
    return out


def analyze(run: xr.Dataset, spec: ExperimentSpec, *, bins: int | None = None,
            active_threshold: float | None = None) -> xr.Dataset:
    """Summarise a run of the balanced experiment, per batch element and population
    (``bins`` and ``active_threshold`` default to the config's ``analysis`` section)."""
    bins = spec.analysis.bins if bins is None else bins
    active_threshold = spec.analysis.active_threshold if active_threshold is None else active_threshold
    axes = batch_axes(spec)
    batch_dims = [a.name for a in axes]
    batch_shape = tuple(len(a.values) for a in axes)
    pops = [str(p) for p in run.population.values]
    elements = batch_elements(spec)

    by_pop = {}
    for var in ("rate", "current_exc", "current_inh", "current_ext"):
        avg = run[f"{var}_avg"]
        by_pop[var] = [avg.where(run.neuron_population == p, drop=True) for p in pops]

    def stack(fn):
        return xr.concat([fn(p, a) for a, p in enumerate(pops)], dim="population").transpose(*batch_dims, "population")

    rate = stack(lambda p, a: by_pop["rate"][a].mean("neuron"))
    exc = stack(lambda p, a: by_pop["current_exc"][a].mean("neuron"))
    inh = stack(lambda p, a: by_pop["current_inh"][a].mean("neuron"))
    ext = stack(lambda p, a: by_pop["current_ext"][a].mean("neuron"))
    net = exc + inh + ext
    excitation = exc + ext  # the drive is excitatory too

    predictions = [theory(e.model) for e in elements]

    def predicted(key):
        values = np.stack([p[key] for p in predictions]).reshape(batch_shape + (len(pops),))
        return xr.DataArray(values, dims=batch_dims + ["population"])

    balanced = predicted("balanced")
    mf = predicted("meanfield")
    edges = np.linspace(0.0, 5.0, bins + 1)
    centers = 0.5 * (edges[1:] + edges[:-1])
    hist = np.zeros(batch_shape + (len(pops), bins))
    mf_density = np.full_like(hist, np.nan)
    for a, p in enumerate(pops):
        r = by_pop["rate"][a].values.reshape(batch_shape + (-1,))
        mean = r.mean(axis=-1, keepdims=True)
        rel = r / np.where(mean > 0, mean, np.nan)
        for idx in np.ndindex(*batch_shape):
            hist[idx + (a,)], _ = np.histogram(rel[idx], bins=edges, density=False)
            hist[idx + (a,)] /= r.shape[-1] * (edges[1] - edges[0])
        if spec.model.populations[p].transfer.name == "threshold_linear":
            for flat, idx in enumerate(np.ndindex(*batch_shape)):
                mf_density[idx + (a,)] = _threshold_linear_density(predictions[flat], a, centers, elements[flat].model, p)

    u = {"units": "1"}
    data = {
        "rate": (rate, "simulated mean rate"),
        "rate_sd": (stack(lambda p, a: by_pop["rate"][a].std("neuron")), "standard deviation of time-averaged rates across neurons"),
        "rate_balanced": (balanced, "balanced-limit rate (C m + external = 0)"),
        "rate_meanfield": (mf, "finite-K mean-field rate"),
        "deviation_balanced": (np.abs(rate - balanced) / np.abs(balanced), "relative deviation |rate - balanced| / balanced"),
        "deviation_meanfield": (np.abs(rate - mf) / np.abs(mf), "relative deviation |rate - mean field| / mean field"),
        "current_exc": (exc, "mean recurrent excitatory input"),
        "current_inh": (inh, "mean recurrent inhibitory input"),
        "current_ext": (ext, "mean external input"),
        "current_net": (net, "mean net input"),
        "balance_index": (np.abs(net) / np.abs(excitation), "balance index |net| / |excitatory + external|"),
        "fraction_active": (
            stack(lambda p, a: (by_pop["rate"][a] > active_threshold * rate.isel(population=a)).mean("neuron")),
            f"fraction of neurons with time-averaged rate > {active_threshold:g} x population mean",
        ),
        "fraction_active_meanfield": (predicted("mf_active"), "mean-field fraction of neurons above threshold"),
        "meanfield_input_sd": (predicted("mf_sigma"), "mean-field standard deviation of the input across neurons"),
    }
    ds = xr.Dataset({k: v.assign_attrs(long_name=name, **u) if isinstance(v, xr.DataArray)
                     else xr.DataArray(v, dims=batch_dims + ["population"], attrs={"long_name": name, **u})
                     for k, (v, name) in data.items()})
    dims = batch_dims + ["population", "rate_bin"]
    ds["rate_hist"] = xr.DataArray(hist, dims=dims, attrs={"units": "1", "long_name": "density of rate / population mean rate"})
    ds["rate_hist_meanfield"] = xr.DataArray(
        mf_density, dims=dims, attrs={"units": "1", "long_name": "mean-field density of rate / mean rate (threshold-linear only)"}
    )
    coords = {name: run[name] for name in batch_dims}
    coords["population"] = run["population"]
    coords["rate_bin"] = ("rate_bin", centers, {"units": "1", "long_name": "rate / population mean rate (bin centre)"})
    for name, coord in run.coords.items():
        if coord.ndim == 0:
            coords[name] = coord
    ds = ds.assign_coords(coords)
    ds.attrs.update({"experiment": run.attrs.get("experiment", spec.name), "job": run.attrs.get("job", ""), "analysis": "balance"})
    return ds


def _threshold_linear_density(pred: dict, a: int, centers: np.ndarray, model: ModelSpec, pop: str) -> np.ndarray:
    """Density of r/m for r = g*max(mu - theta + sigma z, 0) (continuous part only)."""
    mu, sigma, m = pred["mf_mu"][a], pred["mf_sigma"][a], pred["meanfield"][a]
    t = model.populations[pop].transfer
    if not (np.isfinite(mu) and np.isfinite(sigma) and sigma > 0 and m > 0):
        return np.full(centers.shape, np.nan)
    r = centers * m  # rate at each bin centre
    z = (r / t.gain - (mu - t.threshold)) / sigma
    return stats.norm.pdf(z) * m / (t.gain * sigma)
