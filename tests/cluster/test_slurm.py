"""The pipeline on a real SLURM cluster through the shipped profile (``--workflow-profile profiles/slurm``).

``tests/cluster/slurm.sh up --gpus 1`` (a node with a fake GPU) and ``up --gpus 0`` (a CPU-only node)
stand the cluster up; `.ci/run` does both around this file. Each test runs a shrunk pipeline, a rate
network wide enough that its simulations ask for a GPU, through ``--executor slurm`` and checks every
output, every job's log, and what SLURM's accounting says each job was given.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import xarray as xr
import yaml

from einet.network.presets import balanced_ei

REPO = Path(__file__).resolve().parents[2]
SLURM_SH = REPO / "tests" / "cluster" / "slurm.sh"

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

#: 20,000 neurons x 10 parameter sets: above einet.runs.placement.GPU_MIN_STATE, so the simulations
#: ask for a GPU where the cluster has one; 20 steps keep each job to seconds.
WIDE = {
    "name": "wide",
    "description": "a wide, short balanced network: the cluster test's GPU-worthy job",
    "model": balanced_ei(10000, 10000, 10),
    "simulation": {"dt": 0.5, "duration": 10.0, "device": "auto", "threads": 1,
                   "record": {"every": 1.0, "neurons": 3, "average_from": 5.0}},
    "figures": ["rates_vs_K"],
    "sweep": {"grid": {"model.K": [10, 12]},
              "batch": {"model.external.M0": [1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8, 1.9]}},
}


def slurm_reachable() -> str | None:
    """None when a SLURM controller answers and a node is up, else why not."""
    if shutil.which("sinfo") is None:
        return "no SLURM client (sinfo) on PATH: run tests/cluster/slurm.sh install && tests/cluster/slurm.sh up"
    ping = subprocess.run(["scontrol", "ping"], capture_output=True, text=True)
    if ping.returncode != 0 or "UP" not in ping.stdout:
        return f"no SLURM controller answers ({ping.stdout.strip() or ping.stderr.strip()}): run tests/cluster/slurm.sh up"
    state = subprocess.run(["sinfo", "-h", "-N", "-o", "%t"], capture_output=True, text=True).stdout.split()
    if not any(s.rstrip("*") in ("idle", "mix", "alloc") for s in state):
        return f"no SLURM node is up (states {state})"
    return None


def cluster_gpus() -> int:
    gres = subprocess.run(["sinfo", "-h", "-o", "%G"], capture_output=True, text=True).stdout
    return sum(int(part.split(":")[-1]) for part in gres.split() if part.startswith("gpu"))


@pytest.fixture(scope="module")
def cluster():
    why = slurm_reachable()
    if why:
        pytest.skip(why)
    return {"gpus": cluster_gpus()}


def run_pipeline(work: Path) -> subprocess.CompletedProcess:
    (work / "config" / "experiments").mkdir(parents=True)
    (work / "config" / "config.yaml").write_text(yaml.safe_dump({"experiments": ["wide"], "scale": None}))
    (work / "config" / "experiments" / "wide.yaml").write_text(yaml.safe_dump(WIDE, sort_keys=False))
    # the profile as shipped, from the repository; only polling is made quick for a test
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "workflow" / "Snakefile"), "--directory", str(work),
           "--workflow-profile", str(REPO / "profiles" / "slurm"), "--slurm-no-account",
           "--slurm-init-seconds-before-status-checks", "2", "--seconds-between-status-checks", "2",
           "--slurm-keep-successful-logs", "--latency-wait", "5", "--retries", "0"]
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    return subprocess.run(cmd, capture_output=True, text=True, timeout=420, env=env)


def accounting(since: float) -> list[dict[str, str]]:
    """Every job (not step) this test's user ran since ``since``, as sacct reports it."""
    start = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(since - 5))
    for _ in range(20):  # accounting lags a job's end by a moment
        out = subprocess.run(["sacct", "-X", "-n", "-P", "-S", start, "-o", "JobID,State,AllocTRES,Comment"],
                             capture_output=True, text=True, check=True).stdout
        rows = [dict(zip(("id", "state", "tres", "comment"), line.split("|"))) for line in out.splitlines() if line]
        if rows and all(r["state"] not in ("RUNNING", "PENDING") for r in rows):
            return rows
        time.sleep(1)
    return rows


def test_pipeline_through_slurm(cluster, tmp_path):
    started = time.time()
    result = run_pipeline(tmp_path)
    assert result.returncode == 0, result.stderr[-6000:]
    results = tmp_path / "results" / "wide"
    jobs = ["K~10", "K~12"]
    for job in jobs:
        for stage in ("runs", "analysis"):
            with xr.open_dataset(results / stage / f"{job}.nc") as ds:
                assert ds.sizes["M0"] == 10
        for rule in ("simulate", "analyze"):
            log = (results / "logs" / rule / f"{job}.log").read_text()
            assert log.strip() and "Traceback" not in log, f"{rule} {job}: {log[-2000:]}"
    with xr.open_dataset(results / "summary.nc") as summary:
        assert summary.sizes["K"] == 2
    assert (tmp_path / "results" / "figures" / "wide-rates_vs_K.png").stat().st_size > 10_000

    rows = accounting(started)
    by_rule: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        rule = next((r for r in ("simulate", "analyze", "collect", "figure", "expand") if r in row["comment"]), "?")
        by_rule.setdefault(rule, []).append(row)
    assert all(r["state"] == "COMPLETED" for r in rows), rows
    # simulations are SLURM jobs; the two analyses run as one grouped job; collect, figure and expand run locally
    assert len(by_rule.get("simulate", [])) == 2, rows
    assert len(by_rule.get("analyze", [])) == 1, rows
    assert not by_rule.keys() & {"collect", "figure", "expand", "?"}, rows
    gpu_jobs = [r for r in by_rule["simulate"] if "gres/gpu" in r["tres"]]
    # a GPU for each wide simulation where the node has one, none (and no rejected submission) where it has none
    assert len(gpu_jobs) == (2 if cluster["gpus"] else 0), rows
    assert not any("gres/gpu" in r["tres"] for r in by_rule["analyze"]), rows
    # every SLURM job's own log was kept and shows the job's success
    slurm_logs = list((tmp_path / ".snakemake" / "slurm_logs").rglob("*.log"))
    assert len(slurm_logs) >= 3, slurm_logs
