"""Cost of expanding a large sweep: `snakemake -n` on a grid of 800 jobs, the CPU its expansion jobs use,
and the parse of a batch axis of 100,000 values.

Builds the experiments in a temporary directory from `balanced` (a grid K x seed of 40 x 20 = 800
jobs, and one job with a batch of 100,000 drives) and runs the Snakefile of the tree it is started in
(so `before_after.py` can compare two trees). Targets: `snakemake -n` < 15 s, the expansion of the
800 jobs < 60 s of CPU in total, the batch parsed in < 2 s.

Run: python benchmarks/bench_expansion.py [--grid-jobs 800] [--batch 100000]
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

TREE = Path.cwd()


def write_experiments(work: Path, grid_jobs: int, batch: int) -> None:
    raw = yaml.safe_load((TREE / "config/experiments/balanced.yaml").read_text())
    raw["scales"] = {"quick": {}}  # the pipeline's default scale: the file as written
    seeds = 20 if grid_jobs >= 20 else 1
    ks = [10 * (i + 1) for i in range(grid_jobs // seeds)]
    (work / "config/experiments").mkdir(parents=True)
    grid = dict(raw, name="grid", sweep={"grid": {"model.K": ks, "simulation.seed": list(range(seeds))},
                                         "batch": {"model.external.M0": [0.5, 1.0]}})
    many = dict(raw, name="many", sweep={"grid": {}, "batch": {
        "model.external.M0": [0.5 + 1e-5 * i for i in range(batch)]}})
    for exp in (grid, many):
        (work / f"config/experiments/{exp['name']}.yaml").write_text(yaml.safe_dump(exp, sort_keys=False))
    (work / "config/config.yaml").write_text("experiments: [grid]\n")


def snakemake(work: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "snakemake", "-s", str(TREE / "workflow" / "Snakefile"), "--directory",
                           str(work), "--quiet", *args], capture_output=True, text=True, cwd=work)


def expansion_rule(work: Path) -> str:
    rules = snakemake(work, "--list-rules").stdout.split()
    return next(r for r in rules if r.startswith("expand_"))  # expand_grid (one per experiment) or expand_config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid-jobs", type=int, default=800)
    parser.add_argument("--batch", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        write_experiments(work, args.grid_jobs, args.batch)
        start = time.perf_counter()
        dry = snakemake(work, "-n")
        dry_s = time.perf_counter() - start
        if dry.returncode:
            sys.exit(dry.stdout[-2000:] + dry.stderr[-2000:])
        rule = expansion_rule(work)
        start = time.perf_counter()
        done = snakemake(work, "--cores", "2", "--until", rule)
        expand_wall = time.perf_counter() - start
        if done.returncode:
            sys.exit(done.stdout[-2000:] + done.stderr[-2000:])
        bench = work / "results/grid/benchmarks"  # expand.tsv (one job) or expand/<job>.tsv (one per job)
        tsvs = [t for t in bench.rglob("*.tsv") if t.relative_to(bench).parts[0].startswith("expand")]
        cpu = sum(float(next(csv.DictReader(t.open(), delimiter="\t"))["cpu_time"]) for t in tsvs)
        configs = len(list((work / "results/grid/configs").rglob("*.yaml")))
        parse = subprocess.run(
            [sys.executable, "-c", "import time; from einet.config.sweep import Experiment; t = time.perf_counter(); "
             f"Experiment({str(work / 'config/experiments/many.yaml')!r}); print(time.perf_counter() - t)"],
            capture_output=True, text=True, cwd=TREE)
        if parse.returncode:
            sys.exit(parse.stderr[-2000:])
    print(f"grid of {args.grid_jobs} jobs: snakemake -n {dry_s:.1f} s (target < 15 s)")
    print(f"  expansion ({rule}): {len(tsvs)} job(s) wrote {configs} configs, {cpu:.1f} s CPU in total "
          f"(target < 60 s), {expand_wall:.1f} s wall")
    print(f"batch of {args.batch} values: parsed in {float(parse.stdout):.2f} s (target < 2 s)")


if __name__ == "__main__":
    main()
