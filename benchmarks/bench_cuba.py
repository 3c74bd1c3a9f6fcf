"""The CUBA benchmark network (Brette et al. 2007): wall time of 1 s of biological time.

4000 LIF neurons, 2 % connectivity, dt = 0.1 ms (10,000 steps), float32, the
quick ``config/experiments/cuba.yaml`` network. Measures, in interleaved rounds
(so load from other jobs falls on both alike):
  * one network: wall seconds per simulated second (target: <= 1.6 s);
  * a batch of 16 networks (16 parameter sets: w_inh from -8 to -10 mV) against
    one (target: <= 3.5x);
and prints the mean rate of each, so a fast but silent network cannot pass.

Run: python benchmarks/bench_cuba.py [--threads 1] [--rounds 3] [--device cpu] [--kernels auto|torch]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time
from pathlib import Path

import torch

from einet.config.sweep import Experiment
from einet.spiking.network import SpikingNetwork
from einet.spiking.run import run_network

CONFIG = Path(__file__).resolve().parents[1] / "config" / "experiments" / "cuba.yaml"


def cuba_elements(batch: int) -> list:
    """``batch`` copies of the CUBA network with inhibitory weights spread over [-10, -8] mV."""
    base = Experiment(CONFIG, "quick").spec.spiking
    if batch == 1:
        return [base]
    out = []
    for k in range(batch):
        w = -8.0 - 2.0 * k / (batch - 1)
        projections = {name: dataclasses.replace(p, weight=w) if p.source == "I" else p
                       for name, p in base.projections.items()}
        out.append(dataclasses.replace(base, projections=projections))
    return out


def one_run(batch: int, device, duration_ms: float = 1000.0, kernels: str = "auto") -> tuple[float, float]:
    """Seconds to simulate ``duration_ms`` (network built outside the clock) and the mean rate [Hz]."""
    net = SpikingNetwork(cuba_elements(batch), 0.1, device=device, dtype=torch.float32, seed=0, kernels=kernels)
    steps = int(round(duration_ms / 0.1))
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    events, _ = run_network(net, steps)
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    return seconds, events.count.sum() / (batch * net.n * duration_ms / 1000.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--kernels", default="auto", choices=["auto", "torch"],
                        help="auto: the compiled LIF step on the CPU; torch: plain torch")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    one_run(1, device, 100.0, args.kernels)  # warm-up (and the kernel's build, once per machine)
    single, batched = [], []
    for _ in range(args.rounds):
        single.append(one_run(1, device, kernels=args.kernels))
        batched.append(one_run(args.batch, device, kernels=args.kernels))
    t1 = statistics.median(s for s, _ in single)
    tb = statistics.median(s for s, _ in batched)
    print(f"CUBA, 4000 LIF neurons, 1 s of biological time (10,000 steps), {args.device}, "
          f"{args.threads} thread(s), kernels {args.kernels}, median of {args.rounds} interleaved rounds")
    print(f"1 network:    {t1:6.2f} s  (real-time factor {t1:.2f}; target <= 1.6 s)  "
          f"rate {statistics.median(r for _, r in single):.2f} Hz")
    print(f"{args.batch} networks: {tb:6.2f} s  ({tb / t1:.2f}x one network; target <= 3.5x)  "
          f"rate {statistics.median(r for _, r in batched):.2f} Hz")
    print(f"all rounds, 1 network:  {', '.join(f'{s:.2f}' for s, _ in single)} s")
    print(f"all rounds, {args.batch} networks: {', '.join(f'{s:.2f}' for s, _ in batched)} s")


if __name__ == "__main__":
    main()
