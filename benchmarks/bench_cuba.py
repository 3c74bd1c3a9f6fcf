"""The CUBA benchmark network (Brette et al. 2007): wall time of 1 s of biological time.

4000 LIF neurons, 2 % connectivity, dt = 0.1 ms (10,000 steps), float32, the
quick ``config/experiments/cuba.yaml`` network. Measures, in interleaved rounds
(so load from other jobs falls on both alike):
  * one network: wall seconds per simulated second (target: <= 1.6 s);
  * a batch of 16 networks (16 parameter sets: w_inh from -8 to -10 mV) against
    one (target: <= 3.5x);
and prints the mean rate of each, so a fast but silent network cannot pass.

When Brian2 is installed (the optional ``bench`` extra: ``pip install -e .[bench]``)
and ``--no-brian2`` is not given, the same network also runs in Brian2's C++
standalone mode (one thread, no OpenMP), built and compiled once in a temporary
directory before the rounds and then run once per round, interleaved with the
einet runs; the script prints Brian2's time and rate and the ratio einet / Brian2
for one network (stretch goal: <= 3x). What is timed on the Brian2 side: its
simulation loop (``device._last_run_time``, which the binary measures around
``Network::run`` with ``std::clock()``: CPU time, synapse creation and file I/O
excluded) and, for reference, the wall time of the whole binary (process start,
synapse creation, run and writing the results). Compilation is never timed.

Run: python benchmarks/bench_cuba.py [--threads 1] [--rounds 3] [--device cpu] [--kernels auto|torch] [--no-brian2]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import torch

from einet.experiment import Experiment
from einet.network.spiking import SpikingNetwork
from einet.network.spike_events import run_network

CONFIG = Path(__file__).resolve().parents[1] / "config" / "experiments" / "cuba.yaml"


def cuba_elements(batch: int) -> list:
    """``batch`` copies of the CUBA network with inhibitory weights spread over [-10, -8] mV."""
    base = Experiment(CONFIG, "quick").spec.spiking
    if batch == 1:
        return [base]
    out = []
    for k in range(batch):
        w = -8.0 - 2.0 * k / (batch - 1)
        projections = {name: dataclasses.replace(p, weight=w) if p.source == "I" else p
                       for name, p in base.projections.items()}
        out.append(dataclasses.replace(base, projections=projections))
    return out


def one_run(batch: int, device, duration_ms: float = 1000.0, kernels: str = "auto") -> tuple[float, float, float]:
    """Wall seconds to simulate ``duration_ms`` (network built outside the clock), the mean rate [Hz] and the
    CPU seconds of the calling thread over the same stretch (torch runs on it with one thread)."""
    net = SpikingNetwork(cuba_elements(batch), 0.1, device=device, dtype=torch.float32, seed=0, kernels=kernels)
    steps = int(round(duration_ms / 0.1))
    if device.type == "cuda":
        torch.cuda.synchronize()
    start, cpu_start = time.perf_counter(), time.thread_time()
    events, _ = run_network(net, steps)
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds, cpu = time.perf_counter() - start, time.thread_time() - cpu_start
    return seconds, events.count.sum() / (batch * net.n * duration_ms / 1000.0), cpu


def load_brian2():
    """``(brian2, None)``, or ``(None, why not)``."""
    try:
        import brian2
    except ImportError:
        return None, "not installed (pip install -e .[bench])"
    except Exception as error:  # installed but broken, e.g. brian2 <= 2.9.0 with numpy >= 2.4 (ndarray.ptp)
        hint = ("; brian2 <= 2.9.0 needs numpy < 2.4, fixed upstream in brian-team/brian2#1705"
                if "ptp" in str(error) else "")
        return None, f"installed but its import fails ({type(error).__name__}: {error}{hint})"
    return brian2, None


class Brian2CUBA:
    """The CUBA network of ``config/experiments/cuba.yaml`` in Brian2's C++ standalone mode, built once.

    The model is einet's LIF with current-based exponential synapses, currents as R I in mV
    (:mod:`einet.neurons.lif`, :mod:`einet.network.spiking`)::

        dv/dt  = (E_L - v + ge + gi) / tau_m : volt (unless refractory)
        dge/dt = -ge / tau_e                 : volt
        dgi/dt = -gi / tau_i                 : volt

    integrated with Brian2's ``exact`` method (as einet), threshold ``v >= V_th``, reset ``v = V_reset``,
    synapses ``on_pre: ge += w_exc`` (from E) and ``gi += w_inh`` (from I) onto all 4000 neurons with
    probability p (einet's EE + IE and EI + II projections: the same weight, time constant, delay and p).
    Brian2 stamps a spike with the start of the step in which it is detected, einet with its end, so
    einet's timing is reproduced step for step with a Brian2 delay one step shorter and a refractory
    period one step longer than the configured ones: an einet spike of step t reaches the currents at
    the start of step t + delay/dt and its neuron integrates again from step t + t_ref/dt + 1; a Brian2
    synapse with delay d adds the jump after the state update of step t + d/dt (so it acts from step
    t + d/dt + 1), and a Brian2 neuron integrates again from step t + refractory/dt.
    Connectivity and initial potentials are Brian2's own draws (seeded), not einet's.
    """

    def __init__(self, brian2, spec, dt_ms: float, directory: str, float32: bool = True):
        b2 = self.b2 = brian2
        ms, mV = b2.ms, b2.mV
        self.directory = directory
        b2.set_device("cpp_standalone", directory=directory, build_on_run=False)
        b2.prefs.devices.cpp_standalone.openmp_threads = 0  # serial code, no OpenMP: one thread
        self.dtype = "float32" if float32 else "float64"
        b2.prefs.core.default_float_dtype = getattr(b2, self.dtype)
        b2.defaultclock.dt = dt_ms * ms
        b2.seed(0)

        names = list(spec.populations)
        pops = [spec.populations[n] for n in names]
        if spec.neuron != "lif" or len({tuple(sorted(p.params.items())) for p in pops}) != 1:
            raise ValueError("the Brian2 CUBA network needs one LIF parameter set shared by all populations")
        par = pops[0].params
        by_source = {}
        for proj in spec.projections.values():
            if proj.synapse != "current" or proj.connectivity != "fixed_probability":
                raise ValueError("the Brian2 CUBA network needs current-based, fixed-probability projections")
            by_source.setdefault(proj.source, set()).add((proj.weight, proj.tau_syn, proj.delay, proj.p, proj.target))
        self.synapse_specs = {}
        for source, entries in by_source.items():
            shared = {e[:4] for e in entries}
            if len(shared) != 1 or {e[4] for e in entries} != set(names):
                raise ValueError(f"the projections from {source} must share weight, tau, delay and p and reach all")
            self.synapse_specs[source] = shared.pop()
        (w_e, tau_e, delay_e, p_e), (w_i, tau_i, delay_i, p_i) = (self.synapse_specs[s] for s in names)
        if not (w_e > 0 > w_i):
            raise ValueError("expected an excitatory first and an inhibitory second population")
        n_ref_einet = int(round(par["t_ref"] / dt_ms))  # einet: held for this many steps after the spike's step
        namespace = dict(tau_m=par["tau_m"] * ms, E_L=par["v_rest"] * mV, V_th=par["v_th"] * mV,
                         V_reset=par["v_reset"] * mV, tau_e=tau_e * ms, tau_i=tau_i * ms,
                         w_exc=w_e * mV, w_inh=w_i * mV)
        self.equations = (
            "dv/dt = (E_L - v + ge + gi) / tau_m : volt (unless refractory)\n"
            "dge/dt = -ge / tau_e : volt\n"
            "dgi/dt = -gi / tau_i : volt")
        self.refractory_ms = (n_ref_einet + 1) * dt_ms
        self.n = sum(p.size for p in pops)
        group = b2.NeuronGroup(self.n, self.equations, threshold="v >= V_th", reset="v = V_reset",
                               refractory=self.refractory_ms * ms, method="exact", namespace=namespace)
        low_high = [p.init_v for p in pops]
        if len({tuple(x) for x in low_high if x}) != 1 or not all(low_high):
            raise ValueError("expected the same init_v range for every population")
        low, high = low_high[0]
        group.v = f"{low}*mV + ({high} - {low})*mV*rand()"
        offsets, start = {}, 0
        for name, pop in zip(names, pops):
            offsets[name] = (start, start + pop.size)
            start += pop.size
        self.delays_ms = {}
        self.synapses = []
        for name, current, weight in ((names[0], "ge", "w_exc"), (names[1], "gi", "w_inh")):
            _, _, delay, p = self.synapse_specs[name]
            a, b = offsets[name]
            syn = b2.Synapses(group[a:b], group, on_pre=f"{current} += {weight}", namespace=namespace)
            syn.connect(p=p)
            self.delays_ms[name] = delay - dt_ms  # einet's arrival step (class docstring)
            syn.delay = self.delays_ms[name] * ms
            self.synapses.append(syn)
        self.monitor = b2.SpikeMonitor(group, record=False)  # counts only
        self.net = b2.Network(group, *self.synapses, self.monitor)
        self.duration_ms = None

    def build(self, duration_ms: float = 1000.0) -> float:
        """Generate and compile the project (once); returns the seconds it took."""
        self.duration_ms = duration_ms
        start = time.perf_counter()
        self.net.run(duration_ms * self.b2.ms)
        self.b2.device.build(directory=self.directory, compile=True, run=False, with_output=False)
        return time.perf_counter() - start

    def run(self) -> tuple[float, float, float]:
        """Runs the compiled binary once: the simulation loop's seconds (Brian2's ``_last_run_time``, CPU time of
        ``Network::run``), the mean rate [Hz] and the wall seconds of the whole binary."""
        device = self.b2.device
        with warnings.catch_warnings():  # Brian2's check for huge values casts 1e50 to float32 after the run
            warnings.filterwarnings("ignore", "overflow encountered in cast", RuntimeWarning)
            device.run(directory=self.directory, with_output=False)
        rate = int(self.monitor.num_spikes) / (self.n * self.duration_ms / 1000.0)
        return float(device._last_run_time), rate, float(device.timers["run_binary"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--kernels", default="auto", choices=["auto", "torch"],
                        help="auto: the compiled LIF step on the CPU; torch: plain torch")
    parser.add_argument("--no-brian2", action="store_true", help="skip the Brian2 comparison")
    parser.add_argument("--brian2-float64", action="store_true", help="run Brian2 in float64 (default float32)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    one_run(1, device, 100.0, args.kernels)  # warm-up (and the kernel's build, once per machine)

    brian2, why_not = (None, "skipped (--no-brian2)") if args.no_brian2 else load_brian2()
    workdir = tempfile.TemporaryDirectory(prefix="einet_brian2_cuba_") if brian2 is not None else None
    b2net = None
    if brian2 is not None:
        b2net = Brian2CUBA(brian2, cuba_elements(1)[0], 0.1, workdir.name, float32=not args.brian2_float64)
        build_s = b2net.build(1000.0)

    single, batched, brian = [], [], []
    for _ in range(args.rounds):
        single.append(one_run(1, device, kernels=args.kernels))
        if b2net is not None:
            brian.append(b2net.run())
        batched.append(one_run(args.batch, device, kernels=args.kernels))
    t1 = statistics.median(s for s, _, _ in single)
    tb = statistics.median(s for s, _, _ in batched)
    print(f"CUBA, 4000 LIF neurons, 1 s of biological time (10,000 steps), {args.device}, "
          f"{args.threads} thread(s), kernels {args.kernels}, median of {args.rounds} interleaved rounds")
    print(f"1 network:    {t1:6.2f} s  (real-time factor {t1:.2f}; target <= 1.6 s)  "
          f"rate {statistics.median(r for _, r, _ in single):.2f} Hz")
    print(f"{args.batch} networks: {tb:6.2f} s  ({tb / t1:.2f}x one network; target <= 3.5x)  "
          f"rate {statistics.median(r for _, r, _ in batched):.2f} Hz")
    print(f"all rounds, 1 network:  {', '.join(f'{s:.2f}' for s, _, _ in single)} s")
    print(f"all rounds, {args.batch} networks: {', '.join(f'{s:.2f}' for s, _, _ in batched)} s")
    # on a shared (virtual) machine one round's wall time can double; the thread's CPU time leaves out
    # the time the machine gave to others, and per-round ratios pair runs made side by side
    per_round = [b[0] / a[0] for a, b in zip(single, batched)]
    c1 = statistics.median(c for _, _, c in single)
    cb = statistics.median(c for _, _, c in batched)
    print(f"{args.batch} networks / 1 network: median of per-round wall ratios {statistics.median(per_round):.2f}x "
          f"({', '.join(f'{r:.2f}' for r in per_round)}); CPU time {cb:.2f} s / {c1:.2f} s = {cb / c1:.2f}x")
    if b2net is None:
        print(f"Brian2: {why_not}")
        return
    loop = statistics.median(s for s, _, _ in brian)
    wall = statistics.median(w for _, _, w in brian)
    c1 = statistics.median(c for _, _, c in single)
    print(f"Brian2 {brian2.__version__} C++ standalone, 1 thread (no OpenMP), {b2net.dtype}, same rounds "
          f"(generated and compiled once before them: {build_s:.1f} s, not timed):")
    print(f"Brian2:       {loop:6.2f} s  simulation loop (its _last_run_time: CPU time of Network::run)  "
          f"rate {statistics.median(r for _, r, _ in brian):.2f} Hz")
    print(f"              {wall:6.2f} s  wall time of the whole binary (start, synapse creation, run, results)")
    print(f"einet / Brian2, 1 network: {t1 / loop:.2f}x (einet wall / Brian2 loop), "
          f"{c1 / loop:.2f}x (einet CPU {c1:.2f} s / Brian2 loop); stretch goal <= 3x")
    print(f"all rounds, Brian2 loop: {', '.join(f'{s:.2f}' for s, _, _ in brian)} s; "
          f"binary wall: {', '.join(f'{w:.2f}' for _, _, w in brian)} s")
    workdir.cleanup()


if __name__ == "__main__":
    main()
