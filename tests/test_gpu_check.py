"""The GPU check script runs (shrunk, on the CPU) as it must on the device machine: every section
completes, the figures land in one JSON and one table, and two CPU runs of the same config and seed
agree to the last bit (the parity check's own baseline)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_gpu_check_runs_shrunk_on_the_cpu(tmp_path):
    done = subprocess.run(["bash", str(ROOT / "benchmarks" / "gpu_check.sh"), "--device", "cpu",
                           "--experiments", "balanced", "cuba"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env={**__import__("os").environ, "OUT": str(tmp_path), "PYTHON": sys.executable})
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    results = json.loads((tmp_path / "gpu_check.json").read_text())
    for name in ("gpu_tests", "parity", "sparse", "odr", "cuba", "information", "training", "host_reads"):
        assert "error" not in results[name], (name, results[name])
    for experiment in ("balanced", "cuba"):
        parity = results["parity"][experiment]
        assert parity["variables"], experiment
        assert all(v["max_abs"] == 0.0 for v in parity["variables"].values()), parity  # same device, same bits
    assert results["sparse"]["4000"]["batch_1_ms"] > 0
    assert results["odr"]["ratio"] > 0 and results["cuba"]["ratio"] > 0
    assert results["host_reads"]["rate_400_steps"] > 0  # the CPU path reads back per step: counted, not hidden
    assert "| parity balanced |" in (tmp_path / "gpu_check.md").read_text()
