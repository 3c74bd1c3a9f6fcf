"""The train stage's work for ``training.kind: network``: data, network, training, receptive fields.

Kept apart from the sigmoid-MLP path (:mod:`einet.runs.classifier`) so
that each module has one model; the stage (:func:`einet.stages.train`)
chooses between them and writes the files.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import xarray as xr

from einet.config.training import NetworkTrainingSpec
from einet.datasets import load
from einet.training.supervised import train_classifier
from einet.network.layered import check_rules
from einet.runs.registry import RunKind, register_run
from einet.training.checkpoint import save_network

__all__ = ["train_network", "receptive_fields", "RECEPTIVE_FIELDS"]

#: Target neurons of the first projection whose incoming weights are kept as receptive fields.
RECEPTIVE_FIELDS = 16


def receptive_fields(network, units: int = RECEPTIVE_FIELDS) -> xr.Dataset:
    """The incoming weights of the first ``units`` neurons of the first projection out of the input.

    Evenly spaced neurons are taken, so excitatory and inhibitory targets of a
    layer both show when the projection's target is a whole population.
    """
    first = next((i for i, p in enumerate(network.projections) if p.source == network.input_name), None)
    if first is None:
        return xr.Dataset()
    proj = network.projections[first]
    w = network.weights[first].detach().cpu().double().numpy()
    take = np.unique(np.linspace(0, w.shape[0] - 1, min(units, w.shape[0])).round().astype(int))
    side = math.isqrt(w.shape[1])
    attrs = {"receptive_field_projection": f"{proj.source}->{proj.target}"}
    if side * side == w.shape[1]:
        attrs["image_side"] = side
    return xr.Dataset(
        {"receptive_field": (("unit", "feature"), w[take],
                             {"units": "1", "long_name": f"final weights {proj.source}->{proj.target} of the "
                                                         "unit from each input feature"})},
        coords={"unit": ("unit", take, {"units": "1", "long_name": f"neuron index in {proj.target}"}),
                "feature": ("feature", np.arange(w.shape[1]), {"units": "1", "long_name": "input feature (pixel)"})},
        attrs=attrs,
    )


def train_network(cfg: NetworkTrainingSpec, device: torch.device, *, checkpoint=None, tag: str = "",
                  progress: bool = True, label: str = "train") -> tuple[xr.Dataset, object]:
    """Train ``cfg.network`` on ``cfg.dataset``; the history with receptive fields, and the network."""
    from einet.network.layered import LayeredNetwork

    data = load(cfg.dataset, test_fraction=cfg.test_fraction, seed=cfg.seed, mnist_path=cfg.mnist_path)
    torch.manual_seed(cfg.seed)
    network = LayeredNetwork(cfg.network_spec(), seed=cfg.seed).to(device)
    ds = train_classifier(network, data, epochs=cfg.epochs, batch_size=cfg.batch_size, seed=cfg.seed,
                          loss=cfg.loss, schedule=cfg.schedule, checkpoint=checkpoint,
                          checkpoint_every=cfg.checkpoint_every, checkpoint_tag=tag, progress=progress, label=label)
    fields = receptive_fields(network)
    ds = ds.merge(fields, combine_attrs="no_conflicts")
    ds.attrs.update({"dale": int(cfg.dale)})
    return ds, network


def _run(spec, *, device, checkpoint=None, tag: str = "", progress: bool = True, label: str = "train"):
    return train_network(spec.training, device, checkpoint=checkpoint, tag=tag, progress=progress, label=label)


def _save(model, spec, config_yaml: str, path):
    return save_network(model, config_yaml, path)


def _check(spec) -> None:
    check_rules(spec.training.network, "training.network.")


register_run(RunKind(
    name="network_training", doc="a layered network trained on a data set (training.kind: network)", stage="train",
    run=_run, save=_save, selected_by="training.kind", selected_value="network", uses_model=False, check=_check,
    writes=tuple((
        "epoch feature projection receptive_field sign_violations test_accuracy test_loss "
        "train_accuracy train_loss unit weight_abs_max weight_mean weight_std"
    ).split()),
))
