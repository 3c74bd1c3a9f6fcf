"""Train a layered network (:mod:`einet.model.layered`) on a classification split, with any rules.

Each minibatch runs the dynamics once. Projections whose rule is ``backprop``
take an optimizer step on the loss of the output rates (autograd through
the last ``backward_steps`` steps); every local rule then updates its
projection from the same readout rates; Dale's law is enforced after both.
The history is an :class:`xarray.Dataset` over ``epoch`` (0 is before
training); nothing is written to disk here.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F
import xarray as xr

from einet.datasets import Split

__all__ = ["train_classifier", "evaluate"]

LOSSES = ("cross_entropy", "mse")


def _loss(kind: str, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    if kind == "cross_entropy":
        return F.cross_entropy(out, y)
    return F.mse_loss(out, F.one_hot(y, out.shape[1]).to(out.dtype))


def evaluate(network, x: torch.Tensor, y: torch.Tensor, loss: str = "cross_entropy") -> tuple[float, float]:
    """(loss, accuracy) of the output rates; the class is the most active output neuron."""
    with torch.no_grad():
        out = network(x)
        return float(_loss(loss, out, y)), float((out.argmax(dim=1) == y).double().mean())


def train_classifier(network, split: Split, *, epochs: int = 20, batch_size: int = 32, seed: int = 0,
                     loss: str = "cross_entropy") -> xr.Dataset:
    """Train ``network`` in place on ``split``; return the per-epoch history.

    Parameters
    ----------
    network : a :class:`~einet.model.layered.LayeredNetwork` whose input and output sizes fit the data
    split : train/test data (:func:`einet.datasets.load`)
    epochs : passes over the training set
    batch_size : samples per update
    seed : seed of the minibatch order
    loss : ``cross_entropy`` (output rates are logits) or ``mse`` (against one-hot targets)

    Returns
    -------
    xarray.Dataset
        ``train_loss``, ``train_accuracy``, ``test_loss``, ``test_accuracy`` and
        ``sign_violations`` (weights of the wrong sign, summed over the epoch's
        updates, each counted after Dale's law was enforced) over ``epoch``.
    """
    if loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}; known: {', '.join(LOSSES)}")
    n_in, n_out = network.sizes[network.input_name], network.sizes[network.output_name]
    if n_in != split.features or n_out < split.classes:
        raise ValueError(f"network {network.input_name} ({n_in}) -> {network.output_name} ({n_out}) does not fit "
                         f"{split.name}: {split.features} features, {split.classes} classes")
    dtype = network.weights[0].dtype if len(network.weights) else torch.float32
    x_tr, y_tr = split.x_train.to(dtype), split.y_train
    x_te, y_te = split.x_test.to(dtype), split.y_test
    optimizers = network.optimizers()
    gen = torch.Generator().manual_seed(int(seed))
    rows = {k: [] for k in ("train_loss", "train_accuracy", "test_loss", "test_accuracy", "sign_violations")}

    def record(violations: int) -> None:
        for part, (x, y) in (("train", (x_tr, y_tr)), ("test", (x_te, y_te))):
            lo, acc = evaluate(network, x, y, loss)
            rows[f"{part}_loss"].append(lo)
            rows[f"{part}_accuracy"].append(acc)
        rows["sign_violations"].append(violations)

    start = time.perf_counter()
    record(network.sign_violations())
    for _ in range(epochs):
        violations = 0
        order = torch.randperm(len(y_tr), generator=gen)
        for first in range(0, len(order), batch_size):
            idx = order[first:first + batch_size]
            state = network.run(x_tr[idx])
            if optimizers:
                for opt in optimizers:
                    opt.zero_grad()
                _loss(loss, state[network.output_name], y_tr[idx]).backward()
                for opt in optimizers:
                    opt.step()
                network.enforce_dale()
            network.local_update({k: v.detach() for k, v in state.items()})
            violations += network.sign_violations()
        record(violations)
    wall = time.perf_counter() - start
    epoch = np.arange(epochs + 1)
    desc = {
        "train_loss": ("1", f"{loss} loss on the training set"),
        "train_accuracy": ("1", "fraction of training samples classified correctly"),
        "test_loss": ("1", f"{loss} loss on the test set"),
        "test_accuracy": ("1", "fraction of test samples classified correctly"),
        "sign_violations": ("1", "weights of the wrong sign under Dale's law, summed over the epoch's updates"),
    }
    data = {k: ("epoch", np.asarray(v), {"units": desc[k][0], "long_name": desc[k][1]}) for k, v in rows.items()}
    return xr.Dataset(
        data,
        coords={"epoch": ("epoch", epoch, {"units": "1", "long_name": "passes over the training set (0: before)"})},
        attrs={"dataset": split.name, "loss": loss, "batch_size": batch_size, "seed": seed, "wall_time_s": wall},
    )
