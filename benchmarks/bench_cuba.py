"""The CUBA benchmark network (Brette et al. 2007): wall time of 1 s of biological time.

4000 LIF neurons, 2 % connectivity, dt = 0.1 ms (10,000 steps), float32, the
quick ``config/experiments/cuba.yaml`` network. Measures, in interleaved rounds
(so load from other jobs falls on both alike):
  * one network: wall seconds per simulated second (target: <= 1.6 s);
  * a batch of 16 networks (16 parameter sets: w_inh from -8 to -10 mV) against
    one (target: <= 3.5x);
and prints the mean rate of each, so a fast but silent network cannot pass.

Unless ``--no-brian2`` is given, the same network also runs in Brian2's C++ standalone
mode (one thread, no OpenMP) in a peer process, ``peers/brian2_cuba.py``: Brian2
releases that import with numpy >= 2.4 need Python >= 3.12, and einet runs on 3.11,
so the peer runs under whichever interpreter has Brian2: ``--brian2-python PATH``
(or ``EINET_BRIAN2_PYTHON``), else this one if ``import brian2`` works here, else
``benchmarks/.peers/brian2/bin/python`` (made by ``bash benchmarks/peers/setup_brian2.sh``);
with none, the script says why and skips the comparison. This script derives the
network from the einet spec and checks that Brian2 can reproduce it; the peer builds
and compiles it once in a temporary directory before the rounds and then runs it once
per round, interleaved with the einet runs (it waits on its stdin while einet runs).
The script prints Brian2's time and rate and the ratio einet / Brian2 for one network
(stretch goal: <= 3x). What is timed on the Brian2 side: its simulation loop
(``device._last_run_time``, which the binary measures around ``Network::run``:
synapse creation and file I/O excluded; wall time in Brian2 2.11, CPU time by
``std::clock()`` in older releases) and, for reference, the wall and CPU time of the
whole binary (process start, synapse creation, run and writing the results).
Compilation is never timed.

Run: python benchmarks/bench_cuba.py [--threads 1] [--rounds 3] [--device cpu] [--kernels auto|torch]
     [--no-brian2 | --brian2-python PATH] [--brian2-float64]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import statistics
import subprocess
import sys
import time
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


PEER = Path(__file__).resolve().parent / "peers" / "brian2_cuba.py"
PEER_VENV_PYTHON = Path(__file__).resolve().parent / ".peers" / "brian2" / "bin" / "python"
SETUP_HINT = "bash benchmarks/peers/setup_brian2.sh"
MIN_BRIAN2 = (2, 5)

# run by a candidate interpreter: one JSON line with its versions, or the import's error on stderr
_PROBE = ("import json, platform, brian2, numpy; print(json.dumps({'brian2': brian2.__version__, "
          "'numpy': numpy.__version__, 'python': platform.python_version()}))")


def _peer_env(python: str) -> dict:
    """The environment for ``python``: without PYTHONPATH / PYTHONHOME when it is another interpreter, whose
    imports would otherwise find this one's packages (numpy, brian2 for Python 3.11)."""
    env = dict(os.environ)
    if os.path.realpath(python) != os.path.realpath(sys.executable):
        env.pop("PYTHONPATH", None)
        env.pop("PYTHONHOME", None)
    return env


def probe_brian2(python: str) -> tuple[dict | None, str | None]:
    """``({"brian2", "numpy", "python"} versions, None)`` if Brian2 imports under ``python``, else ``(None, why not)``."""
    try:
        done = subprocess.run([python, "-c", _PROBE], capture_output=True, text=True, timeout=120,
                              env=_peer_env(python))
    except (OSError, subprocess.TimeoutExpired) as error:
        return None, f"{python} does not run ({type(error).__name__}: {error})"
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        last = lines[-1] if lines else f"exit status {done.returncode}"
        if "No module named 'brian2'" in last:
            return None, f"brian2 is not installed for {python}"
        hint = ("; brian2 <= 2.9.0 needs numpy < 2.4 (brian2 >= 2.10 needs Python >= 3.12)"
                if "ptp" in last else "")
        return None, f"import brian2 fails under {python} ({last}{hint})"
    versions = json.loads(done.stdout.strip().splitlines()[-1])
    release = tuple(int(x) for x in re.findall(r"\d+", versions["brian2"])[:2])
    if release < MIN_BRIAN2:
        return None, f"brian2 {versions['brian2']} under {python} is older than {'.'.join(map(str, MIN_BRIAN2))}"
    return versions, None


def find_brian2_python(explicit: str | None) -> tuple[str | None, dict | None, str]:
    """The interpreter to run the Brian2 peer under, its versions, and why it was chosen (or why none was).

    An explicit choice (``--brian2-python`` or ``EINET_BRIAN2_PYTHON``) is used or the comparison skipped;
    otherwise this interpreter if Brian2 imports here, else the peer venv of ``peers/setup_brian2.sh``."""
    if explicit:
        versions, why_not = probe_brian2(explicit)
        return (explicit, versions, "--brian2-python or EINET_BRIAN2_PYTHON") if versions else (None, None, why_not)
    reasons = []
    for python, origin in ((sys.executable, "this interpreter"), (str(PEER_VENV_PYTHON), "the peer venv")):
        if origin == "the peer venv" and not PEER_VENV_PYTHON.exists():
            reasons.append(f"no peer venv at {PEER_VENV_PYTHON}")
            continue
        versions, why_not = probe_brian2(python)
        if versions:
            return python, versions, origin
        reasons.append(why_not)
    return None, None, "; ".join(reasons) + f"; to set up the peer venv: {SETUP_HINT}"


def cuba_description(spec, dt_ms: float, duration_ms: float, float32: bool = True, seed: int = 0) -> dict:
    """The NETWORK_JSON of ``peers/brian2_cuba.py`` for an einet spiking spec, after checking that the spec is
    a CUBA network the peer can reproduce: one LIF parameter set, an excitatory and an inhibitory population
    whose projections (current-based, fixed probability) share weight, tau, delay and p and reach all."""
    names = list(spec.populations)
    pops = [spec.populations[n] for n in names]
    if spec.neuron != "lif" or len({tuple(sorted(p.params.items())) for p in pops}) != 1:
        raise ValueError("the Brian2 CUBA network needs one LIF parameter set shared by all populations")
    if len(pops) != 2:
        raise ValueError("the Brian2 CUBA network needs exactly two populations, excitatory then inhibitory")
    by_source = {}
    for proj in spec.projections.values():
        if proj.synapse != "current" or proj.connectivity != "fixed_probability":
            raise ValueError("the Brian2 CUBA network needs current-based, fixed-probability projections")
        by_source.setdefault(proj.source, set()).add((proj.weight, proj.tau_syn, proj.delay, proj.p, proj.target))
    synapse_specs = {}
    for source in names:
        entries = by_source.get(source, set())
        shared = {e[:4] for e in entries}
        if len(shared) != 1 or {e[4] for e in entries} != set(names):
            raise ValueError(f"the projections from {source} must share weight, tau, delay and p and reach all")
        synapse_specs[source] = dict(zip(("weight", "tau", "delay", "p"), shared.pop()))
    exc, inh = (synapse_specs[s] for s in names)
    if not (exc["weight"] > 0 > inh["weight"]):
        raise ValueError("expected an excitatory first and an inhibitory second population")
    low_high = [p.init_v for p in pops]
    if not all(low_high) or len({tuple(x) for x in low_high}) != 1:
        raise ValueError("expected the same init_v range for every population")
    par = pops[0].params
    return {"sizes": [p.size for p in pops],
            "lif": {k: par[k] for k in ("tau_m", "v_rest", "v_th", "v_reset", "t_ref")},
            "exc": exc, "inh": inh, "init_v": list(low_high[0]), "dt": dt_ms, "duration": duration_ms,
            "dtype": "float32" if float32 else "float64", "seed": seed}


class Brian2Peer:
    """``peers/brian2_cuba.py`` in its own process: built once, then run on request between einet rounds."""

    def __init__(self, python: str, description: dict):
        self.dtype = description["dtype"]
        self.process = subprocess.Popen([python, str(PEER), json.dumps(description)], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True, bufsize=1, env=_peer_env(python))

    def request(self, command: str) -> dict:
        """Send one command and return its reply; the peer's failures raise ``RuntimeError``."""
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the Brian2 peer ended (exit status {self.process.wait()}) on {command!r}")
        reply = json.loads(line)
        if "error" in reply:
            raise RuntimeError(f"the Brian2 peer failed on {command!r}: {reply['error']}")
        return reply

    def build(self) -> float:
        """Generate and compile the project (once); returns the seconds it took."""
        return self.request("build")["build_s"]

    def run(self) -> tuple[float, float, float, float]:
        """One run of the binary: its loop's seconds, the mean rate [Hz], the whole binary's wall and CPU seconds."""
        r = self.request("run")
        return r["loop_s"], r["rate_hz"], r["binary_wall_s"], r["binary_cpu_s"]

    def close(self) -> None:
        """Ask the peer to quit (it removes its project directory), killing it if it does not."""
        try:
            self.process.stdin.write("quit\n")
            self.process.stdin.close()
            self.process.wait(timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--kernels", default="auto", choices=["auto", "torch"],
                        help="auto: the compiled LIF step on the CPU; torch: plain torch")
    parser.add_argument("--no-brian2", action="store_true", help="skip the Brian2 comparison")
    parser.add_argument("--brian2-python", default=os.environ.get("EINET_BRIAN2_PYTHON"), metavar="PATH",
                        help="interpreter with Brian2 for the peer process (default: $EINET_BRIAN2_PYTHON, else "
                             "this one if Brian2 imports here, else benchmarks/.peers/brian2/bin/python)")
    parser.add_argument("--brian2-float64", action="store_true", help="run Brian2 in float64 (default float32)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if args.no_brian2:
        b2_python, b2_versions, why = None, None, "skipped (--no-brian2)"
    else:
        b2_python, b2_versions, why = find_brian2_python(args.brian2_python)
        if b2_python is not None:  # now, before the build's seconds of silence; a reason to skip comes at the end
            print(f"Brian2 peer: brian2 {b2_versions['brian2']} (numpy {b2_versions['numpy']}, "
                  f"Python {b2_versions['python']}) under {b2_python} ({why})", flush=True)
    one_run(1, device, 100.0, args.kernels)  # warm-up (and the kernel's build, once per machine)

    b2net = None
    if b2_python is not None:
        description = cuba_description(cuba_elements(1)[0], 0.1, 1000.0, float32=not args.brian2_float64)
        b2net = Brian2Peer(b2_python, description)
        try:
            build_s = b2net.build()
        except RuntimeError as error:
            b2net.close()
            b2net, why = None, str(error)

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
        print(f"Brian2: {why}")
        return
    b2net.close()
    loop = statistics.median(b[0] for b in brian)
    wall = statistics.median(b[2] for b in brian)
    cpu = statistics.median(b[3] for b in brian)
    print(f"Brian2 {b2_versions['brian2']} C++ standalone (peer process, Python {b2_versions['python']}), "
          f"1 thread (no OpenMP), {b2net.dtype}, same rounds "
          f"(generated and compiled once before them: {build_s:.1f} s, not timed):")
    print(f"Brian2:       {loop:6.3f} s  simulation loop (its _last_run_time, timed around Network::run)  "
          f"rate {statistics.median(b[1] for b in brian):.2f} Hz")
    print(f"              {wall:6.3f} s  wall time of the whole binary (start, synapse creation, run, results); "
          f"its CPU time {cpu:.3f} s")
    print(f"einet / Brian2, 1 network: {t1 / loop:.2f}x (einet wall / Brian2 loop), "
          f"{c1 / loop:.2f}x (einet CPU {c1:.2f} s / Brian2 loop); stretch goal <= 3x")
    print(f"all rounds, Brian2 loop: {', '.join(f'{b[0]:.3f}' for b in brian)} s; "
          f"binary wall: {', '.join(f'{b[2]:.3f}' for b in brian)} s")


if __name__ == "__main__":
    main()
