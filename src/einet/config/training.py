"""The optional ``training:`` section: a classifier trained with SGD, its layers' EI at checkpoints."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Optional

from einet.config.information import EISpec
from einet.errors import ConfigError
from einet.fields import non_negative, option, positive

#: Hidden layer sizes used when ``training.hidden`` is left unset (Marrow et al. 2020 for Iris).
DEFAULT_HIDDEN = {"iris": [5, 5], "digits": [32, 16]}


def _fraction(value) -> str | None:
    return None if 0 < value < 1 else "a number strictly between 0 and 1"


@dataclass(frozen=True)
class TrainingSpec:
    """A sigmoid multilayer perceptron trained with plain SGD on a dataset that ships with scikit-learn."""

    dataset: Literal["iris", "digits"] = option(doc="iris (4 features, 3 classes) or digits (64 features, 10 classes)")
    hidden: Optional[list[int]] = option(
        None, doc="hidden layer sizes; null: iris [5, 5] (the 4-5-5-3 net of Marrow et al.), digits [32, 16]",
        check=lambda v: None if all(n >= 1 for n in v) else "a list of integers >= 1",
    )
    activation: Literal["sigmoid"] = option(
        "sigmoid", doc="activation of every layer (the output layer too, so each layer's EI has a bounded range)"
    )
    loss: Literal["bce", "mse"] = option("bce", doc="bce: binary cross-entropy of each sigmoid output with the "
                                         "one-hot class; mse: squared error to it")
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
        if self.checkpoints > self.epochs:
            raise ConfigError(f"{path}.checkpoints", self.checkpoints, f"at most epochs = {self.epochs}")

    @property
    def hidden_sizes(self) -> list[int]:
        return list(self.hidden) if self.hidden is not None else list(DEFAULT_HIDDEN[self.dataset])
