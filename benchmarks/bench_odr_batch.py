"""ODR trials in one batch on a sparse E/I ring with STP (issue 3's target).

N = 10,000 (8,000 E + 2,000 I), K = 500, cosine-profiled E->E with
short-term facilitation, float32, CPU. Prints the time per simulated second
for one trial and for a batch, and the batch's cost against one trial
(target: 256 trials cost at most 20x one).

Run: python benchmarks/bench_odr_batch.py [--batch 256] [--duration 50] [--rounds 3]
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import torch

from einet.fields import parse_section
from einet.network.rate import RateNetwork
from einet.network.presets import balanced_ei
from einet.config.model import ModelSpec
from einet.tasks import ODR


def ring_spec() -> ModelSpec:
    raw = balanced_ei(8000, 2000, 500.0)
    raw["projections"]["EE"].update(profile="cosine", kappa=0.5, stp={"U": 0.05, "tau_fac": 1000.0, "tau_rec": 200.0})
    return parse_section(ModelSpec, raw, "model")


def make_run(batch: int, duration: float, dt: float = 0.5, kernels: str = "auto", warmup: int = 40):
    """A function that runs ``duration`` ms of ODR trials and returns seconds per simulated second
    (after ``warmup`` untimed steps, so each round measures the steady state, not the cold caches the
    other batch size left behind)."""
    net = RateNetwork([ring_spec()] * batch, dt, kernels=kernels)
    angles = [2 * math.pi * i / batch for i in range(batch)]
    task = ODR(population=0, sizes=net.sizes, cue_angles=angles, fixation=duration / 4, cue=duration / 4,
               delay=duration / 2)
    steps = task.schedule.n_steps(dt)
    with torch.inference_mode():
        net.step(net.initial_state(), task.stimulus(0, dt))  # warm-up (and kernel load)

    def run() -> float:
        state = net.initial_state()
        with torch.inference_mode():
            for step in range(warmup):  # caches and clocks settle after the other run of the round
                state, _ = net.step(state, task.stimulus(step, dt))
            start = time.perf_counter()
            for step in range(steps):
                state, _ = net.step(state, task.stimulus(step, dt))
            elapsed = time.perf_counter() - start
        return elapsed / (steps * dt / 1000.0)

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--duration", type=float, default=50.0, help="simulated ms per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (medians are reported)")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; N = 10,000, K = 500, STP on E->E, "
          f"{args.duration:g} ms per measurement, medians of {args.rounds} interleaved rounds")
    one, many = make_run(1, args.duration), make_run(args.batch, args.duration)
    times = {"one": [], "many": []}
    for _ in range(args.rounds):
        times["one"].append(one())
        times["many"].append(many())
    t1, tb = statistics.median(times["one"]), statistics.median(times["many"])
    ratios = sorted(b / a for a, b in zip(times["one"], times["many"]))
    print(f"1 trial:     {t1:8.2f} s per simulated second")
    print(f"{args.batch} trials: {tb:8.2f} s per simulated second = {tb / t1:.1f}x one trial "
          f"(per-round ratios {', '.join(f'{r:.1f}' for r in ratios)}; target <= 20x)")
    print(f"per trial:   {tb / args.batch * 1e3:8.1f} ms per simulated second ({t1 / (tb / args.batch):.1f}x cheaper "
          "than alone)")


if __name__ == "__main__":
    main()
