"""Run the ``reservoir:`` section of a job config (the simulate stage): ridge and FORCE readouts of one target.

The run file holds the target and both readouts' outputs over the whole run
(dimension ``time``, with ``phase`` train or test on each sample) and the
held-out R² of each readout (dimension ``readout``); its attribute ``neuron``
names the reservoir's units (rate or qif).
"""

from __future__ import annotations

import logging
import time

import numpy as np
import torch
import xarray as xr

from einet.kernels import plain_torch
from einet.network.reservoir import (
    QIFReservoirParams, ReservoirParams, make_qif_reservoir, make_reservoir, product_of_sines,
)
from einet.training.reservoir import train_force, train_ridge
from einet.runs.registry import RunKind, register_run

log = logging.getLogger("einet")


def simulate_reservoir(spec, *, progress: bool = True, device=None) -> xr.Dataset:
    """Train both readouts and return the run dataset (CPU; the reservoir is small)."""
    started = time.perf_counter()
    cfg, dt, seed = spec.reservoir, spec.simulation.dt, spec.simulation.seed
    n_train, n_test = int(round(cfg.train / dt)), int(round(cfg.test / dt))
    washout = int(round(cfg.washout / dt))
    u, y = product_of_sines(n_train + n_test, dt, tuple(cfg.periods))
    common = dict(n=cfg.n, p=cfg.p, tau=cfg.tau, input_scale=cfg.input_scale, feedback_scale=cfg.feedback_scale,
                  seed=seed)
    if cfg.neuron == "qif":
        common.update(tau_syn=cfg.tau_syn, eta=cfg.eta, eta_scale=cfg.bias_scale)
        stable = make_qif_reservoir(QIFReservoirParams(g=cfg.g_ridge, **common), 2, 1)
        chaotic = make_qif_reservoir(QIFReservoirParams(g=cfg.g_force, **common), 2, 1)
    else:
        stable = make_reservoir(ReservoirParams(g=cfg.g_ridge, bias_scale=cfg.bias_scale, **common), 2, 1)
        chaotic = make_reservoir(ReservoirParams(g=cfg.g_force, bias_scale=cfg.bias_scale, **common), 2, 1)
    with torch.inference_mode(), plain_torch(spec.simulation.kernels != "auto"):
        ridge_out, r2_ridge = train_ridge(stable, u, y, dt, n_train, washout=washout, alpha=cfg.ridge_alpha)
        force_out, r2_force = train_force(chaotic, u, y, dt, n_train, alpha=cfg.rls_alpha, every=cfg.rls_every,
                                          washout=washout)
    log.info("held-out R2: ridge %.4f, FORCE %.4f", r2_ridge, r2_force)
    t = np.arange(n_train + n_test) * dt
    outputs = np.stack([ridge_out[:, 0].numpy(), force_out[:, 0].numpy()])
    ds = xr.Dataset(
        {
            "target": ("time", y[:, 0].numpy(), {"units": "1", "long_name": "target: product of the two input sines"}),
            "output": (("readout", "time"), outputs, {"units": "1", "long_name": "readout output"}),
            "r2": ("readout", np.array([r2_ridge, r2_force]),
                   {"units": "1", "long_name": "coefficient of determination on the held-out time"}),
        },
        coords={
            "time": ("time", t, {"units": "ms", "long_name": "time"}),
            "phase": ("time", np.where(np.arange(len(t)) < n_train, "train", "test"),
                      {"long_name": "training or held-out sample"}),
            "readout": ("readout", np.array(["ridge", "force"]), {"long_name": "readout training"}),
        },
    )
    paths = spec.job.get("paths", {})
    for name, value in spec.job.get("grid", {}).items():  # scalar grid coordinates, for collect
        ds = ds.assign_coords({name: ((), value, {"units": "1", "long_name": paths.get(name, name)})})
    ds.attrs.update({"experiment": spec.name, "job": spec.job.get("name", "default"), "wall_time_s":
                     time.perf_counter() - started, "device": "cpu", "neuron": cfg.neuron})

    return ds


def _run(spec, *, device: torch.device, progress: bool = True) -> xr.Dataset:
    return simulate_reservoir(spec, progress=progress, device=device)


register_run(RunKind(
    name="reservoir", doc="a reservoir trained with ridge and FORCE readouts (the reservoir section)",
    stage="simulate", run=_run, selected_by="reservoir", uses_model=False,
    writes=tuple((
        "output phase r2 readout target time"
    ).split()),
))
