"""Run one benchmark script from an earlier commit and from this tree, alternately, and print both outputs.

A restructuring must not slow anything down; the machines are shared and noisy,
so the two trees are measured in interleaved rounds in one run:

    python benchmarks/before_after.py 3e96422 bench_sparse_step.py --rounds 2

checks the commit out into a temporary worktree (without touching this one),
runs ``benchmarks/<script>`` of each tree with that tree's ``src`` first on the
path (the script's own arguments follow), and prints what each printed, round
by round. A script the earlier commit does not have yet (one written to measure
the change) runs from this tree against both ``src`` folders. Each script reports
its own ratios; compare them across the two trees.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]


def run(tree: Path, script: str, args: list[str]) -> str:
    env = dict(os.environ, PYTHONPATH=str(tree / "src"))
    path = tree / "benchmarks" / script
    if not path.is_file():
        path = HERE / "benchmarks" / script
    done = subprocess.run([sys.executable, str(path), *args], cwd=tree, env=env,
                          capture_output=True, text=True)
    return done.stdout + (f"\n[exit {done.returncode}]\n{done.stderr[-2000:]}" if done.returncode else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("commit", help="the earlier commit (e.g. the one before a restructuring)")
    parser.add_argument("script", help="a script of benchmarks/, e.g. bench_sparse_step.py")
    parser.add_argument("--rounds", type=int, default=1, help="interleaved rounds of (before, after)")
    args, rest = parser.parse_known_args()
    rest = [a for a in rest if a != "--"]  # `--` may separate the script's own options
    with tempfile.TemporaryDirectory(prefix="einet-before-") as tmp:
        before = Path(tmp) / "tree"
        subprocess.run(["git", "worktree", "add", "--detach", str(before), args.commit], cwd=HERE, check=True,
                       capture_output=True)
        try:
            for r in range(args.rounds):
                for name, tree in (("before", before), ("after", HERE)):
                    print(f"===== round {r + 1}, {name} ({args.commit if name == 'before' else 'this tree'})")
                    print(run(tree, args.script, rest), flush=True)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(before)], cwd=HERE, capture_output=True)


if __name__ == "__main__":
    main()
