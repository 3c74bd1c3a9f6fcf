"""The public API: every name einet lists in ``__all__`` imports, from einet and from the documented
subpackages, and ``import einet`` alone loads none of the heavy modules."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import einet

SUBPACKAGES = ["einet.measures", "einet.neurons", "einet.plasticity", "einet.tasks", "einet.runs"]


@pytest.mark.parametrize("name", einet.__all__)
def test_every_listed_name_imports_from_einet(name):
    value = getattr(einet, name)
    assert value is not None
    exec(f"from einet import {name}", {})


@pytest.mark.parametrize("package", SUBPACKAGES)
def test_every_name_a_documented_subpackage_lists_imports(package):
    module = importlib.import_module(package)
    assert module.__all__, package
    for name in module.__all__:
        assert getattr(module, name) is not None, f"{package}.{name}"


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'simulat'"):
        einet.simulat  # noqa: B018


def test_import_einet_alone_does_not_load_torch():
    code = "import sys, einet; print('torch' in sys.modules, 'einet.runs' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_the_readme_example_runs_as_written(tmp_path):
    """The README's library example, on the balanced experiment's smallest job (shortened)."""
    exp = einet.Experiment("config/experiments/balanced.yaml", scale="quick")
    raw = exp.job_config(exp.job_names()[0])
    raw["simulation"].update(duration=20.0, device="cpu")
    raw["simulation"]["record"]["average_from"] = 10.0
    spec = einet.validate(raw)
    run = einet.simulate(spec, progress=False)
    summary = einet.analyze(run, spec)
    assert "rate" in summary.data_vars or len(summary.data_vars) > 0
    assert set(run.population.values) == set(spec.model.populations)


def test_the_readme_training_example_runs_as_written():
    """The README's spiking-network lines, on two frozen Poisson patterns labelled over the last 30 steps."""
    import torch

    g = torch.Generator().manual_seed(0)
    patterns = (torch.rand(2, 50, 20, generator=g) < 0.05).float()
    inputs = patterns.repeat(3, 1, 1)  # trials 0, 2, 4: pattern 0; 1, 3, 5: pattern 1
    labels = torch.tensor([0, 1] * 3).unsqueeze(1).repeat(1, 50)
    labels[:, :20] = -1
    net = einet.RSNN(n_in=20, n_rec=50, n_out=2, n_exc=40)  # Dale's law: 40 E, 10 I neurons
    objective = einet.SequenceObjective(inputs, labels, loss="cross_entropy", gradients="eprop")
    history = einet.fit_bptt(net, objective, iterations=50, optimizer="adamw", learning_rate=0.02)
    assert history.sign_violations == [0] * 50 and net.sign_violations() == 0
    assert history.final_cross_entropy < 0.5 * history.cross_entropy[0]
    assert history.final_accuracy == 1.0
