"""The kernel loader: unknown names, the opt-out, and stale build locks."""

from __future__ import annotations

import os
import time

import pytest

from einet import kernels


def test_unknown_kernel_lists_the_known_ones():
    with pytest.raises(KeyError, match="pair_counts, pattern_mm"):
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
