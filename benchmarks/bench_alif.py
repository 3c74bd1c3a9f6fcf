"""One step of adaptive LIF neurons (einet.neurons.alif.alif_step): the compiled kernel against plain torch.

4,000 neurons alone and 16 x 4,000 (float32, a constant drive above threshold, arrivals every step),
2,000 steps after 50 untimed ones, in interleaved rounds, at 1 and 2 threads; the spikes of both paths
are counted so that a fast but silent step cannot pass.

Run: python benchmarks/bench_alif.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from einet import kernels
from einet.neurons.alif import ALIFParams, alif_initial, alif_step

PARAMS = ALIFParams(tau_m=20.0, v_rest=-65.0, v_th=-50.0, v_reset=-65.0, t_ref=2.0, tau_syn=5.0, tau_w=150.0, b=3.0)


def per_step(shape, plain: bool, steps: int = 2000) -> tuple[float, float]:
    """Seconds per step and spikes per neuron over the timed steps."""
    state = alif_initial(PARAMS, shape, dtype=torch.float32)
    arriving = torch.rand(shape, generator=torch.Generator().manual_seed(0))
    context = kernels.plain_torch() if plain else torch.inference_mode()
    spikes = torch.zeros(())
    with context, torch.inference_mode():
        for _ in range(50):
            _, state = alif_step(18.0, state, PARAMS, 0.1, arriving)
        start = time.perf_counter()
        for _ in range(steps):
            s, state = alif_step(18.0, state, PARAMS, 0.1, arriving)
            spikes += s.sum()
    return (time.perf_counter() - start) / steps, float(spikes) / (shape[0] * shape[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(f"torch {torch.__version__}; compiled alif_step available: {kernels.load('alif_step') is not None}")
    print(f"{'shape':>10} {'threads':>7} {'torch':>10} {'compiled':>10} {'speed-up':>9} {'spikes/neuron':>14}")
    for shape in ((1, 4000), (16, 4000)):
        for threads in (1, 2):
            torch.set_num_threads(threads)
            times = {"torch": [], "compiled": []}
            for _ in range(args.rounds):
                for key in times:
                    times[key].append(per_step(shape, key == "torch"))
            a, b = (statistics.median(t for t, _ in times[k]) for k in ("torch", "compiled"))
            counts = "/".join(f"{times[k][0][1]:.1f}" for k in ("torch", "compiled"))
            print(f"{shape[0]:>4}x{shape[1]:<5} {threads:7d} {a * 1e6:8.1f} us {b * 1e6:8.1f} us {a / b:8.2f}x "
                  f"{counts:>14}")


if __name__ == "__main__":
    main()
