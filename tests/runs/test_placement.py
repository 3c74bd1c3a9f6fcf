"""Where jobs run: a GPU only for the jobs that gain from one, memory from the network's own estimate,
and what the workflow's rules ask a scheduler for (a real Snakemake dry run)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from einet.experiment import Experiment
from einet.network import memory
from einet.network.presets import balanced_ei
from einet.runs import placement

REPO = Path(__file__).resolve().parents[2]


def spec_of(path: str, scale: str = "quick"):
    exp = Experiment(REPO / "config" / "experiments" / f"{path}.yaml", scale)
    return exp.job_spec(exp.job_names()[0])


def wide(n: int, batch: int, device: str = "auto") -> dict:
    return {"name": "wide", "model": balanced_ei(n, n, 10),
            "simulation": {"dt": 0.5, "duration": 5.0, "device": device,
                           "record": {"every": 1.0, "neurons": 2, "average_from": 2.0}},
            "sweep": {"batch": {"model.external.M0": [1.0 + 0.1 * i for i in range(batch)]}}}


def wide_spec(tmp_path, n, batch, device="auto"):
    path = tmp_path / f"wide_{n}_{batch}_{device}.yaml"
    path.write_text(yaml.safe_dump(wide(n, batch, device)))
    exp = Experiment(path)
    return exp.job_spec(exp.job_names()[0])


@pytest.mark.parametrize("name", ["reservoir", "classifier_ei", "stdp", "learning_rules"])
def test_kinds_that_run_no_network_on_the_device_never_ask_for_a_gpu(name):
    assert not placement.wants_gpu(spec_of(name, "paper"))


def test_a_gpu_is_asked_for_from_the_state_size_on_and_never_for_a_cpu_device(tmp_path):
    # 2 x 10,000 neurons x 10 parameter sets = 200,000 states: at the threshold; x 9 is below it
    assert placement.GPU_MIN_STATE == 200_000
    assert placement.wants_gpu(wide_spec(tmp_path, 10_000, 10))
    assert not placement.wants_gpu(wide_spec(tmp_path, 10_000, 9))
    assert not placement.wants_gpu(wide_spec(tmp_path, 10_000, 10, device="cpu"))
    assert placement.batch_count(wide_spec(tmp_path, 100, 7)) == 7


def test_requested_memory_follows_the_networks_estimate(tmp_path):
    spec = wide_spec(tmp_path, 10_000, 4)
    need = memory.estimate(spec.model, 4, torch.float32)
    expected = placement.BASE_MEMORY_MB + 1.5 * sum(need.values()) / 1e6
    assert placement.memory_mb(spec) == pytest.approx(expected, abs=1)
    assert placement.memory_mb(wide_spec(tmp_path, 10_000, 40)) > placement.memory_mb(spec)


def dry_run(work: Path, *args: str) -> str:
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "workflow" / "Snakefile"), "--directory", str(work),
           "--cores", "2", "-n", "--workflow-profile", "none", *args]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout + done.stderr


def job_resources(text: str, rule: str) -> list[dict[str, str]]:
    """The `resources:` line of each job of ``rule`` in a dry run's listing."""
    blocks = re.split(r"\n(?=(?:local)?rule \w+:)", text)
    found = []
    for block in blocks:
        if re.match(rf"(?:local)?rule {rule}:", block.strip()):
            line = re.search(r"resources: (.*)", block).group(1)
            found.append(dict(part.split("=", 1) for part in line.split(", ")))
    return found


@pytest.mark.slow
def test_the_rules_ask_for_a_gpu_only_where_allowed_and_keep_their_memory_under_an_override(tmp_path):
    (tmp_path / "config" / "experiments").mkdir(parents=True)
    (tmp_path / "config" / "config.yaml").write_text(yaml.safe_dump({"experiments": ["wide"], "scale": None}))
    (tmp_path / "config" / "experiments" / "wide.yaml").write_text(
        yaml.safe_dump({**wide(10_000, 10), "figures": ["rates_vs_K"]}))
    # the dry run needs the job configs on disk for the resources to be evaluated from them
    expand = [sys.executable, "-m", "einet", "expand", str(tmp_path / "config/experiments/wide.yaml"),
              "--out", str(tmp_path / "results/wide/configs")]
    subprocess.run(expand, check=True, capture_output=True, cwd=tmp_path)

    forced = job_resources(dry_run(tmp_path, "--config", "gpus=1"), "simulate")
    never = job_resources(dry_run(tmp_path, "--config", "gpus=0"), "simulate")
    assert [r["gpu"] for r in forced] == ["1"] and [r["gpu"] for r in never] == ["0"]
    estimate = max(4000, placement.memory_mb(Experiment(tmp_path / "config/experiments/wide.yaml").job_spec("default")))
    assert forced[0]["mem_mb"] == str(estimate)
    # a command-line override of one resource keeps the rule's others
    override = job_resources(dry_run(tmp_path, "--config", "gpus=1", "--set-resources", "simulate:runtime=600"),
                             "simulate")[0]
    assert override["runtime"] == "600" and override["gpu"] == "1" and override["mem_mb"] == str(estimate)
    assert override["slurm_extra"] == "--nice=100"
