"""Wall time of the default pipeline (`snakemake --cores 2`) from scratch, with per-rule totals.

Runs the repository's Snakefile and config in a fresh temporary directory (so
existing results are untouched) and reads the rules' benchmark files.
Target: under 5 minutes on a 2-core machine.

Run: python benchmarks/bench_pipeline.py [--cores 2]
"""

from __future__ import annotations

import argparse
import csv
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
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        shutil.copytree(REPO / "config", work / "config")
        start = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-m", "snakemake", "-s", str(REPO / "workflow" / "Snakefile"), "--directory", str(work),
             "--cores", str(args.cores), "--quiet", "all"],
            capture_output=True, text=True,
        )
        wall = time.perf_counter() - start
        if result.returncode != 0:
            sys.exit(result.stdout[-3000:] + result.stderr[-3000:])
        per_rule: dict[str, list[float]] = defaultdict(list)
        for tsv in (work / "results").glob("*/benchmarks/**/*.tsv"):
            rule = tsv.relative_to(work / "results").parts[2].removesuffix(".tsv")
            with tsv.open() as fh:
                per_rule[rule].append(float(next(csv.DictReader(fh, delimiter="\t"))["s"]))
    print(f"snakemake --cores {args.cores}: {wall:.0f} s wall ({wall / 60:.1f} min; target < 5 min)")
    for rule, seconds in sorted(per_rule.items(), key=lambda kv: -sum(kv[1])):
        print(f"  {rule:10s} {len(seconds):3d} jobs, {sum(seconds):7.1f} s in total, {max(seconds):6.1f} s max")


if __name__ == "__main__":
    main()
