"""Run sequential sessions (tasks with ``sequential = True``), keeping one record per trial.

A session of T trials is one long run. Recording every sample of it, as
:func:`einet.runs.rate.simulate` does for single trials, would cost memory
that the serial-bias analysis never reads, so per trial only this is kept:
the population-vector decoding of the cued ring at the end of the delay
(report, m0, m1) and when the cue begins (m0, m1: whether a bump is already
there, the baseline check), and the mean STP ``u`` of each plastic projection
when the ITI begins and when it ends (the facilitation carried into the next
trial).
"""

from __future__ import annotations

import time

import numpy as np
import torch
import xarray as xr

from einet.measures.bump import decode
from einet.config.sweep import Axis, batch_axes
from einet.progress import progress_bar
from einet.runs.base import batch_labels, rate_units, sweep_coords, tile_stimulus
from einet.errors import ConfigError
from einet.runs.rate import build_network, check_rate
from einet.runs.registry import RunKind, register_run
from einet.runs.recorder import check_finite
from einet.threads import governed


def run_sessions(net, task, *, max_rate: float = 1e6, batch_labels=None, progress: bool = False,
                 label: str = "sessions") -> dict[str, torch.Tensor]:
    """Integrate every session through its trials; the state carries over unless ``task.reset``.

    The network's batch is ``repeats x task.sessions`` (sessions innermost):
    every parameter set runs the same sessions. Returns ``phase``, ``m0``,
    ``m1`` of the cued population at the end of each delay and ``m0_cue``, ``m1_cue`` when each cue
    begins, ``[trial, batch]``, and ``u_iti_start``, ``u_iti_end``, ``[trial, batch, stp_projection]``.
    """
    dt, trials, batch = net.dt, task.trials, net.batch_size
    if batch % task.batch_size:
        raise ValueError(f"network batch {batch} is not a multiple of {task.batch_size} sessions")
    repeats = batch // task.batch_size
    steps, report_at, iti_at = task.trial_steps(dt), task.report_step(dt), task.iti_start_step(dt)
    cue_at = int(round(task.schedule["cue"].start / dt))
    stp = [i for i, name in enumerate(net.projection_names) if net.has_stp(name)]
    kw = dict(dtype=net.dtype, device=net.device)
    out = {v: torch.zeros(trials, batch, **kw) for v in ("phase", "m0", "m1", "m0_cue", "m1_cue")}
    out.update({v: torch.zeros(trials, batch, len(stp), **kw) for v in ("u_iti_start", "u_iti_end")})
    labels = batch_labels or [str(b) for b in range(batch)]

    def mean_u(state) -> torch.Tensor:
        return torch.stack([state.plasticity[i].u.mean(dim=1) for i in stp], dim=1) if stp else out["u_iti_end"][0]

    bar = progress_bar(total=trials * steps, desc=label, unit="step", enabled=progress, mininterval=5.0)
    state = net.initial_state()
    with torch.inference_mode(), governed(net.device) as governor:
        for trial in range(trials):
            if task.reset and trial > 0:
                state = net.initial_state()
            for local in range(steps + 1):
                if local == report_at:
                    check_finite(net, state.rates, trial * steps + local, max_rate, labels)
                    m0, m1, phase = decode(state.rates[task.population])
                    out["m0"][trial], out["m1"][trial], out["phase"][trial] = m0, m1, phase
                if local == cue_at:  # the state the cue meets: the end of fixation
                    m0, m1, _ = decode(state.rates[task.population])
                    out["m0_cue"][trial], out["m1_cue"][trial] = m0, m1
                if local == iti_at:
                    out["u_iti_start"][trial] = mean_u(state)
                if local == steps:
                    break
                stimulus = tile_stimulus(task.stimulus(trial * steps + local, dt), repeats)
                state, _ = net.step(state, stimulus)
                governor.tick()
            out["u_iti_end"][trial] = mean_u(state)
            check_finite(net, state.rates, (trial + 1) * steps, max_rate, labels)
            bar.update(steps)
    bar.close()
    return out


def simulate_sessions(spec, task, *, progress: bool = True, device: torch.device | None = None) -> xr.Dataset:
    """Run a job's sessions and return the per-trial records with dims ``[*batch, session, trial]``."""
    started = time.perf_counter()
    net = build_network(spec, device, task.batch_size)
    axes = batch_axes(spec)
    labels = batch_labels(axes + [Axis(name="session", path="session", values=tuple(range(task.sessions)))])
    rec = run_sessions(net, task, max_rate=spec.simulation.max_rate, batch_labels=labels, progress=progress,
                       label=f"simulate {spec.job.get('name', spec.name)}")
    shape = [len(a.values) for a in axes] + [task.sessions]
    dims = [a.name for a in axes] + ["session", "trial"]

    def per_trial(x: torch.Tensor) -> np.ndarray:  # [trial, batch, ...] -> [*batch, session, trial, ...]
        x = x.cpu().numpy()
        return np.moveaxis(x.reshape(x.shape[0], *shape, *x.shape[2:]), 0, len(shape))

    pop = net.population_names[task.population]
    stp_names = [n for n in net.projection_names if net.has_stp(n)]
    rates = rate_units(spec)
    data = {
        "report": (dims, per_trial(rec["phase"]), {"units": "rad", "long_name": f"population-vector phase of {pop} "
                                                  "at the end of the delay"}),
        "bump_m0": (dims, per_trial(rec["m0"]), {"units": rates, "long_name": f"mean rate of {pop} at the end of "
                                                 "the delay"}),
        "bump_m1": (dims, per_trial(rec["m1"]), {"units": rates, "long_name": f"first-harmonic amplitude of {pop} "
                                                 "at the end of the delay"}),
        "bump_m0_cue": (dims, per_trial(rec["m0_cue"]), {"units": rates, "long_name": f"mean rate of {pop} when the "
                                                         "cue begins (the end of fixation)"}),
        "bump_m1_cue": (dims, per_trial(rec["m1_cue"]), {"units": rates, "long_name": f"first-harmonic amplitude of "
                                                         f"{pop} when the cue begins (the end of fixation)"}),
    }
    for var, when in (("u_iti_start", "when the inter-trial interval begins"),
                      ("u_iti_end", "when the inter-trial interval ends (before the next trial)")):
        data[f"stp_{var}"] = (dims + ["stp_projection"], per_trial(rec[var]),
                              {"units": "1", "long_name": f"mean release probability u over presynaptic neurons "
                                                          f"{when}"})
    conditions = task.conditions()
    coords = {
        "session": ("session", np.arange(task.sessions), {"units": "1", "long_name": "session index"}),
        "trial": ("trial", np.arange(task.trials), {"units": "1", "long_name": "trial index within the session"}),
        "cue_angle": (("session", "trial"), conditions["cue_angle"], {"units": "rad", "long_name": "cue angle"}),
        "previous_cue_distance": (("session", "trial"), conditions["previous_cue_distance"],
                                  {"units": "rad", "long_name": "previous - current cue angle, wrapped to "
                                                                "[-pi, pi) (NaN on the first trial)"}),
        "stp_projection": ("stp_projection", np.array(stp_names, dtype=str),
                           {"long_name": "projection with short-term plasticity"}),
    }
    coords.update(sweep_coords(spec, axes))
    ds = xr.Dataset(data, coords=coords)
    ds.attrs.update({
        "experiment": spec.name, "job": spec.job.get("name", "default"), "task": type(task).__name__,
        "cued_population": pop, "reset": int(task.reset), "iti_ms": float(task.iti),
        "trial_duration_ms": float(task.schedule.duration),
        "wall_time_s": time.perf_counter() - started, "device": str(net.device),
    })
    return ds


def check_sessions(spec) -> None:
    """A rate run's checks, and what sessions of serial ODR trials need."""
    check_rate(spec)
    task = spec.task
    if task.epochs.get("delay", 1.0) <= 0:
        raise ConfigError("task.epochs.delay", task.epochs["delay"], "a duration > 0 (the report is read at its end)")
    if task.trials < 2:
        raise ConfigError("task.trials", task.trials, "at least 2 trials per session (serial bias needs a previous one)")


def _run(spec, *, device: torch.device, progress: bool = True) -> xr.Dataset:
    from einet.tasks.build import task_for

    return simulate_sessions(spec, task_for(spec, device), progress=progress, device=device)


register_run(RunKind(
    name="sessions", doc="sessions of serial_odr trials whose network state carries over from trial to trial",
    stage="simulate", run=_run, selected_by="task.kind", selected_value="serial_odr", check=check_sessions, gpu_capable=True,
    writes=tuple((
        "bump_m0 bump_m0_cue bump_m1 bump_m1_cue cue_angle previous_cue_distance report session stp_projection "
        "trial "
        "stp_u_* stp_x_*"
    ).split()),
))
