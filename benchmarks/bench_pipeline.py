"""Wall time of the default pipeline (`snakemake --cores 2`) from scratch, with per-rule totals.

Runs the repository's Snakefile and config in a fresh temporary directory (so
existing results are untouched) and reads the rules' benchmark files.
Target: under 5 minutes on a 2-core machine.

Run: python benchmarks/bench_pipeline.py [--cores 2] [--empty-kernel-cache] [--target FILE]
(--empty-kernel-cache: the pipeline's onstart handler builds every kernel into a fresh cache, as on a
new machine.)
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--empty-kernel-cache", action="store_true",
                        help="point EINET_KERNEL_CACHE at a fresh temporary directory: every kernel is built")
    parser.add_argument("--target", default="all", help="what to make (default: all)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        shutil.copytree(REPO / "config", work / "config")
        env = dict(os.environ)
        if args.empty_kernel_cache:
            env["EINET_KERNEL_CACHE"] = str(work / "kernel-cache")
        start = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-m", "snakemake", "-s", str(REPO / "workflow" / "Snakefile"), "--directory", str(work),
             "--cores", str(args.cores), args.target, "--quiet", "all"],  # --quiet takes values: keep it last
            capture_output=True, text=True, env=env,
        )
        wall = time.perf_counter() - start
        if result.returncode != 0:
            sys.exit(result.stdout[-3000:] + result.stderr[-3000:])
        per_rule: dict[str, list[float]] = defaultdict(list)
        for tsv in (work / "results").glob("*/benchmarks/**/*.tsv"):
            rule = tsv.relative_to(work / "results").parts[2].removesuffix(".tsv")
            with tsv.open() as fh:
                per_rule[rule].append(float(next(csv.DictReader(fh, delimiter="\t"))["s"]))
        marker = work / "results" / "kernels.txt"
        kernels = marker.read_text().splitlines() if marker.is_file() else ["(not run)"]
    print(f"snakemake --cores {args.cores} {args.target}: {wall:.0f} s wall ({wall / 60:.1f} min; target < 5 min)")
    print("  kernels (built before the first job, results/kernels.txt):", *kernels, sep="\n    ")
    for rule, seconds in sorted(per_rule.items(), key=lambda kv: -sum(kv[1])):
        print(f"  {rule:10s} {len(seconds):3d} jobs, {sum(seconds):7.1f} s in total, {max(seconds):6.1f} s max")


if __name__ == "__main__":
    main()
