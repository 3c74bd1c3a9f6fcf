"""Optional compiled CPU kernels, built once into a cache and loaded from it by every process.

A kernel is one C++ source file in this folder, ``<name>.cpp``, exporting a
function of the same name. :func:`load` imports it from the kernel cache
(:func:`cache_root`: ``$EINET_KERNEL_CACHE``, else ``~/.cache/einet/kernels``),
building it there first if it is missing (``-march=native``, torch's
``cpp_extension``). A cache entry is named by a hash of what decides the
binary, never by where the source lies: the source text, the flags, the CPU,
torch's build, Python's ABI, and the compiler. So two checkouts of the same
code share one build, different code or another CPU never collides, and a
cache on a shared file system serves every host. A build runs under a file
lock in a private temporary directory renamed into place, so many processes
starting at once build once and never load half a build. ``einet kernels``
(a pipeline's first rule) builds them all before any job asks. Without a
compiler :func:`load` still loads a build made elsewhere; with none, or with
``EINET_NO_KERNELS`` set, it returns None and callers fall back to plain torch
(the same numbers up to rounding), said in one warning line.

Kernels: ``pattern_mm`` (0/1 CSR patterns, cut into cache-sized source segments, times one rate
vector or a batch ``[B, n_source]``, for sparse projections), ``rate_step`` (fused short-term
plasticity and threshold-linear updates), ``pair_counts`` (joint histograms and their information for
every input/output pair, for effective information), ``spiking_step`` (one fused, in-place step of a
LIF network, :mod:`einet.network.spiking`), ``qif_step`` and ``alif_step`` (the exact QIF and
adaptive-LIF steps, :mod:`einet.neurons.qif`, :mod:`einet.neurons.alif`).
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import platform
import shlex
import shutil
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("einet.kernels")
_HERE = Path(__file__).parent
CFLAGS = ["-O3", "-march=native", "-fopenmp", "-ffp-contract=off", "-fno-math-errno"]  # round as torch does (no FMA); errno unused lets exp vectorise
LDFLAGS = ["-fopenmp"]
#: The file that makes a cache entry complete; written in the temporary directory before its rename.
MARKER = "build.json"
_modules: dict[str, object] = {}
_failed: dict[str, str] = {}  # kernel -> why it is unavailable in this process


@functools.cache
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


def known() -> list[str]:
    """The kernels there are: one ``<name>.cpp`` each in this folder."""
    return sorted(p.stem for p in _HERE.glob("*.cpp"))


def _source(name: str) -> Path:
    source = _HERE / f"{name}.cpp"
    if not source.is_file():
        raise KeyError(f"unknown kernel {name!r}; known: {', '.join(known())}")
    return source


def cache_root() -> Path:
    """Where built kernels are kept: ``$EINET_KERNEL_CACHE``, else ``$XDG_CACHE_HOME/einet/kernels``
    (``~/.cache/einet/kernels``). On a cluster, point it at a directory every node sees: a build made
    on one host is then loaded by every host with the same CPU, torch and Python, none rebuilds it."""
    root = os.environ.get("EINET_KERNEL_CACHE")
    if root:
        return Path(root).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "einet" / "kernels"


def _platform() -> str:
    """What a build depends on besides its source, flags and compiler: the CPU (``-march=native``),
    torch's exact build and C++ ABI, and Python's extension ABI."""
    import torch

    return "\n".join([_cpu_flags(), torch.__version__, str(torch.version.git_version),
                      str(torch._C._GLIBCXX_USE_CXX11_ABI), sys.implementation.cache_tag, getattr(sys, "abiflags", "")])


def _sha(text: str, n: int) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:n]


def _entry_prefix(name: str) -> str:
    """``einet_<name>_<hash>``: the hash of everything but the compiler that decides the binary (source
    text, flags, CPU, torch, Python). Not the source's path, so two checkouts of the same code share a build."""
    text = "\0".join([_source(name).read_text(), " ".join(CFLAGS), " ".join(LDFLAGS), _platform()])
    return f"einet_{name}_{_sha(text, 16)}"


_compilers: dict[str, tuple[str | None, str]] = {}


def compiler() -> tuple[str | None, str]:
    """The C++ compiler torch builds with (``$CXX``, else ``c++``): ``(identity, "")`` where it runs,
    ``(None, why not)`` where it does not. The identity (its path and ``--version`` line) is part of each
    build's key; probed once per process and value of ``CXX``."""
    command = os.environ.get("CXX", "c++")
    if command not in _compilers:
        _compilers[command] = _probe_compiler(command)
    return _compilers[command]


def _probe_compiler(command: str) -> tuple[str | None, str]:
    argv = shlex.split(command) if command.strip() else []
    path = shutil.which(argv[0]) if argv else None
    if path is None:
        return None, f"no C++ compiler: {argv[0] if argv else 'CXX is empty'} not found"
    try:
        done = subprocess.run([path, *argv[1:], "--version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as err:
        return None, f"no C++ compiler: {command} --version failed ({err})"
    if done.returncode != 0:
        return None, f"no C++ compiler: '{command} --version' exits with status {done.returncode}"
    version = (done.stdout.strip().splitlines() or ["?"])[0]
    return " ".join([path, *argv[1:], version]), ""


def module_name_of(name: str) -> str:
    """The extension's name, which is also its cache entry's: the content hash and this compiler's."""
    identity, why = compiler()
    if identity is None:
        raise Unavailable(why)
    return f"{_entry_prefix(name)}_{_sha(identity, 8)}"


class Unavailable(Exception):
    """A kernel that cannot be had here; the message is the one-line reason."""


@dataclass(frozen=True)
class Status:
    """What :func:`prepare` found for one kernel: ``state`` is ``built``, ``already built`` or
    ``unavailable``; ``detail`` the build time, the compiler of a build made elsewhere, or the reason."""

    name: str
    state: str
    entry: Path | None = None
    detail: str = ""


def _import(entry: Path):
    """The extension in a complete cache entry, imported straight from its file (no compiler, no ninja)."""
    import importlib.util

    import torch  # noqa: F401  (the extension resolves libtorch's symbols from the loaded torch)

    spec = importlib.util.spec_from_file_location(entry.name, entry / f"{entry.name}.so")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _built_by(entry: Path) -> str:
    try:
        return json.loads((entry / MARKER).read_text()).get("compiler", "?")
    except (OSError, ValueError):
        return "?"


def _obtain(name: str, rebuild: bool = False):
    """Kernel ``name`` from the cache, built into it first if missing: ``(module, Status)``.

    Without a compiler, any complete build of the same content by another compiler will do (a compute
    node without one loads what the pipeline's first rule built elsewhere)."""
    root = cache_root()
    identity, why = compiler()
    if identity is None:
        entries = sorted(root.glob(f"{_entry_prefix(name)}_*/{MARKER}"), key=lambda p: p.stat().st_mtime)
        if not entries:
            raise Unavailable(f"{why}; and no build of it for this CPU, torch and Python in {root}")
        entry = entries[-1].parent
        return _import(entry), Status(name, "already built", entry, f"built by {_built_by(entry)}")
    entry = root / module_name_of(name)
    if not rebuild and (entry / MARKER).is_file():
        return _import(entry), Status(name, "already built", entry)
    with _BuildLock(root / f"{entry.name}.lock", name) as lock:
        if not rebuild and (entry / MARKER).is_file():  # built by another process while this one waited
            return _import(entry), Status(name, "already built", entry)
        module, seconds = _build(name, entry, identity, lock.exclusive)
    return module, Status(name, "built", entry, f"{seconds:.0f} s")


def _build(name: str, entry: Path, identity: str, exclusive: bool):
    """Build into a private temporary directory from a copy of the source, then rename it to ``entry``:
    a reader on any host sees no entry or a complete one, and a killed build leaves only its temporary
    directory (removed by the next builder holding the lock)."""
    from torch.utils.cpp_extension import load as torch_build

    root = entry.parent
    root.mkdir(parents=True, exist_ok=True)
    if exclusive:  # no one else is building this entry: temporaries left are from killed builds
        for stale in root.glob(f".{entry.name}.*"):
            shutil.rmtree(stale, ignore_errors=True)
    tmp = root / f".{entry.name}.tmp-{socket.gethostname()}-{os.getpid()}-{threading.get_ident()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    source = shutil.copy2(_source(name), tmp)
    log.debug("building einet kernel %s in %s", name, tmp)
    started = time.monotonic()
    try:
        module = torch_build(name=entry.name, sources=[str(source)], extra_cflags=list(CFLAGS),  # copies: torch
                             extra_ldflags=list(LDFLAGS), build_directory=str(tmp), verbose=False)  # appends to them
        seconds = time.monotonic() - started
        (tmp / MARKER).write_text(json.dumps({
            "kernel": name, "compiler": identity, "cflags": CFLAGS, "ldflags": LDFLAGS, "seconds": round(seconds, 1),
            "host": socket.gethostname(), "built": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "source_sha256": hashlib.sha256(Path(source).read_bytes()).hexdigest(),
        }, indent=1))
        if entry.exists():  # a rebuild, or an entry whose marker went missing: replace it
            _discard(entry)
        try:
            os.rename(tmp, entry)
        except OSError:
            if not (entry / MARKER).is_file():
                raise
            shutil.rmtree(tmp, ignore_errors=True)  # another host built it too (a file system without locks)
        module.__file__ = str(entry / f"{entry.name}.so")  # where it lies now (it was imported from tmp)
    except Exception as err:
        shutil.rmtree(tmp, ignore_errors=True)
        log.debug("building einet kernel %s failed: %s", name, err)  # the compiler's whole output
        raise Unavailable(_reason(err).replace(f"{tmp}{os.sep}", "")) from err
    except BaseException:  # interrupted: leave nothing half-built
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.info("built einet kernel %s in %.0f s into %s (%s)", name, seconds, entry, identity)
    return module, seconds


def _discard(entry: Path) -> None:
    """Move ``entry`` out of the way, then delete it (a process may still have its library mapped; that
    mapping survives the deletion)."""
    aside = entry.with_name(f".{entry.name}.old-{os.getpid()}-{threading.get_ident()}")
    os.rename(entry, aside)
    shutil.rmtree(aside, ignore_errors=True)


#: How long a process waits for another live process building the same kernel before it gives up.
BUILD_WAIT_S = 900.0


class _BuildLock:
    """An exclusive ``flock`` on ``<cache>/<entry>.lock`` around a build, so that of many processes
    (jobs on one host, or on several sharing the cache over NFS) one builds and the others wait, then
    load its build. The operating system releases a ``flock`` when its holder dies, so a killed build
    never blocks the next; a live builder is waited for at most ``BUILD_WAIT_S`` seconds, then the kernel
    is unavailable (plain torch) rather than the job hanging. Where the file system has no ``flock``, the
    build goes on unlocked: the rename into place keeps it safe, only not built once."""

    def __init__(self, path: Path, name: str):
        self.path, self.name, self.handle, self.exclusive = path, name, None, False

    def __enter__(self):
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.handle = open(self.path, "a")
        deadline, waiting = time.monotonic() + BUILD_WAIT_S, False
        while True:
            try:
                fcntl.flock(self.handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self.exclusive = True
                return self
            except BlockingIOError:
                if not waiting:
                    log.info("waiting for another process building einet kernel %s (lock %s)", self.name, self.path)
                    waiting = True
                if time.monotonic() > deadline:
                    self.handle.close()
                    raise Unavailable(f"another process has been building it for over {BUILD_WAIT_S:.0f} s "
                                      f"(lock {self.path})") from None
                time.sleep(0.2)
            except OSError as err:  # ENOLCK, EOPNOTSUPP: no flock on this file system
                log.debug("no lock for the kernel build (%s): building unlocked", err)
                return self

    def __exit__(self, *exc):
        self.handle.close()  # releases the flock


def _reason(err: BaseException) -> str:
    """One line for a failure: the compiler's first error line for a failed build, else the message's first."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()] or [type(err).__name__]
    errors = [line for line in lines[1:] if " error" in line.lower() or line.lower().startswith("error")]
    line = f"build failed: {errors[0]}" if errors else lines[0]
    return line if len(line) <= 300 else line[:297] + "..."


_warned: set[str] = set()


def _fall_back(name: str, err: BaseException) -> None:
    """Plain torch for ``name`` from now on in this process, said in one warning line (the full text at
    DEBUG). A cause shared by every kernel (no compiler) is warned about once, for the first kernel."""
    reason = _reason(err)
    _failed[name] = reason
    log.debug("einet kernel %s unavailable: %s", name, err)
    if reason in _warned:
        return
    _warned.add(reason)
    also = " (and for any other einet kernel with the same cause)" if reason.startswith("no C++ compiler") else ""
    log.warning("einet kernel %s unavailable (%s); using plain torch%s", name, reason, also)


_name_locks: dict[str, threading.Lock] = {}


def load(name: str):
    """The compiled module ``name``, or None where it cannot be had here (or inside :func:`plain_torch`).

    From the cache when built (logged at DEBUG), else built into it first (logged at INFO: what, where,
    how long); a failure is one warning line and plain torch for the rest of the process."""
    if _plain_torch:
        return None
    module = _modules.get(name)  # first: this is called every step, and reading the environment costs 0.5 us
    if module is not None:
        return module
    if os.environ.get("EINET_NO_KERNELS"):  # so it holds for the kernels not loaded yet (set it before the run)
        if "EINET_NO_KERNELS" not in _warned:
            _warned.add("EINET_NO_KERNELS")
            log.info("einet kernels off (EINET_NO_KERNELS is set): plain torch")
        return None
    if name in _failed:
        return None
    _source(name)  # an unknown name is a bug in the caller: KeyError
    with _name_locks.setdefault(name, threading.Lock()):  # one build per kernel, whichever thread asks
        if name in _modules or name in _failed:
            return _modules.get(name)
        try:
            module, status = _obtain(name)
        except Exception as err:  # no compiler, no headers, a failed build, ...: fall back, but say so
            _fall_back(name, err)
            return None
        if status.state == "already built":
            log.debug("loaded einet kernel %s from %s", name, status.entry)
        _modules[name] = module
    return module


def prepare(names: list[str] | None = None, rebuild: bool = False, jobs: int = 1) -> list[Status]:
    """Build every kernel (or ``names``) into the cache unless already there, ``jobs`` at a time; one
    :class:`Status` each. What ``einet kernels`` and the pipeline's first rule run, so that no job builds."""
    from concurrent.futures import ThreadPoolExecutor

    names = list(names or known())
    for name in names:
        _source(name)

    def one(name: str) -> Status:
        if os.environ.get("EINET_NO_KERNELS"):
            return Status(name, "unavailable", None, "EINET_NO_KERNELS is set")
        with _name_locks.setdefault(name, threading.Lock()):
            try:
                module, status = _obtain(name, rebuild)
            except Exception as err:
                log.debug("einet kernel %s unavailable: %s", name, err)
                return Status(name, "unavailable", None, _reason(err))
            _modules[name] = module
            _failed.pop(name, None)
            return status

    with ThreadPoolExecutor(max(1, min(jobs, len(names)))) as pool:
        return list(pool.map(one, names))


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
