"""The kernel loader: unknown names, the opt-out, and stale build locks."""

from __future__ import annotations

import os
import time

import pytest

from einet import kernels


def test_unknown_kernel_lists_the_known_ones():
    with pytest.raises(KeyError, match="alif_step, pair_counts, pattern_mm, qif_step, rate_step"):
        kernels.load("nope")


def test_opt_out_returns_none(monkeypatch):
    monkeypatch.setattr(kernels, "_modules", {})
    monkeypatch.setenv("EINET_NO_KERNELS", "1")
    assert kernels.load("pattern_mm") is None


def test_a_stale_lock_is_removed_and_a_fresh_one_kept(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_EXTENSIONS_DIR", str(tmp_path))
    from torch.utils.cpp_extension import _get_build_directory

    lock = tmp_path / "m" / "lock"
    assert _get_build_directory("m", False) == str(lock.parent)
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.touch()
    kernels._clear_stale_lock("m")
    assert lock.exists()  # a build may be running right now
    old = time.time() - kernels.STALE_LOCK_S - 5
    os.utime(lock, (old, old))
    kernels._clear_stale_lock("m")
    assert not lock.exists()


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


def _build_directory(name: str):
    from pathlib import Path

    from torch.utils.cpp_extension import _get_build_directory

    return Path(_get_build_directory(kernels.module_name_of(name), False))


def test_a_build_killed_part_way_never_makes_a_later_process_wait(tmp_path):
    """A killed build leaves torch's lock file, fresh; a new process loads the kernel at once and removes it."""
    import subprocess
    import sys

    if kernels.load("pattern_mm") is None:
        pytest.skip("no C++ compiler here: the compiled kernels are optional")
    lock = _build_directory("pattern_mm") / "lock"
    lock.touch()  # as a build killed a moment ago leaves it
    code = "from einet import kernels; import sys; sys.exit(0 if kernels.load('pattern_mm') is not None else 3)"
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert time.monotonic() - started < 60 and not lock.exists()  # (the removal is logged as "did not finish")


def test_a_live_builder_is_waited_for_a_bounded_time_then_plain_torch_is_used(monkeypatch):
    import fcntl

    if kernels.load("rate_step") is None:
        pytest.skip("no C++ compiler here: the compiled kernels are optional")
    monkeypatch.setattr(kernels, "_modules", {})
    monkeypatch.setattr(kernels, "_failed", set())
    monkeypatch.setattr(kernels, "BUILD_WAIT_S", 1.0)
    path = _build_directory("rate_step") / "einet.lock"
    with open(path, "a") as held:  # another live process building the same kernel
        fcntl.flock(held, fcntl.LOCK_EX)
        started = time.monotonic()
        assert kernels.load("rate_step") is None
        assert time.monotonic() - started < 10
        fcntl.flock(held, fcntl.LOCK_UN)
    monkeypatch.setattr(kernels, "_failed", set())
    assert kernels.load("rate_step") is not None  # once the builder is done
