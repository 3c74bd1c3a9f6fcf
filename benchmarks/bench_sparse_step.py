"""One step of a sparse balanced network (N = 40,000, K = 500, float32) against memory bandwidth.

Prints, side by side in one run:
  * the read bandwidth of this machine, measured as a large tensor sum;
  * the time of one network step at batch 1 and batch 16;
  * bytes of weights (CSR values + column indices + row pointers) read per second,
    as a fraction of the measured read bandwidth (target: >= 50 %);
  * the batch-16 / batch-1 time ratio (target: <= 3).

Run: python benchmarks/bench_sparse_step.py [--threads 2] [--device cpu]
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=40_000)
    parser.add_argument("--K", type=float, default=500.0)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    print(f"device {device}, torch {torch.__version__}, threads {torch.get_num_threads()}")

    specs = [balanced_spec(args.n, args.K, M0) for M0 in torch.linspace(0.5, 2.0, args.batch).tolist()]
    single = RateNetwork(specs[len(specs) // 2], 0.5, device=device, seed=0)
    batched = RateNetwork(specs, 0.5, device=device, seed=0)
    batched_torch = RateNetwork(specs, 0.5, device=device, seed=0, kernels="torch")
    weights = single.weight_bytes()
    # Interleave the measurements in rounds so that drifting load hits all of them alike.
    rounds = {"bandwidth": [], "single": [], "batched": [], "torch": []}
    for _ in range(args.rounds):
        rounds["bandwidth"].append(read_bandwidth(device))
        rounds["single"].append(step_time(single, args.repeats))
        rounds["batched"].append(step_time(batched, args.repeats))
        rounds["torch"].append(step_time(batched_torch, args.repeats))
    ratio = statistics.median(b / s for b, s in zip(rounds["batched"], rounds["single"]))
    ratio_torch = statistics.median(b / s for b, s in zip(rounds["torch"], rounds["single"]))
    fraction = statistics.median(weights / s / bw for s, bw in zip(rounds["single"], rounds["bandwidth"]))
    bandwidth = statistics.median(rounds["bandwidth"])
    t1, tb, tb_torch = (statistics.median(rounds[k]) for k in ("single", "batched", "torch"))

    nnz_bytes = weights / 1e6
    print(f"N = {args.n}, K = {args.K:g}, weights {nnz_bytes:.0f} MB (CSR, int32 indices)")
    kernel_on = batched.projection_operator("EE")._use_pattern_kernel(torch.zeros(2, 1))
    print(f"medians over {args.rounds} interleaved rounds of {args.repeats} steps")
    print(f"read bandwidth (tensor sum):   {bandwidth / 1e9:6.1f} GB/s")
    print(f"step, batch 1:                 {t1 * 1e3:6.2f} ms -> weights read at {weights / t1 / 1e9:.1f} GB/s")
    print(f"fraction of read bandwidth:    {fraction:6.0%}   (target >= 50%)")
    print(f"step, batch {args.batch}:                {tb * 1e3:6.2f} ms (einet kernel {'on' if kernel_on else 'off'})")
    print(f"batch {args.batch} / batch 1:           {ratio:6.2f}x  (target <= 3x)")
    print(f"  torch.sparse for the batch:  {tb_torch * 1e3:6.2f} ms = {ratio_torch:.2f}x")


if __name__ == "__main__":
    main()
