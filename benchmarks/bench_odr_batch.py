"""ODR trials in one batch on a sparse E/I ring with STP (issue 3's target).

N = 10,000 (8,000 E + 2,000 I), K = 500, cosine-profiled E->E with
short-term facilitation, float32, CPU. Prints the time per simulated second
for one trial and for a batch, and the batch's cost against one trial
(target: 256 trials cost at most 20x one).

Run: python benchmarks/bench_odr_batch.py [--batch 256] [--duration 200]
"""

from __future__ import annotations

import argparse
import math
import time

import torch

from einet.fields import parse_section
from einet.model.network import RateNetwork
from einet.model.presets import balanced_ei
from einet.model.spec import ModelSpec
from einet.tasks import ODR


def ring_spec() -> ModelSpec:
    raw = balanced_ei(8000, 2000, 500.0)
    raw["projections"]["EE"].update(profile="cosine", kappa=0.5, stp={"U": 0.05, "tau_fac": 1000.0, "tau_rec": 200.0})
    return parse_section(ModelSpec, raw, "model")


def seconds_per_simulated_second(batch: int, duration: float, dt: float = 0.5) -> float:
    spec = ring_spec()
    net = RateNetwork([spec] * batch, dt)
    angles = [2 * math.pi * i / batch for i in range(batch)]
    task = ODR(population=0, sizes=net.sizes, cue_angles=angles, fixation=duration / 4, cue=duration / 4,
               delay=duration / 2)
    state = net.initial_state()
    steps = task.schedule.n_steps(dt)
    with torch.inference_mode():
        state, _ = net.step(state, task.stimulus(0, dt))  # warm-up (and kernel load)
        start = time.perf_counter()
        for step in range(steps):
            state, _ = net.step(state, task.stimulus(step, dt))
        elapsed = time.perf_counter() - start
    return elapsed / (steps * dt / 1000.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--duration", type=float, default=200.0, help="simulated ms per measurement")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    one = seconds_per_simulated_second(1, args.duration)
    many = seconds_per_simulated_second(args.batch, args.duration)
    print(f"1 trial:     {one:7.2f} s per simulated second")
    print(f"{args.batch} trials: {many:7.2f} s per simulated second = {many / one:.1f}x one trial "
          f"({many / one / args.batch * 1e3:.0f} ms per trial per ms of one)  (target <= 20x)")


if __name__ == "__main__":
    main()
