"""The thread policy on a shared machine: 1 thread, 2 threads, and the governor, idle and with a busy core.

One run of the balanced network (N = 4,000 + 4,000, K = 200, batch 1, 400 ms at dt 0.5) through
``einet.simulate``, timed per step, in interleaved rounds:

  * 1 thread          torch.set_num_threads(1)
  * 2 threads, fixed  2 threads with the governor switched off (what einet did before it)
  * governor          2 threads allowed, the governor choosing between 2 and 1 as it goes

each on an idle machine and while one other process spins on a core (another job of the same
workflow, or anyone else's). Target: the governor is never slower than 1 thread, and close to
the faster fixed count in each condition. The numbers of every mode are checked to be equal.

Run: python benchmarks/bench_threads.py [--rounds 3] [--duration 400]
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import time
from pathlib import Path

import numpy as np
import torch
import yaml

import einet
from einet import threads
from einet.config.sweep import apply_scale

EXPERIMENT = Path(__file__).resolve().parents[1] / "config" / "experiments" / "balanced.yaml"


def spin(stop) -> None:
    """Keep one core busy until told to stop."""
    while not stop.is_set():
        sum(range(10_000))


def balanced(duration: float):
    raw = apply_scale(yaml.safe_load(EXPERIMENT.read_text()), "quick")
    raw.pop("scales")
    raw["sweep"] = {"grid": {}, "batch": {}}
    raw["model"]["K"] = 200
    raw["simulation"].update(device="cpu", duration=duration)
    raw["simulation"]["record"]["average_from"] = duration * 0.75
    return einet.validate(raw)


def run(spec, mode: str):
    """Seconds per step and the rates of one run in ``mode``."""
    original = threads.governor_for
    if mode == "1 thread":
        torch.set_num_threads(1)
    else:
        torch.set_num_threads(2)
        if mode == "2 threads, fixed":
            threads.governor_for = lambda device, count=None: threads.ThreadGovernor(1)
    try:
        started = time.perf_counter()
        ds = einet.simulate(spec, progress=False)
        seconds = time.perf_counter() - started
    finally:
        threads.governor_for = original
        torch.set_num_threads(2)
    steps = int(round(spec.simulation.duration / spec.simulation.dt))
    return seconds / steps, ds["rate_mean"].values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=400.0, help="simulated ms per run")
    args = parser.parse_args()
    spec = balanced(args.duration)
    modes = ("1 thread", "2 threads, fixed", "governor")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads allowed, "
          f"products independent of threads: {threads.products_independent_of_threads()}")
    run(spec, "1 thread")  # warm-up: connectivity and kernels
    times = {(cond, mode): [] for cond in ("idle", "one core busy") for mode in modes}
    reference = None
    for _ in range(args.rounds):
        for condition in ("idle", "one core busy"):
            stop = multiprocessing.Event()
            spinner = None
            if condition == "one core busy":
                spinner = multiprocessing.Process(target=spin, args=(stop,), daemon=True)
                spinner.start()
                time.sleep(0.2)
            try:
                for mode in modes:
                    seconds, rates = run(spec, mode)
                    times[condition, mode].append(seconds)
                    if reference is None:
                        reference = rates
                    elif not np.array_equal(rates, reference):
                        raise SystemExit(f"{mode} ({condition}) changed the numbers")
            finally:
                stop.set()
                if spinner is not None:
                    spinner.join()
    print(f"\n{'condition':<15} {'mode':<18} {'ms/step':>8} {'vs 1 thread':>12}")
    for condition in ("idle", "one core busy"):
        one = statistics.median(times[condition, "1 thread"])
        for mode in modes:
            t = statistics.median(times[condition, mode])
            print(f"{condition:<15} {mode:<18} {t * 1e3:8.3f} {t / one:11.2f}x")
    print("\nall modes gave the same bytes")


if __name__ == "__main__":
    main()
