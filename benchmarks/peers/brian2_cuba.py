"""The CUBA network of ``config/experiments/cuba.yaml`` in Brian2's C++ standalone mode, as a peer process.

A separate script because Brian2 releases that import with current numpy need Python >= 3.12 while
einet runs on 3.11: ``benchmarks/bench_cuba.py`` starts this under an interpreter that has Brian2
(``benchmarks/peers/setup_brian2.sh`` makes one). It imports only brian2, numpy and the standard
library. bench_cuba.py derives the network from the einet spec and checks it; this script builds what
it is given.

The model is einet's LIF with current-based exponential synapses, currents as R I in mV
(:mod:`einet.neurons.lif`, :mod:`einet.network.spiking`)::

    dv/dt  = (E_L - v + ge + gi) / tau_m : volt (unless refractory)
    dge/dt = -ge / tau_e                 : volt
    dgi/dt = -gi / tau_i                 : volt

integrated with Brian2's ``exact`` method (as einet), threshold ``v >= V_th``, reset ``v = V_reset``,
synapses ``on_pre: ge += w_exc`` (from E) and ``gi += w_inh`` (from I) onto all neurons with
probability p (einet's EE + IE and EI + II projections: the same weight, time constant, delay and p).
Brian2 stamps a spike with the start of the step in which it is detected, einet with its end, so
einet's timing is reproduced step for step with a Brian2 delay one step shorter and a refractory
period one step longer than the configured ones: an einet spike of step t reaches the currents at
the start of step t + delay/dt and its neuron integrates again from step t + t_ref/dt + 1; a Brian2
synapse with delay d adds the jump after the state update of step t + d/dt (so it acts from step
t + d/dt + 1), and a Brian2 neuron integrates again from step t + refractory/dt.
Connectivity and initial potentials are Brian2's own draws (seeded), not einet's. The spike monitor
keeps counts only (no spike times to write), and the code is serial (no OpenMP): one thread.

What is timed: the simulation loop as the binary itself measures it around ``Network::run``
(``device._last_run_time``: CPU time by ``std::clock()`` in older Brian2 releases, wall time by
``std::chrono`` in 2.11; synapse creation and file I/O excluded) and, for reference, the wall and CPU
time of the whole binary (process start, synapse creation, run, writing the results). Generating and
compiling the project is timed separately and only once.

Usage: ``python brian2_cuba.py NETWORK_JSON``, then one command a line on stdin, one JSON reply a
line on stdout: ``build`` -> ``{"build_s"}``; ``run`` -> ``{"loop_s", "rate_hz", "binary_wall_s",
"binary_cpu_s"}``; ``quit`` (or end of input) ends it. A failed command answers ``{"error"}``.
NETWORK_JSON (times in ms, potentials and weights in mV, einet's configured values)::

    {"sizes": [n_exc, n_inh],
     "lif": {"tau_m", "v_rest", "v_th", "v_reset", "t_ref"},
     "exc": {"weight", "tau", "delay", "p"}, "inh": {"weight", "tau", "delay", "p"},
     "init_v": [low, high], "dt", "duration", "dtype": "float32" | "float64", "seed"}
"""

from __future__ import annotations

import json
import os
import resource
import sys
import tempfile
import time
import warnings


class CUBA:
    """The network of one NETWORK_JSON, generated and compiled once into ``directory``, run on request."""

    def __init__(self, spec: dict, directory: str):
        import brian2 as b2

        self.b2, self.directory = b2, directory
        ms, mV = b2.ms, b2.mV
        dt = spec["dt"]
        if spec["dtype"] not in ("float32", "float64"):
            raise ValueError(f"dtype must be float32 or float64, not {spec['dtype']!r}")
        self.dtype = spec["dtype"]
        b2.set_device("cpp_standalone", directory=directory, build_on_run=False)
        b2.prefs.devices.cpp_standalone.openmp_threads = 0  # serial code, no OpenMP: one thread
        b2.prefs.core.default_float_dtype = getattr(b2, self.dtype)
        b2.defaultclock.dt = dt * ms
        b2.seed(spec["seed"])

        lif, exc, inh = spec["lif"], spec["exc"], spec["inh"]
        n_ref_einet = int(round(lif["t_ref"] / dt))  # einet: held for this many steps after the spike's step
        namespace = dict(tau_m=lif["tau_m"] * ms, E_L=lif["v_rest"] * mV, V_th=lif["v_th"] * mV,
                         V_reset=lif["v_reset"] * mV, tau_e=exc["tau"] * ms, tau_i=inh["tau"] * ms,
                         w_exc=exc["weight"] * mV, w_inh=inh["weight"] * mV)
        equations = ("dv/dt = (E_L - v + ge + gi) / tau_m : volt (unless refractory)\n"
                     "dge/dt = -ge / tau_e : volt\n"
                     "dgi/dt = -gi / tau_i : volt")
        n_exc, n_inh = spec["sizes"]
        self.n = n_exc + n_inh
        group = b2.NeuronGroup(self.n, equations, threshold="v >= V_th", reset="v = V_reset",
                               refractory=(n_ref_einet + 1) * dt * ms, method="exact", namespace=namespace)
        low, high = spec["init_v"]
        group.v = f"{low}*mV + ({high} - {low})*mV*rand()"
        synapses = []
        for source, current, weight, proj in ((group[:n_exc], "ge", "w_exc", exc),
                                              (group[n_exc:], "gi", "w_inh", inh)):
            syn = b2.Synapses(source, group, on_pre=f"{current} += {weight}", namespace=namespace)
            syn.connect(p=proj["p"])
            syn.delay = (proj["delay"] - dt) * ms  # einet's arrival step (module docstring)
            synapses.append(syn)
        self.monitor = b2.SpikeMonitor(group, record=False)  # counts only
        self.net = b2.Network(group, *synapses, self.monitor)
        self.duration_ms = spec["duration"]

    def build(self) -> dict:
        """Generate and compile the project (once)."""
        start = time.perf_counter()
        self.net.run(self.duration_ms * self.b2.ms)
        self.b2.device.build(directory=self.directory, compile=True, run=False, with_output=False)
        return {"build_s": time.perf_counter() - start}

    def run(self) -> dict:
        """Run the compiled binary once (the loop's own timer, the rate, the whole binary's wall and CPU)."""
        device = self.b2.device
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        with warnings.catch_warnings():  # Brian2's check for huge values casts 1e50 to float32 after the run
            warnings.filterwarnings("ignore", "overflow encountered in cast", RuntimeWarning)
            device.run(directory=self.directory, with_output=False)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        rate = int(self.monitor.num_spikes) / (self.n * self.duration_ms / 1000.0)
        return {"loop_s": float(device._last_run_time), "rate_hz": rate,
                "binary_wall_s": float(device.timers["run_binary"]), "binary_cpu_s": cpu}


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(f"usage: {sys.argv[0]} NETWORK_JSON")
    spec = json.loads(sys.argv[1])
    # the replies get their own copy of stdout; fd 1 goes to stderr, so that whatever Brian2, make, the
    # compiler or the binary print cannot end up inside the protocol
    replies = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    with tempfile.TemporaryDirectory(prefix="einet_brian2_cuba_") as directory:
        network = None
        for line in sys.stdin:
            command = line.strip()
            if command == "quit":
                break
            try:
                if command == "build":
                    if network is not None:
                        raise RuntimeError("already built")
                    network = CUBA(spec, directory)
                    reply = network.build()
                elif command == "run":
                    if network is None:
                        raise RuntimeError("run before build")
                    reply = network.run()
                else:
                    raise ValueError(f"unknown command {command!r}")
            except Exception as error:
                reply = {"error": f"{type(error).__name__}: {error}"}
            replies.write(json.dumps(reply) + "\n")


if __name__ == "__main__":
    main()
