"""Gradient training through the one loop: a rate network on the ODR task and a recurrent spiking network.

Times per optimizer step, in interleaved rounds:

* ``trained_odr``: the shipped experiment at its quick scale (the train stage's own function,
  ``runs.task_training.train_task``), 8 iterations after 2 untimed ones;
* ``rsnn bptt`` and ``rsnn eprop``: 40 inputs, 80 LIF neurons, 100 steps of 1 ms, 10 updates.

It also runs against trees from before the single ``fit_bptt`` (``before_after.py`` passes this
file to both), reading whichever API the tree has.

Run from the repository root: python benchmarks/bench_training.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch

ROOT = Path.cwd()  # the repository whose config is measured (before_after.py runs each tree from its root)


def trained_odr(iterations: int) -> float:
    """Seconds per iteration of the trained_odr experiment's training (quick scale, one job)."""
    from einet.experiment import Experiment, validate
    from einet.runs.task_training import train_task

    exp = Experiment(ROOT / "config/experiments/trained_odr.yaml", "quick")
    raw = exp.job_config(exp.job_names()[0])
    section = raw["training"].get("recurrent", raw["training"])  # before: training.recurrent
    section.update(iterations=iterations, checkpoint_every=0)
    spec = validate(raw)
    start = time.perf_counter()
    train_task(spec, torch.device("cpu"), progress=False)
    return time.perf_counter() - start


def rsnn(gradients: str, epochs: int) -> float:
    """Seconds per update of a recurrent LIF network on a sum of sines."""
    from einet.network.rsnn import RSNN

    g = torch.Generator().manual_seed(0)
    x = (torch.rand(1, 100, 40, generator=g) < 0.05).float()
    t = torch.arange(100) / 1000.0
    y = (torch.sin(2 * torch.pi * 5 * t) + 0.5 * torch.sin(2 * torch.pi * 10 * t))[:, None]
    net = RSNN(40, 80, 1, seed=0, readout_scale=0.0)
    options = dict(rate_target=10.0, rate_penalty=1e-3)
    start = time.perf_counter()
    try:
        from einet.training.bptt import fit_bptt
        from einet.training.spiking import SequenceObjective

        fit_bptt(net, SequenceObjective(x, y, gradients=gradients, **options), iterations=epochs,
                 learning_rate=0.04, lr_gamma=0.94)
    except ImportError:  # a tree before the one loop
        from einet.network.rsnn import fit_bptt
        from einet.training.eprop import fit_eprop

        (fit_bptt if gradients == "bptt" else fit_eprop)(net, x, y, epochs=epochs, learning_rate=0.04,
                                                         lr_decay=0.94, **options)
    return (time.perf_counter() - start) / (epochs + 1)  # one more evaluation after the last update


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    results: dict[str, list[float]] = {"trained_odr": [], "rsnn bptt": [], "rsnn eprop": []}
    trained_odr(2)  # builds the kernels and warms the caches
    for _ in range(args.rounds):
        results["trained_odr"].append((trained_odr(10) - trained_odr(2)) / 8)
        results["rsnn bptt"].append(rsnn("bptt", 10))
        results["rsnn eprop"].append(rsnn("eprop", 10))
    for name, times in results.items():
        print(f"{name:12s} {1e3 * statistics.median(times):8.2f} ms per update "
              f"(rounds: {', '.join(f'{1e3 * t:.2f}' for t in times)})")


if __name__ == "__main__":
    main()
