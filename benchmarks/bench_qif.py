"""One step of the QIF reservoir (Nicola & Clopath's network, einet.network.reservoir): compiled against torch.

For N = 200 and 500 neurons (float64, the reservoir's dtype), the time of ``qif_run_step`` (recurrent,
input and feedback currents, then the exact QIF step) with the compiled ``qif_step`` kernel and with
plain torch, in interleaved rounds, at 1 and 2 threads. (The peer, RectiPy, is not measured here: its
QIF needs a PyRates template set up that this script does not do yet.)

Run: python benchmarks/bench_qif.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import torch

from einet import kernels
from einet.network.reservoir import QIFReservoirParams, make_qif_reservoir, qif_run_initial, qif_run_step


def per_step(n: int, plain: bool, steps: int = 2000) -> float:
    res = make_qif_reservoir(QIFReservoirParams(n=n), 1, 1)
    run, u, z = qif_run_initial(res), torch.zeros(1, dtype=res.J.dtype), torch.zeros(1, dtype=res.J.dtype)
    trace_decay = math.exp(-0.05 / res.tau_syn)
    context = kernels.plain_torch() if plain else torch.inference_mode()
    with context, torch.inference_mode():
        for _ in range(100):
            run, _ = qif_run_step(res, run, u, z, 0.05, trace_decay)
        start = time.perf_counter()
        for _ in range(steps):
            run, _ = qif_run_step(res, run, u, z, 0.05, trace_decay)
    return (time.perf_counter() - start) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(f"torch {torch.__version__}; compiled qif_step available: {kernels.load('qif_step') is not None}")
    print(f"{'N':>5} {'threads':>7} {'torch':>10} {'compiled':>10} {'speed-up':>9}")
    for n in (200, 500):
        for threads in (1, 2):
            torch.set_num_threads(threads)
            times = {"torch": [], "compiled": []}
            for _ in range(args.rounds):
                times["torch"].append(per_step(n, True))
                times["compiled"].append(per_step(n, False))
            a, b = (statistics.median(times[k]) for k in ("torch", "compiled"))
            print(f"{n:5d} {threads:7d} {a * 1e6:8.1f} us {b * 1e6:8.1f} us {a / b:8.2f}x")


if __name__ == "__main__":
    main()
