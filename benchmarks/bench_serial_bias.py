"""Throughput of sequential sessions (serial_odr): 512 sessions x 20 trials against one session.

The network is the quick scale of config/experiments/serial_bias.yaml (E 128, I 32,
dt 2 ms, ITI 1000 ms: 1100 steps per trial) at the standard facilitation. Sessions
are the batch, so 512 of them should cost far less than 512 single sessions. The
batch of 512 and the single session are timed in interleaved rounds (the machine
is shared: ratios taken side by side hold, absolute times drift); medians are printed.

Run: python benchmarks/bench_serial_bias.py [--sessions 512] [--trials 20] [--rounds 2] [--device auto]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch

from einet.experiment import Experiment, validate
from einet.runs.sessions import run_sessions
from einet.runs.rate import build_network, resolve_device
from einet.tasks import build_task

EXPERIMENT = Path(__file__).resolve().parents[1] / "config" / "experiments" / "serial_bias.yaml"


def setup(sessions: int, trials: int, device: torch.device):
    exp = Experiment(EXPERIMENT, "quick")
    raw = exp.job_config("iti~1000/reset~False")
    raw["sweep"]["batch"] = {}
    raw["task"].update(sessions=sessions, trials=trials)
    spec = validate(raw)
    task = build_task(spec.task, list(spec.model.populations), [p.size for p in spec.model.populations.values()],
                      device=device)
    return build_network(spec, device, task.batch_size), task


def timed(sessions: int, trials: int, device: torch.device) -> float:
    net, task = setup(sessions, trials, device)
    start = time.perf_counter()
    run_sessions(net, task)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=512)
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads; 1 on a shared 2-core machine, where 2 threads wait on each other")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    timed(1, 2, device)  # warm-up (and any one-off kernel build)
    many, one = [], []
    for _ in range(args.rounds):
        one.append(timed(1, args.trials, device))
        many.append(timed(args.sessions, args.trials, device))
    t_one, t_many = statistics.median(one), statistics.median(many)
    net, task = setup(1, args.trials, device)
    steps = task.n_steps(net.dt)
    print(f"device {device}, {args.threads} threads, torch {torch.__version__}; {steps} steps per session "
          f"({args.trials} trials of {task.schedule.duration:g} ms at dt = {net.dt:g} ms); medians of {args.rounds} "
          "interleaved rounds")
    print(f"1 session:          {t_one:8.2f} s  -> {args.trials / t_one:9.1f} trials/s  ({t_one / steps * 1e6:.0f} us/step)")
    print(f"{args.sessions} sessions:      {t_many:8.2f} s  -> {args.sessions * args.trials / t_many:9.1f} trials/s  "
          f"({t_many / steps * 1e6:.0f} us/step)")
    print(f"per-session cost, batch / single: {t_many / args.sessions / t_one:.4f}  "
          f"(batching speed-up {args.sessions * t_one / t_many:.0f}x)")


if __name__ == "__main__":
    main()
