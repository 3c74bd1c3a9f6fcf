"""Train a sigmoid multilayer perceptron with plain SGD and follow its layers' EI.

At each checkpoint (epoch 0 and log-spaced epochs after it) the loss and
accuracy on both parts of the split are recorded, together with each
layer's EI, EI_parts, sensitivity and degeneracy
(``einet.measures.information``), so that the layers' paths through the
causal plane can be drawn (Marrow et al. 2020). EI, EI_parts and
sensitivity each carry their sample count, their estimator's ceiling and a
saturated flag (``<measure>_samples``, ``_ceiling``, ``_saturated``): a
saturated estimate is redone with doubled samples up to
``training.ei.max_samples`` and keeps its flag where that cap is reached. Every layer, the output
layer included, ends in a sigmoid: its outputs then have the bounded range
(0, 1) that EI bins over, and the next layer's input range is known.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
import xarray as xr
from torch import nn

from einet.measures import information
from einet.config.training import ClassifierTrainingSpec
from einet.datasets import Split
from einet.progress import progress_bar
from einet.runs.registry import RunKind, register_run

log = logging.getLogger("einet")

__all__ = ["build_mlp", "checkpoint_epochs", "train", "save_model", "load_model"]

MEASURES = {
    "ei": "effective information of the layer (binned input vector vs output vector)",
    "ei_parts": "sum over (input, output) pairs of their mutual information",
    "sensitivity": "sum over pairs of MI when one input alone is drawn, the others at rest",
    "degeneracy": "sensitivity minus ei_parts",
}
#: The measures that are estimates of their own, each with its samples, ceiling and saturated flag.
ESTIMATED = ("ei", "ei_parts", "sensitivity")


def build_mlp(sizes: list[int], activation: str = "sigmoid") -> nn.Sequential:
    """``Linear -> sigmoid`` for each pair of consecutive sizes; layers are named fc1, fc2, ..."""
    if activation != "sigmoid":
        raise ValueError(f"unknown activation {activation!r}; known: sigmoid")
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        layers[f"fc{i}"] = nn.Linear(n_in, n_out)
        layers[f"act{i}"] = nn.Sigmoid()
    return nn.Sequential(layers)


def checkpoint_epochs(epochs: int, checkpoints: int) -> list[int]:
    """Epoch 0 and ``checkpoints`` log-spaced epochs up to ``epochs`` (fewer where rounding merges them)."""
    if checkpoints == 1:
        return [0, int(epochs)]
    spaced = np.unique(np.round(np.geomspace(1, epochs, checkpoints)).astype(int))
    return [0] + [int(e) for e in spaced]


def _loss(kind: str, out: torch.Tensor, y: torch.Tensor, classes: int) -> torch.Tensor:
    target = F.one_hot(y, classes).to(out.dtype)
    if kind == "mse":
        return F.mse_loss(out, target)
    return F.binary_cross_entropy(out, target)


def _evaluate(model: nn.Module, x, y, kind: str, classes: int) -> tuple[float, float]:
    with torch.no_grad():
        out = model(x)
        return float(_loss(kind, out, y, classes)), float((out.argmax(dim=1) == y).double().mean())


def _layer_measures(model: nn.Module, example: torch.Tensor, spec: ClassifierTrainingSpec) -> list[dict[str, float]]:
    """EI measures of every layer; sensitivity perturbs one input with the others at their range's middle.

    Each estimate also gives ``<measure>_samples``, ``_ceiling`` and ``_saturated`` (see
    ``information.Estimate``); saturated ones were redone with doubled samples up to ``ei.max_samples``.
    """
    e = spec.ei
    settings = dict(in_bins=e.bins, out_bins=e.bins, samples=e.samples, seed=e.seed, saturation_cap=e.max_samples,
                    bias_correction=None if e.bias_correction == "none" else e.bias_correction)
    rows = []
    for layer in information.topology_of(model, example, in_range=tuple(e.in_range)):
        rest = 0.5 * (layer.in_range[0] + layer.in_range[1])
        found = {"ei": information.ei(layer, return_info=True, **settings),
                 "ei_parts": information.ei_parts(layer, return_info=True, **settings),
                 "sensitivity": information.sensitivity(layer, rest=rest, return_info=True, **settings)}
        row: dict[str, float] = {key: est.value for key, est in found.items()}
        row["degeneracy"] = row["sensitivity"] - row["ei_parts"]  # as information.causal_plane
        for key, est in found.items():
            row.update({f"{key}_samples": est.samples, f"{key}_ceiling": est.ceiling,
                        f"{key}_saturated": bool(est.saturated)})
            if est.saturated:
                log.info("%s %s: %.3f bits at %d samples is within %.1f bit of its estimator's ceiling %.3f: "
                         "saturated (flagged)", layer.name, key, est.value, est.samples,
                         information.SATURATION_MARGIN, est.ceiling)
        rows.append(row)
    return rows


def train(spec: ClassifierTrainingSpec, data: Split, device: torch.device, *, progress: bool = True,
          label: str = "train") -> tuple[xr.Dataset, nn.Module]:
    """Train on ``data`` and return the checkpoint history (dims epoch, layer) and the trained model."""
    started = time.perf_counter()
    torch.manual_seed(spec.seed)
    sizes = [data.features, *spec.hidden_sizes, data.classes]
    model = build_mlp(sizes, spec.activation).to(device)
    optimiser = torch.optim.SGD(model.parameters(), lr=spec.learning_rate)
    x_tr, y_tr = data.x_train.to(device), data.y_train.to(device)
    x_te, y_te = data.x_test.to(device), data.y_test.to(device)
    order = torch.Generator().manual_seed(spec.seed + 1)
    marks = checkpoint_epochs(spec.epochs, spec.checkpoints)
    history: dict[str, list] = {k: [] for k in ("loss_train", "loss_test", "accuracy_train", "accuracy_test")}
    layers: list[list[dict[str, float]]] = []

    def record(epoch: int) -> None:
        model.eval()
        for part, (x, y) in (("train", (x_tr, y_tr)), ("test", (x_te, y_te))):
            loss, acc = _evaluate(model, x, y, spec.loss, data.classes)
            history[f"loss_{part}"].append(loss)
            history[f"accuracy_{part}"].append(acc)
        layers.append(_layer_measures(model, x_tr[:1], spec))
        log.info("epoch %d: test accuracy %.3f, loss %.4f", epoch, history["accuracy_test"][-1],
                 history["loss_test"][-1])
        model.train()

    record(0)
    bar = progress_bar(range(1, spec.epochs + 1), desc=label, unit="epoch", enabled=progress, mininterval=5.0)
    for epoch in bar:
        perm = torch.randperm(x_tr.shape[0], generator=order).to(device)
        for start in range(0, x_tr.shape[0], spec.batch_size):
            idx = perm[start : start + spec.batch_size]
            optimiser.zero_grad(set_to_none=True)
            _loss(spec.loss, model(x_tr[idx]), y_tr[idx], data.classes).backward()
            optimiser.step()
        if epoch in marks:
            record(epoch)
    bar.close()
    ds = _history_dataset(marks, history, layers, model, sizes)
    ds.attrs["wall_time_s"] = time.perf_counter() - started
    return ds, model


def _history_dataset(marks, history, layers, model, sizes) -> xr.Dataset:
    names = [n for n, m in model.named_children() if isinstance(m, nn.Linear)]
    data = {}
    for key, long_name in (("loss_train", "loss on the training set"), ("loss_test", "loss on the test set"),
                           ("accuracy_train", "accuracy on the training set"),
                           ("accuracy_test", "accuracy on the test set")):
        data[key] = ("epoch", np.asarray(history[key]), {"units": "1", "long_name": long_name})
    for key, long_name in MEASURES.items():
        values = np.array([[row[key] for row in checkpoint] for checkpoint in layers])
        data[key] = (("epoch", "layer"), values, {"units": "bit", "long_name": long_name})
    for key in ESTIMATED:
        table = lambda field, dtype: np.array([[row[f"{key}_{field}"] for row in checkpoint]  # noqa: E731
                                               for checkpoint in layers], dtype=dtype)
        data[f"{key}_samples"] = (("epoch", "layer"), table("samples", np.int64), {
            "units": "1", "long_name": f"uniform input draws behind {key} (training.ei.samples, doubled while "
            "saturated up to training.ei.max_samples)"})
        data[f"{key}_ceiling"] = (("epoch", "layer"), table("ceiling", np.float64), {
            "units": "bit", "long_name": f"largest value the {key} estimator can return at its draws and bins"})
        data[f"{key}_saturated"] = (("epoch", "layer"), table("saturated", np.int8), {
            "units": "1", "long_name": f"1 where {key} is within {information.SATURATION_MARGIN} bit of its "
            "ceiling: a bound, not a measurement", "flag_values": np.array([0, 1], dtype=np.int8),
            "flag_meanings": "measured saturated"})
    coords = {
        "epoch": ("epoch", np.asarray(marks), {"units": "1", "long_name": "training epochs completed"}),
        "layer": ("layer", np.asarray(names), {"long_name": "layer (Linear + sigmoid)"}),
        "layer_inputs": ("layer", np.asarray(sizes[:-1]), {"units": "1", "long_name": "inputs of the layer"}),
        "layer_outputs": ("layer", np.asarray(sizes[1:]), {"units": "1", "long_name": "outputs of the layer"}),
    }
    return xr.Dataset(data, coords=coords)


def save_model(model: nn.Module, sizes: list[int], config_yaml: str, path: str | Path) -> Path:
    """The classifier in the one model-file format (:func:`einet.training.checkpoint.save_model_file`)."""
    from einet.training.checkpoint import save_model_file

    return save_model_file("classifier", {k: v.detach() for k, v in model.state_dict().items()}, config_yaml, path,
                           sizes=[int(s) for s in sizes], activation="sigmoid")


def load_model(path: str | Path) -> tuple[nn.Module, dict]:
    """The model saved by ``save_model`` and the saved payload (sizes, config YAML text)."""
    from einet.training.checkpoint import read_model_file

    payload = read_model_file(path, "classifier")
    model = build_mlp(payload["sizes"], payload["activation"])
    model.load_state_dict(payload["state_dict"])
    return model, payload


def _run(spec, *, device, checkpoint=None, tag: str = "", progress: bool = True, label: str = "train"):
    from einet.datasets import load

    cfg = spec.training
    data = load(cfg.dataset, test_fraction=cfg.test_fraction, seed=cfg.seed, mnist_path=cfg.mnist_path)
    return train(cfg, data, device, progress=progress, label=label)


def _save(model, spec, config_yaml: str, path):
    layers = [m for m in model if isinstance(m, nn.Linear)]
    sizes = [layers[0].in_features] + [m.out_features for m in layers]
    return save_model(model, sizes, config_yaml, path)


register_run(RunKind(
    name="classifier", doc="a sigmoid classifier trained with SGD, its layers' EI over training (training)",
    stage="train", run=_run, save=_save, selected_by="training.kind", selected_value="classifier", uses_model=False,
    writes=tuple((
        "accuracy_test accuracy_train degeneracy ei ei_ceiling ei_parts ei_parts_ceiling ei_parts_samples "
        "ei_parts_saturated ei_samples ei_saturated epoch layer layer_inputs layer_outputs loss_test loss_train "
        "sensitivity sensitivity_ceiling sensitivity_samples sensitivity_saturated"
    ).split()),
))
