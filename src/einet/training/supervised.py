"""Train a layered network (:mod:`einet.network.layered`) on a classification split, with any rules.

Each minibatch runs the dynamics once. Projections whose rule is ``backprop``
take an optimizer step on the loss of the output rates (autograd through
the last ``backward_steps`` steps); every local rule then updates its
projection from the same readout rates; Dale's law is enforced after both.
The history is an :class:`xarray.Dataset` over ``epoch`` (0 is before
training); nothing but the optional checkpoint is written to disk here.

Resuming
--------
With ``checkpoint`` and ``checkpoint_every = k``, everything that decides the
rest of the run is saved every k epochs: the network's state dict (weights,
biases, rule states such as BCM thresholds), each optimizer's and schedule's
state, the minibatch generator's and torch's RNG state, the epoch and the
history so far. A run started again with the same ``checkpoint_tag`` picks up
after the last saved epoch and ends with the same numbers, bit for bit, as a
run that was never interrupted.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
import xarray as xr

from einet.datasets import Split
from einet.progress import progress_bar

__all__ = ["train_classifier", "evaluate", "schedulers"]

log = logging.getLogger("einet")

LOSSES = ("cross_entropy", "mse")
_SCALARS = ("train_loss", "train_accuracy", "test_loss", "test_accuracy", "sign_violations")
_STATS = ("weight_mean", "weight_std", "weight_abs_max")


def _loss(kind: str, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    if kind == "cross_entropy":
        return F.cross_entropy(out, y)
    return F.mse_loss(out, F.one_hot(y, out.shape[1]).to(out.dtype))


def evaluate(network, x: torch.Tensor, y: torch.Tensor, loss: str = "cross_entropy") -> tuple[float, float]:
    """(loss, accuracy) of the output rates; the class is the most active output neuron."""
    with torch.no_grad():
        out = network(x)
        return float(_loss(loss, out, y)), float((out.argmax(dim=1) == y).double().mean())


def schedulers(optimizers: list, schedule, epochs: int) -> list:
    """One step-size schedule per optimizer (stepped once per epoch); ``None`` or ``constant``: none."""
    if schedule is None or schedule.kind == "constant":
        return []
    sched = torch.optim.lr_scheduler
    make = {
        "step": lambda o: sched.StepLR(o, step_size=schedule.step_epochs, gamma=schedule.gamma),
        "exponential": lambda o: sched.ExponentialLR(o, gamma=schedule.gamma),
        "cosine": lambda o: sched.CosineAnnealingLR(o, T_max=epochs),
    }[schedule.kind]
    return [make(o) for o in optimizers]


def _weight_stats(network) -> dict[str, list[float]]:
    with torch.no_grad():
        return {"weight_mean": [float(w.mean()) for w in network.weights],
                "weight_std": [float(w.std(unbiased=False)) for w in network.weights],
                "weight_abs_max": [float(w.abs().max()) for w in network.weights]}


def _run_epoch(network, optimizers, x_tr, y_tr, gen, batch_size: int, loss: str) -> int:
    """One pass over the training set in the generator's order; returns the summed sign violations."""
    violations = 0
    order = torch.randperm(len(y_tr), generator=gen).to(y_tr.device)
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
    return violations


def train_classifier(network, split: Split, *, epochs: int = 20, batch_size: int = 32, seed: int = 0,
                     loss: str = "cross_entropy", schedule=None, checkpoint: str | Path | None = None,
                     checkpoint_every: int = 0, checkpoint_tag: str = "", progress: bool = False,
                     label: str = "train") -> xr.Dataset:
    """Train ``network`` in place on ``split``; return the per-epoch history.

    Parameters
    ----------
    network : a :class:`~einet.network.layered.LayeredNetwork` whose input and output sizes fit the data
    split : train/test data (:func:`einet.datasets.load`)
    epochs : passes over the training set
    batch_size : samples per update
    seed : seed of the minibatch order
    loss : ``cross_entropy`` (output rates are logits) or ``mse`` (against one-hot targets)
    schedule : a :class:`~einet.config.training.ScheduleSpec` for the backprop optimizers, or None (constant)
    checkpoint : file of the resumable checkpoint (read when it exists and carries ``checkpoint_tag``)
    checkpoint_every : save the checkpoint every this many epochs (0: never)
    checkpoint_tag : what identifies the run (the job's config hash): a checkpoint of another run is ignored
    progress : show a progress bar over epochs (einet.progress)

    Returns
    -------
    xarray.Dataset
        ``train_loss``, ``train_accuracy``, ``test_loss``, ``test_accuracy`` and
        ``sign_violations`` (weights of the wrong sign, summed over the epoch's
        updates, each counted after Dale's law was enforced) over ``epoch``;
        ``weight_mean``, ``weight_std`` and ``weight_abs_max`` over ``epoch``
        and ``projection``.
    """
    from einet.training.checkpoint import load_checkpoint, save_checkpoint

    if loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}; known: {', '.join(LOSSES)}")
    n_in, n_out = network.sizes[network.input_name], network.sizes[network.output_name]
    if n_in != split.features or n_out < split.classes:
        raise ValueError(f"network {network.input_name} ({n_in}) -> {network.output_name} ({n_out}) does not fit "
                         f"{split.name}: {split.features} features, {split.classes} classes")
    device = network.weights[0].device if len(network.weights) else torch.device("cpu")
    dtype = network.weights[0].dtype if len(network.weights) else torch.float32
    x_tr, y_tr = split.x_train.to(device, dtype), split.y_train.to(device)
    x_te, y_te = split.x_test.to(device, dtype), split.y_test.to(device)
    optimizers = network.optimizers()
    scheds = schedulers(optimizers, schedule, epochs)
    gen = torch.Generator().manual_seed(int(seed))
    rows: dict[str, list] = {k: [] for k in (*_SCALARS, *_STATS)}

    def record(violations: int) -> None:
        for part, (x, y) in (("train", (x_tr, y_tr)), ("test", (x_te, y_te))):
            lo, acc = evaluate(network, x, y, loss)
            rows[f"{part}_loss"].append(lo)
            rows[f"{part}_accuracy"].append(acc)
        rows["sign_violations"].append(int(violations))
        for key, values in _weight_stats(network).items():
            rows[key].append(values)

    start = time.perf_counter()
    done = 0
    saved = load_checkpoint(checkpoint, checkpoint_tag) if checkpoint is not None else None
    if saved is not None:
        network.load_state_dict(saved["network"])
        for opt, state in zip(optimizers, saved["optimizers"]):
            opt.load_state_dict(state)
        for sch, state in zip(scheds, saved["schedulers"]):
            sch.load_state_dict(state)
        gen.set_state(saved["generator"])
        torch.set_rng_state(saved["torch_rng"])
        rows = {k: list(v) for k, v in saved["rows"].items()}
        done = int(saved["epoch"])
        log.info("%s: resumed from %s after epoch %d", label, checkpoint, done)
    else:
        record(network.sign_violations())
    bar = progress_bar(range(done + 1, epochs + 1), desc=label, unit="epoch", enabled=progress, initial=done,
                       total=epochs)
    for epoch in bar:
        violations = _run_epoch(network, optimizers, x_tr, y_tr, gen, batch_size, loss)
        for sch in scheds:
            sch.step()
        record(violations)
        log.info("%s epoch %d: test accuracy %.3f, loss %.4f", label, epoch, rows["test_accuracy"][-1],
                 rows["test_loss"][-1])
        if checkpoint is not None and checkpoint_every and (epoch % checkpoint_every == 0 or epoch == epochs):
            save_checkpoint({"tag": checkpoint_tag, "epoch": epoch, "network": network.state_dict(),
                         "optimizers": [o.state_dict() for o in optimizers],
                         "schedulers": [s.state_dict() for s in scheds], "generator": gen.get_state(),
                         "torch_rng": torch.get_rng_state(), "rows": rows}, checkpoint)
    bar.close()
    return _history(rows, network, epochs, loss, split.name, batch_size, seed, time.perf_counter() - start)


def _history(rows, network, epochs, loss, dataset, batch_size, seed, wall) -> xr.Dataset:
    desc = {
        "train_loss": ("1", f"{loss} loss on the training set"),
        "train_accuracy": ("1", "fraction of training samples classified correctly"),
        "test_loss": ("1", f"{loss} loss on the test set"),
        "test_accuracy": ("1", "fraction of test samples classified correctly"),
        "sign_violations": ("1", "weights of the wrong sign under Dale's law, summed over the epoch's updates"),
        "weight_mean": ("1", "mean weight of the projection"),
        "weight_std": ("1", "standard deviation of the projection's weights"),
        "weight_abs_max": ("1", "largest absolute weight of the projection"),
    }
    data = {k: ("epoch", np.asarray(rows[k])) for k in _SCALARS}
    shape = (epochs + 1, len(network.projections))
    data.update({k: (("epoch", "projection"), np.asarray(rows[k], dtype=np.float64).reshape(shape)) for k in _STATS})
    data = {k: (dims, v, {"units": desc[k][0], "long_name": desc[k][1]}) for k, (dims, v) in data.items()}
    names = [f"{p.source}->{p.target}" for p in network.projections]
    return xr.Dataset(
        data,
        coords={"epoch": ("epoch", np.arange(epochs + 1), {"units": "1",
                                                           "long_name": "passes over the training set (0: before)"}),
                "projection": ("projection", np.asarray(names, dtype=str),
                               {"long_name": "projection, source->target"})},
        attrs={"dataset": dataset, "loss": loss, "batch_size": batch_size, "seed": seed, "wall_time_s": wall},
    )
