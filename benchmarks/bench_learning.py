"""One epoch of digits: an E/I network with Dale's law and recurrent steps against the same network without.

The network is the backprop variant of config/experiments/learning_rules.yaml (Input 64 ->
H.E 64 exc + H.I 16 inh -> Output 10, Adam, batch 32, Dale's law projected after every step):
  * recurrent: the E/I loop H.E -> H.I -> H.E, three steps of dynamics to the readout
    (gradients through all three);
  * feed-forward: the same populations and feed-forward projections, no H.I -> H.E, one step.
Target: the recurrent epoch costs at most 3x the feed-forward one. The two are timed in
interleaved rounds (the machine is shared: ratios taken side by side hold, absolute times
drift) and medians are printed, with training samples per second.

Run: python benchmarks/bench_learning.py [--rounds 5] [--threads 1]
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time
from pathlib import Path

import torch

from einet.experiment import Experiment
from einet.datasets import load
from einet.training.supervised import _run_epoch
from einet.network.layered import LayeredNetwork
from einet.config.layered import parse_network

EXPERIMENT = Path(__file__).resolve().parents[1] / "config" / "experiments" / "learning_rules.yaml"


def networks() -> dict[str, LayeredNetwork]:
    """The experiment's backprop network with Dale's law, as it is and without its recurrence."""
    cfg = Experiment(EXPERIMENT, "quick").job_config("rule~backprop/dale~True/seed~0")["training"]["network"]
    recurrent = copy.deepcopy(cfg)
    feedforward = copy.deepcopy(cfg)
    feedforward["projections"] = [p for p in cfg["projections"] if not (p["source"] == "H.I" and
                                                                        p["target"] == "H.E")]
    feedforward["dynamics"] = dict(cfg["dynamics"], forward_steps=1)
    return {name: LayeredNetwork(parse_network(raw), seed=0) for name, raw in
            (("recurrent (3 steps)", recurrent), ("feed-forward (1 step)", feedforward))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    split = load("digits", seed=0)
    nets = networks()
    opts = {name: net.optimizers() for name, net in nets.items()}
    gen = torch.Generator().manual_seed(0)
    for name, net in nets.items():  # warm-up epoch each
        _run_epoch(net, opts[name], split.x_train, split.y_train, gen, args.batch_size, "cross_entropy")
        assert net.sign_violations() == 0
    times: dict[str, list[float]] = {name: [] for name in nets}
    for _ in range(args.rounds):
        for name, net in nets.items():
            start = time.perf_counter()
            _run_epoch(net, opts[name], split.x_train, split.y_train, gen, args.batch_size, "cross_entropy")
            times[name].append(time.perf_counter() - start)
    n = len(split.y_train)
    print(f"torch {torch.__version__}, {args.threads} thread(s), digits: {n} training samples, batch "
          f"{args.batch_size}, medians of {args.rounds} interleaved rounds")
    medians = {name: statistics.median(t) for name, t in times.items()}
    for name, t in medians.items():
        print(f"{name:24s} {t * 1e3:8.1f} ms/epoch  -> {n / t:9.0f} samples/s   "
              f"(rounds: {', '.join(f'{x * 1e3:.0f}' for x in times[name])} ms)")
    names = list(nets)
    ratio = medians[names[0]] / medians[names[1]]
    print(f"recurrent / feed-forward: {ratio:.2f}x  (target <= 3x: {'met' if ratio <= 3 else 'NOT met'})")


if __name__ == "__main__":
    main()
