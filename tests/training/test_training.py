"""Classifier training with EI at checkpoints: datasets, training, the train stage and the pipeline."""

from __future__ import annotations

import copy
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import xarray as xr
import yaml

from einet import io
from einet.cli import main
from einet.experiment import validate
from einet.config.training import TrainingSpec
from einet.datasets import load
from einet.errors import ConfigError, EinetError
from einet.fields import parse_section
from einet.measures.information import SATURATION_MARGIN
from einet.runs.classifier import build_mlp, checkpoint_epochs, load_model, train

REPO = Path(__file__).resolve().parents[2]

TINY = {
    "name": "tiny_classifier",
    "model": None,
    "training": {"kind": "classifier", "dataset": "iris", "epochs": 6, "checkpoints": 2, "batch_size": 16,
                 "ei": {"samples": 512, "bins": 4}},
    "analysis": {"kind": "information"},
    "figures": ["causal_plane", "ei_training"],
    "sweep": {"grid": {"training.seed": [0, 1]}},
    "scales": {"quick": {"training": {"epochs": 4}}},
}


# ----------------------------------------------------------------- datasets
@pytest.mark.parametrize("name, n, features, classes", [("iris", 150, 4, 3), ("digits", 1797, 64, 10)])
def test_datasets_have_their_shapes_and_a_stratified_seeded_split(name, n, features, classes):
    split = load(name, test_fraction=0.25, seed=0)
    assert split.features == features and split.classes == classes
    assert split.x_train.shape[0] + split.x_test.shape[0] == n
    assert split.x_test.shape[0] == math.ceil(0.25 * n)
    # stratified: each class's share of the test set matches its share of the whole set (to one sample)
    whole = torch.cat([split.y_train, split.y_test]).bincount().double()
    assert torch.all((split.y_test.bincount().double() - whole * 0.25).abs() <= 1.0)
    # standardised with the training part's statistics
    assert split.x_train.mean(0).abs().max() < 1e-5
    stds = split.x_train.std(0, unbiased=False)
    assert torch.all((stds - 1).abs() < 1e-4) or name == "digits" and torch.all((stds < 1e-6) | ((stds - 1).abs() < 1e-4))
    again, other = load(name, seed=0), load(name, seed=1)
    assert torch.equal(again.y_test, split.y_test) and torch.equal(again.x_test, split.x_test)
    assert not torch.equal(other.x_test, split.x_test)


def test_unknown_dataset_lists_the_known_ones():
    with pytest.raises(ValueError, match="iris, digits"):
        load("mnist")


# ----------------------------------------------------------------- training
def test_checkpoints_start_at_zero_and_end_at_the_last_epoch():
    assert checkpoint_epochs(100, 3) == [0, 1, 10, 100]
    assert checkpoint_epochs(5, 10) == [0, 1, 2, 3, 4, 5]
    assert checkpoint_epochs(12, 1) == [0, 12]


def test_sgd_on_digits_learns_far_above_chance_and_ei_obeys_its_bounds():
    spec = parse_section(TrainingSpec, {"kind": "classifier", "dataset": "digits", "hidden": [16], "epochs": 12, "checkpoints": 1,
                                        "learning_rate": 1.0, "ei": {"samples": 1024, "max_samples": 8192, "bins": 4}},
                         "training")
    ds, model = train(spec, load("digits"), torch.device("cpu"), progress=False)
    assert list(ds.epoch.values) == [0, 12]
    acc = ds.accuracy_test.values
    assert acc[0] < 0.3 and acc[-1] > 0.85  # chance is 0.1
    assert ds.loss_train.values[-1] < ds.loss_train.values[0]
    b = 4
    for name, n_in, n_out in zip(ds.layer.values, ds.layer_inputs.values, ds.layer_outputs.values):
        layer = ds.sel(layer=name)
        assert np.all(layer.ei_parts >= 0) and np.all(layer.ei_parts <= n_in * n_out * math.log2(b))
        assert np.all(layer.sensitivity >= 0) and np.all(layer.sensitivity <= n_in * n_out * math.log2(b))
        samples = layer.ei_samples.values
        assert np.all((samples >= 1024) & (samples <= 8192))
        assert np.all(layer.ei >= 0) and np.all(layer.ei <= np.minimum(n_out * math.log2(b), np.log2(samples)) + 1e-9)
        np.testing.assert_allclose(layer.ei_ceiling, np.minimum(np.log2(samples), n_out * math.log2(b)))  # plug-in
        np.testing.assert_allclose(layer.degeneracy, layer.sensitivity - layer.ei_parts, atol=1e-9)
        for key in ("ei", "ei_parts", "sensitivity"):
            assert set(np.unique(layer[f"{key}_saturated"].values)) <= {0, 1}
        for key in ("ei_parts", "sensitivity"):  # a pair's ceiling is log2(4 bins) from 4 samples on: never raised
            assert np.all(layer[f"{key}_samples"] == 1024)
            np.testing.assert_allclose(layer[f"{key}_ceiling"], n_in * n_out * math.log2(b))
    assert list(ds.layer_inputs.values) == [64, 16] and list(ds.layer_outputs.values) == [16, 10]
    # fc1 (64 inputs at 4 bins: 2**128 input states) reads log2 of its samples at every checkpoint: raised to the
    # cap and still flagged there; the 16 -> 10 readout, whose outputs repeat, is a measurement
    fc1 = ds.sel(layer="fc1")
    assert np.all(fc1.ei_saturated == 1) and np.all(fc1.ei_samples == 8192)
    np.testing.assert_allclose(fc1.ei, 13.0, atol=SATURATION_MARGIN)
    assert np.all(ds.sel(layer="fc2").ei_saturated == 0) and np.all(ds.ei_parts_saturated == 0)


def test_causal_plane_subtracts_ei_parts_where_the_vector_ei_saturates():
    """Marrow et al.'s plane: degeneracy = sensitivity - EI, with EI_parts for a layer whose EI saturates."""
    from types import SimpleNamespace

    from einet.analysis.trained import analyze

    dims, shape = ("epoch", "layer"), (2, 2)
    values = {"ei": [[2.0, 12.7], [2.5, 12.7]], "ei_parts": [[1.0, 20.0], [1.5, 21.0]],
              "sensitivity": [[5.0, 100.0], [6.0, 110.0]]}
    run = xr.Dataset({k: (dims, np.array(v), {"units": "bit", "long_name": k}) for k, v in values.items()},
                     coords={"epoch": [0, 10], "layer": ["narrow", "wide"], "layer_inputs": ("layer", [4, 64]),
                             "layer_outputs": ("layer", [3, 32])})
    run["degeneracy"] = run.sensitivity - run.ei_parts
    run["ei_saturated"] = (dims, np.array([[0, 0], [0, 1]], dtype=np.int8))  # the wide layer at epoch 10 only
    run["ei_parts_saturated"] = (dims, np.zeros(shape, dtype=np.int8))
    run["sensitivity_saturated"] = (dims, np.array([[0, 0], [1, 0]], dtype=np.int8))
    ds = analyze(run, SimpleNamespace(name="x"))
    assert list(ds.plane_estimator.values) == ["ei", "ei_parts"]  # one saturated checkpoint decides the path
    np.testing.assert_allclose(ds.plane_degeneracy.sel(layer="narrow"), [3.0, 3.5])  # sensitivity - EI
    np.testing.assert_allclose(ds.plane_degeneracy.sel(layer="wide"), [80.0, 89.0])  # sensitivity - EI_parts
    np.testing.assert_array_equal(ds.plane_saturated.values, [[0, 0], [1, 0]])  # the subtracted one's flag
    with pytest.raises(EinetError, match="ei_saturated"):
        analyze(run.drop_vars("ei_saturated"), SimpleNamespace(name="x"))


def test_training_is_deterministic_for_a_seed():
    spec = parse_section(TrainingSpec, {"kind": "classifier", "dataset": "iris", "epochs": 3, "checkpoints": 1,
                                        "ei": {"samples": 256}}, "training")
    a, _ = train(spec, load("iris"), torch.device("cpu"), progress=False)
    b, _ = train(spec, load("iris"), torch.device("cpu"), progress=False)
    for var in ("loss_train", "ei_parts", "sensitivity"):
        np.testing.assert_array_equal(a[var].values, b[var].values)


# ----------------------------------------------------------------- config
@pytest.mark.parametrize("mutate, key", [
    (lambda r: r["training"].update(dataset="mnist"), "training.dataset"),
    (lambda r: r["training"].update(learning_rate=-1.0), "training.learning_rate"),
    (lambda r: r["training"].update(checkpoints=50), "training.checkpoints"),
    (lambda r: r["training"]["ei"].update(in_range=[1.0, -1.0]), "training.ei.in_range"),
    (lambda r: r["analysis"].update(kind="balance"), "analysis.kind"),
    (lambda r: r.pop("model"), "model"),
])
def test_bad_training_config_names_the_key(mutate, key):
    raw = copy.deepcopy(TINY)
    mutate(raw)
    with pytest.raises(ConfigError) as info:
        validate(raw)
    assert info.value.path == key


def test_shipped_training_experiment_validates_and_expands():
    from einet.experiment import Experiment

    quick = Experiment(REPO / "config/experiments/classifier_ei.yaml", "quick")
    assert quick.job_names() == ["dataset~iris/seed~0", "dataset~digits/seed~0"]
    assert Experiment(REPO / "config/experiments/classifier_ei.yaml").spec.training.epochs == 400
    assert Experiment(REPO / "config/experiments/balanced_ei.yaml", "quick").job_names()


# ----------------------------------------------------------------- stages
def test_cli_from_config_to_figure(tmp_path):
    exp = tmp_path / "tiny.yaml"
    exp.write_text(yaml.safe_dump(TINY, sort_keys=False))
    assert main(["-q", "expand", str(exp), "--scale", "quick", "--out", str(tmp_path / "configs")]) == 0
    analyses = []
    for seed in (0, 1):
        config = tmp_path / "configs" / f"seed~{seed}.yaml"
        nc, pt = tmp_path / "trained" / f"seed~{seed}.nc", tmp_path / "models" / f"seed~{seed}.pt"
        assert main(["-q", "train", str(config), "--out", str(nc), "--model", str(pt), "--device", "cpu"]) == 0
        analyses.append(tmp_path / "analysis" / f"seed~{seed}.nc")
        assert main(["-q", "analyze", str(nc), "--out", str(analyses[-1])]) == 0
    run = io.read_dataset(tmp_path / "trained" / "seed~1.nc")
    prov = io.read_provenance(run)
    assert prov["config_dict"]["training"]["seed"] == 1 and prov["config_dict"]["training"]["epochs"] == 4
    assert prov["device"] == "cpu" and prov["seed"] == 1 and prov["wall_time_s"] > 0
    assert prov["torch_version"] and prov["einet_version"]
    assert run.ei_parts.dims == ("epoch", "layer") and list(run.layer.values) == ["fc1", "fc2", "fc3"]
    for name in list(run.data_vars) + list(run.coords):
        assert run[name].attrs.get("long_name"), name
        assert bool(run[name].attrs.get("units")) == (run[name].dtype.kind not in "UO"), name  # none on strings
    model, payload = load_model(tmp_path / "models" / "seed~1.pt")  # weights_only: tensors and plain values
    assert payload["sizes"] == [4, 5, 5, 3] and yaml.safe_load(payload["config"])["training"]["seed"] == 1
    assert set(model.state_dict()) == set(build_mlp([4, 5, 5, 3]).state_dict())
    summary = tmp_path / "summary.nc"
    assert main(["-q", "collect", *map(str, analyses), "--out", str(summary)]) == 0
    ds = io.read_dataset(summary)
    assert ds.sensitivity_per_pair.dims == ("seed", "epoch", "layer")
    np.testing.assert_allclose(ds.sensitivity_per_pair.sel(layer="fc1"),
                               ds.sensitivity.sel(layer="fc1") / (4 * 5))
    for figure in ("causal_plane", "ei_training"):
        pdf = tmp_path / f"{figure}.pdf"
        assert main(["-q", "figure", figure, str(summary), "--pdf", str(pdf)]) == 0
        assert pdf.stat().st_size > 5_000


def test_train_refuses_a_job_without_training(tmp_path, capsys):
    from conftest import experiment

    path = tmp_path / "job.yaml"
    path.write_text(yaml.safe_dump(experiment()))
    assert main(["train", str(path), "--out", str(tmp_path / "x.nc"), "--model", str(tmp_path / "x.pt")]) == 2
    assert "training" in capsys.readouterr().err


@pytest.mark.slow
def test_snakemake_trains_analyses_and_draws(tmp_path):
    """The real Snakefile: analyze reads trained/ (not runs/) for an experiment with a training section."""
    (tmp_path / "config" / "experiments").mkdir(parents=True)
    (tmp_path / "config" / "config.yaml").write_text(yaml.safe_dump({"experiments": ["tiny"], "scale": "quick"}))
    raw = dict(copy.deepcopy(TINY), name="tiny")
    raw["sweep"] = {"grid": {"training.seed": [0]}}
    (tmp_path / "config" / "experiments" / "tiny.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "workflow" / "Snakefile"), "--directory", str(tmp_path),
           "--cores", "2"]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-4000:]
    results = tmp_path / "results"
    assert (results / "tiny/trained/seed~0.nc").is_file() and (results / "tiny/models/seed~0.pt").is_file()
    assert not (results / "tiny/runs").exists()
    for figure in ("causal_plane", "ei_training"):
        assert (results / "figures" / f"tiny-{figure}.png").stat().st_size > 10_000
