r"""Train a rate network on a behavioural task by (truncated) backpropagation through time.

RectiPy's ``fit_bptt`` and NeuroFlame's training on one interface (the loop is
:func:`einet.training.bptt.fit_bptt`, shared with spiking networks; this module is its task objective): the
experiment's :class:`~einet.network.rate.RateNetwork` with the quantities of
``training.parameters`` made trainable (:mod:`einet.training.rate_parameters`),
trials from the experiment's task drawn afresh every iteration, a loss on
variables decoded from the rates, and any torch optimizer.

Losses (each averaged over the report epoch's steps and the batch):

* ``angle`` (ODR): the population vector :math:`z = \langle r_i e^{i\theta_i}\rangle`
  of the cued ring gives the decoded angle :math:`\hat\varphi`; the loss is
  :math:`1 - \cos(\hat\varphi - \varphi_{cue})` over the delay, so the network must
  hold a bump where the cue was, whatever its height.
* ``decision`` (dual task): two linear readouts of the population, trained
  with the network, give the probability of "lick" for the Go/NoGo choice (over
  ``delay_2``; target 1 after Go, 0 after NoGo, no target in DPA trials) and
  for the DPA choice (over ``test``, while the test is shown; 1 for the paired
  samples and tests A-C and B-D), each with binary cross-entropy. The response
  epoch is not scored: holding the choice after the test would need one more
  attractor than the sample's.

With ``truncation = k`` the loss of each k steps is backpropagated when those
steps are done and the state is then detached, so no gradient flows back
more than k steps; the optimizer steps once per batch on the summed gradient.
Dale's law is enforced after every optimizer step (:func:`einet.training.rate_parameters.enforce_dale`).

Resuming: with ``checkpoint_every = k`` the parameters, optimizer, schedule,
trial generator, torch and noise RNG states and the history are saved every k
iterations; a restarted run resumes and ends with the same numbers as an
uninterrupted one.
"""

from __future__ import annotations

import math
from dataclasses import replace

import torch
import torch.nn.functional as F

from einet.errors import SimulationDiverged
from einet.training import rate_parameters as trainable
from einet.numeric import ring_angles
from einet.tasks.build import build_task
from einet.tasks.dual import DualTask
from einet.tasks.odr import ODR

__all__ = ["TaskModel", "AngleObjective", "DecisionObjective", "TaskTrials", "run_trials"]


class TaskModel(torch.nn.Module):
    """A rate network with trainable quantities, plus the linear readouts a decision loss trains."""

    def __init__(self, network, names, readouts: int = 0, population: int = 0, seed: int = 0):
        super().__init__()
        self.network = network
        self.trained = trainable.make_trainable(network, names)
        self.population = population
        self.readout = None
        if readouts:
            torch.manual_seed(seed)
            size = network.sizes[population]
            self.readout = torch.nn.Linear(size, readouts, dtype=network.dtype, device=network.device)

    def decisions(self, rates: torch.Tensor) -> torch.Tensor:
        """Logits of the readouts, ``[batch, readouts]``."""
        return self.readout(rates)

    def enforce_constraints(self) -> None:
        """Dale's law on the network's trained weights (after every optimizer step)."""
        trainable.enforce_dale(self.network)

    def sign_violations(self) -> int:
        return trainable.sign_violations(self.network)


def _detach(state):
    """The state without its autograd history (where truncated BPTT cuts)."""
    def cut(x):
        if x is None:
            return None
        return type(x)(*(t.detach() for t in x)) if isinstance(x, tuple) else x.detach()

    return type(state)(tuple(cut(r) for r in state.rates), tuple(cut(s) for s in state.synapses),
                       tuple(cut(p) for p in state.plasticity))


def _steps_of(schedule, epoch: str, dt: float) -> range:
    e = schedule[epoch]
    return range(int(round(e.start / dt)), int(round(e.stop / dt)))


class _TaskObjective:
    """What both objectives share: the task section, and the network's populations to build its trials for.

    Trials are built by :func:`einet.tasks.build.build_task` from the task section with a few fields
    replaced (cue angles, delay, repeats), so a trained network sees exactly the stimuli a simulated one does.
    ``population`` is the population whose rates are decoded (the task's own by default).
    """

    def __init__(self, task_spec, population: int, names: list[str], sizes: list[int], dt: float, dtype, device,
                 vectors=None):
        self.spec, self.population, self.names, self.sizes, self.dt = task_spec, population, names, sizes, dt
        self.dtype, self.device, self.vectors = dtype, device, vectors

    def _build(self, **changes):
        return build_task(replace(self.spec, **changes), self.names, self.sizes, self.dtype, self.device,
                          low_rank_vectors=self.vectors)


class AngleObjective(_TaskObjective):
    """ODR: hold the cue's angle through the delay (loss ``angle``)."""

    kind = "odr"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        theta = ring_angles(self.sizes[self.population], dtype=self.dtype).to(self.device)
        self.cos, self.sin = torch.cos(theta), torch.sin(theta)

    def task(self, degrees: list[float], delay: float | None = None) -> ODR:
        """Trials cued at ``degrees``, with the task's delay or ``delay`` [ms]."""
        epochs = dict(self.spec.epochs, **({} if delay is None else {"delay": delay}))
        return self._build(cue_angles=list(degrees), epochs=epochs)

    def draw(self, trials: int, generator: torch.Generator):
        """A task of ``trials`` cues, and its targets (the angles).

        The cues are stratified: evenly spaced, turned by one uniform random
        offset. Each batch then covers the ring evenly, so its gradient does
        not favour the places a few random cues fell on, which would pin the
        bump there.
        """
        offset = 360.0 * float(torch.rand(1, generator=generator, dtype=torch.float64))
        degrees = [(offset + 360.0 * k / trials) % 360.0 for k in range(trials)]
        task = self.task(degrees)
        angles = torch.tensor([math.radians(a) for a in degrees], dtype=self.dtype, device=self.device)
        return task, {"angle": angles, "window": set(_steps_of(task.schedule, "delay", self.dt)),
                      "last": _steps_of(task.schedule, "delay", self.dt)[-1]}

    def decode(self, rates: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Population vector (cosine and sine parts) of the ring's rates."""
        return (rates * self.cos).mean(dim=1), (rates * self.sin).mean(dim=1)

    def loss_steps(self, targets) -> int:
        return len(targets["window"])

    def step_loss(self, model, step: int, rates, targets) -> torch.Tensor | None:
        if step not in targets["window"]:
            return None
        c, s = self.decode(rates[self.population])
        angle = targets["angle"]
        return (1.0 - (c * torch.cos(angle) + s * torch.sin(angle)) / torch.sqrt(c * c + s * s + 1e-12)).mean()

    def step_score(self, model, step: int, rates, targets) -> dict[str, torch.Tensor] | None:
        """Absolute decoded-angle error [deg] at the last step of the delay."""
        if step != targets["last"]:
            return None
        c, s = self.decode(rates[self.population])
        error = torch.remainder(torch.atan2(s, c) - targets["angle"] + math.pi, 2 * math.pi) - math.pi
        rates = rates[self.population]
        return {"angle_error": error.abs().mean() * 180 / math.pi, "mean_rate": rates.mean(),
                "persistence": (2 * torch.sqrt(c * c + s * s) / rates.mean(dim=1).clamp(min=1e-12)).mean()}


class DecisionObjective(_TaskObjective):
    """Dual task: a Go/NoGo choice after the distractor and a DPA choice during the test (loss ``decision``)."""

    kind = "dual"
    readouts = 2

    def task(self, repeats: int) -> DualTask:
        """The 12 conditions, each ``repeats`` times."""
        return self._build(trials=repeats)

    def targets(self, task: DualTask) -> dict:
        conditions = task.conditions()
        go = torch.tensor([1.0 if v == "Go" else 0.0 for v in conditions["task"]], dtype=self.dtype)
        go_mask = torch.tensor([v != "DPA" for v in conditions["task"]])
        paired = torch.tensor([1.0 if p == "yes" else 0.0 for p in conditions["paired"]], dtype=self.dtype)
        return {"go": go.to(self.device), "go_mask": go_mask.to(self.device), "paired": paired.to(self.device),
                "go_window": set(_steps_of(task.schedule, "delay_2", self.dt)),
                "dpa_window": set(_steps_of(task.schedule, "test", self.dt)),
                "go_last": _steps_of(task.schedule, "delay_2", self.dt)[-1],
                "dpa_last": _steps_of(task.schedule, "test", self.dt)[-1]}

    def draw(self, trials: int, generator: torch.Generator):
        """The 12 conditions repeated ``trials`` times (no randomness beyond the network's noise)."""
        task = self.task(trials)
        return task, self.targets(task)

    def loss_steps(self, targets) -> int:
        return len(targets["go_window"]) + len(targets["dpa_window"])

    def step_loss(self, model, step: int, rates, targets) -> torch.Tensor | None:
        in_go, in_dpa = step in targets["go_window"], step in targets["dpa_window"]
        if not (in_go or in_dpa):
            return None
        logits = model.decisions(rates[self.population])
        if in_go:
            mask = targets["go_mask"]
            return F.binary_cross_entropy_with_logits(logits[mask, 0], targets["go"][mask])
        return F.binary_cross_entropy_with_logits(logits[:, 1], targets["paired"])

    def step_score(self, model, step: int, rates, targets) -> dict[str, torch.Tensor] | None:
        """Choice accuracy at the last step of each decision window."""
        if step == targets["go_last"]:
            mask = targets["go_mask"]
            choice = (model.decisions(rates[self.population])[mask, 0] > 0).to(self.dtype)
            return {"go_accuracy": (choice == targets["go"][mask]).to(self.dtype).mean()}
        if step == targets["dpa_last"]:
            choice = (model.decisions(rates[self.population])[:, 1] > 0).to(self.dtype)
            return {"dpa_accuracy": (choice == targets["paired"]).to(self.dtype).mean()}
        return None


def run_trials(model, objective, task, targets, *, truncation: int = 0, rate_penalty: float = 0.0,
               backward: bool = True) -> tuple[float, dict[str, float]]:
    """One batch of trials; with ``backward``, gradients accumulate in the parameters. (loss, scores)."""
    network, dt = model.network, model.network.dt
    state = network.initial_state()
    total, pending = 0.0, None
    scores: dict[str, float] = {}
    n_steps = task.schedule.n_steps(dt)
    losses_per_step = objective.loss_steps(targets)  # each term is a mean over the report steps
    for step in range(n_steps):
        state, _ = network.step(state, task.stimulus(step, dt))
        rates = state.rates
        term = objective.step_loss(model, step, rates, targets)
        if rate_penalty:
            penalty = rate_penalty * sum(r.pow(2).mean() for r in rates) / n_steps
            term = penalty if term is None else term / losses_per_step + penalty
        elif term is not None:
            term = term / losses_per_step
        if term is not None:
            pending = term if pending is None else pending + term
        with torch.no_grad():
            for key, value in (objective.step_score(model, step, rates, targets) or {}).items():
                scores[key] = float(value)
        last = step == n_steps - 1
        if pending is not None and (last or (truncation and (step + 1) % truncation == 0)):
            if not torch.isfinite(pending.detach()):
                raise SimulationDiverged(f"training loss became {float(pending)} at step {step} (t = "
                                         f"{(step + 1) * dt:g} ms of the trial): lower training."
                                         "learning_rate or add rate_penalty")
            if backward and pending.requires_grad:
                pending.backward()
            total += float(pending.detach())
            pending = None
        if backward and truncation and (step + 1) % truncation == 0:
            state = _detach(state)
    return total, scores


class TaskTrials:
    """A task objective on fresh trials every iteration, for the one loop :func:`einet.training.bptt.fit_bptt`.

    Each evaluation draws ``trials`` trials from ``generator``, runs them through the model with
    ``truncation`` and ``rate_penalty`` (:func:`run_trials`) and leaves the gradients in the
    parameters. A checkpoint keeps the trial generator and the network's noise generator, so a
    resumed run draws the trials and the noise an uninterrupted one would.
    """

    final_evaluation = False  # a further batch would be new trials, not the objective trained on

    def __init__(self, objective, generator: torch.Generator, *, trials: int, truncation: int = 0,
                 rate_penalty: float = 0.0):
        self.objective, self.generator = objective, generator
        self.trials, self.truncation, self.rate_penalty = trials, truncation, rate_penalty

    def parameters(self, model) -> list[torch.nn.Parameter]:
        return list(model.parameters())

    def evaluate(self, model) -> tuple[float, dict[str, float]]:
        task, targets = self.objective.draw(self.trials, self.generator)
        return run_trials(model, self.objective, task, targets, truncation=self.truncation,
                          rate_penalty=self.rate_penalty)

    def random_state(self, model) -> dict:
        return {"generator": self.generator.get_state(), "noise": model.network._noise_generator.get_state()}

    def set_random_state(self, model, state: dict) -> None:
        self.generator.set_state(state["generator"])
        model.network._noise_generator.set_state(state["noise"])
