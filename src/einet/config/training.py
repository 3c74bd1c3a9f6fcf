"""The optional ``training:`` section: what is trained on which dataset, how, and how often it is saved.

Two kinds of model share the section (and rule ``train``):

* without ``network``: a sigmoid MLP (``hidden``) trained with plain SGD, its
  layers' EI measured at log-spaced checkpoints (analysis ``information``);
* with ``network``: a layered population network (the spec of
  :mod:`einet.config.layered`, as the :class:`~einet.network.builder.NetworkBuilder`
  writes it) trained with its projections' rules, the optimizer and step size
  of each backprop rule, and ``schedule``; history every epoch, a resumable
  checkpoint every ``checkpoint_every`` epochs (analysis ``learning``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Optional

from einet.config.information import EISpec
from einet.config.task_training import TaskTrainingSpec
from einet.errors import ConfigError
from einet.fields import non_negative, option, positive
from einet.config.layered import LayeredNetworkSpec

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
    """A model trained on a classification dataset: a sigmoid MLP (SGD, EI) or a layered ``network``."""

    dataset: Optional[Literal["iris", "digits", "mnist"]] = option(
        None, doc="iris (4 features, 3 classes), digits (64 features, 10 classes) or mnist (784 features, 10 "
        "classes; needs mnist_path); null only with recurrent")
    recurrent: Optional[TaskTrainingSpec] = option(
        None, doc="train the experiment's model (a rate network) on its task (odr or dual) by backpropagation "
        "through time instead of a classifier on a dataset; seed and device below apply, the rest does not")
    mnist_path: Optional[str] = option(
        None, doc="directory of the four MNIST IDX files (train-images-idx3-ubyte, ..., optionally .gz); nothing is "
        "downloaded. MNIST keeps its own test set (test_fraction does not apply)")
    network: Optional[LayeredNetworkSpec] = option(
        None, doc="a layered population network to train (see einet.network.builder); null: the sigmoid MLP of "
        "hidden/activation/learning_rate. With a network, each projection learns by its rule, backprop rules "
        "carry the optimizer (adam, sgd) and its step size, and hidden, activation, learning_rate, checkpoints "
        "and ei do not apply")
    dale: bool = option(
        True, doc="network: keep every projection on the sign of its source population's type; false trains the "
        "same network with every type read as mixed (no sign constraint)")
    schedule: ScheduleSpec = option(factory=ScheduleSpec, doc="network: step-size schedule of the backprop optimizers")
    checkpoint_every: int = option(
        0, doc="network: save a resumable checkpoint (weights, rule states, optimizer, schedule, RNG, history) next "
        "to the model every this many epochs; a restarted job resumes from it. 0: never", check=non_negative)
    hidden: Optional[list[int]] = option(
        None, doc="hidden layer sizes; null: iris [5, 5] (the 4-5-5-3 net of Marrow et al.), digits [32, 16]",
        check=lambda v: None if all(n >= 1 for n in v) else "a list of integers >= 1",
    )
    activation: Literal["sigmoid"] = option(
        "sigmoid", doc="activation of every layer (the output layer too, so each layer's EI has a bounded range)"
    )
    loss: Optional[Literal["bce", "mse", "cross_entropy"]] = option(
        None, doc="bce (MLP only): binary cross-entropy of each sigmoid output with the one-hot class; mse: squared "
        "error to it; cross_entropy (network only): softmax cross-entropy of the output rates as logits; null: bce "
        "for the MLP, cross_entropy for a network")
    learning_rate: float = option(0.5, doc="SGD step size (no momentum, no weight decay)", check=positive)
    epochs: int = option(100, doc="passes over the training set", check=positive)
    batch_size: int = option(16, doc="samples per SGD step", check=positive)
    checkpoints: int = option(
        10, doc="measurement points besides epoch 0, log-spaced over the epochs (EI moves fastest early)",
        check=positive,
    )
    test_fraction: float = option(0.25, doc="share of each class held out for testing", check=_fraction)
    seed: int = option(0, doc="seed of the split, the initial weights and the batch order", check=non_negative)
    device: Literal["auto", "cpu", "cuda"] = option("auto", doc="auto picks cuda when available")
    ei: EISpec = option(factory=EISpec, doc="EI estimation at each checkpoint")

    def _check(self, path: str) -> None:
        from pathlib import Path

        if self.recurrent is not None:
            if self.dataset is not None or self.network is not None:
                raise ConfigError(f"{path}.dataset", self.dataset, "null (and no network) with training.recurrent: "
                                  "the experiment's model is trained on its task")
            return
        if self.dataset is None:
            raise ConfigError(f"{path}.dataset", None, "iris, digits or mnist (or a training.recurrent section)")

        if self.dataset == "mnist" and self.mnist_path is None:
            raise ConfigError(f"{path}.dataset", self.dataset, "iris or digits, unless training.mnist_path names a "
                              "directory of MNIST IDX files")
        if self.mnist_path is not None and not Path(self.mnist_path).is_dir():
            raise ConfigError(f"{path}.mnist_path", self.mnist_path, "an existing directory of MNIST IDX files")
        if self.network is None:
            if self.checkpoints > self.epochs:
                raise ConfigError(f"{path}.checkpoints", self.checkpoints, f"at most epochs = {self.epochs}")
            if self.loss == "cross_entropy":
                raise ConfigError(f"{path}.loss", self.loss, "bce or mse for the sigmoid MLP (no network)")
            if self.checkpoint_every:
                raise ConfigError(f"{path}.checkpoint_every", self.checkpoint_every, "0 for the sigmoid MLP (resume "
                                  "is implemented for networks)")
            return
        if self.loss == "bce":
            raise ConfigError(f"{path}.loss", self.loss, "cross_entropy or mse for a network")
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

    @property
    def loss_kind(self) -> str:
        """The loss with null resolved: bce for the MLP, cross_entropy for a network."""
        if self.loss is not None:
            return self.loss
        return "bce" if self.network is None else "cross_entropy"

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

    @property
    def hidden_sizes(self) -> list[int]:
        return list(self.hidden) if self.hidden is not None else list(DEFAULT_HIDDEN[self.dataset])
