"""Optional compiled CPU kernels, built on first use with the machine's C++ compiler.

``pattern_mm`` multiplies a 0/1 CSR pattern by a ``[n_source, B]`` block; for
B >= 2 it is several times faster than ``torch.sparse`` on the CPU (see
``benchmarks/``). It is compiled with ``-march=native`` into torch's extension
cache under a name that includes a fingerprint of the CPU, so a cache shared by
different machines never runs code built for another instruction set. When no
compiler is available, :func:`load` returns None and callers use torch.sparse.
"""

from __future__ import annotations

import hashlib
import logging
import os
import platform
from pathlib import Path

log = logging.getLogger("einet")
_SOURCE = Path(__file__).with_name("pattern_mm.cpp")
_module = None
_failed = False


def _cpu_fingerprint() -> str:
    flags = platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith(("flags", "Features", "model name")):
                    flags += line
    except OSError:
        pass
    return hashlib.sha256((flags + _SOURCE.read_text()).encode()).hexdigest()[:12]


def load():
    """The compiled module, or None if it cannot be built here (or EINET_NO_KERNELS is set)."""
    global _module, _failed
    if _module is not None or _failed:
        return _module
    if os.environ.get("EINET_NO_KERNELS"):
        _failed = True
        return None
    try:
        from torch.utils.cpp_extension import load as build

        log.info("building the einet CPU kernel (once per machine; about a minute)")
        _module = build(
            name=f"einet_pattern_mm_{_cpu_fingerprint()}",
            sources=[str(_SOURCE)],
            extra_cflags=["-O3", "-march=native", "-fopenmp"],
            extra_ldflags=["-fopenmp"],
            verbose=False,
        )
    except Exception as err:  # no compiler, no headers, ...: fall back, but say so
        log.warning("einet CPU kernel unavailable (%s); using torch.sparse", str(err).splitlines()[0][:200])
        _failed = True
    return _module
