"""Kills at random (seeded) points: a rerun must end with exactly what an uninterrupted run gives.

Each test runs the real command line in a subprocess, kills it with SIGKILL (nothing can clean up)
or SIGTERM (what Snakemake and a cluster's time limit send), and reruns it. Outputs appear only
complete (atomic renames), temporary files of killed writers are removed by the next writer, and a
training resumes from its last good checkpoint to the uninterrupted numbers.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from conftest import experiment
from einet import io

ENV = dict(os.environ, OMP_NUM_THREADS="1")


def _start(*args: str, env=None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "einet", "-q", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env or ENV)


def _finish(*args: str, env=None) -> float:
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "einet", "-q", *args], capture_output=True, text=True,
                          env=env or ENV, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return time.monotonic() - started


def _kill_when(process: subprocess.Popen, ready, signum: int, timeout: float = 300.0) -> bool:
    """Send ``signum`` once ``ready()`` holds; False if the process ended first."""
    deadline = time.monotonic() + timeout
    while process.poll() is None and time.monotonic() < deadline:
        if ready():
            process.send_signal(signum)
            process.wait(timeout=60)
            return True
        time.sleep(0.0005)
    process.wait(timeout=60)
    return False


def _temporaries(directory: Path) -> list[Path]:
    return [p for p in directory.rglob(".*.tmp-*")] if directory.exists() else []


def _same_data(a: Path, b: Path) -> None:
    x, y = io.read_dataset(a), io.read_dataset(b)
    assert set(x.variables) == set(y.variables)
    for name in x.variables:
        np.testing.assert_array_equal(x[name].values, y[name].values, err_msg=name)


# ----------------------------------------------------------------- simulate
@pytest.fixture(scope="module")
def simulation(tmp_path_factory):
    """A rate job that runs for a second or two, and its uninterrupted run file."""
    tmp = tmp_path_factory.mktemp("simulate")
    raw = experiment(simulation={"dt": 0.1, "duration": 3000.0, "dtype": "float64", "device": "cpu", "seed": 4,
                                 "record": {"every": 1.0, "neurons": 50, "average_from": 1000.0}})
    raw["model"]["populations"]["E"]["size"] = 400
    raw["model"]["populations"]["I"]["size"] = 400
    raw["model"]["external"]["noise"] = {"E": 0.2, "I": 0.2}
    config = tmp / "job.yaml"
    config.write_text(yaml.safe_dump(raw, sort_keys=False))
    whole = tmp / "whole.nc"
    wall = _finish("simulate", str(config), "--out", str(whole), "--threads", "1")
    return config, whole, wall


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_simulate_job_killed_at_a_random_moment_reruns_to_the_same_numbers(simulation, seed, tmp_path):
    config, whole, wall = simulation
    out = tmp_path / "runs" / "job.nc"
    moment = random.Random(seed).uniform(0.2, wall)
    process = _start("simulate", str(config), "--out", str(out), "--threads", "1")
    started = time.monotonic()
    killed = _kill_when(process, lambda: time.monotonic() - started > moment, signal.SIGKILL)
    if killed:
        assert not out.exists() or io.read_dataset(out).sizes == io.read_dataset(whole).sizes  # never partial
    _finish("simulate", str(config), "--out", str(out), "--threads", "1")
    _same_data(whole, out)
    assert not _temporaries(out.parent)


def test_a_simulate_job_killed_while_writing_leaves_no_file_and_reruns_cleanly(simulation, tmp_path):
    """SIGKILL the moment the temporary netCDF appears: the final name never exists half-written, and the
    next writer removes the orphan."""
    config, whole, _ = simulation
    out = tmp_path / "runs" / "job.nc"
    process = _start("simulate", str(config), "--out", str(out), "--threads", "1")
    assert _kill_when(process, lambda: bool(_temporaries(tmp_path)), signal.SIGKILL)
    assert not out.exists() and len(_temporaries(tmp_path)) == 1
    _finish("simulate", str(config), "--out", str(out), "--threads", "1")
    _same_data(whole, out)
    assert not _temporaries(tmp_path)


def test_sigterm_while_writing_removes_the_temporary_file_itself(simulation, tmp_path):
    config, _, _ = simulation
    out = tmp_path / "runs" / "job.nc"
    process = _start("--log", str(tmp_path / "job.log"), "simulate", str(config), "--out", str(out))
    assert _kill_when(process, lambda: bool(_temporaries(tmp_path)), signal.SIGTERM)
    assert process.returncode == 130
    assert process.stderr.read().strip().endswith("interrupted; nothing was written under the output names")
    assert not out.exists() and not _temporaries(tmp_path)


# ----------------------------------------------------------------- train
@pytest.fixture(scope="module")
def training(tmp_path_factory):
    """A layered network trained for 40 epochs with a checkpoint after each, and its uninterrupted result."""
    from test_learning_pipeline import experiment as training_experiment

    tmp = tmp_path_factory.mktemp("train")
    config = tmp / "job.yaml"
    raw = training_experiment(epochs=40, checkpoint_every=1, schedule={"kind": "step", "step_epochs": 10,
                                                                       "gamma": 0.5})
    config.write_text(yaml.safe_dump(raw, sort_keys=False))
    whole = tmp / "whole.nc"
    wall = _finish("train", str(config), "--out", str(whole), "--model", str(tmp / "whole.pt"), "--threads", "1")
    return config, whole, wall


def _train_args(config: Path, tmp: Path) -> list[str]:
    return ["train", str(config), "--out", str(tmp / "trained" / "job.nc"), "--model",
            str(tmp / "models" / "job.pt"), "--threads", "1"]


@pytest.mark.parametrize("seed", [0, 1])
def test_a_training_killed_at_a_random_moment_resumes_to_the_same_numbers(training, seed, tmp_path):
    config, whole, wall = training
    moment = random.Random(seed).uniform(0.5 * wall, wall)  # past the imports: within the epochs
    process = _start(*_train_args(config, tmp_path))
    started = time.monotonic()
    _kill_when(process, lambda: time.monotonic() - started > moment, signal.SIGKILL)
    _finish(*_train_args(config, tmp_path))
    _same_data(whole, tmp_path / "trained" / "job.nc")
    assert not _temporaries(tmp_path) and not (tmp_path / "models" / "job.ckpt").exists()


def test_a_training_killed_while_writing_a_checkpoint_resumes_from_the_previous_one(training, tmp_path):
    config, whole, _ = training
    ckpt = tmp_path / "models" / "job.ckpt"
    process = _start(*_train_args(config, tmp_path))
    models = tmp_path / "models"

    def writing_a_later_checkpoint() -> bool:  # the last good one moved to .prev, the next being written
        names = os.listdir(models) if models.exists() else []
        return "job.ckpt.prev" in names and any(n.startswith(".job.ckpt.tmp-") for n in names)

    assert _kill_when(process, writing_a_later_checkpoint, signal.SIGKILL)
    assert ckpt.with_name("job.ckpt.prev").exists() and _temporaries(tmp_path / "models")
    _finish(*_train_args(config, tmp_path))
    _same_data(whole, tmp_path / "trained" / "job.nc")
    assert not _temporaries(tmp_path) and not ckpt.exists()


# ----------------------------------------------------------------- kernel build
#: A seeded sparse-pattern product through the compiled kernel, printed as the sha256 of its bytes.
PRODUCT = """
import hashlib, sys, torch
from einet import kernels
kernel = kernels.load("pattern_mm")
if kernel is None:
    sys.exit(3)
g = torch.Generator().manual_seed(0)
m = (torch.rand(50, 80, generator=g) < 0.2).double().to_sparse_csr()
x = torch.rand(3, 80, generator=g, dtype=torch.float64)
w = torch.rand(3, generator=g, dtype=torch.float64)
seg_crow, local = kernel.segment_pattern(m.crow_indices().int(), m.col_indices().int(), 80, 32)
print(hashlib.sha256(kernel.segmented_mm(seg_crow, local, x, w, 32).numpy().tobytes()).hexdigest())
"""

def test_a_kernel_build_killed_at_a_random_moment_never_blocks_the_next_process(tmp_path):
    """A fresh build directory, a build killed part-way (seeded moment), then a process that must load the
    kernel (rebuilding it) within the bounded wait, leaving no lock behind, and whose kernel computes the
    same bytes as the one built without interruption. (That it computes what plain torch computes is
    tests/test_kernels.py's job.)"""
    from einet import kernels

    if kernels.load("pattern_mm") is None:
        pytest.skip("no C++ compiler here: the compiled kernels are optional")
    env = dict(ENV, EINET_KERNEL_CACHE=str(tmp_path / "extensions"))
    code = PRODUCT
    builder = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    moment = random.Random(7).uniform(3.0, 12.0)  # after the imports, while ninja compiles
    started = time.monotonic()
    _kill_when(builder, lambda: time.monotonic() - started > moment, signal.SIGKILL)
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    assert time.monotonic() - started < kernels.BUILD_WAIT_S
    assert not list((tmp_path / "extensions").rglob("lock")) and not list((tmp_path / "extensions").glob(".*"))
    uninterrupted = subprocess.run([sys.executable, "-c", PRODUCT], env=ENV, capture_output=True, text=True,
                                   timeout=900)
    assert done.stdout.split() == uninterrupted.stdout.split() and len(done.stdout.split()) == 1
