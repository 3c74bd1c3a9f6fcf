"""Layered networks in the pipeline: MNIST IDX files, config errors, exact resume, files, CLI end to end."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from einet import io, stages
from einet.cli import main
from einet.experiment import Experiment, validate
from einet.datasets import MNIST_FILES, load, read_idx, write_idx
from einet.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]


def network(hidden_rule="backprop") -> dict:
    """Input 64 -> H (E 16 exc, I 4 inh, recurrent) -> Output 10, the hidden rule given."""
    return {
        "layers": {
            "Input": {"populations": {"E": {"size": 64}}},
            "H": {"populations": {"E": {"size": 16, "type": "exc"}, "I": {"size": 4, "type": "inh"}},
                  "learning_rule": hidden_rule},
            "Output": {"populations": {"E": {"size": 10, "activation": "linear"}}},
        },
        "projections": [{"source": "Input.E", "target": "H.E"}, {"source": "Input.E", "target": "H.I"},
                        {"source": "H.E", "target": "H.I"}, {"source": "H.I", "target": "H.E"},
                        {"source": "H.E", "target": "Output.E"}],
        "learning_rule": {"name": "backprop", "options": {"learning_rate": 0.01}},
        "dynamics": {"forward_steps": 2},
    }


def experiment(**training) -> dict:
    return {"name": "tiny_rules", "model": None, "analysis": {"kind": "learning"},
            "training": {"kind": "network", "dataset": "digits", "network": network(), "epochs": 2, "batch_size": 64,
                         "device": "cpu", **training}}


# ----------------------------------------------------------------- IDX files
@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32", "float32", "float64"])
def test_idx_round_trip(tmp_path, dtype):
    data = (np.arange(2 * 3 * 5) - 7).reshape(2, 3, 5).astype(dtype)
    if dtype == "uint8":
        data = np.arange(30, dtype=np.uint8).reshape(2, 3, 5) * 8
    back = read_idx(write_idx(data, tmp_path / "a.idx"))
    assert back.dtype == data.dtype and back.shape == data.shape
    np.testing.assert_array_equal(back, data)
    (tmp_path / "a.idx.gz").write_bytes(gzip.compress((tmp_path / "a.idx").read_bytes()))
    np.testing.assert_array_equal(read_idx(tmp_path / "a.idx.gz"), data)


def test_idx_header_is_the_mnist_layout_and_bad_files_are_refused(tmp_path):
    path = write_idx(np.zeros((2, 28, 28), np.uint8), tmp_path / "x")
    raw = path.read_bytes()
    assert raw[:4] == bytes([0, 0, 0x08, 3]) and raw[4:16] == bytes([0, 0, 0, 2, 0, 0, 0, 28, 0, 0, 0, 28])
    assert len(raw) == 16 + 2 * 28 * 28
    path.write_bytes(raw[:-1])
    with pytest.raises(ValueError, match="bytes, expected"):
        read_idx(path)
    path.write_bytes(b"PK\x03\x04junk")
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(path)


@pytest.mark.parametrize("change, words", [
    (lambda p: p.update(y_train=(np.arange(30) % 10 + 191).astype(np.uint8)),
     r"train-labels-idx1-ubyte: label 191 \(30 in all\), expected digits 0-9"),
    (lambda p: p.update(y_train=np.arange(29, dtype=np.uint8) % 10), r"29 labels for 30 images"),
    (lambda p: p.update(x_test=np.zeros((10, 28, 27), np.uint8)), r"t10k-images-idx3-ubyte: images of shape \(28, 27\)"),
])
def test_mnist_files_that_do_not_fit_together_are_refused_naming_the_file(tmp_path, change, words):
    """Labels out of range used to train a 201-class model; a missing label failed deep in torch."""
    parts = {"x_train": np.zeros((30, 28, 28), np.uint8), "y_train": np.arange(30, dtype=np.uint8) % 10,
             "x_test": np.zeros((10, 28, 28), np.uint8), "y_test": np.arange(10, dtype=np.uint8)}
    change(parts)
    for key, stem in MNIST_FILES.items():
        write_idx(parts[key], tmp_path / stem)
    with pytest.raises(ValueError, match=words):
        load("mnist", mnist_path=tmp_path)


def test_mnist_loads_from_a_directory_of_idx_files(tmp_path):
    rng = np.random.default_rng(0)
    parts = {"x_train": rng.integers(0, 256, (30, 28, 28), dtype=np.uint8),
             "y_train": np.arange(30, dtype=np.uint8) % 10,
             "x_test": rng.integers(0, 256, (10, 28, 28), dtype=np.uint8), "y_test": np.arange(10, dtype=np.uint8)}
    for key, stem in MNIST_FILES.items():
        write_idx(parts[key], tmp_path / stem)
    split = load("mnist", mnist_path=tmp_path)
    assert split.features == 784 and split.classes == 10
    assert split.x_train.shape == (30, 784) and split.x_test.shape == (10, 784)
    assert torch.equal(split.y_test, torch.arange(10))
    x = parts["x_test"].reshape(10, -1) / 255.0
    mean, std = (parts["x_train"].reshape(30, -1) / 255.0).mean(0), (parts["x_train"].reshape(30, -1) / 255.0).std(0)
    np.testing.assert_allclose(split.x_test.numpy(), (x - mean) / np.where(std == 0, 1, std), rtol=1e-5, atol=1e-5)
    raw = experiment(dataset="mnist", mnist_path=str(tmp_path))
    raw["training"]["network"]["layers"]["Input"]["populations"]["E"]["size"] = 784
    assert validate(raw).training.dataset == "mnist"


# ----------------------------------------------------------------- config
@pytest.mark.parametrize("mutate, key", [
    (lambda t: t.update(dataset="mnist"), "training.dataset"),
    (lambda t: t.update(mnist_path="/nonexistent/mnist"), "training.mnist_path"),
    (lambda t: t["network"]["layers"]["Output"]["populations"]["E"].update(size=7),
     "training.network.layers.Output.populations.E.size"),
    (lambda t: t.update(loss="bce"), "training.loss"),
    (lambda t: t.update(schedule={"kind": "linear"}), "training.schedule.kind"),
    (lambda t: t.update(schedule={"kind": "step", "gamma": 1.5}), "training.schedule.gamma"),
    (lambda t: t.update(checkpoint_every=-1), "training.checkpoint_every"),
    (lambda t: t.update(checkpoint_every=3), "training.checkpoint_every"),
    (lambda t: t["network"].update(learning_rule={"name": "bogus"}), "training.network.learning_rule.name"),
    (lambda t: t["network"]["layers"]["H"].update(learning_rule={"name": "bcm", "options": {"tau_theta": 0}}),
     "training.network.layers.H.learning_rule.options.tau_theta"),
    (lambda t: t.update(dale="yes"), "training.dale"),
])
def test_bad_network_training_config_names_the_key(mutate, key):
    raw = experiment()
    mutate(raw["training"])
    with pytest.raises(ConfigError) as info:
        validate(raw)
    assert info.value.path == key


def test_analysis_kind_follows_the_model_and_the_mlp_keeps_its_checks():
    raw = experiment()
    raw["analysis"]["kind"] = "information"
    with pytest.raises(ConfigError, match="learning"):
        validate(raw)
    mlp = {"name": "m", "model": None, "analysis": {"kind": "information"},
           "training": {"kind": "classifier", "dataset": "iris", "loss": "cross_entropy"}}
    with pytest.raises(ConfigError) as info:
        validate(mlp)
    assert info.value.path == "training.loss"


def test_labelled_grid_values_set_sections_and_name_jobs(tmp_path):
    raw = experiment()
    raw["sweep"] = {"grid": {"rule": {"path": "training.network.layers.H.learning_rule",
                                      "values": {"bp": "backprop", "slow_oja": {"name": "oja", "options":
                                                                                {"learning_rate": 1e-4}}}}}}
    path = tmp_path / "e.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    exp = Experiment(path)
    assert exp.job_names() == ["rule~bp", "rule~slow_oja"]
    job = exp.job_config("rule~slow_oja")
    assert job["job"]["grid"] == {"rule": "slow_oja"}
    assert job["training"]["network"]["layers"]["H"]["learning_rule"] == {"name": "oja",
                                                                          "options": {"learning_rate": 1e-4}}
    raw["sweep"]["grid"]["rule"]["values"]["bad"] = {"name": "bogus"}
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    with pytest.raises(ConfigError) as info:
        Experiment(path)
    assert info.value.path == "training.network.layers.H.learning_rule.name"


def test_dale_false_trains_the_same_network_without_signs():
    from einet.network.layered import LayeredNetwork

    on, off = validate(experiment()).training, validate(experiment(dale=False)).training
    assert LayeredNetwork(on.network_spec()).signs == [0, 0, 1, -1, 1]  # the input population is mixed
    assert LayeredNetwork(off.network_spec()).signs == [0, 0, 0, 0, 0]


# ----------------------------------------------------------------- checkpoints
def _job(tmp_path, name, **training) -> Path:
    raw = experiment(**training)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def test_a_killed_run_resumes_to_the_uninterrupted_result(tmp_path, monkeypatch):
    """BCM (state buffers) + Hebbian + Adam with a step schedule: 6 epochs straight == 3, crash, resume."""
    from einet.training import supervised
    from einet.training.checkpoint import load_network

    settings = dict(epochs=6, checkpoint_every=1, schedule={"kind": "step", "step_epochs": 2, "gamma": 0.5})
    net = network({"name": "bcm", "options": {"learning_rate": 1e-4, "tau_theta": 2.0}})
    net["layers"]["H"]["populations"]["I"]["learning_rule"] = {"name": "hebbian", "options": {"learning_rate": 0.01}}
    config = _job(tmp_path, "job", network=net, **settings)
    whole_nc, whole_pt = stages.train(config, tmp_path / "whole.nc", tmp_path / "whole.pt", progress=False)

    real, calls = supervised._run_epoch, []

    def crash_in_epoch_4(*args, **kwargs):
        calls.append(1)
        if len(calls) == 4:
            raise KeyboardInterrupt("killed")
        return real(*args, **kwargs)

    monkeypatch.setattr(supervised, "_run_epoch", crash_in_epoch_4)
    nc, pt = tmp_path / "part.nc", tmp_path / "part.pt"
    with pytest.raises(KeyboardInterrupt):
        stages.train(config, nc, pt, progress=False)
    ckpt = pt.with_suffix(".ckpt")
    assert not nc.exists() and not pt.exists() and ckpt.is_file()
    saved = torch.load(ckpt, weights_only=True)
    assert saved["epoch"] == 3 and "rule_state_0" in saved["network"] and len(saved["rows"]["test_loss"]) == 4

    calls.clear()
    stages.train(config, nc, pt, progress=False)
    assert len(calls) == 3, "the resumed run should train epochs 4-6 only"
    assert not ckpt.exists()
    a, b = io.read_dataset(whole_nc), io.read_dataset(nc)
    for name in a.data_vars:
        np.testing.assert_array_equal(a[name].values, b[name].values, err_msg=name)
    (net_a, _), (net_b, payload) = load_network(whole_pt), load_network(pt)
    state_a, state_b = net_a.state_dict(), net_b.state_dict()
    assert set(state_a) == set(state_b) and any(k.startswith("rule_state_") for k in state_a)
    for key in state_a:
        assert torch.equal(state_a[key], state_b[key]), key
    assert yaml.safe_load(payload["config"])["training"]["epochs"] == 6


def test_a_checkpoint_of_another_config_is_ignored(tmp_path):
    config = _job(tmp_path, "job", epochs=2, checkpoint_every=1)
    other = _job(tmp_path, "other", epochs=2, checkpoint_every=1, seed=1)
    stages.train(config, tmp_path / "a.nc", tmp_path / "a.pt", progress=False)
    ckpt = tmp_path / "b.ckpt"
    from einet.training.checkpoint import save_atomic

    save_atomic({"tag": "not this config", "epoch": 2}, ckpt)
    stages.train(other, tmp_path / "b.nc", tmp_path / "b.pt", progress=False)
    assert io.read_dataset(tmp_path / "b.nc").sizes["epoch"] == 3 and not ckpt.exists()


# ----------------------------------------------------------------- the pipeline
def test_learning_rules_experiment_from_config_to_figures(tmp_path):
    """The shipped experiment, shrunk (two rules x Dale, two epochs), through the command line."""
    from conftest import draw_through_cli

    raw = yaml.safe_load((REPO / "config/experiments/learning_rules.yaml").read_text())
    values = raw["sweep"]["grid"]["rule"]["values"]
    raw["sweep"]["grid"]["rule"]["values"] = {k: values[k] for k in ("backprop", "oja")}
    raw["sweep"]["grid"]["training.seed"] = [0]
    raw["scales"] = {"test": {"training": {"epochs": 2, "checkpoint_every": 1, "network": {"layers": {
        "H": {"populations": {"E": {"size": 16}, "I": {"size": 4}}}}}}}}
    exp = tmp_path / "learning_rules.yaml"
    exp.write_text(yaml.safe_dump(raw, sort_keys=False))
    assert main(["-q", "expand", str(exp), "--scale", "test", "--out", str(tmp_path / "configs")]) == 0
    jobs = Experiment(exp, "test").job_names()
    assert jobs == ["rule~backprop/dale~True/seed~0", "rule~backprop/dale~False/seed~0",
                    "rule~oja/dale~True/seed~0", "rule~oja/dale~False/seed~0"]
    analyses = []
    for job in jobs:
        nc, pt = tmp_path / "trained" / f"{job}.nc", tmp_path / "models" / f"{job}.pt"
        assert main(["-q", "train", str(tmp_path / "configs" / f"{job}.yaml"), "--out", str(nc), "--model", str(pt),
                     "--device", "cpu"]) == 0
        analyses.append(str(tmp_path / "analysis" / f"{job}.nc"))
        assert main(["-q", "analyze", str(nc), "--out", analyses[-1]]) == 0
    run = io.read_dataset(tmp_path / "trained" / f"{jobs[0]}.nc")
    for name in list(run.data_vars) + list(run.coords):
        assert run[name].attrs.get("long_name"), name
        assert bool(run[name].attrs.get("units")) == (run[name].dtype.kind not in "UO"), name  # none on strings
    assert run.weight_std.dims == ("epoch", "projection") and run.receptive_field.dims == ("unit", "feature")
    assert int(run.sign_violations.sum()) == 0
    payload = torch.load(tmp_path / "models" / f"{jobs[0]}.pt", weights_only=True)
    assert payload["kind"] == "layered" and "Input" in yaml.safe_load(payload["spec"])["layers"]
    summary = tmp_path / "summary.nc"
    assert main(["-q", "collect", *analyses, "--out", str(summary)]) == 0
    ds = io.read_dataset(summary)
    assert ds.final_test_accuracy.dims == ("rule", "dale", "seed")
    assert float(ds.final_test_accuracy.sel(rule="backprop", dale=True).squeeze()) > 0.5  # chance: 0.1
    for figure in raw["figures"]:
        draw_through_cli(figure, summary, tmp_path)
