"""Effective information of recurrent E/I rate networks, per projection and per population.

A recurrent network has no layers, but its one-step map (see
``einet.network.rate_map``) is a layer from the state at t to the state at
t + dt, and the map unrolled over T steps is a deep network of T such
layers with shared weights. Both are measured with
``einet.measures.map_information``:

* projection ``B -> A``: the sampled rates of B are drawn, every other
  neuron starts at rest, and the sampled rates of A after T steps are
  binned. For ``A = B`` the leak (a neuron's memory of its own rate) is part
  of the map; for ``A != B`` only the synapses carry information at T = 1.
* population ``A``: every sampled neuron is drawn; the output is A's sample.

Input and output of a population share one range (``rate_map.default_range``),
so a map that leaves rates unchanged gives exactly ``n log2(bins)`` of
EI_parts and composition of maps is well defined.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import xarray as xr

from einet.measures.map_information import MapMeasures, map_measures
from einet.network.rate_map import RateMap, rate_map
from einet.progress import progress_bar

__all__ = ["measure", "projection_measures", "population_measures", "analyze"]

MEASURES = {
    "ei": "effective information (MI of binned input and output vectors)",
    "ei_parts": "sum over neuron pairs of MI(input i; output j)",
    "sensitivity": "sum over neuron pairs of MI when input i alone is drawn",
    "degeneracy": "sensitivity minus ei_parts",
}


def measure(
    rmap: RateMap,
    sources: Sequence[str],
    targets: Sequence[str],
    *,
    steps: int = 1,
    bins: int = 8,
    samples: int = 4096,
    seed: int = 0,
    bias_correction: str | None = None,
) -> MapMeasures:
    """EI measures of the map from the sources' sampled rates to the targets' after ``steps`` steps."""
    fn, src, tgt = rmap.restricted(sources, targets, steps)
    return map_measures(
        fn,
        len(src),
        in_range=(rmap.low[src], rmap.high[src]),
        out_range=(rmap.low[tgt], rmap.high[tgt]),
        in_bins=bins,
        out_bins=bins,
        samples=samples,
        rest=rmap.rest[src],
        seed=seed,
        bias_correction=bias_correction,
    )


def projection_measures(rmap: RateMap, source: str, target: str, **kwargs) -> MapMeasures:
    """Measures of projection ``source -> target`` (keywords of ``measure``)."""
    return measure(rmap, [source], [target], **kwargs)


def population_measures(rmap: RateMap, target: str, **kwargs) -> MapMeasures:
    """Measures of the map from every sampled neuron to population ``target`` (keywords of ``measure``)."""
    return measure(rmap, list(rmap.populations), [target], **kwargs)


# ----------------------------------------------------------------- the pipeline's analysis


def _pathways(spec) -> list[tuple[str, str, str]]:
    """(name, source, target) per source/target pair, named after its first projection."""
    seen: dict[tuple[str, str], str] = {}
    for name, proj in spec.model.projections.items():
        seen.setdefault((proj.source, proj.target), name)
    return [(name, s, t) for (s, t), name in seen.items()]


def analyze(run: xr.Dataset, spec) -> xr.Dataset:
    """Recurrent EI of every batch element of a run, at the run's operating point.

    The network is rebuilt from the resolved config (same seed, same
    connectivity); the sampled and clamped neurons rest at their
    time-averaged rates from the run (``rate_avg``). Settings come from
    ``analysis.ei`` (neurons, steps, bins, samples, range_scale, ranges).
    """
    from einet.config.sweep import batch_axes, batch_elements

    cfg = spec.analysis.ei
    axes = batch_axes(spec)
    batch_dims = [a.name for a in axes]
    shape = tuple(len(a.values) for a in axes)
    elements = batch_elements(spec)
    pops = list(spec.model.populations)
    paths = _pathways(spec)
    steps = list(cfg.steps)
    rest = run["rate_avg"].values.reshape(len(elements), -1)
    proj_vals = {m: np.zeros((len(elements), len(paths), len(steps))) for m in [*MEASURES, "clipped"]}
    pop_vals = {m: np.zeros((len(elements), len(pops), len(steps))) for m in [*MEASURES, "clipped"]}
    high = np.zeros((len(elements), len(pops)))
    settings = dict(bins=cfg.bins, samples=cfg.samples, seed=cfg.seed,
                    bias_correction=None if cfg.bias_correction == "none" else cfg.bias_correction)
    work = len(elements) * len(steps) * (len(paths) + len(pops))
    bar = progress_bar(total=work, desc="recurrent EI", unit="map", mininterval=5.0)  # shown as the stage says
    for e, element in enumerate(elements):
        rmap = rate_map(element.model, spec.simulation.dt, seed=spec.simulation.seed, neurons=cfg.neurons,
                        rest=rest[e], ranges={k: tuple(v) for k, v in cfg.ranges.items()},
                        range_scale=cfg.range_scale)
        high[e] = [float(rmap.high[rmap.slices[p]][0]) for p in pops]
        for s, T in enumerate(steps):
            for table, items in ((proj_vals, [([src], [tgt]) for _, src, tgt in paths]),
                                 (pop_vals, [(pops, [p]) for p in pops])):
                for i, (sources, targets) in enumerate(items):
                    m = measure(rmap, sources, targets, steps=T, **settings)
                    for key in MEASURES:
                        table[key][e, i, s] = getattr(m, key)
                    table["clipped"][e, i, s] = m.clipped
                    bar.update()
    bar.close()
    data = {}
    for kind, table, dim in (("projection", proj_vals, "projection"), ("population", pop_vals, "population")):
        for key, values in table.items():
            units, long_name = ("1", "fraction of output rates outside their range (clipped)") if key == "clipped" \
                else ("bit", MEASURES[key])
            data[f"{key}_{kind}"] = (batch_dims + [dim, "steps"], values.reshape(shape + values.shape[1:]),
                                     {"units": units, "long_name": f"{long_name}, per {kind}"})
    data["range_high"] = (batch_dims + ["population"], high.reshape(shape + (len(pops),)),
                          {"units": "1", "long_name": "upper end of the rate range drawn and binned"})
    coords = {name: run[name] for name in batch_dims}
    coords.update({
        "projection": ("projection", np.array([p[0] for p in paths]), {"long_name": "projection"}),
        "projection_source": ("projection", np.array([p[1] for p in paths]),
                              {"long_name": "source population"}),
        "projection_target": ("projection", np.array([p[2] for p in paths]),
                              {"long_name": "target population"}),
        "population": ("population", np.array(pops), {"long_name": "population name"}),
        "steps": ("steps", np.array(steps), {"units": "1", "long_name": "time steps of the unrolled map"}),
        "sampled_neurons": ("population", np.array([min(cfg.neurons, spec.model.populations[p].size) for p in pops]),
                            {"units": "1", "long_name": "sampled neurons per population"}),
    })
    for name, coord in run.coords.items():
        if coord.ndim == 0:
            coords[name] = coord
    ds = xr.Dataset(data, coords=coords)
    ds.attrs.update({"experiment": run.attrs.get("experiment", spec.name), "job": run.attrs.get("job", ""),
                     "analysis": "recurrent_ei", "bins": cfg.bins, "samples": cfg.samples})
    return ds
