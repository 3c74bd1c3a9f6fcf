"""Optional compiled CPU kernels, each built on first use with the machine's C++ compiler.

A kernel is one C++ source file in this folder, ``<name>.cpp``, exporting a
function of the same name; :func:`load` builds it with ``-march=native`` into
torch's extension cache under a name that includes a fingerprint of the CPU
and of the source, so a cache shared by different machines never runs code
built for another instruction set. When no compiler is available (or
``EINET_NO_KERNELS`` is set) :func:`load` returns None and callers fall back
to plain torch.

Kernels: ``pattern_mm`` (0/1 CSR patterns, cut into cache-sized source segments, times one rate
vector or a batch ``[B, n_source]``, for sparse projections), ``rate_step`` (fused short-term
plasticity and threshold-linear updates), ``pair_counts`` (joint histograms and their information for
every input/output pair, for effective information), ``spiking_step`` (one fused, in-place step of a
LIF network, :mod:`einet.network.spiking`), ``qif_step`` and ``alif_step`` (the exact QIF and
adaptive-LIF steps, :mod:`einet.neurons.qif`, :mod:`einet.neurons.alif`).
"""

from __future__ import annotations

import hashlib
import logging
import os
import platform
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger("einet")
_HERE = Path(__file__).parent
CFLAGS = ["-O3", "-march=native", "-fopenmp", "-ffp-contract=off", "-fno-math-errno"]  # round as torch does (no FMA); errno unused lets exp vectorise
_modules: dict[str, object] = {}
_failed: set[str] = set()


def _cpu_flags() -> str:
    flags = platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith(("flags", "Features", "model name")):
                    flags += line
    except OSError:
        pass
    return flags


def module_name_of(name: str) -> str:
    """The extension's name: the kernel's, with a fingerprint of this CPU, the flags and the source."""
    source = _HERE / f"{name}.cpp"
    fingerprint = hashlib.sha256((_cpu_flags() + " ".join(CFLAGS) + source.read_text()).encode()).hexdigest()[:12]
    return f"einet_{name}_{fingerprint}"


_plain_torch = 0  # depth of plain_torch() blocks: inside one, load() answers None


@contextmanager
def plain_torch(active: bool = True):
    """Run a block with plain torch only, whatever kernels exist (``simulation.kernels: torch`` for code that
    asks for a kernel deep inside, e.g. a neuron model's step); ``active=False`` leaves the kernels on, so a
    caller can pass its setting: ``plain_torch(kernels != "auto")``."""
    global _plain_torch
    _plain_torch += active
    try:
        yield
    finally:
        _plain_torch -= active


def load(name: str):
    """The compiled module ``name``, or None if it cannot be built here (or inside :func:`plain_torch`)."""
    if _plain_torch:
        return None
    if name in _modules:
        return _modules[name]
    if name in _failed or os.environ.get("EINET_NO_KERNELS"):
        return None
    source = _HERE / f"{name}.cpp"
    if not source.is_file():
        raise KeyError(f"unknown kernel {name!r}; known: {', '.join(sorted(p.stem for p in _HERE.glob('*.cpp')))}")
    module_name = module_name_of(name)
    try:
        from torch.utils.cpp_extension import load as build

        with _builder_lock(module_name):
            _clear_stale_lock(module_name, dead_builder=True)
            log.info("loading the einet kernel %s (built once per machine; about a minute)", name)
            _modules[name] = build(
                name=module_name,
                sources=[str(_stable_copy(source, module_name))],
                extra_cflags=CFLAGS,
                extra_ldflags=["-fopenmp"],
                verbose=False,
            )
    except Exception as err:  # no compiler, no headers, ...: fall back, but say so
        log.warning("einet kernel %s unavailable (%s); using plain torch", name, str(err).splitlines()[0][:200])
        _failed.add(name)
        return None
    return _modules[name]


def _stable_copy(source: Path, module_name: str) -> Path:
    """The source copied into the module's build directory, built from there.

    torch decides whether to rebuild from the source *paths* as well as their contents, so two
    checkouts (a worktree, a second virtual environment) would otherwise rebuild the same
    kernel each time the other one ran it; the module name already fingerprints the contents.
    """
    from torch.utils.cpp_extension import _get_build_directory

    copy = Path(_get_build_directory(module_name, False)) / source.name
    text = source.read_text()
    if not copy.is_file() or copy.read_text() != text:
        from einet.io import atomic_write

        atomic_write(copy, lambda tmp: tmp.write_text(text))  # a concurrent build never reads half a file
    return copy


#: A build lock older than this was left by a build that died (a build takes about a minute).
STALE_LOCK_S = 600.0
#: How long a process waits for another live process building the same kernel before it gives up.
BUILD_WAIT_S = 900.0


class _builder_lock:
    """An exclusive ``flock`` on ``<build dir>/einet.lock`` around a kernel's load.

    torch's own build lock is a plain file: a build killed part-way leaves it behind and every
    later process waits on it forever. A ``flock`` is released by the operating system when its
    holder dies, so whoever holds this one knows that any torch lock it finds was left by a dead
    build and may remove it; a live builder is waited for at most ``BUILD_WAIT_S`` seconds, then
    the kernel is reported unavailable (plain torch is used) instead of hanging.
    """

    def __init__(self, module_name: str):
        from torch.utils.cpp_extension import _get_build_directory

        self.path = Path(_get_build_directory(module_name, False)) / "einet.lock"
        self.handle = None

    def __enter__(self):
        import fcntl
        import time

        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.handle = open(self.path, "a")
        deadline = time.monotonic() + BUILD_WAIT_S
        while True:
            try:
                fcntl.flock(self.handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return self
            except BlockingIOError:
                if time.monotonic() > deadline:
                    self.handle.close()
                    raise TimeoutError(f"another process has been building this kernel for over {BUILD_WAIT_S:.0f} s "
                                       f"(lock {self.path})") from None
                time.sleep(0.5)

    def __exit__(self, *exc):
        import fcntl

        fcntl.flock(self.handle, fcntl.LOCK_UN)
        self.handle.close()


def _clear_stale_lock(module_name: str, dead_builder: bool = False) -> None:
    """Remove torch's lock file when it was left by a killed build: always when ``dead_builder``
    (the caller holds :class:`_builder_lock`, so no live einet build owns it), else once it is
    older than ``STALE_LOCK_S`` (a build by something other than einet)."""
    import time

    try:
        from torch.utils.cpp_extension import _get_build_directory
    except ImportError:  # a torch without it: nothing to clean
        return
    lock = Path(_get_build_directory(module_name, False)) / "lock"
    try:
        age = time.time() - lock.stat().st_mtime
    except OSError:
        return
    if dead_builder or age > STALE_LOCK_S:
        log.warning("removing a kernel build lock left by a build that did not finish (%.0f s old): %s", age, lock)
        lock.unlink(missing_ok=True)


#: Cache sizes assumed where the machine does not say (sysfs unreadable): a small, common CPU.
_FALLBACK_CACHE = {1: 32 << 10, 2: 512 << 10}
_cache_sizes: dict[int, int] = {}


def cache_bytes(level: int) -> int:
    """The data (or unified) cache of ``level`` on CPU 0, in bytes, as Linux reports it; a small
    common size where it does not (logged once)."""
    if not _cache_sizes:
        for index in sorted(Path("/sys/devices/system/cpu/cpu0/cache").glob("index*")):
            try:
                kind = (index / "type").read_text().strip()
                size = (index / "size").read_text().strip()
                lvl = int((index / "level").read_text())
            except (OSError, ValueError):
                continue
            if kind in ("Data", "Unified") and size[:-1].isdigit():
                scale = {"K": 1 << 10, "M": 1 << 20}.get(size[-1], 1)
                _cache_sizes[lvl] = int(size[:-1]) * scale if size[-1] in "KM" else int(size)
        if not _cache_sizes:
            log.debug("cache sizes unreadable; assuming %s", _FALLBACK_CACHE)
            _cache_sizes.update(_FALLBACK_CACHE)
    return _cache_sizes.get(level, _FALLBACK_CACHE.get(level, 512 << 10))
