"""One step of a sparse balanced network (K = 500, float32) against the bytes it must read.

Prints, side by side in one run, for each N and for 1 and 2 threads:
  * the read bandwidth of this machine, measured as a large tensor sum;
  * the step at batch 1 through torch's CSR product (reads a 4-byte index and a 4-byte value per
    synapse) and through einet's pattern kernel (the 2-byte segmented index only), each as the
    fraction of the read bandwidth its bytes would take (1.0 = streaming at the sum's speed);
  * batch 16 and 64 through the kernel, against batch 1, and as the fraction of the L2 bandwidth
    (a sum over a half-L2 tensor, repeated) that its gathers take: a batched step gathers one
    64-byte line per synapse and 16 batch elements, so its floor is the L2, not the index stream.

Run: python benchmarks/bench_sparse_step.py [--n 10000 40000 160000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from einet.fields import parse_section
from einet.network.rate import RateNetwork
from einet.network.presets import balanced_ei
from einet.config.model import ModelSpec


def balanced_spec(n: int, K: float, M0: float = 1.0) -> ModelSpec:
    """80 % excitatory, 20 % inhibitory, every projection with in-degree K."""
    return parse_section(ModelSpec, balanced_ei(int(0.8 * n), n - int(0.8 * n), K, M0=M0), "model")


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def time_it(fn, device, repeats: int) -> float:
    """Median seconds of ``fn`` over ``repeats`` calls after a warm-up."""
    fn()
    sync(device)
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        sync(device)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def read_bandwidth(device, nbytes: int = 1 << 30, repeats: int = 7) -> float:
    """Bytes per second of a large float32 sum (a pure streaming read)."""
    x = torch.rand(nbytes // 4, device=device)
    seconds = time_it(lambda: x.sum(), device, repeats)
    return nbytes / seconds


def step_time(net: RateNetwork, repeats: int) -> float:
    state = [net.initial_state()]

    def one():
        with torch.inference_mode():
            state[0], _ = net.step(state[0])

    return time_it(one, net.device, repeats)


def l2_bandwidth(threads: int, repeats: int = 200) -> float:
    """Bytes per second of sums over a tensor of half this machine's L2 on one thread, times ``threads``
    (each core has its own L2; torch's sum of so small a tensor does not split well across threads)."""
    from einet import kernels

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    x = torch.rand(kernels.cache_bytes(2) // 2 // 4)
    x.sum()
    start = time.perf_counter()
    for _ in range(repeats):
        x.sum()
    seconds = time.perf_counter() - start
    torch.set_num_threads(before)
    return threads * repeats * x.numel() * 4 / seconds


def synapses(net: RateNetwork) -> int:
    return sum(net.projection_operator(name).nnz for name in net.spec.projections)


def index_bytes(net: RateNetwork, kernel: bool) -> int:
    """Bytes of pattern a batch-1 step reads: the segmented copy (2 B a synapse + row pointers) through the
    kernel, the CSR (4 B index + 4 B value a synapse + row pointers) through torch."""
    total = 0
    for name in net.spec.projections:
        op = net.projection_operator(name)
        m = op.matrix
        if kernel:
            seg_crow, local = op.segmented(op.segment_length(1, 4))
            total += local.numel() * 2 + seg_crow.numel() * 8
        else:
            total += sum(t.numel() * t.element_size() for t in (m.crow_indices(), m.col_indices(), m.values()))
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[40_000])
    parser.add_argument("--K", type=float, default=500.0)
    parser.add_argument("--batches", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    device = torch.device(args.device)
    from einet import kernels

    print(f"device {device}, torch {torch.__version__}; caches L1d {kernels.cache_bytes(1) >> 10} KiB, "
          f"L2 {kernels.cache_bytes(2) >> 10} KiB, L3 {kernels.cache_bytes(3) >> 20} MiB")
    print(f"K = {args.K:g}, float32; medians over {args.rounds} interleaved rounds of {args.repeats} steps\n")
    print(f"{'N':>7} {'thr':>3} {'mem, L2 bandwidth':>17} {'torch B=1':>16} {'kernel B=1':>16} "
          + " ".join(f"{'B=' + str(b):>22}" for b in args.batches))
    for n in args.n:
        nets = {"torch": RateNetwork(balanced_spec(n, args.K), 0.5, device=device, seed=0, kernels="torch"),
                "kernel": RateNetwork(balanced_spec(n, args.K), 0.5, device=device, seed=0)}
        for b in args.batches:
            specs = [balanced_spec(n, args.K, M0) for M0 in torch.linspace(0.5, 2.0, b).tolist()]
            nets[b] = RateNetwork(specs, 0.5, device=device, seed=0)
        step_time(nets["kernel"], 1)  # builds the segmented copies
        needs = {"torch": index_bytes(nets["torch"], False), "kernel": index_bytes(nets["kernel"], True)}
        for threads in args.threads:
            torch.set_num_threads(threads)
            rounds = {key: [] for key in ["bandwidth", "l2", *nets]}
            for _ in range(args.rounds):
                rounds["bandwidth"].append(read_bandwidth(device, nbytes=1 << 29))
                rounds["l2"].append(l2_bandwidth(threads))
                for key, net in nets.items():
                    rounds[key].append(step_time(net, args.repeats))
            bw, l2 = statistics.median(rounds["bandwidth"]), statistics.median(rounds["l2"])
            t = {key: statistics.median(v) for key, v in rounds.items() if key not in ("bandwidth", "l2")}
            cells = [f"{t[k] * 1e3:6.2f} ms {needs[k] / t[k] / bw:4.0%}" for k in ("torch", "kernel")]
            gathered = {b: synapses(nets[b]) * 64 * -(-b // 16) for b in args.batches}
            cells += [f"{t[b] * 1e3:6.2f} ms {t[b] / t['kernel']:4.1f}x {gathered[b] / t[b] / l2:4.0%}"
                      for b in args.batches]
            print(f"{n:7d} {threads:3d} {bw / 1e9:5.1f} {l2 / 1e9:6.1f} GB/s "
                  + " ".join(f"{c:>16}" for c in cells[:2]) + " " + " ".join(f"{c:>22}" for c in cells[2:]))
    print("\nB=1 columns: time and the fraction of the read bandwidth its pattern bytes take; "
          "B=16/64: time, ratio to the kernel's B=1, and the fraction of the L2 bandwidth its gathered lines take")


if __name__ == "__main__":
    main()
