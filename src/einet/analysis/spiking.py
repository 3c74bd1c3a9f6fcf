"""The ``spiking`` analysis: is the network in an asynchronous irregular state?

Per batch element and population: mean rate, mean ISI CV, the Fano factor of
the population spike count and Golomb's synchrony chi (of the raster
neurons), histograms of rates and CVs across neurons, the population rate,
and a dense raster of the run's last ``analysis.spiking.raster_window`` ms for
the figure. Everything has a fixed size per job, so ``collect`` can stack jobs.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from einet.measures import spike_statistics as st


def _hist(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    values = values[np.isfinite(values)]
    counts, _ = np.histogram(np.clip(values, edges[0], edges[-1]), edges)
    return counts / max(len(values), 1)


def _raster_events(run: xr.Dataset):
    """The raster neurons' spikes of a run file as events (several spikes in one step count once)."""
    from einet.network.spike_events import SpikeEvents

    step = np.round(run["spike_time"].values / run.attrs["dt_ms"]).astype(np.int64)
    return SpikeEvents(step, run["spike_element"].values.astype(np.int64),
                       run["spike_neuron"].values.astype(np.int64), np.ones_like(step))


def analyze(run: xr.Dataset, spec) -> xr.Dataset:
    cfg, bins = spec.analysis.spiking, spec.analysis.bins
    batch_dims = [d for d in run["rate"].dims if d != "neuron"]
    batch_shape = [run.sizes[d] for d in batch_dims]
    n_elements = int(np.prod(batch_shape)) if batch_shape else 1
    pops = [str(p) for p in run["population"].values]
    labels = run["neuron_population"].values.astype(str)
    rate = run["rate"].values.reshape(n_elements, -1)
    cv = run["isi_cv"].values.reshape(n_elements, -1)
    cv2 = run["isi_cv2"].values.reshape(n_elements, -1) if "isi_cv2" in run else None  # None: a run file before CV2
    spikes = run["spike_count"].values.reshape(n_elements, -1).astype(float)
    dt, transient, duration = run.attrs["dt_ms"], run.attrs["transient_ms"], run.attrs["duration_ms"]

    rate_edges = np.linspace(0.0, cfg.rate_max, bins + 1)
    cv_edges = np.linspace(0.0, cfg.cv_max, bins + 1)
    shape = (n_elements, len(pops))
    rate_mean, rate_std, cv_mean, cv_defined, cv2_mean, isi_count = (np.full(shape, np.nan) for _ in range(6))
    rate_hist, cv_hist = np.zeros(shape + (bins,)), np.zeros(shape + (bins,))
    for p, name in enumerate(pops):
        mask = labels == name
        rate_mean[:, p], rate_std[:, p] = rate[:, mask].mean(1), rate[:, mask].std(1)
        with np.errstate(all="ignore"):
            cv_mean[:, p] = np.nanmean(np.where(np.isfinite(cv[:, mask]), cv[:, mask], np.nan), 1)
            if cv2 is not None:
                cv2_mean[:, p] = np.nanmean(np.where(np.isfinite(cv2[:, mask]), cv2[:, mask], np.nan), 1)
        cv_defined[:, p] = np.isfinite(cv[:, mask]).mean(1)
        isi_count[:, p] = np.where(np.isfinite(cv[:, mask]), spikes[:, mask] - 1.0, 0.0).sum(1)
        for e in range(n_elements):
            rate_hist[e, p], cv_hist[e, p] = _hist(rate[e, mask], rate_edges), _hist(cv[e, mask], cv_edges)

    # Fano factor of the population count, from the population rate re-binned to count_bin
    pop_rate = run["population_rate"].values.reshape(n_elements, len(pops), -1)
    rate_bin = float(run["time"].values[1] - run["time"].values[0]) if run.sizes["time"] > 1 else duration
    per = max(int(round(cfg.count_bin / rate_bin)), 1)
    start = int(np.ceil(transient / rate_bin))
    usable = (pop_rate.shape[-1] - start) // per * per
    sizes = run["population_size"].values.astype(float)
    counts = pop_rate[..., start:start + usable] * sizes[:, None] * rate_bin / 1000.0
    counts = counts.reshape(n_elements, len(pops), -1, per).sum(-1)
    fano = st.fano_factor(counts)

    # synchrony chi and the raster, from the raster neurons' spike events
    events = _raster_events(run)
    raster_ids = np.flatnonzero(run["in_raster"].values)
    local = np.full(run.sizes["neuron"], -1)
    local[raster_ids] = np.arange(len(raster_ids))
    first_step = int(round(transient / dt))
    bin_steps = max(int(round(cfg.count_bin / dt)), 1)
    n_bins = max((int(round(duration / dt)) - first_step) // bin_steps, 1)
    single = st.binned_counts(events, n_elements, local, len(raster_ids), first_step, bin_steps, n_bins)
    chi = np.full(shape, np.nan)
    raster_pop = labels[raster_ids]
    for p, name in enumerate(pops):
        chosen = raster_pop == name
        if chosen.sum() > 1:
            chi[:, p] = st.synchrony(single[:, chosen])
    raster_bin = 1.0 if dt <= 1.0 else dt
    width = min(cfg.raster_window, duration)
    raster_first = int(round((duration - width) / dt))
    per_raster = max(int(round(raster_bin / dt)), 1)
    n_raster = max(int(round(width / dt)) // per_raster, 1)
    raster = st.binned_counts(events, n_elements, local, len(raster_ids), raster_first, per_raster, n_raster)

    def shaped(array):
        return array.reshape(tuple(batch_shape) + array.shape[1:])

    per_pop = batch_dims + ["population"]
    data = {
        "rate_mean": (per_pop, shaped(rate_mean), {"units": "Hz", "long_name": "mean firing rate over neurons"}),
        "rate_std": (per_pop, shaped(rate_std), {"units": "Hz", "long_name": "standard deviation of rates over neurons"}),
        "cv_mean": (per_pop, shaped(cv_mean), {"units": "1", "long_name": "mean ISI coefficient of variation "
                                                                          "(neurons with 3+ spikes)"}),
        "cv_defined": (per_pop, shaped(cv_defined), {"units": "1", "long_name": "fraction of neurons with 3+ spikes"}),
        "cv2_mean": (per_pop, shaped(cv2_mean), {"units": "1", "long_name": "mean local variation CV2 of consecutive "
                                                                            "ISIs (Holt et al. 1996; neurons with 3+ "
                                                                            "spikes)"}),
        "isi_count": (per_pop, shaped(isi_count), {"units": "1", "long_name": "inter-spike intervals in the ISI CV "
                                                                              "(all of the neurons with 3+ spikes)"}),
        "fano": (per_pop, shaped(fano), {"units": "1", "long_name": "Fano factor of the population spike count "
                                                                    f"in {cfg.count_bin:g} ms bins"}),
        "synchrony": (per_pop, shaped(chi), {"units": "1", "long_name": "synchrony chi (Golomb 2007) of the raster "
                                                                        f"neurons' counts in {cfg.count_bin:g} ms bins"}),
        "rate_hist": (per_pop + ["rate_bin"], shaped(rate_hist),
                      {"units": "1", "long_name": "fraction of neurons per firing-rate bin"}),
        "cv_hist": (per_pop + ["cv_bin"], shaped(cv_hist),
                    {"units": "1", "long_name": "fraction of neurons (with 3+ spikes) per ISI CV bin"}),
        "population_rate": (per_pop + ["time"], shaped(pop_rate), dict(run["population_rate"].attrs)),
        "raster": (batch_dims + ["raster_neuron", "raster_time"], shaped(raster.astype(np.int8)),
                   {"units": "1", "long_name": f"spikes per {raster_bin:g} ms bin of the raster neurons"}),
    }
    coords = {
        "population": run["population"],
        "population_size": run["population_size"],
        "time": run["time"],
        "rate_bin": ("rate_bin", 0.5 * (rate_edges[1:] + rate_edges[:-1]),
                     {"units": "Hz", "long_name": "firing-rate bin centre"}),
        "cv_bin": ("cv_bin", 0.5 * (cv_edges[1:] + cv_edges[:-1]), {"units": "1", "long_name": "ISI CV bin centre"}),
        "raster_neuron": ("raster_neuron", raster_ids, {"units": "1", "long_name": "neuron index"}),
        "raster_population": ("raster_neuron", raster_pop, {"long_name": "population of each raster neuron"}),
        "raster_time": ("raster_time", raster_first * dt + (np.arange(n_raster) + 0.5) * per_raster * dt,
                        {"units": "ms", "long_name": "raster bin centre"}),
    }
    for name in batch_dims:
        coords[name] = run[name]
    for name, coord in run.coords.items():
        if coord.ndim == 0:  # grid coordinates
            coords[name] = coord
    ds = xr.Dataset(data, coords=coords)
    ds.attrs.update({k: run.attrs[k] for k in ("experiment", "job", "dt_ms", "duration_ms", "transient_ms",
                                               "neuron_model") if k in run.attrs})
    return ds
