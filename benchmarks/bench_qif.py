"""One step of the QIF reservoir (Nicola & Clopath's network, einet.network.reservoir): compiled against torch.

For N = 200 and 500 neurons (float64, the reservoir's dtype), the time of ``qif_run_step`` (recurrent,
input and feedback currents, then the exact QIF step) with the compiled ``qif_step`` kernel and with
plain torch, in interleaved rounds, at 1 and 2 threads; and, where RectiPy is installed (``pip install
rectipy``), the peer: its QIF network of the same size and connection density (PyRates' ``qif_op``:
v' = (v^2 + eta + I)/tau + k s_in, Euler steps of the same dt, float64, dense weights), per step of its
``Network.run``.

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


def rectipy_per_step(n: int, steps: int = 4000) -> float | None:
    """Seconds per step of RectiPy's QIF network of ``n`` neurons (compiled once, outside the clock), or None."""
    try:
        from rectipy import Network
    except ImportError:
        return None
    import contextlib
    import io

    import numpy as np

    rng = np.random.default_rng(0)
    weights = (rng.random((n, n)) < 0.1) * rng.normal(0.0, 1.0, (n, n)) / np.sqrt(0.1 * n)
    net = Network(dt=0.05, device="cpu")
    with contextlib.redirect_stdout(io.StringIO()):  # PyRates narrates its compilation
        net.add_diffeq_node("qif", node="neuron_model_templates.spiking_neurons.qif.qif", weights=weights,
                            source_var="s", target_var="s_in", input_var="I_ext", output_var="s", spike_var="spike",
                            reset_var="v", to_file=False, op="qif_op", spike_threshold=100.0, spike_reset=-100.0,
                            node_vars={"tau": 10.0, "eta": rng.normal(1.0, 0.5, n), "tau_s": 5.0, "k": 1.0},
                            clear=True, float_precision="float64")
        inputs = np.zeros((steps, n))
        net.run(inputs=inputs[:200], sampling_steps=1000, verbose=False, enable_grad=False)
        start = time.perf_counter()
        net.run(inputs=inputs, sampling_steps=steps + 1, verbose=False, enable_grad=False)
    return (time.perf_counter() - start) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(f"torch {torch.__version__}; compiled qif_step available: {kernels.load('qif_step') is not None}")
    print(f"{'N':>5} {'threads':>7} {'torch':>10} {'compiled':>10} {'speed-up':>9} {'RectiPy':>10} {'vs RectiPy':>11}")
    for n in (200, 500):
        for threads in (1, 2):
            torch.set_num_threads(threads)
            times = {"torch": [], "compiled": [], "rectipy": []}
            for _ in range(args.rounds):
                times["torch"].append(per_step(n, True))
                times["compiled"].append(per_step(n, False))
                peer = rectipy_per_step(n)
                if peer is not None:
                    times["rectipy"].append(peer)
            a, b = (statistics.median(times[k]) for k in ("torch", "compiled"))
            if times["rectipy"]:
                r = statistics.median(times["rectipy"])
                peer_cells = f"{r * 1e6:8.1f} us {b / r:10.2f}x"
            else:
                peer_cells = f"{'(not installed)':>22}"
            print(f"{n:5d} {threads:7d} {a * 1e6:8.1f} us {b * 1e6:8.1f} us {a / b:8.2f}x {peer_cells}")


if __name__ == "__main__":
    main()
