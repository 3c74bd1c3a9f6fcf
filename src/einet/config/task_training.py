"""``training.recurrent``: train the experiment's rate network on its task by backpropagation through time.

The network is the experiment's ``model`` and the trials come from its ``task``
(``odr`` or ``dual``), drawn afresh every iteration. Which quantities learn is a
list of names (``<projection>.weights``, ``<projection>.J``, ``<population>.m``,
``<population>.n``, ``<population>.drive``; see :mod:`einet.training.rate_parameters`);
everything else stays as the model section built it. The loss is read from the
network's rates decoded in the task's report epochs (see
:mod:`einet.training.task_training`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Optional

from einet.fields import non_negative, option, positive


def _names(values) -> str | None:
    ok = values and all(isinstance(v, str) and "." in v for v in values)
    return None if ok else "a non-empty list of names such as E->E.weights, E->E.J, E.m, E.n or E.drive"


def _delays(values) -> str | None:
    return None if all(v >= 0 for v in values) else "delays >= 0 ms"


@dataclass(frozen=True)
class TaskTrainingSpec:
    """Gradient training of the experiment's rate network on its task (truncated BPTT)."""

    parameters: list[str] = option(
        doc="what learns: <projection>.weights (the structure matrix; sparse projections keep their synapses), "
        "<projection>.J (the coupling), <population>.m / <population>.n (its low-rank vectors, used by every "
        "all_to_all low-rank projection), <population>.drive (constant input per neuron)", check=_names)
    loss: Literal["angle", "decision"] = option(
        "angle", doc="angle (odr): 1 - cos(decoded - cue) of the population-vector phase of the task population, "
        "over the delay; decision (dual): binary cross-entropy of two trained linear readouts of the task "
        "population, the Go/NoGo choice over delay_2 and the DPA choice (paired or not) over the test")
    optimizer: Literal["adam", "sgd", "rmsprop", "adamw"] = option(
        "adam", doc="optimizer of every trained parameter (torch's defaults; sgd without momentum)")
    learning_rate: float = option(0.01, doc="step size", check=positive)
    iterations: int = option(200, doc="optimizer steps, each on a fresh batch of trials", check=positive)
    trials: int = option(
        32, doc="trials per iteration: odr cues drawn uniformly on the circle; dual: repeats of the 12 conditions",
        check=positive)
    truncation: int = option(
        0, doc="backpropagate through at most this many steps (the state is detached every this many steps); "
        "0: through the whole trial", check=non_negative)
    grad_clip: float = option(1.0, doc="largest gradient norm (rescaled above); 0: no clipping", check=non_negative)
    rate_penalty: float = option(
        0.0, doc="weight of the mean squared rate added to the loss (keeps trained networks from running away)",
        check=non_negative)
    step_every: int = option(
        0, doc="decay the step size by gamma every this many iterations (0: constant)", check=non_negative)
    gamma: float = option(0.5, doc="factor of each step-size decay",
                          check=lambda v: None if 0 < v <= 1 else "a factor in (0, 1]")
    test_cues: int = option(16, doc="odr evaluation: evenly spaced cue angles", check=positive)
    test_delays: list[float] = option(
        factory=list, doc="odr evaluation: times after the cue's end at which the decoded angle is read; the "
        "evaluation trial's delay lasts the longest (default: the trained delay)", unit="ms", check=_delays)
    checkpoint_every: int = option(
        0, doc="save a resumable checkpoint (parameters, optimizer, RNG, history) every this many iterations; "
        "a restarted job resumes from it. 0: never", check=non_negative)
    population: Optional[str] = option(
        None, doc="population whose rates are decoded (null: the task's population)")
