"""The train stage's work for ``training.kind: task``: build, evaluate, train, evaluate again.

The trained file holds the training history over ``iteration`` and the same
evaluation before and after training (dimension ``stage``), so a figure can
show what training changed:

* ODR: the angle decoded from the cued ring at each of ``test_delays`` after
  the cue, for ``test_cues`` evenly spaced cues (``decoded_angle[stage, delay, cue]``),
  and the decoded phase over the whole evaluation trial;
* dual task: the probability of "lick" of both readouts over time, per
  condition, and the choice accuracy per condition.

Both also keep the baseline check (issue 15), the cued population's state when the first
stimulus begins (the end of fixation): the persistence m1/m0 of the ring per cue
(``fixation_persistence``: no bump before the cue), and the overlaps of the rates with the
sample pattern A and the distractor pattern Go per condition (``fixation_overlap``: no sample
held before the sample).
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
import xarray as xr

from einet.measures.bump import decode
from einet.training.bptt import fit_bptt
from einet.training.task_training import AngleObjective, DecisionObjective, TaskModel, TaskTrials
from einet.network.rate import RateNetwork
from einet.errors import ConfigError
from einet.runs.rate import check_low_rank_signs
from einet.runs.registry import RunKind, register_run

__all__ = ["build_task_model", "train_task", "save_task_model", "load_task_model"]

#: Samples kept of each evaluation time series (decoded phase, readouts).
SAMPLES = 300


def _objective(spec, network, population: int, dtype, device):
    kind = AngleObjective if spec.training.loss == "angle" else DecisionObjective
    return kind(spec.task, population, network.population_names, network.sizes, spec.simulation.dt, dtype, device,
                network.low_rank_vectors)


def build_task_model(spec, batch: int, device) -> tuple[TaskModel, object]:
    """The experiment's network for ``batch`` trials with its trainable quantities, and the task objective."""
    cfg = spec.training
    dtype = getattr(torch, spec.simulation.dtype)
    network = RateNetwork([spec.model] * batch, spec.simulation.dt, device=device, dtype=dtype,
                          seed=spec.simulation.seed, kernels=spec.simulation.kernels)
    population = network.population_names.index(cfg.population or spec.task.population)
    readouts = DecisionObjective.readouts if cfg.loss == "decision" else 0
    model = TaskModel(network, cfg.parameters, readouts=readouts, population=population, seed=spec.training.seed)
    return model, _objective(spec, network, population, dtype, device)


def _time_index(n_steps: int) -> np.ndarray:
    return np.unique(np.linspace(0, n_steps - 1, min(SAMPLES, n_steps)).round().astype(int))


@torch.no_grad()
def evaluate_odr(model, objective, cfg) -> dict[str, np.ndarray]:
    """Decoded angle at each test delay per cue, and the decoded phase over the trial."""
    network, dt = model.network, model.network.dt
    cues = [360.0 * i / cfg.test_cues for i in range(cfg.test_cues)]  # degrees
    delays = sorted(cfg.test_delays) or [objective.spec.epochs.get("delay", 1000.0)]
    task = objective.task(cues, delay=max(delays))
    delay_start = task.schedule["delay"].start
    read_at = {int(round((delay_start + d) / dt)) - 1: i for i, d in enumerate(delays)}
    n_steps = task.schedule.n_steps(dt)
    keep = _time_index(n_steps)
    decoded = np.zeros((len(delays), len(cues)))
    phase = np.zeros((len(keep), len(cues)))
    state = network.initial_state()
    fixation = _fixation_end(task.schedule, "cue", dt)
    before = np.full(len(cues), np.nan)
    slot = 0
    for step in range(n_steps):
        if step == fixation:  # the state the cue meets
            m0, m1, _ = decode(state.rates[objective.population])
            before = (m1 / m0.clamp(min=1e-12)).double().cpu().numpy()
        state, _ = network.step(state, task.stimulus(step, dt))
        c, s = objective.decode(state.rates[objective.population])
        angle = torch.remainder(torch.atan2(s, c), 2 * math.pi).double().cpu().numpy()
        if step in read_at:
            decoded[read_at[step]] = angle
        if slot < len(keep) and step == keep[slot]:
            phase[slot] = angle
            slot += 1
    return {"decoded_angle": decoded, "phase": phase, "cue": np.asarray(cues), "delay": np.asarray(delays, float),
            "time": (keep + 1) * dt, "fixation_persistence": before}


@torch.no_grad()
def evaluate_dual(model, objective) -> dict[str, np.ndarray]:
    """Lick probability of both readouts over time and choice accuracy, per condition (one trial each)."""
    network, dt = model.network, model.network.dt
    task = objective.task(network.batch_size // 12)
    targets = objective.targets(task)
    n_steps = task.schedule.n_steps(dt)
    keep = _time_index(n_steps)
    probability = np.zeros((len(keep), task.batch_size, 2))
    go_correct = dpa_correct = None
    state = network.initial_state()
    fixation = _fixation_end(task.schedule, "sample", dt)
    directions = torch.stack([task.pattern("A"), task.pattern("Go")], dim=1)  # [N, 2]
    overlap = np.full((task.batch_size, 2), np.nan)
    slot = 0
    for step in range(n_steps):
        if step == fixation:  # the state the sample meets
            rates = state.rates[objective.population]
            overlap = (rates.double().cpu() @ directions / rates.shape[1]).numpy()
        state, _ = network.step(state, task.stimulus(step, dt))
        p = torch.sigmoid(model.decisions(state.rates[objective.population])).double().cpu().numpy()
        if step == targets["go_last"]:
            go_correct = (p[:, 0] > 0.5) == targets["go"].cpu().numpy().astype(bool)
        if step == targets["dpa_last"]:
            dpa_correct = (p[:, 1] > 0.5) == targets["paired"].cpu().numpy().astype(bool)
        if slot < len(keep) and step == keep[slot]:
            probability[slot] = p
            slot += 1
    return {"probability": probability, "go_correct": go_correct, "dpa_correct": dpa_correct,
            "time": (keep + 1) * dt, "conditions": task.conditions(), "fixation_overlap": overlap,
            "epochs": [(e.name, e.start, e.stop) for e in task.schedule.epochs]}


def _fixation_end(schedule, first_stimulus: str, dt: float) -> int:
    """The step at whose start the state is the one the first stimulus meets (-1: no fixation before it)."""
    start = int(round(schedule[first_stimulus].start / dt))
    return start if start > 0 else -1


def _evaluation_model(spec, model, device):
    """A copy of the trained model built for the evaluation batch (the same seed gives the same network)."""
    cfg = spec.training
    batch = cfg.test_cues if cfg.loss == "angle" else 12
    copy, objective = build_task_model(spec, batch, device)
    copy.load_state_dict(model.state_dict())
    return copy, objective


def _evaluate(spec, model, device) -> dict:
    copy, objective = _evaluation_model(spec, model, device)
    if spec.training.loss == "angle":
        return evaluate_odr(copy, objective, spec.training)
    return evaluate_dual(copy, objective)


def train_task(spec, device, *, checkpoint=None, tag: str = "", progress: bool = True,
               label: str = "train") -> tuple[xr.Dataset, TaskModel]:
    """Train the experiment's network on its task; the history and evaluations, and the trained model."""
    started = time.perf_counter()
    cfg = spec.training
    torch.manual_seed(spec.training.seed)
    model, objective = build_task_model(spec, cfg.trials if cfg.loss == "angle" else cfg.trials * 12, device)
    before = _evaluate(spec, model, device)
    generator = torch.Generator().manual_seed(spec.training.seed)
    trials = TaskTrials(objective, generator, trials=cfg.trials, truncation=cfg.truncation,
                        rate_penalty=cfg.rate_penalty)
    rows = fit_bptt(model, trials, iterations=cfg.iterations, optimizer=cfg.optimizer,
                    learning_rate=cfg.learning_rate, lr_step_every=cfg.step_every, lr_gamma=cfg.gamma,
                    grad_clip=cfg.grad_clip, checkpoint=checkpoint, checkpoint_every=cfg.checkpoint_every,
                    checkpoint_tag=tag, progress=progress, label=label).rows
    after = _evaluate(spec, model, device)
    ds = _history(rows)
    ds = ds.merge(_odr_dataset(before, after) if cfg.loss == "angle" else _dual_dataset(before, after))
    ds.attrs.update({"loss": cfg.loss, "parameters": ", ".join(cfg.parameters), "task": spec.task.kind,
                     "wall_time_s": time.perf_counter() - started})
    return ds, model


_HISTORY = {
    "loss": "training loss of the batch",
    "grad_norm": "gradient norm before clipping",
    "sign_violations": "effective weights of the wrong sign under Dale's law after the update",
    "learning_rate": "step size of the update",
    "angle_error": "mean absolute decoded-angle error at the end of the delay [deg]",
    "mean_rate": "mean rate of the cued ring at the end of the delay",
    "persistence": "m1/m0 of the cued ring at the end of the delay",
    "go_accuracy": "Go/NoGo choice accuracy at the end of delay_2",
    "dpa_accuracy": "DPA choice accuracy at the end of the test",
}


def _history(rows: dict[str, list]) -> xr.Dataset:
    n = len(rows["loss"])
    units = {"angle_error": "degree"}
    data = {k: ("iteration", np.asarray(v, dtype=np.float64), {"units": units.get(k, "1"), "long_name": _HISTORY[k]})
            for k, v in rows.items() if len(v) == n}
    return xr.Dataset(data, coords={"iteration": ("iteration", np.arange(1, n + 1),
                                                  {"units": "1", "long_name": "optimizer step"})})


_STAGE = {"stage": ("stage", np.array(["initial", "trained"]), {"long_name": "before or after training"})}


def _odr_dataset(before: dict, after: dict) -> xr.Dataset:
    return xr.Dataset(
        {"decoded_angle": (("stage", "delay", "cue"), np.degrees(np.stack([before["decoded_angle"],
                                                                           after["decoded_angle"]])),
                           {"units": "degree", "long_name": "angle decoded from the cued ring"}),
         "decoded_phase": (("stage", "eval_time", "cue"), np.degrees(np.stack([before["phase"], after["phase"]])),
                           {"units": "degree", "long_name": "population-vector phase of the cued ring"}),
         "fixation_persistence": (("stage", "cue"), np.stack([before["fixation_persistence"],
                                                              after["fixation_persistence"]]),
                                  {"units": "1", "long_name": "m1 / m0 of the cued ring when the cue begins (the end "
                                                              "of fixation): no bump before the cue"})},
        coords={**_STAGE,
                "delay": ("delay", before["delay"], {"units": "ms", "long_name": "time after the cue's end"}),
                "cue": ("cue", before["cue"], {"units": "degree", "long_name": "cue angle"}),
                "eval_time": ("eval_time", before["time"], {"units": "ms", "long_name": "time in the evaluation trial"})},
    )


def _dual_dataset(before: dict, after: dict) -> xr.Dataset:
    cond = before["conditions"]
    names = np.array([f"{t}/{s}{c}" for t, s, c in zip(cond["task"], cond["sample"], cond["test"])])
    epochs = before["epochs"]
    return xr.Dataset(
        {"lick_probability": (("stage", "eval_time", "condition", "readout"),
                              np.stack([before["probability"], after["probability"]]),
                              {"units": "1", "long_name": "probability of lick from the readout"}),
         "choice_correct": (("stage", "condition", "readout"),
                            np.stack([np.stack([b["go_correct"], b["dpa_correct"]], axis=-1) for b in (before, after)])
                            .astype(np.int8),
                            {"units": "1", "long_name": "choice correct at the end of its window (Go/NoGo: only "
                                                        "Go and NoGo trials count)"}),
         "fixation_overlap": (("stage", "condition", "pattern"),
                              np.stack([before["fixation_overlap"], after["fixation_overlap"]]),
                              {"units": "1", "long_name": "overlap (1/N) sum_i r_i p_i of the cued population's rates "
                                                          "with the sample pattern A and the distractor pattern Go "
                                                          "when the sample begins (the end of fixation)"})},
        coords={**_STAGE,
                "eval_time": ("eval_time", before["time"], {"units": "ms", "long_name": "time in the evaluation trial"}),
                "condition": ("condition", names, {"long_name": "task/sample test"}),
                "task": ("condition", np.asarray(cond["task"]), {"long_name": "task variant"}),
                "paired": ("condition", np.asarray(cond["paired"]), {"long_name": "sample and test associated"}),
                "readout": ("readout", np.array(["go_nogo", "dpa"]), {"long_name": "decision readout"}),
                "pattern": ("pattern", np.array(["A", "Go"]), {"long_name": "stimulus pattern of an overlap"}),
                "epoch": ("epoch", np.array([e[0] for e in epochs]), {"long_name": "task epoch"}),
                "epoch_start": ("epoch", np.array([e[1] for e in epochs]), {"units": "ms", "long_name": "epoch start"}),
                "epoch_stop": ("epoch", np.array([e[2] for e in epochs]), {"units": "ms", "long_name": "epoch end"})},
    )


def save_task_model(model: TaskModel, config_yaml: str, path) -> object:
    """The trained parameters (state dict: tensors only) and the job's config, which rebuilds the network."""
    from einet.training.checkpoint import save_model_file

    return save_model_file("rate_task", model.state_dict(), config_yaml, path)


def load_task_model(path, device="cpu", batch: int | None = None):
    """The model saved by :func:`save_task_model` rebuilt from its config, and the experiment spec."""
    import yaml

    from einet.config.experiment import ExperimentSpec
    from einet.fields import parse_section

    from einet.training.checkpoint import read_model_file

    payload = read_model_file(path, "rate_task")
    spec = parse_section(ExperimentSpec, yaml.safe_load(payload["config"]), "")
    cfg = spec.training
    model, _ = build_task_model(spec, batch or cfg.trials, torch.device(device))
    model.load_state_dict(payload["state_dict"])
    return model, spec


def check_task_training(spec) -> None:
    """training.kind task trains the model on its task: the task must fit the loss, and the parameters and
    decoded population must exist."""
    cfg = spec.training
    kinds = {"angle": "odr", "decision": "dual"}
    if spec.task is None or spec.task.kind != kinds[cfg.loss]:
        raise ConfigError("task.kind", None if spec.task is None else spec.task.kind,
                          f"{kinds[cfg.loss]} for training.loss {cfg.loss}")
    populations = list(spec.model.populations)
    known = [f"{p}.{s}" for p in spec.model.projections for s in ("weights", "J")]
    known += [f"{p}.{s}" for p in populations for s in ("m", "n", "drive")]
    for i, name in enumerate(cfg.parameters):
        if name not in known:
            raise ConfigError(f"training.parameters[{i}]", name, f"one of {', '.join(known)}")
    if cfg.population is not None and cfg.population not in populations:
        raise ConfigError("training.population", cfg.population, f"one of {', '.join(populations)}")
    check_low_rank_signs(spec)


def _run(spec, *, device, checkpoint=None, tag: str = "", progress: bool = True, label: str = "train"):
    return train_task(spec, device, checkpoint=checkpoint, tag=tag, progress=progress, label=label)


def _save(model, spec, config_yaml: str, path):
    return save_task_model(model, config_yaml, path)


register_run(RunKind(
    name="task_training", doc="the model trained on its task by BPTT (training.kind: task)", stage="train",
    run=_run, save=_save, selected_by="training.kind", selected_value="task", check=check_task_training, gpu_capable=True,
    writes=tuple((
        "angle_error choice_correct condition cue decoded_angle decoded_phase delay dpa_accuracy "
        "epoch epoch_start epoch_stop eval_time fixation_overlap fixation_persistence go_accuracy grad_norm "
        "iteration learning_rate lick_probability loss mean_rate paired pattern persistence readout "
        "sign_violations stage task"
    ).split()),
))
