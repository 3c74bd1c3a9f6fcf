"""The kernel loader and its cache: unknown names, the opt-out, a cache keyed by content (two checkouts,
one build), one build for many processes at once, one warning line and plain torch without a compiler,
and the same numbers with and without the kernels."""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from einet import kernels

REPO = Path(__file__).resolve().parents[1]


def test_unknown_kernel_lists_the_known_ones():
    with pytest.raises(KeyError, match="alif_step, pair_counts, pattern_mm, qif_step, rate_step"):
        kernels.load("nope")


def test_opt_out_returns_none(monkeypatch):
    monkeypatch.setattr(kernels, "_modules", {})
    monkeypatch.setenv("EINET_NO_KERNELS", "1")
    assert kernels.load("pattern_mm") is None


@pytest.fixture
def empty_cache(monkeypatch, tmp_path):
    """The loader as a fresh process has it, with an empty kernel cache (nothing loaded, warned or probed)."""
    monkeypatch.setattr(kernels, "_modules", {})
    monkeypatch.setattr(kernels, "_failed", {})
    monkeypatch.setattr(kernels, "_warned", set())
    monkeypatch.setattr(kernels, "_compilers", {})
    monkeypatch.delenv("EINET_NO_KERNELS", raising=False)
    monkeypatch.setenv("EINET_KERNEL_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _checkout(where: Path) -> Path:
    """A copy of the package, as a second checkout or virtual environment of the same code has it."""
    shutil.copytree(REPO / "src" / "einet", where / "einet", ignore=shutil.ignore_patterns("__pycache__"))
    return where


def test_the_cache_is_keyed_by_content_not_by_where_the_source_lies(tmp_path, monkeypatch):
    """Two checkouts of the same code name the same entry; changed code, flags or compiler another one."""
    a, b, c = (_checkout(tmp_path / name) / "einet" / "kernels" for name in "abc")
    (c / "rate_step.cpp").write_text((c / "rate_step.cpp").read_text() + "\n// changed\n")
    monkeypatch.setattr(kernels, "compiler", lambda: ("c++ 12.2", ""))
    names = {}
    for folder in (a, b, c):
        monkeypatch.setattr(kernels, "_HERE", folder)
        names[folder.parents[1].name] = kernels.module_name_of("rate_step")
    assert names["a"] == names["b"] != names["c"]
    monkeypatch.setattr(kernels, "_HERE", a)
    monkeypatch.setattr(kernels, "CFLAGS", [*kernels.CFLAGS, "-DSOMETHING"])
    flags = kernels.module_name_of("rate_step")
    monkeypatch.setattr(kernels, "compiler", lambda: ("c++ 13.1", ""))
    assert len({names["a"], flags, kernels.module_name_of("rate_step")}) == 3
    monkeypatch.setenv("EINET_KERNEL_CACHE", str(tmp_path / "shared"))
    assert kernels.cache_root() == tmp_path / "shared"
    monkeypatch.delenv("EINET_KERNEL_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert kernels.cache_root() == tmp_path / "xdg" / "einet" / "kernels"


def test_without_a_compiler_one_warning_line_and_plain_torch(empty_cache, monkeypatch, caplog):
    """CXX=/bin/false and an empty cache: one warning line for the first kernel asked for, naming it and the
    reason; the others fall back quietly, nothing is built, nothing raises."""
    monkeypatch.setenv("CXX", "/bin/false")
    with caplog.at_level(logging.DEBUG, logger="einet"):
        assert kernels.load("pattern_mm") is None
        assert kernels.load("rate_step") is None
        assert kernels.load("pattern_mm") is None
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "\n" not in warnings[0], warnings
    assert "pattern_mm" in warnings[0] and "/bin/false" in warnings[0] and "plain torch" in warnings[0]
    assert not any(r.exc_info for r in caplog.records)
    assert not empty_cache.exists() or not any(empty_cache.iterdir())


def test_a_live_builder_is_waited_for_a_bounded_time_then_plain_torch_is_used(empty_cache, monkeypatch, caplog):
    """Another live process holds the entry's build lock: this one waits BUILD_WAIT_S, then falls back."""
    import fcntl

    if kernels.compiler()[0] is None:
        pytest.skip("no C++ compiler here: the compiled kernels are optional")
    monkeypatch.setattr(kernels, "BUILD_WAIT_S", 1.0)
    empty_cache.mkdir(parents=True)
    with open(empty_cache / f"{kernels.module_name_of('rate_step')}.lock", "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        started = time.monotonic()
        with caplog.at_level(logging.INFO, logger="einet"):
            assert kernels.load("rate_step") is None
        assert time.monotonic() - started < 10
    messages = [r.getMessage() for r in caplog.records]
    assert any("waiting for another process building einet kernel rate_step" in m for m in messages)
    assert any("rate_step unavailable (another process has been building it" in m for m in messages)


def test_the_kernels_command_reports_each_kernel_and_why_it_is_unavailable(empty_cache, monkeypatch, tmp_path):
    from einet.cli import main

    monkeypatch.setenv("CXX", "/bin/false")
    out = tmp_path / "kernels.txt"
    assert main(["-q", "kernels", "--out", str(out)]) == 0
    rows = [line.split(None, 2) for line in out.read_text().splitlines() if not line.startswith("#")]
    assert [row[0] for row in rows] == kernels.known() and {row[1] for row in rows} == {"unavailable"}
    assert all("no C++ compiler" in row[2] and "/bin/false" in row[2] for row in rows)
    assert f"# einet kernel cache: {empty_cache} (EINET_KERNEL_CACHE)" in out.read_text()
    monkeypatch.setenv("EINET_NO_KERNELS", "1")
    assert main(["-q", "kernels", "rate_step", "--out", str(out)]) == 0
    assert out.read_text().splitlines()[-1].split(None, 2) == ["rate_step", "unavailable", "EINET_NO_KERNELS is set"]
    assert main(["-q", "kernels", "nope"]) == 2


def test_a_job_without_a_compiler_logs_one_warning_line_and_runs_on_plain_torch(tmp_path):
    """The simulate stage as a rule runs it (--log), on a node without a compiler (CXX=/bin/false) and with
    an empty cache, for a network that asks for two kernels: it finishes, and its log has one warning line
    naming the kernel and the reason, and no traceback."""
    import yaml

    from conftest import experiment
    from einet.network.presets import balanced_ei

    raw = experiment(balanced_ei(200, 100, 20.0), sweep={"batch": {"model.external.M0": [1.0, 2.0]}})
    raw["model"]["projections"]["EE"]["stp"] = {"U": 0.2, "tau_fac": 200.0, "tau_rec": 100.0}
    raw["simulation"]["duration"] = 50.0
    (tmp_path / "job.yaml").write_text(yaml.safe_dump(raw))
    env = {key: value for key, value in os.environ.items() if key != "EINET_NO_KERNELS"}
    env.update(CXX="/bin/false", EINET_KERNEL_CACHE=str(tmp_path / "cache"), OMP_NUM_THREADS="1")
    log = tmp_path / "simulate.log"
    done = subprocess.run([sys.executable, "-m", "einet", "--log", str(log), "simulate", str(tmp_path / "job.yaml"),
                           "--out", str(tmp_path / "run.nc"), "--device", "cpu"], env=env, capture_output=True,
                          text=True, timeout=300)
    text = log.read_text()
    assert done.returncode == 0 and (tmp_path / "run.nc").is_file(), text[-3000:]
    assert done.stderr == "" and "Traceback" not in text
    warnings = [line for line in text.splitlines() if " WARNING: " in line]
    assert len(warnings) == 1, warnings
    assert re.search(r"einet\.kernels WARNING: einet kernel (pattern_mm|rate_step) unavailable \(no C\+\+ compiler: "
                     r"'/bin/false --version' exits with status 1; .*\); using plain torch", warnings[0]), warnings[0]


def _rate_step():
    module = kernels.load("rate_step")
    if module is None:
        pytest.skip("no C++ compiler here: the compiled kernels are optional")
    return module


def test_fused_stp_update_matches_the_torch_update():
    import torch

    from einet.synapses.stp import PER_MS, STPParams, STPState, stp_step, transmitted

    fused = _rate_step()
    g = torch.Generator().manual_seed(0)
    B, N = 3, 257
    rate = torch.rand(B, N, generator=g, dtype=torch.float64) * 80 - 5  # some negative: clamped for STP
    state = STPState(torch.rand(B, N, generator=g, dtype=torch.float64),
                     torch.rand(B, N, generator=g, dtype=torch.float64))
    params = STPParams(*(torch.tensor(v, dtype=torch.float64).reshape(-1, 1)
                         for v in ([0.05, 0.2, 0.5], [1000.0, 200.0, 50.0], [200.0, 800.0, 20.0])))
    now, u, x = fused.stp_advance(rate, state.u, state.x, params.U.view(-1), params.tau_fac.view(-1),
                                  params.tau_rec.view(-1), 0.5, PER_MS)
    expected = stp_step(rate, state, params, 0.5)
    torch.testing.assert_close(now, transmitted(rate, state), rtol=0, atol=0)
    torch.testing.assert_close(u, expected.u, rtol=1e-14, atol=1e-15)
    torch.testing.assert_close(x, expected.x, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("ext_columns", [1, 33])
def test_fused_threshold_linear_update_matches_the_formula(ext_columns):
    import torch

    fused = _rate_step()
    g = torch.Generator().manual_seed(1)
    B, N = 4, 33
    r, exc, inh = (torch.randn(B, N, generator=g, dtype=torch.float64) for _ in range(3))
    ext = torch.randn(B, ext_columns, generator=g, dtype=torch.float64)
    threshold, gain, decay = (torch.rand(B, 1, generator=g, dtype=torch.float64) for _ in range(3))
    out = fused.leaky_threshold_linear(r, exc, inh, ext, threshold.view(-1), gain.view(-1), decay.view(-1))
    target = gain * torch.relu(exc + inh + ext - threshold)
    torch.testing.assert_close(out, r * decay + target * (1 - decay), rtol=0, atol=0)  # same rounding, no FMA


def test_network_gives_the_same_numbers_with_and_without_kernels():
    import math

    import torch

    from einet.fields import parse_section
    from einet.network.rate import RateNetwork
    from einet.network.presets import balanced_ei
    from einet.config.model import ModelSpec

    _rate_step()
    raw = balanced_ei(300, 100, 30.0)
    raw["projections"]["EE"].update(profile="cosine", kappa=0.5, stp={"U": 0.1, "tau_fac": 500.0, "tau_rec": 100.0})
    raw["external"]["noise"] = {"E": 0.1}
    spec = parse_section(ModelSpec, raw, "model")
    states = {}
    for mode in ("auto", "torch"):
        net = RateNetwork([spec] * 5, 0.5, dtype=torch.float64, kernels=mode, seed=3)
        state = net.initial_state()
        with torch.inference_mode():
            for step in range(200):
                cue = torch.cos(torch.linspace(0, 2 * math.pi, 300, dtype=torch.float64)) if step < 50 else None
                state, _ = net.step(state, (cue, None))
        states[mode] = state
    for a in range(2):
        torch.testing.assert_close(states["auto"].rates[a], states["torch"].rates[a], rtol=1e-11, atol=1e-12)
    torch.testing.assert_close(states["auto"].plasticity[0].u, states["torch"].plasticity[0].u, rtol=1e-11, atol=1e-12)


# ------------------------------------------------------ one build, shared (each test here builds at most once)

#: Loads rate_step from this process's checkout (PYTHONPATH) and the cache of EINET_KERNEL_CACHE, logging at
#: DEBUG to stderr; with READY and GO set it waits for GO after the imports, so that two start the load at once.
LOAD = r"""
import logging, os, sys, time
from pathlib import Path
logging.basicConfig(level=logging.DEBUG, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
import torch
from einet import kernels
assert Path(kernels.__file__).is_relative_to(sys.argv[1]), kernels.__file__
if os.environ.get("READY"):
    Path(os.environ["READY"]).touch()
    while not Path(os.environ["GO"]).exists():
        time.sleep(0.02)
module = kernels.load("rate_step")
sys.exit(3 if module is None else 0)
"""


def _load_from(checkout: Path, cache: Path, **env) -> subprocess.Popen:
    environ = {key: value for key, value in os.environ.items() if key not in ("EINET_NO_KERNELS", "CXX")}
    environ.update(OMP_NUM_THREADS="1", EINET_KERNEL_CACHE=str(cache),
                   PYTHONPATH=os.pathsep.join([str(checkout), *filter(None, [os.environ.get("PYTHONPATH")])]), **env)
    return subprocess.Popen([sys.executable, "-c", LOAD, str(checkout)], env=environ, stderr=subprocess.PIPE,
                            text=True)


@pytest.fixture(scope="module")
def two_at_once(tmp_path_factory):
    """Two checkouts of the code load rate_step at the same moment into an empty cache (the one build of
    this module's tests): ``(cache, [(returncode, log), ...])``."""
    if kernels.compiler()[0] is None:
        pytest.skip("no C++ compiler here: the compiled kernels are optional")
    root = tmp_path_factory.mktemp("two-checkouts")
    cache, go = root / "cache", root / "go"
    processes = [_load_from(_checkout(root / name), cache, READY=str(root / f"ready-{name}"), GO=str(go))
                 for name in ("a", "b")]
    deadline = time.monotonic() + 300
    while not all((root / f"ready-{name}").exists() for name in ("a", "b")):
        assert time.monotonic() < deadline and all(p.poll() is None for p in processes), "a loader did not start"
        time.sleep(0.05)
    go.touch()
    logs = [p.communicate(timeout=900)[1] for p in processes]
    return cache, [(p.returncode, log) for p, log in zip(processes, logs)]


def _entries(cache: Path) -> list[Path]:
    return sorted(p for p in cache.iterdir() if p.is_dir())


@pytest.mark.slow
def test_two_processes_building_into_an_empty_cache_at_once_both_succeed_and_one_builds(two_at_once):
    cache, results = two_at_once
    assert [code for code, _ in results] == [0, 0], [log[-3000:] for _, log in results]
    built = [log for _, log in results if "built einet kernel rate_step" in log]
    assert len(built) == 1, [log[-3000:] for _, log in results]
    (other,) = [log for _, log in results if log is not built[0]]
    (entry,) = _entries(cache)
    assert "waiting for another process building einet kernel rate_step" in other
    assert f"loaded einet kernel rate_step from {entry}" in other
    assert (entry / kernels.MARKER).is_file() and (entry / "rate_step.cpp").is_file()  # built from its own copy
    assert not [p for p in cache.iterdir() if p.name.startswith(".")]  # no temporary directory left


@pytest.mark.slow
def test_a_third_checkout_loads_that_build_without_rebuilding(two_at_once, tmp_path):
    cache, _ = two_at_once
    (entry,) = _entries(cache)
    before = {p.name: p.stat().st_mtime_ns for p in entry.iterdir()}
    process = _load_from(_checkout(tmp_path / "c"), cache)
    log = process.communicate(timeout=300)[1]
    assert process.returncode == 0, log[-3000:]
    assert "built einet kernel" not in log and f"loaded einet kernel rate_step from {entry}" in log
    assert _entries(cache) == [entry] and {p.name: p.stat().st_mtime_ns for p in entry.iterdir()} == before


@pytest.mark.slow
def test_a_node_without_a_compiler_loads_a_build_made_elsewhere(two_at_once):
    cache, _ = two_at_once
    (entry,) = _entries(cache)
    process = _load_from(REPO / "src", cache, CXX="/bin/false")
    log = process.communicate(timeout=300)[1]
    assert process.returncode == 0, log[-3000:]
    assert "WARNING" not in log and f"loaded einet kernel rate_step from {entry}" in log


# ----------------------------------------------- the same numbers with and without the kernels (default cache)

def _with_and_without_kernels(compute, monkeypatch):
    """``compute()`` with the kernels (as built in the default cache) and with ``EINET_NO_KERNELS=1``, and the
    names of the kernels the first call used (to know the comparison compares something)."""
    used = set()
    load = kernels.load

    def spy(name):
        module = load(name)
        if module is not None:
            used.add(name)
        return module

    monkeypatch.setattr(kernels, "load", spy)
    monkeypatch.delenv("EINET_NO_KERNELS", raising=False)
    with_kernels = compute()
    monkeypatch.setenv("EINET_NO_KERNELS", "1")
    monkeypatch.setattr(kernels, "_modules", {})  # as a process started with it set: nothing loaded
    unused = set(used)
    used.clear()
    without = compute()
    assert not used
    return with_kernels, without, unused


def _needs(*names):
    for name in names:
        if kernels.load(name) is None:
            pytest.skip(f"the {name} kernel cannot be built here: only plain torch exists")


def _simulate(raw):
    import copy

    import einet

    return einet.simulate(einet.validate(copy.deepcopy(raw)), progress=False)


def test_a_rate_run_without_kernels_gives_the_numbers_of_a_run_with_them(monkeypatch):
    """A sparse E/I network with short-term plasticity, three drives in one batch, float32, 400 steps.

    Tolerance: each step the pattern kernel may add a neuron's K = 50 inputs in another order than
    torch.sparse, which moves a float32 sum by at most about K * 2**-24 (3e-6) of the sum of its terms'
    magnitudes; this preset sits at a stable fixed point, so such differences are damped, not amplified,
    and 1e-5 of the largest value bounds them with a margin (the fused STP and rate updates round as torch
    does: no FMA). Measured where this was written: at most 4e-6 apart on values up to 18 (2e-7 of the largest)."""
    from conftest import experiment
    from einet.network.presets import balanced_ei

    _needs("pattern_mm", "rate_step")
    model = balanced_ei(400, 200, 50.0)
    model["projections"]["EE"]["stp"] = {"U": 0.2, "tau_fac": 200.0, "tau_rec": 100.0}
    raw = experiment(model, sweep={"batch": {"model.external.M0": [0.5, 1.0, 2.0]}})
    raw["simulation"].update(dtype="float32", duration=200.0)
    fast, slow, used = _with_and_without_kernels(lambda: _simulate(raw), monkeypatch)
    assert {"pattern_mm", "rate_step"} <= used
    assert set(fast.data_vars) == set(slow.data_vars) and "stp_u_mean" in fast
    for name in fast.data_vars:
        a, b = fast[name].values, slow[name].values
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5 * float(np.abs(b).max()), err_msg=name)


def test_a_spiking_run_without_kernels_gives_the_numbers_of_a_run_with_them(monkeypatch):
    """The CUBA network shrunk to 500 LIF neurons (p = 0.1), float32, 3000 steps.

    The raster is compared exactly, the statistics made from it to float64 rounding: the compiled LIF step
    does the torch step's arithmetic in its order without FMA, so a potential could differ only by a
    reordered float32 sum of arriving weights (about 1e-6 mV), which decides a spike only for a potential
    that close to threshold; here none is, and the two rasters are the same spikes at the same steps. (A
    kernel that reorders those sums could flip such a spike; compare spike counts then.)"""
    import yaml

    _needs("spiking_step")
    raw = yaml.safe_load((REPO / "config" / "experiments" / "cuba.yaml").read_text())
    raw.pop("scales")
    raw["figures"] = []
    raw["spiking"]["populations"]["E"]["size"], raw["spiking"]["populations"]["I"]["size"] = 400, 100
    for projection in raw["spiking"]["projections"].values():
        projection["p"] = 0.1
    raw["simulation"]["duration"] = 300.0
    raw["spiking"]["record"]["transient"] = 50.0
    fast, slow, used = _with_and_without_kernels(lambda: _simulate(raw), monkeypatch)
    assert "spiking_step" in used and fast.spike_time.size > 100
    for name in ("spike_time", "spike_neuron", "spike_element", "spike_count"):
        np.testing.assert_array_equal(fast[name].values, slow[name].values, err_msg=name)
    for name in ("rate", "isi_mean", "isi_cv", "population_rate"):
        np.testing.assert_allclose(fast[name].values, slow[name].values, rtol=1e-12, err_msg=name)


def test_information_without_kernels_gives_the_numbers_with_them(monkeypatch):
    """ei_parts and sensitivity of a 20 -> 10 tanh layer: the kernel counts the same integer histograms and
    sums each pair's information in float64 over its cells in another order, so they agree to about the
    number of cells times 2**-53; 1e-10 relative leaves a wide margin."""
    import torch

    from einet.measures.information import ei_parts, sensitivity

    _needs("pair_counts")
    layer = torch.nn.Linear(20, 10)
    torch.nn.init.normal_(layer.weight, generator=torch.Generator().manual_seed(0))
    options = dict(activation="tanh", in_range=(-1, 1), in_bins=16, out_bins=16, samples=20_000, seed=3)
    fast, slow, used = _with_and_without_kernels(
        lambda: (ei_parts(layer, **options), sensitivity(layer, **options)), monkeypatch)
    assert used == {"pair_counts"} and min(fast) > 0.1
    np.testing.assert_allclose(fast, slow, rtol=1e-10)


@pytest.mark.slow
def test_a_kernel_that_does_not_compile_is_one_warning_line_with_the_compilers_error(empty_cache, tmp_path,
                                                                                   monkeypatch, caplog):
    if kernels.compiler()[0] is None:
        pytest.skip("no C++ compiler here: the compiled kernels are optional")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "rate_step.cpp").write_text("#include <torch/extension.h>\nint rate_step() { return undeclared; }\n")
    monkeypatch.setattr(kernels, "_HERE", broken)
    with caplog.at_level(logging.WARNING, logger="einet"):
        assert kernels.load("rate_step") is None
    (warning,) = [r.getMessage() for r in caplog.records]
    assert re.fullmatch(r"einet kernel rate_step unavailable \(build failed: rate_step\.cpp:2:\d+: error: "
                        r".*undeclared.*\); using plain torch", warning), warning
    assert [p.name for p in empty_cache.iterdir()] == [f"{kernels.module_name_of('rate_step')}.lock"]


@pytest.mark.slow
def test_the_kernels_command_reports_a_build_in_the_cache_as_already_built(two_at_once, tmp_path):
    cache, _ = two_at_once
    (entry,) = _entries(cache)
    env = {key: value for key, value in os.environ.items() if key not in ("EINET_NO_KERNELS", "CXX")}
    out = tmp_path / "kernels.txt"
    done = subprocess.run([sys.executable, "-m", "einet", "--log", str(tmp_path / "kernels.log"), "kernels", "rate_step",
                           "--out", str(out)], env=dict(env, EINET_KERNEL_CACHE=str(cache)), capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, (tmp_path / "kernels.log").read_text()[-3000:]
    assert out.read_text().splitlines()[-1].split() == ["rate_step", "already", "built", entry.name]


@pytest.mark.slow
def test_the_pipeline_builds_the_kernels_once_before_any_job(tmp_path):
    """A real two-job run: the onstart handler reports every kernel (built or found in the cache)
    before the first job starts, the jobs then only load them, and a dry run builds nothing."""
    import yaml

    from conftest import experiment
    from einet.network.presets import balanced_ei

    raw = experiment(balanced_ei(50, 50, 10), sweep={"grid": {"simulation.seed": [0, 1]}}, figures=[])
    raw["name"] = "tiny"
    (tmp_path / "config" / "experiments").mkdir(parents=True)
    (tmp_path / "config" / "experiments" / "tiny.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    (tmp_path / "config" / "config.yaml").write_text(yaml.safe_dump({"experiments": ["tiny"]}))
    base = [sys.executable, "-m", "snakemake", "-s", str(REPO / "workflow" / "Snakefile"), "--directory",
            str(tmp_path), "--cores", "2"]
    dry = subprocess.run([*base, "-n"], capture_output=True, text=True, timeout=300)
    assert dry.returncode == 0, dry.stderr[-3000:]
    assert not (tmp_path / "results" / "kernels.txt").exists()
    done = subprocess.run([*base, "results/tiny/runs/seed~0.nc", "results/tiny/runs/seed~1.nc"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    report = (tmp_path / "results" / "kernels.txt").read_text().splitlines()
    reported = {line.split()[0] for line in report if line.split() and line.split()[0] in kernels.known()}
    assert reported == set(kernels.known()), report
    for seed in (0, 1):
        log = (tmp_path / "results" / "tiny" / "logs" / "simulate" / f"seed~{seed}.log").read_text()
        assert "built einet kernel" not in log, log
    first_job = min((tmp_path / "results" / "tiny" / "logs" / "simulate").glob("*.log"), key=lambda p: p.stat().st_mtime)
    assert (tmp_path / "results" / "logs" / "kernels.log").stat().st_mtime <= first_job.stat().st_mtime
