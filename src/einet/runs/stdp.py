"""Run the ``stdp:`` section of a job config (the simulate stage): one neuron learning its inputs by STDP.

Each weight dependence of ``stdp.dependences`` is one batch element with its
own inputs and neuron (independent draws from one generator seeded with
``simulation.seed``). The run file holds, per dependence, every input's
weight at each snapshot (dimension ``weight_time``), the postsynaptic rate
per bin (``rate_time``) and the rate each input actually had; ``group`` on
the ``input`` dimension says which inputs are correlated.
"""

from __future__ import annotations

import logging
import time

import numpy as np
import torch
import xarray as xr

from einet.neurons.lif import LIFParams
from einet.errors import ConfigError
from einet.plasticity.stdp import DEPENDENCES, STDP
from einet.network.stdp_neuron import PoissonInputs, run_stdp_neuron
from einet.runs.base import sweep_coords
from einet.config.stdp import check_stdp
from einet.runs.registry import RunKind, register_run

log = logging.getLogger("einet")

GROUPS = ("correlated", "independent")


def rules_of(cfg) -> list[STDP]:
    """One rule per dependence, on weights in fractions of ``w_max`` (bounds 0 and 1)."""
    return [STDP(a_plus=cfg.a_plus, a_minus=cfg.a_minus, tau_pre=cfg.tau_plus, tau_post=cfg.tau_minus, w_min=0.0,
                 w_max=1.0, dependence=d) for d in cfg.dependences]


def inputs_of(cfg) -> PoissonInputs:
    return PoissonInputs(n=cfg.n_inputs, n_correlated=cfg.n_correlated, rate=cfg.rate, correlation=cfg.correlation,
                         n_inhibitory=cfg.n_inhibitory, rate_inhibitory=cfg.rate_inhibitory,
                         w_inhibitory=cfg.w_inhibitory)


def simulate_stdp(spec, *, progress: bool = True, device: torch.device | None = None) -> xr.Dataset:
    """Run every dependence side by side and return the run dataset (without provenance; see :mod:`einet.io`)."""
    started = time.perf_counter()
    cfg, sim = spec.stdp, spec.simulation
    device = device or torch.device("cpu")
    dtype, dt = getattr(torch, sim.dtype), sim.dt
    n_steps = int(round(sim.duration / dt))
    every = max(int(round(cfg.record_every / dt)), 1)
    bin_steps = max(int(round(cfg.rate_bin / dt)), 1)
    generator = torch.Generator(device=device).manual_seed(sim.seed)
    low, high = cfg.w_init
    batch = len(cfg.dependences)
    w0 = low + (high - low) * torch.rand(batch, cfg.n_inputs, generator=generator, dtype=dtype, device=device)
    n = cfg.neuron
    neuron = LIFParams(tau_m=n.tau_m, tau_syn=n.tau_syn, v_rest=n.v_rest, v_th=n.v_th, v_reset=n.v_reset,
                       t_ref=n.t_ref)
    record = run_stdp_neuron(rules_of(cfg), inputs_of(cfg), neuron, cfg.w_max, w0, n_steps, dt, generator,
                             snapshot_every=every, bin_steps=bin_steps, progress=progress,
                             label=f"simulate {spec.job.get('name', spec.name)}")
    ds = to_dataset(spec, record, n_steps, bin_steps)
    rates = ds["post_rate"].mean("rate_time").values
    log.info("postsynaptic rate over the run: %s", ", ".join(f"{d} {r:.1f} Hz" for d, r in zip(cfg.dependences, rates)))
    ds.attrs["wall_time_s"] = time.perf_counter() - started
    ds.attrs["device"] = str(device)
    return ds


def to_dataset(spec, record, n_steps: int, bin_steps: int) -> xr.Dataset:
    """Label the record: weights, postsynaptic rates and realised input rates, with units on everything."""
    cfg, dt = spec.stdp, spec.simulation.dt
    seconds = n_steps * dt / 1000.0
    n_bins = record.post_counts.shape[1]
    group = np.where(np.arange(cfg.n_inputs) < cfg.n_correlated, GROUPS[0], GROUPS[1])
    data = {
        "weight": (("dependence", "weight_time", "input"), record.weights.numpy().transpose(1, 0, 2),
                   {"units": "1", "long_name": "synaptic weight as a fraction of w_max"}),
        "post_rate": (("dependence", "rate_time"), record.post_counts.numpy() / (bin_steps * dt / 1000.0),
                      {"units": "Hz", "long_name": "postsynaptic firing rate per bin"}),
        "input_rate": (("dependence", "input"), record.input_counts.numpy() / seconds,
                       {"units": "Hz", "long_name": "rate each excitatory input had over the run"}),
    }
    coords = {
        "dependence": ("dependence", np.array(cfg.dependences), {"long_name": "STDP weight dependence"}),
        "weight_time": ("weight_time", np.asarray(record.snapshot_steps, dtype=float) * dt,
                        {"units": "ms", "long_name": "time of the weight snapshot"}),
        "rate_time": ("rate_time", (np.arange(n_bins) + 0.5) * bin_steps * dt,
                      {"units": "ms", "long_name": "bin centre"}),
        "input": ("input", np.arange(cfg.n_inputs), {"units": "1", "long_name": "excitatory input index"}),
        "group": ("input", group, {"long_name": "input group: correlated (shared mother train) or "
                                                              "independent"}),
    }
    coords.update(sweep_coords(spec, []))
    ds = xr.Dataset(data, coords=coords)
    ds.attrs.update({"experiment": spec.name, "job": spec.job.get("name", "default"), "dt_ms": dt,
                     "duration_ms": n_steps * dt, "w_max_mV": cfg.w_max, "correlation": cfg.correlation,
                     "a_plus": cfg.a_plus, "a_minus": cfg.a_minus, "tau_plus_ms": cfg.tau_plus,
                     "tau_minus_ms": cfg.tau_minus, "neuron_model": "lif"})
    return ds


def _check(spec) -> None:
    """The stdp section against the simulation (:func:`einet.config.stdp.check_stdp`) and the weight
    dependences the STDP rules know."""
    check_stdp(spec)
    if any(name not in DEPENDENCES for name in spec.stdp.dependences):
        raise ConfigError("stdp.dependences", spec.stdp.dependences,
                          f"a non-empty list of distinct weight dependences among {', '.join(DEPENDENCES)}")


def _run(spec, *, device: torch.device, progress: bool = True) -> xr.Dataset:
    return simulate_stdp(spec, progress=progress, device=device)


register_run(RunKind(
    name="stdp", doc="one LIF neuron whose Poisson inputs learn by STDP (the stdp section)", stage="simulate",
    run=_run, selected_by="stdp", uses_model=False, check=_check,
    writes=tuple((
        "dependence group input input_rate post_rate rate_time weight weight_time"
    ).split()),
))
