"""The optional ``training:`` section, tagged by ``kind``: what is trained, on what, how, and how often it is saved.

Each kind is one run kind of the train stage (rule ``train``) with its own keys:

* ``classifier``: a sigmoid MLP (``hidden``) trained with plain SGD on a data set, its
  layers' EI measured at log-spaced checkpoints (analysis ``information``);
* ``network``: a layered population network (the spec of :mod:`einet.config.layered`, as
  the :class:`~einet.network.builder.NetworkBuilder` writes it) trained on a data set with
  its projections' rules, the optimizer and step size of each backprop rule, and
  ``schedule``; history every epoch, a resumable checkpoint every ``checkpoint_every``
  epochs (analysis ``learning``);
* ``task``: the experiment's rate network (its ``model``) trained on its ``task`` (odr or
  dual) by truncated BPTT through :func:`einet.training.bptt.fit_bptt`. What learns is a
  list of names (``<projection>.weights``, ``<projection>.J``, ``<population>.m``,
  ``<population>.n``, ``<population>.drive``; see :mod:`einet.training.rate_parameters`);
  the loss is read from the rates decoded in the task's report epochs
  (:mod:`einet.training.task_training`) (analysis ``task_training``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Optional

from einet.config.information import EISpec
from einet.config.layered import LayeredNetworkSpec
from einet.errors import ConfigError
from einet.fields import non_negative, option, positive, seed_value

#: Hidden layer sizes used when ``training.hidden`` is left unset (Marrow et al. 2020 for Iris).
DEFAULT_HIDDEN = {"iris": [5, 5], "digits": [32, 16], "mnist": [128, 64]}

#: (features, classes) of each dataset, to check a network's input and output sizes before training.
DATASET_SHAPES = {"iris": (4, 3), "digits": (64, 10), "mnist": (784, 10)}


def _gamma(value) -> str | None:
    return None if 0 < value <= 1 else "a factor in (0, 1]"


@dataclass(frozen=True)
class ScheduleSpec:
    """How the step size of every backprop optimizer changes over epochs (local rules keep theirs)."""

    kind: Literal["constant", "step", "exponential", "cosine"] = option(
        "constant", doc="constant; step: times gamma every step_epochs; exponential: times gamma every epoch; "
        "cosine: cosine annealing to 0 over the epochs")
    gamma: float = option(0.5, doc="step, exponential: factor per decay", check=_gamma)
    step_epochs: int = option(10, doc="step: epochs between decays", check=positive)


def _fraction(value) -> str | None:
    return None if 0 < value < 1 else "a number strictly between 0 and 1"


@dataclass(frozen=True)
class TrainingSpec:
    """What the train stage trains; ``kind`` picks the keys that apply."""

    kind: Literal["classifier", "network", "task"] = option(
        doc="classifier: a sigmoid MLP on a data set, its layers' EI measured while it learns; network: a layered "
        "population network on a data set, each projection with its learning rule; task: the experiment's rate "
        "network (model) trained on its task by backpropagation through time")
    seed: int = option(0, doc="seed of the initial weights and of the data split and batch order or the trials",
                       check=seed_value)
    device: Literal["auto", "cpu", "cuda"] = option("auto", doc="auto picks cuda when available")


@dataclass(frozen=True, kw_only=True)
class _DataSetTraining(TrainingSpec):
    """What the two data-set kinds share."""

    dataset: Literal["iris", "digits", "mnist"] = option(
        doc="iris (4 features, 3 classes), digits (64 features, 10 classes) or mnist (784 features, 10 "
        "classes; needs mnist_path)")
    mnist_path: Optional[str] = option(
        None, doc="directory of the four MNIST IDX files (train-images-idx3-ubyte, ..., optionally .gz); nothing is "
        "downloaded. MNIST keeps its own test set (test_fraction does not apply)")
    epochs: int = option(100, doc="passes over the training set", check=positive)
    batch_size: int = option(16, doc="samples per optimizer step", check=positive)
    test_fraction: float = option(0.25, doc="share of each class held out for testing", check=_fraction)

    def _check(self, path: str) -> None:
        from pathlib import Path

        if self.dataset == "mnist" and self.mnist_path is None:
            raise ConfigError(f"{path}.dataset", self.dataset, "iris or digits, unless training.mnist_path names a "
                              "directory of MNIST IDX files")
        if self.mnist_path is not None and not Path(self.mnist_path).is_dir():
            raise ConfigError(f"{path}.mnist_path", self.mnist_path, "an existing directory of MNIST IDX files")


@dataclass(frozen=True, kw_only=True)
class ClassifierTrainingSpec(_DataSetTraining):
    """``kind: classifier``: a sigmoid MLP trained with plain SGD, its layers' EI at checkpoints."""

    hidden: Optional[list[int]] = option(
        None, doc="hidden layer sizes; null: iris [5, 5] (the 4-5-5-3 net of Marrow et al.), digits [32, 16]",
        check=lambda v: None if all(n >= 1 for n in v) else "a list of integers >= 1",
    )
    activation: Literal["sigmoid"] = option(
        "sigmoid", doc="activation of every layer (the output layer too, so each layer's EI has a bounded range)"
    )
    loss: Literal["bce", "mse"] = option(
        "bce", doc="bce: binary cross-entropy of each sigmoid output with the one-hot class; mse: squared error to it")
    learning_rate: float = option(0.5, doc="SGD step size (no momentum, no weight decay)", check=positive)
    checkpoints: int = option(
        10, doc="measurement points besides epoch 0, log-spaced over the epochs (EI moves fastest early)",
        check=positive,
    )
    ei: EISpec = option(factory=EISpec, doc="EI estimation at each checkpoint")

    def _check(self, path: str) -> None:
        super()._check(path)
        if self.checkpoints > self.epochs:
            raise ConfigError(f"{path}.checkpoints", self.checkpoints, f"at most epochs = {self.epochs}")

    @property
    def hidden_sizes(self) -> list[int]:
        return list(self.hidden) if self.hidden is not None else list(DEFAULT_HIDDEN[self.dataset])


@dataclass(frozen=True, kw_only=True)
class NetworkTrainingSpec(_DataSetTraining):
    """``kind: network``: a layered population network trained with its projections' rules."""

    network: LayeredNetworkSpec = option(
        doc="the layered population network (see einet.network.builder): each projection learns by its rule, "
        "backprop rules carry the optimizer (adam, sgd) and its step size")
    dale: bool = option(
        True, doc="keep every projection on the sign of its source population's type; false trains the same network "
        "with every type read as mixed (no sign constraint)")
    schedule: ScheduleSpec = option(factory=ScheduleSpec, doc="step-size schedule of the backprop optimizers")
    checkpoint_every: int = option(
        0, doc="save a resumable checkpoint (weights, rule states, optimizer, schedule, RNG, history) next to the "
        "model every this many epochs; a restarted job resumes from it. 0: never", check=non_negative)
    loss: Literal["cross_entropy", "mse"] = option(
        "cross_entropy", doc="cross_entropy: softmax cross-entropy of the output rates as logits; mse: squared "
        "error to the one-hot class")

    def _check(self, path: str) -> None:
        super()._check(path)
        if self.checkpoint_every > self.epochs:
            raise ConfigError(f"{path}.checkpoint_every", self.checkpoint_every, f"at most epochs = {self.epochs}")
        features, classes = DATASET_SHAPES[self.dataset]
        net = self.network
        for ref, size, expected in ((net.input_population(), features, "features"),
                                    (net.output_population(), classes, "classes")):
            layer, pop = ref.split(".")
            if net.population(ref).size != size:
                raise ConfigError(f"{path}.network.layers.{layer}.populations.{pop}.size", net.population(ref).size,
                                  f"{size}: the {expected} of {self.dataset}")

    def network_spec(self) -> LayeredNetworkSpec:
        """The network as trained: with ``dale: false`` every population and projection type reads mixed."""
        if self.dale:
            return self.network
        from dataclasses import replace

        layers = {name: replace(layer, populations={p: replace(pop, type="mixed") for p, pop in
                                                    layer.populations.items()})
                  for name, layer in self.network.layers.items()}
        projections = [replace(p, type="mixed") for p in self.network.projections]
        return replace(self.network, layers=layers, projections=projections)


def _names(values) -> str | None:
    ok = values and all(isinstance(v, str) and "." in v for v in values)
    return None if ok else "a non-empty list of names such as E->E.weights, E->E.J, E.m, E.n or E.drive"


def _delays(values) -> str | None:
    return None if all(v >= 0 for v in values) else "delays >= 0 ms"


@dataclass(frozen=True, kw_only=True)
class TaskTrainingSpec(TrainingSpec):
    """``kind: task``: the experiment's rate network trained on its task by (truncated) BPTT."""

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


TrainingSpec._variants = {"classifier": ClassifierTrainingSpec, "network": NetworkTrainingSpec,
                          "task": TaskTrainingSpec}
