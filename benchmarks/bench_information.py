"""Wall time of the effective-information estimators (einet.measures.information).

Three cases, each at 1e5 samples with 64 input and 64 output bins:
  * ei_parts of a 100 -> 30 sigmoid layer (target: <= 0.3 s on one CPU thread);
  * sensitivity of the same layer (one experiment per input);
  * vector EI of a 20 -> 10 sigmoid layer (target: <= 0.5 s on CPU).
Each is timed on CPU and, when available, on CUDA; the best of a few runs
is printed after one warm-up call. Where deep-ei is installed (``pip install deep-ei fast_histogram``),
its ``ei_parts`` of the same layer runs too, once, as the peer (its value differs from einet's by
sampling error only: the same plug-in estimator on other random inputs).

Run: python benchmarks/bench_information.py [--threads 2] [--repeats 3]
"""

from __future__ import annotations

import argparse
import time

import torch
from torch import nn

from einet.measures.information import ei, ei_parts, sensitivity


def best_time(fn, repeats: int, device: torch.device) -> tuple[float, float]:
    """Best wall time of ``fn()`` over ``repeats`` runs after a warm-up, and its value."""
    value = fn()
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        value = fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return min(times), value


def cases(device: torch.device):
    torch.manual_seed(0)
    wide, small = nn.Linear(100, 30).to(device), nn.Linear(20, 10).to(device)
    kw = dict(activation=nn.Sigmoid(), in_range=(0, 1), in_bins=64, out_bins=64, samples=100_000)
    yield "ei_parts 100->30 sigmoid, 64 bins, 1e5 samples", lambda: ei_parts(wide, **kw)
    yield "sensitivity 100->30 sigmoid, 64 bins, 1e5 samples", lambda: sensitivity(wide, **kw)
    yield "vector EI 20->10 sigmoid, 64 bins, 1e5 samples", lambda: ei(small, **kw)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    print(f"torch {torch.__version__}, {args.threads} CPU threads")
    times = {}
    for device in devices:
        for name, fn in cases(device):
            seconds, value = best_time(fn, args.repeats, device)
            times[device.type, name.split(" ")[0]] = seconds
            print(f"{device.type:4s}  {name}: {seconds:.3f} s  (value {value:.12g} bits)")
    peer = deep_ei_parts()
    if peer is None:
        print("deep-ei: not installed (pip install deep-ei fast_histogram)")
    else:
        seconds, value = peer
        print(f"deep-ei ei_parts 100->30 sigmoid, 64 bins, 1e5 samples: {seconds:.3f} s (value {value:.6g} bits); "
              f"einet is {seconds / times['cpu', 'ei_parts']:.1f}x faster")


def deep_ei_parts() -> tuple[float, float] | None:
    """deep-ei's ei_parts of the benchmark's 100 -> 30 sigmoid layer, timed once: (seconds, bits), or None."""
    try:
        import deep_ei
    except ImportError:
        return None
    import networkx as nx

    torch.manual_seed(0)
    layer = nn.Linear(100, 30)
    # deep-ei 0.7's topology_of adds a None node, which current networkx refuses: the same graph by hand
    topology = nx.DiGraph()
    topology.add_node(layer, input={"activation": None, "shape": (1, 100)},
                      output={"activation": nn.Sigmoid(), "shape": (1, 30)})
    start = time.perf_counter()
    value = deep_ei.ei_parts(layer, topology, samples=100_000, in_range=(0, 1), in_bins=64, out_range=(0, 1),
                             out_bins=64, activation=torch.sigmoid)
    return time.perf_counter() - start, float(value)


if __name__ == "__main__":
    main()
