"""Losses of a spiking network's readout sequence against its targets, and what a gradient estimate returns.

Shared by the two gradient estimators, surrogate BPTT (:mod:`einet.training.spiking`) and
e-prop (:mod:`einet.training.eprop`): each loss gives its value over a window of steps
(for autograd), its derivative with respect to one step's readout (e-prop's learning
signal) and the number of targets it is averaged over; the firing-rate regulariser's
value and derivative likewise.

* ``mse``: targets ``[batch, time, n_out]`` (or ``[time, n_out]`` for every trial); the mean
  square of readout minus target over trials, steps and readouts;
* ``cross_entropy``: class labels ``[batch, time]`` (or ``[time]``), integers in
  ``[0, n_out)`` or ``-1`` where a step has no target; the readouts are the logits, the loss is
  the mean cross-entropy over the labelled steps and the metric ``accuracy`` the fraction of
  them whose largest readout is the label.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F

from einet.network.rsnn import RSNN, _prepare

__all__ = ["LOSSES", "Gradients", "CrossEntropy", "MeanSquaredError", "check_rate", "check_truncation", "loss_of",
           "rate_terms"]


class Gradients(NamedTuple):
    """What one gradient evaluation returns.

    Attributes
    ----------
    loss : the objective, ``task`` plus the rate regulariser
    task : the loss of :data:`LOSSES` alone
    rate : mean firing rate over neurons, trials and steps [Hz]
    grads : ``{attribute: gradient of loss}`` for the trained parameters (``w_in`` for ``"input"``, ...)
    metrics : further numbers of the loss (``accuracy`` for ``cross_entropy``)
    """

    loss: float
    task: float
    rate: float
    grads: dict[str, torch.Tensor]
    metrics: dict[str, float] = {}


class MeanSquaredError:
    """Readout against real targets: the mean of the squared error over trials, steps and readouts."""

    name = "mse"
    has_metrics = False  # nothing beyond the loss itself

    def prepare(self, net: RSNN, inputs, targets):
        return _prepare(net, inputs, targets)

    def count(self, targets: torch.Tensor) -> int:
        return targets.numel()

    def total(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """The sum of squared errors of ``outputs`` ``[batch, steps, n_out]``."""
        return ((outputs - targets) ** 2).sum()

    def derivative(self, y: torch.Tensor, target: torch.Tensor, count: int) -> torch.Tensor:
        """d(loss)/dy of one step's readout ``[batch, n_out]``."""
        return (y - target) * (2.0 / count)

    def metrics(self, outputs: torch.Tensor, targets: torch.Tensor) -> dict[str, float]:
        return {}


class CrossEntropy:
    """Readouts as logits against class labels (``-1``: no target at that step)."""

    name = "cross_entropy"
    has_metrics = True  # accuracy

    def prepare(self, net: RSNN, inputs, targets):
        x, _ = _prepare(net, inputs)
        labels = torch.as_tensor(targets)
        if labels.is_floating_point() or labels.is_complex() or labels.dtype == torch.bool:
            raise ValueError(f"cross_entropy targets must be integer class labels, got dtype {labels.dtype}")
        labels = labels.to(device=x.device, dtype=torch.long)
        if labels.dim() == 1:
            labels = labels.expand(x.shape[0], *labels.shape)
        if labels.shape != x.shape[:2]:
            raise ValueError(f"cross_entropy targets must be [batch={x.shape[0]}, time={x.shape[1]}] "
                             f"(or [time]) class labels, got shape {tuple(torch.as_tensor(targets).shape)}")
        bad = (labels < -1) | (labels >= net.n_out)
        if bool(bad.any()):
            raise ValueError(f"cross_entropy targets must be in [0, n_out={net.n_out}) or -1 (no target), "
                             f"got {int(labels[bad][0])}")
        if not bool((labels >= 0).any()):
            raise ValueError("cross_entropy targets have no labelled step (all -1)")
        return x, labels

    def count(self, targets: torch.Tensor) -> int:
        return int((targets >= 0).sum())

    def total(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(outputs.reshape(-1, outputs.shape[-1]), targets.reshape(-1), ignore_index=-1,
                               reduction="sum")

    def derivative(self, y: torch.Tensor, target: torch.Tensor, count: int) -> torch.Tensor:
        labelled = target >= 0
        one_hot = F.one_hot(target.clamp(min=0), y.shape[-1]).to(y.dtype)
        return (torch.softmax(y, -1) - one_hot) * (labelled.unsqueeze(-1).to(y.dtype) / count)

    def metrics(self, outputs: torch.Tensor, targets: torch.Tensor) -> dict[str, float]:
        labelled = targets >= 0
        right = (outputs.argmax(-1) == targets) & labelled
        return {"accuracy": float(right.sum()) / float(labelled.sum())}


#: loss names -> the loss of a readout sequence against its targets
LOSSES: dict[str, object] = {"mse": MeanSquaredError(), "cross_entropy": CrossEntropy()}


def loss_of(name: str):
    if name not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; known: {', '.join(LOSSES)}")
    return LOSSES[name]


def check_truncation(truncation) -> None:
    if truncation is not None and (int(truncation) != truncation or truncation < 1):
        raise ValueError(f"truncation must be a whole number of steps >= 1 or None, got {truncation!r}")


def check_rate(rate_target: float, rate_penalty: float) -> None:
    if rate_penalty < 0 or rate_target < 0:
        raise ValueError(f"rate_penalty and rate_target must be >= 0, got {rate_penalty!r} and {rate_target!r}")


def rate_terms(net: RSNN, counts: torch.Tensor, n_samples: int, rate_target: float, rate_penalty: float):
    r"""Rates [Hz] from spike counts, the regulariser :math:`c\,\langle (f_j - f^*)^2 \rangle_j`
    and its derivative with respect to each neuron's spike count."""
    hz = 1000.0 / (net.dt * n_samples)  # one spike per trial-step -> Hz
    f = counts * hz
    reg = rate_penalty * ((f - rate_target) ** 2).mean()
    d_counts = 2.0 * rate_penalty / net.n_rec * (f - rate_target) * hz
    return f, reg, d_counts
