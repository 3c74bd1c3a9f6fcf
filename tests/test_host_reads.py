"""Off the CPU a step loop must not wait for the device: no value read back to the host per step.

Counted on the CPU with the device behaviour forced (dense spike history, deferred divergence checks)
and the compiled CPU kernels off, through torch's dispatcher: every op that hands a tensor's value to
Python (``.item()``, ``bool()``, ``nonzero``'s size) is counted, and the count must not grow with the
number of steps.
"""

from __future__ import annotations

from collections import Counter

import pytest
from torch.utils._python_dispatch import TorchDispatchMode

import einet
from conftest import experiment
from einet.experiment import validate

READS_HOST = ("_local_scalar_dense", "is_nonzero", "nonzero", "nonzero_numpy", "item")


class HostReads(TorchDispatchMode):
    def __init__(self):
        super().__init__()
        self.count = Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = func._schema.name.split("::")[-1]
        if name in READS_HOST:
            self.count[name] += 1
        return func(*args, **(kwargs or {}))


def reads(run) -> int:
    with HostReads() as mode:
        run()
    return sum(mode.count.values())


def test_a_rate_run_reads_nothing_back_per_step(monkeypatch):
    from einet.runs import recorder

    monkeypatch.setattr(recorder, "defers_checks", lambda device: True)

    def run(duration):
        raw = experiment()
        raw["simulation"].update(duration=duration, kernels="torch")
        raw["simulation"]["record"]["average_from"] = 0.0
        return lambda: einet.simulate(validate(raw), progress=False)

    short, long = reads(run(25.0)), reads(run(200.0))
    assert long == short, (short, long)


@pytest.mark.parametrize("neuron", ["lif", "izhikevich"])
def test_a_spiking_run_reads_back_once_per_chunk_not_per_step(neuron, monkeypatch):
    from einet.config.spiking import SpikingSpec
    from einet.fields import parse_section
    from einet.network import spike_events
    from einet.network.spiking import SpikingNetwork

    monkeypatch.setattr(SpikingNetwork, "dense_history", property(lambda self: True))
    monkeypatch.setattr("einet.neurons.izhikevich.skips_silent_substeps", lambda v: False)
    drive, weight = (10.0, 0.5) if neuron == "izhikevich" else (20.0, 2.0)
    spec = parse_section(SpikingSpec, {
        "neuron": neuron,
        "populations": {"E": {"size": 40, "type": "exc", "drive": drive, "init_v": [-65.0, -55.0]}},
        "projections": {"EE": {"source": "E", "target": "E", "weight": weight, "p": 0.2, "tau_syn": 3.0,
                               "delay": 0.3}},
    }, "spiking")

    def run(steps):
        net = SpikingNetwork([spec], 0.1, seed=1, kernels="torch")
        return lambda: spike_events.run_network(net, steps)

    short, long = reads(run(100)), reads(run(1900))
    assert long <= short + 2, (short, long)  # one chunk of steps either way: the same few reads
