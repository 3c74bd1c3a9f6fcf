"""One run that settles the GPU path: tests, CPU/CUDA parity of every default experiment, and measurements.

On a CUDA machine (``--device cuda``, the default when one is visible) it

1. records the machine (torch, CUDA, the device, its memory);
2. runs the ``gpu``-marked tests (``pytest -m gpu``);
3. runs every default experiment (``config/config.yaml``), shrunk as the test suite shrinks it, through
   the command line on the CPU and on the device with the same config and seed, and compares each
   ``summary.nc`` variable by variable: the largest deviation, relative to the variable's largest
   magnitude, and whether it lies within float32 rounding (relative deviation <= ``--rounding``);
4. measures: the device's read bandwidth (a large sum); the sparse rate step (N = 40,000 / 160,000,
   K = 500) at batch 1 / 16 / 256 and batch 1 as a fraction of that bandwidth; 256 ODR trials against
   one; the CUBA network alone and 16 at once; ei_parts of a 100 -> 30 layer; one training iteration
   of trained_odr;

and writes ``gpu_check.json`` and ``gpu_check.md`` (one table) into ``--out``. Each section is timed
and guarded: one that fails is recorded with its error and the others still run. With ``--device cpu``
everything runs shrunk on the CPU (the parity check then compares two CPU runs: determinism), which is
how CI tests this script.

Run (see gpu_check.sh for the device machine):
    python benchmarks/gpu_check.py --out results/gpu_check [--device cuda|cpu] [--experiments a b ...]
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

import torch
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "benchmarks"), str(ROOT / "tests")]

from bench_sparse_step import sync, time_it  # noqa: E402 (benchmarks/ is on the path from here on)


# ------------------------------------------------------------------------------------------ sections
def environment(device: torch.device) -> dict:
    info = {"torch": torch.__version__, "python": platform.python_version(), "device": str(device),
            "cuda_available": torch.cuda.is_available(), "cpu_threads": torch.get_num_threads()}
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        info.update(name=props.name, memory_gib=round(props.total_memory / 2**30, 1),
                    multiprocessors=props.multi_processor_count, cuda=torch.version.cuda)
    return info


def gpu_tests(device: torch.device) -> dict:
    if device.type != "cuda":
        return {"skipped": "no CUDA device: the gpu-marked tests skip themselves"}
    done = subprocess.run([sys.executable, "-m", "pytest", "-m", "gpu", "-q", "-p", "no:cacheprovider", "tests"],
                          cwd=ROOT, capture_output=True, text=True, timeout=240)
    tail = (done.stdout + done.stderr).strip().splitlines()[-15:]
    return {"returncode": done.returncode, "summary": tail[-1] if tail else "", "tail": tail}


def run_experiment(name: str, scale: dict, device: str, folder: Path) -> Path:
    """Expand, simulate or train, analyse and collect one shrunk experiment through the command line."""
    from einet.cli import main
    from einet.experiment import Experiment, validate
    from einet.runs import run_kind_of

    raw = yaml.safe_load((ROOT / "config" / "experiments" / f"{name}.yaml").read_text())
    raw = dict(raw, scales={"check": scale})
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / f"{name}.yaml"
    config.write_text(yaml.safe_dump(raw, sort_keys=False))
    analyses = []
    for job in Experiment(config, "check").job_names():
        job_file = folder / "configs" / f"{job}.yaml"
        run, analysis = folder / "runs" / f"{job}.nc", folder / "analysis" / f"{job}.nc"
        check(main(["-q", "expand", str(config), "--scale", "check", "--job", job, "--out", str(job_file)]), job)
        if run_kind_of(validate(yaml.safe_load(job_file.read_text()))).stage == "train":
            check(main(["-q", "train", str(job_file), "--out", str(run), "--model", str(folder / f"{job}.pt"),
                        "--device", device]), job)
        else:
            check(main(["-q", "simulate", str(job_file), "--out", str(run), "--device", device]), job)
        check(main(["-q", "analyze", str(run), "--out", str(analysis)]), job)
        analyses.append(str(analysis))
    summary = folder / "summary.nc"
    check(main(["-q", "collect", *analyses, "--out", str(summary)]), name)
    return summary


def check(code: int, what: str) -> None:
    if code != 0:
        raise RuntimeError(f"einet exited with {code} on {what}")


def compare(reference: Path, other: Path, rounding: float) -> dict:
    """Per numeric variable: the largest |difference| relative to the reference's largest magnitude."""
    import numpy as np
    import xarray as xr

    out = {}
    with xr.open_dataset(reference) as a, xr.open_dataset(other) as b:
        for name in a.data_vars:
            x, y = a[name].values, b[name].values
            if x.dtype.kind not in "fiu" or x.shape != y.shape:
                continue
            x, y = x.astype(float), y.astype(float)
            both_nan = np.isnan(x) & np.isnan(y)
            diff = np.where(both_nan, 0.0, np.abs(x - y))
            scale = float(np.nanmax(np.abs(x))) if np.isfinite(x).any() else 0.0
            worst = float(np.nanmax(diff)) if diff.size else 0.0
            relative = worst / scale if scale > 0 else (0.0 if worst == 0 else math.inf)
            out[name] = {"max_abs": worst, "max_rel": relative, "within_float32": bool(relative <= rounding)}
    return out


def parity(device: torch.device, experiments: list[str], rounding: float, scratch: Path) -> dict:
    from test_experiments import SHRINK

    results = {}
    for name in experiments:
        started = time.perf_counter()
        try:
            reference = run_experiment(name, SHRINK[name], "cpu", scratch / "cpu" / name)
            other = run_experiment(name, SHRINK[name], device.type, scratch / device.type / name)
            variables = compare(reference, other, rounding)
            results[name] = {"variables": variables, "all_within_float32": all(v["within_float32"]
                                                                               for v in variables.values()),
                             "seconds": round(time.perf_counter() - started, 1)}
        except Exception as error:  # noqa: BLE001 - recorded, and the next experiment runs
            results[name] = {"error": f"{type(error).__name__}: {error}", "trace": traceback.format_exc()[-2000:]}
    return results


def bandwidth(device: torch.device, nbytes: int) -> float:
    x = torch.rand(nbytes // 4, device=device)
    return nbytes / time_it(lambda: x.sum(), device, 5)


def sparse_steps(device: torch.device, sizes: list[int], K: float, batches: list[int], bw: float) -> dict:
    from bench_sparse_step import balanced_spec, step_time
    from einet.network.rate import RateNetwork

    out = {}
    for n in sizes:
        row = {}
        for batch in batches:
            specs = [balanced_spec(n, K, M0) for M0 in torch.linspace(0.5, 2.0, batch).tolist()]
            net = RateNetwork(specs, 0.5, device=device, seed=0)
            seconds = step_time(net, 5)
            sync(device)
            row[f"batch_{batch}_ms"] = round(seconds * 1e3, 3)
            if batch == 1:
                row["batch_1_fraction_of_bandwidth"] = round(net.weight_bytes() / seconds / bw, 3)
            del net
            if device.type == "cuda":
                torch.cuda.empty_cache()
        first = row[f"batch_{batches[0]}_ms"]
        row.update({f"batch_{b}_vs_1": round(row[f"batch_{b}_ms"] / first, 2) for b in batches[1:]})
        out[str(n)] = row
    return out


def odr_batch(device: torch.device, batch: int, duration: float) -> dict:
    from bench_odr_batch import ring_spec
    from einet.network.rate import RateNetwork
    from einet.tasks import ODR

    def per_second(trials: int) -> float:
        net = RateNetwork([ring_spec()] * trials, 0.5, device=device)
        task = ODR(population=0, sizes=net.sizes, cue_angles=[2 * math.pi * i / trials for i in range(trials)],
                   fixation=duration / 4, cue=duration / 4, delay=duration / 2, device=device)
        steps = task.schedule.n_steps(0.5)

        def run():
            state = net.initial_state()
            with torch.inference_mode():
                for step in range(steps):
                    state, _ = net.step(state, task.stimulus(step, 0.5))

        return time_it(run, device, 3) / (steps * 0.5 / 1000.0)

    one, many = per_second(1), per_second(batch)
    return {"one_trial_s_per_s": round(one, 3), f"{batch}_trials_s_per_s": round(many, 3),
            "ratio": round(many / one, 2), "target_ratio": 20}


def cuba(device: torch.device, batch: int, duration: float) -> dict:
    from bench_cuba import one_run

    one_run(1, device, duration / 10)  # warm-up
    single = statistics.median(one_run(1, device, duration)[0] for _ in range(3))
    many = statistics.median(one_run(batch, device, duration)[0] for _ in range(3))
    return {"one_network_s": round(single, 3), f"{batch}_networks_s": round(many, 3),
            "ratio": round(many / single, 2), "simulated_ms": duration}


def information(device: torch.device, samples: int) -> dict:
    from torch import nn

    from einet.measures.information import ei_parts

    torch.manual_seed(0)
    layer = nn.Linear(100, 30)
    kw = dict(activation=nn.Sigmoid(), in_range=(0, 1), in_bins=64, out_bins=64, samples=samples, device=device)
    value = ei_parts(layer, **kw)
    return {"ei_parts_s": round(time_it(lambda: ei_parts(layer, **kw), device, 3), 4), "value_bits": value,
            "samples": samples}


def training_iteration(device: torch.device, shrink: bool) -> dict:
    from einet.experiment import Experiment, validate
    from einet.runs.task_training import train_task

    exp = Experiment(ROOT / "config" / "experiments" / "trained_odr.yaml", "quick")
    raw = exp.job_config(exp.job_names()[0])
    if shrink:
        raw["model"]["populations"]["E"]["size"], raw["model"]["populations"]["I"]["size"] = 32, 8
    raw["training"].update(iterations=2, checkpoint_every=0)
    spec = validate(raw)
    start = time.perf_counter()
    train_task(spec, device, progress=False)
    sync(device)
    return {"seconds_per_iteration": round((time.perf_counter() - start) / 2, 3)}


def host_reads(device: torch.device) -> dict:
    """Values read back to the host by a rate run and a spiking run of 100 and of 400 steps on ``device``
    (tests/test_host_reads.py's counter): on a device the two counts must be equal (no read per step)."""
    from test_host_reads import reads

    import einet
    from conftest import experiment
    from einet.config.spiking import SpikingSpec
    from einet.experiment import validate
    from einet.fields import parse_section
    from einet.network import spike_events
    from einet.network.spiking import SpikingNetwork

    def rate(duration):
        raw = experiment()
        raw["simulation"].update(duration=duration, device=device.type)
        raw["simulation"]["record"]["average_from"] = 0.0
        return lambda: einet.simulate(validate(raw), progress=False)

    spec = parse_section(SpikingSpec, {
        "neuron": "lif", "populations": {"E": {"size": 400, "type": "exc", "drive": 20.0, "init_v": [-65.0, -55.0]}},
        "projections": {"EE": {"source": "E", "target": "E", "weight": 0.5, "p": 0.05, "tau_syn": 3.0,
                               "delay": 0.3}}}, "spiking")

    def spiking(steps):
        net = SpikingNetwork([spec], 0.1, seed=1, device=device)
        return lambda: spike_events.run_network(net, steps)

    out = {"rate_50_steps": reads(rate(25.0)), "rate_400_steps": reads(rate(200.0)),
           "spiking_100_steps": reads(spiking(100)), "spiking_400_steps": reads(spiking(400))}
    out["per_step_free"] = out["rate_400_steps"] == out["rate_50_steps"] and \
        out["spiking_400_steps"] <= out["spiking_100_steps"] + 2
    return out


# ------------------------------------------------------------------------------------------ driver
def section(results: dict, name: str, fn, *args) -> None:
    started = time.perf_counter()
    try:
        results[name] = fn(*args)
    except Exception as error:  # noqa: BLE001 - recorded, and the next section runs
        results[name] = {"error": f"{type(error).__name__}: {error}", "trace": traceback.format_exc()[-2000:]}
    results.setdefault("seconds", {})[name] = round(time.perf_counter() - started, 1)
    print(f"[gpu_check] {name}: {time.perf_counter() - started:.1f} s", flush=True)


def table(results: dict) -> str:
    """The figures as one markdown table."""
    env = results.get("environment", {})
    lines = [f"GPU check on {env.get('name', env.get('device'))}, torch {env.get('torch')}", "",
             "| what | result |", "|---|---|"]
    tests = results.get("gpu_tests", {})
    lines.append(f"| gpu-marked tests | {tests.get('summary') or tests.get('skipped') or tests.get('error')} |")
    for name, res in results.get("parity", {}).items():
        if "error" in res:
            lines.append(f"| parity {name} | error: {res['error']} |")
            continue
        worst = max(res["variables"].items(), key=lambda kv: kv[1]["max_rel"], default=(None, {"max_rel": 0.0}))
        outside = [v for v, d in res["variables"].items() if not d["within_float32"]]
        verdict = "all within float32 rounding" if not outside else f"beyond rounding: {', '.join(outside)}"
        lines.append(f"| parity {name} | largest relative deviation {worst[1]['max_rel']:.2e} ({worst[0]}); "
                     f"{verdict} |")
    for key in ("bandwidth_gb_s", "sparse", "odr", "cuba", "information", "training", "host_reads"):
        if key in results:
            value = results[key]
            text = json.dumps(value) if isinstance(value, dict) else f"{value}"
            lines.append(f"| {key} | {text} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu",
                        choices=["cuda", "cpu"])
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "gpu_check")
    parser.add_argument("--experiments", nargs="*", default=None,
                        help="experiments to compare (default: config/config.yaml's list)")
    parser.add_argument("--rounding", type=float, default=1e-4,
                        help="relative deviation counted as float32 rounding (default 1e-4, ~840 ulps)")
    parser.add_argument("--skip", nargs="*", default=[], choices=["tests", "parity", "measure"])
    args = parser.parse_args()
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: torch sees no CUDA device")
    shrink = device.type == "cpu"
    experiments = args.experiments
    if experiments is None:
        experiments = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())["experiments"]
    started = time.perf_counter()
    results: dict = {"environment": environment(device), "shrunk": shrink}
    if "tests" not in args.skip:
        section(results, "gpu_tests", gpu_tests, device)
    if "parity" not in args.skip:
        with tempfile.TemporaryDirectory(prefix="einet_gpu_check_") as scratch:
            section(results, "parity", parity, device, experiments, args.rounding, Path(scratch))
    if "measure" not in args.skip:
        bw_bytes = (1 << 24) if shrink else (1 << 32)
        section(results, "bandwidth_gb_s", lambda: round(bandwidth(device, bw_bytes) / 1e9, 1))
        bw = (results["bandwidth_gb_s"] if isinstance(results["bandwidth_gb_s"], float) else 1.0) * 1e9
        sizes, K, batches = ([4000], 50.0, [1, 4]) if shrink else ([40_000, 160_000], 500.0, [1, 16, 256])
        section(results, "sparse", sparse_steps, device, sizes, K, batches, bw)
        section(results, "odr", odr_batch, device, 4 if shrink else 256, 4.0 if shrink else 50.0)
        section(results, "cuba", cuba, device, 4 if shrink else 16, 20.0 if shrink else 1000.0)
        section(results, "information", information, device, 4096 if shrink else 100_000)
        section(results, "training", training_iteration, device, shrink)
        section(results, "host_reads", host_reads, device)
    results["total_seconds"] = round(time.perf_counter() - started, 1)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "gpu_check.json").write_text(json.dumps(results, indent=1, default=str))
    (args.out / "gpu_check.md").write_text(table(results))
    print(table(results))
    print(f"[gpu_check] wrote {args.out / 'gpu_check.json'} and gpu_check.md in {results['total_seconds']} s")


if __name__ == "__main__":
    main()
