"""The one gradient-training loop: rate networks on tasks and recurrent spiking networks.

:func:`fit_bptt` owns what every gradient trainer needs and nothing network-specific:
the optimizer (:data:`OPTIMIZERS`), a step schedule for its step size, gradient-norm
clipping, the constraints after each update (Dale's law), the history, a progress bar
and checkpoints that resume to the same numbers. What is trained, on what, with which
loss and how its gradient is found is the *objective*'s job, so one loop serves
truncated BPTT through a rate network on a task (:class:`einet.training.task_training.TaskTrials`),
surrogate-gradient BPTT of a spiking network on target sequences and e-prop
(:class:`einet.training.spiking.SequenceObjective`).

An objective has

* ``parameters(model)`` -> the tensors the optimizer updates, in a fixed order;
* ``evaluate(model)`` -> ``(loss, metrics)``: one batch, leaving the gradient of ``loss``
  in each parameter's ``.grad`` (``metrics``: plain floats recorded beside the loss);
* ``final_evaluation`` (bool): evaluate once more after the last update, without applying
  it (for a fixed data set, whose loss after training is then the same objective);
* ``random_state(model)`` / ``set_random_state(model, state)``: what a checkpoint must hold
  besides the parameters, for an exact resume (trial generators, noise generators).

The model has ``enforce_constraints()`` and ``sign_violations()``, and a ``state_dict``.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from typing import Callable

import torch

from einet.progress import progress_bar

__all__ = ["OPTIMIZERS", "History", "fit_bptt", "make_optimizer"]

log = logging.getLogger("einet")

#: optimizer names -> constructors ``(params, lr) -> Optimizer`` (torch's defaults otherwise: SGD without momentum)
OPTIMIZERS: dict[str, Callable] = {
    "adam": lambda params, lr: torch.optim.Adam(params, lr=lr),
    "sgd": lambda params, lr: torch.optim.SGD(params, lr=lr),
    "rmsprop": lambda params, lr: torch.optim.RMSprop(params, lr=lr),
    "adamw": lambda params, lr: torch.optim.AdamW(params, lr=lr),
}


def make_optimizer(name: str, params, learning_rate: float) -> torch.optim.Optimizer:
    """The optimizer called ``name``; an unknown name is refused with the known ones."""
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; known: {', '.join(OPTIMIZERS)}")
    return OPTIMIZERS[name](list(params), learning_rate)


@dataclass
class History:
    """What :func:`fit_bptt` recorded.

    ``rows``: one value per update, each from that update's batch (``loss``, the objective's
    metrics, ``grad_norm`` before clipping, ``learning_rate`` of the update) or from the model
    right after it (``sign_violations``). ``final``: the objective's loss and metrics after the
    last update (objectives with ``final_evaluation`` only). Both read as attributes too:
    ``history.loss`` is ``rows["loss"]``, ``history.final_loss`` is ``final["loss"]``.
    """

    method: str
    rows: dict[str, list] = field(default_factory=dict)
    final: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0

    def __getattr__(self, name: str):
        rows, final = self.__dict__.get("rows", {}), self.__dict__.get("final", {})
        if name in rows:
            return rows[name]
        if name.startswith("final_") and name[len("final_"):] in final:
            return final[name[len("final_"):]]
        raise AttributeError(f"{type(self).__name__} has no {name!r}; it recorded {', '.join(rows) or 'nothing'}"
                             + (f" and final {', '.join(final)}" if final else ""))


def _check_loop(iterations, learning_rate, lr_step_every, lr_gamma, grad_clip, checkpoint_every, label) -> None:
    def whole(name, value):
        if isinstance(value, bool) or int(value) != value or value < 0:
            raise ValueError(f"{label}: {name} must be a whole number >= 0, got {value!r}")

    whole("iterations", iterations)
    whole("lr_step_every", lr_step_every)
    whole("checkpoint_every", checkpoint_every)
    if not (isinstance(learning_rate, (int, float)) and math.isfinite(learning_rate) and learning_rate > 0):
        raise ValueError(f"{label}: learning_rate must be a number > 0, got {learning_rate!r}")
    if not 0.0 < lr_gamma <= 1.0:
        raise ValueError(f"{label}: lr_gamma must be in (0, 1], got {lr_gamma!r}")
    if not grad_clip >= 0:
        raise ValueError(f"{label}: grad_clip must be >= 0 (0: no clipping), got {grad_clip!r}")


def fit_bptt(model, objective, *, iterations: int, optimizer: str = "adam", learning_rate: float = 1e-2,
             lr_step_every: int = 1, lr_gamma: float = 1.0, grad_clip: float = 0.0,
             checkpoint=None, checkpoint_every: int = 0, checkpoint_tag: str = "",
             progress: bool = False, label: str = "fit_bptt",
             callback: Callable[[int, float, dict], None] | None = None) -> History:
    """Train ``model`` in place: ``iterations`` optimizer steps on the gradients ``objective`` leaves.

    Parameters
    ----------
    model : the network (or a module holding it); it keeps its constraints after every step
    objective : what to minimise and how its gradient is found (see the module docstring)
    iterations : number of updates
    optimizer, learning_rate : a name of :data:`OPTIMIZERS` and its step size
    lr_step_every, lr_gamma : the step size is multiplied by ``lr_gamma`` every ``lr_step_every``
        updates (``lr_step_every = 0`` or ``lr_gamma = 1``: constant). Spiking losses are piecewise
        constant in the spike times, so a constant step keeps jumping between spike patterns near
        the end; a decaying one settles
    grad_clip : clip the gradient's norm to this (0: never)
    checkpoint, checkpoint_every, checkpoint_tag : save everything needed to resume to this file
        every ``checkpoint_every`` updates and after the last; a file with the same tag is resumed
        from, and the run ends with the numbers of an uninterrupted one
    progress, label : a progress bar on stderr (einet.progress), and the name in messages
    callback : ``callback(iteration, loss, metrics)`` after each update

    Returns
    -------
    history : :class:`History`
    """
    from einet.training.checkpoint import load_checkpoint, save_checkpoint

    _check_loop(iterations, learning_rate, lr_step_every, lr_gamma, grad_clip, checkpoint_every, label)
    params = list(objective.parameters(model))
    opt = make_optimizer(optimizer, params, learning_rate)
    schedule = (torch.optim.lr_scheduler.StepLR(opt, int(lr_step_every), lr_gamma)
                if lr_step_every and lr_gamma != 1.0 else None)
    history = History(label, {"loss": [], "grad_norm": [], "sign_violations": [], "learning_rate": []})
    rows, done = history.rows, 0
    saved = load_checkpoint(checkpoint, checkpoint_tag) if checkpoint is not None else None
    if saved is not None:
        model.load_state_dict(saved["model"])
        opt.load_state_dict(saved["optimizer"])
        if schedule is not None:
            schedule.load_state_dict(saved["schedule"])
        objective.set_random_state(model, saved["random"])
        torch.set_rng_state(saved["torch_rng"])
        history.rows = rows = {k: list(v) for k, v in saved["rows"].items()}
        done = int(saved["iteration"])
        log.info("%s: resumed from %s after iteration %d", label, checkpoint, done)
    started = time.perf_counter()
    bar = progress_bar(range(done + 1, int(iterations) + 1), desc=label, unit="it", enabled=progress,
                       initial=done, total=int(iterations))
    for iteration in bar:
        opt.zero_grad()
        loss, metrics = objective.evaluate(model)
        norm = torch.nn.utils.clip_grad_norm_(params, grad_clip if grad_clip else float("inf"))
        rows["learning_rate"].append(opt.param_groups[0]["lr"])
        opt.step()
        if schedule is not None:
            schedule.step()
        model.enforce_constraints()
        rows["loss"].append(loss)
        rows["grad_norm"].append(float(norm))
        rows["sign_violations"].append(model.sign_violations())
        for key, value in metrics.items():
            rows.setdefault(key, []).append(value)
        bar.set_postfix(loss=f"{loss:.4g}", **{k: f"{v:.3g}" for k, v in metrics.items()})
        if callback is not None:
            callback(iteration, loss, metrics)
        if checkpoint is not None and checkpoint_every and (iteration % checkpoint_every == 0
                                                            or iteration == iterations):
            save_checkpoint({"tag": checkpoint_tag, "iteration": iteration, "model": model.state_dict(),
                         "optimizer": opt.state_dict(),
                         "schedule": schedule.state_dict() if schedule is not None else {},
                         "random": objective.random_state(model), "torch_rng": torch.get_rng_state(),
                         "rows": rows}, checkpoint)
    bar.close()
    if objective.final_evaluation:
        opt.zero_grad()
        loss, metrics = objective.evaluate(model)
        opt.zero_grad()
        history.final = {"loss": loss, **metrics}
    history.seconds = time.perf_counter() - started
    return history
