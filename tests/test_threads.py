"""A run's numbers do not depend on how many CPU threads compute it, and the thread governor keeps a
step loop on the faster count.

That is what lets the workflow (simulation.threads) and the governor choose threads for speed alone:
the same config and seed give the same bytes on 1 thread and when the thread count flips between 2 and
1 every step, at sizes where torch, MKL and the compiled kernels do split their work across threads
(N = 8,000 rate neurons in a batch of 3, the CUBA network of 4,000 LIF neurons, a ring attractor on its
task, whose batch of 6 trials is where MKL's default products differ between 1 and 2 threads).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

import einet
from einet import threads
from einet.config.sweep import apply_scale
from einet.experiment import validate

EXPERIMENTS = Path(__file__).resolve().parents[1] / "config" / "experiments"

CASES = {
    "balanced": {"simulation": {"duration": 60.0, "record": {"average_from": 40.0}},
                 "sweep": {"grid": {}, "batch": {"model.external.M0": [0.5, 1.0, 2.0]}}},
    "cuba": {"simulation": {"duration": 100.0}, "spiking": {"record": {"transient": 50.0}}},
    "ring_attractor": {"task": {"trials": 2, "epochs": {"fixation": 50.0, "cue": 50.0, "delay": 100.0}},
                       "simulation": {"record": {"average_from": 0.0}}},
}


@pytest.fixture
def restore_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


class FlipEveryStep:
    """A governor that changes the thread count after every step: 2, 1, 2, 1, ..."""

    def __init__(self):
        self.steps = 0
        torch.set_num_threads(2)

    def tick(self):
        self.steps += 1
        torch.set_num_threads(1 if self.steps % 2 else 2)

    def close(self):
        pass


@pytest.mark.parametrize("name", sorted(CASES))
def test_one_thread_and_flipping_threads_give_the_same_bytes(name, restore_threads, monkeypatch):
    raw = apply_scale(yaml.safe_load((EXPERIMENTS / f"{name}.yaml").read_text()), "quick")
    raw = apply_scale(dict(raw, scales={"case": CASES[name]}), "case")
    raw.pop("scales")
    raw.setdefault("sweep", {})["grid"] = {}
    raw["simulation"]["device"] = "cpu"
    spec = validate(raw)
    torch.set_num_threads(1)
    one = einet.simulate(spec, progress=False)
    flips = []
    monkeypatch.setattr(threads, "governor_for", lambda device, count=None: flips.append(FlipEveryStep()) or flips[-1])
    two = einet.simulate(spec, progress=False)
    assert flips and all(f.steps > 100 for f in flips), "the run's step loop did not go through the governor"
    assert set(one.variables) == set(two.variables)
    for variable in one.variables:
        np.testing.assert_array_equal(one[variable].values, two[variable].values, err_msg=variable)


def test_simulation_threads_sets_torchs_threads(tmp_path, restore_threads):
    from conftest import experiment
    from einet import stages

    raw = experiment()
    raw["simulation"]["threads"] = 1
    config = tmp_path / "job.yaml"
    config.write_text(yaml.safe_dump(raw))
    torch.set_num_threads(2)
    stages.simulate(config, tmp_path / "run.nc", progress=False)
    assert torch.get_num_threads() == 1
    stages.simulate(config, tmp_path / "again.nc", progress=False, threads=2)  # the command line's --threads wins
    assert torch.get_num_threads() == 2


class StepClock:
    """A clock that a step advances by the time it takes on the current thread count."""

    def __init__(self, cost):
        self.now, self.cost = 0.0, cost

    def __call__(self):
        return self.now

    def step(self):
        self.now += self.cost(torch.get_num_threads())


def run_governed(governor, clock, steps):
    counts = []
    for _ in range(steps):
        clock.step()
        governor.tick()
        counts.append(torch.get_num_threads())
    return counts


@pytest.mark.parametrize("fast", [1, 2])
def test_governor_settles_on_the_faster_count(fast, restore_threads):
    clock = StepClock(lambda n: 1e-3 if n == fast else 3e-3)
    governor = threads.ThreadGovernor(2, clock=clock)
    counts = run_governed(governor, clock, 60_000)  # a minute of 1 ms steps
    assert governor.chosen == fast
    assert counts[-1000:].count(fast) > 990  # probes aside, the loop runs on the faster count
    # the probes back off while the choice holds: the last interval reached the cap of 30 s
    assert governor.interval == governor.max_interval


def test_governor_follows_a_machine_that_becomes_busy(restore_threads):
    busy = {"on": False}
    clock = StepClock(lambda n: (50e-3 if n == 2 else 1e-3) if busy["on"] else (0.6e-3 if n == 2 else 1e-3))
    governor = threads.ThreadGovernor(2, clock=clock, max_interval_s=2.0)
    run_governed(governor, clock, 3_000)
    assert governor.chosen == 2
    busy["on"] = True
    started, probes = clock.now, governor.probes
    run_governed(governor, clock, 3_000)
    assert governor.chosen == 1
    # three slow steps in a row start a probe at once, and a probe of the slow count gives up after one
    # step: 3,000 steps of 1 ms cost little more than 3 s
    assert clock.now - started < 3.0 + 0.2 + 0.06 * (governor.probes - probes)


def test_governor_is_off_with_one_thread_and_on_cuda(restore_threads):
    torch.set_num_threads(2)
    assert not threads.ThreadGovernor(1).active
    assert not threads.governor_for(torch.device("cuda")).active
    assert not threads.governor_for(torch.device("cpu"), 1).active
    assert threads.governor_for(torch.device("cpu"), 2).active
    with threads.governed(torch.device("cpu"), 2) as governor:
        torch.set_num_threads(1)
        assert governor.active
    assert torch.get_num_threads() == 2  # given back as it was given


def test_import_einet_makes_products_independent_of_threads():
    assert threads.products_independent_of_threads()
