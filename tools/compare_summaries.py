"""Compare every experiment's summary.nc between two results folders, variable by variable.

A restructuring must change no number: run the pipeline before and after, then

    python tools/compare_summaries.py results-before results-after

prints, per experiment, how many data variables and coordinates are bit-identical
(NaN equal to NaN), the largest absolute difference of any that is not, and exits 1
if anything differs or is missing on one side. Provenance attributes (wall time,
git commit) are expected to differ and are not compared.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import xarray as xr


def _text(a: np.ndarray) -> np.ndarray:
    """Strings as one dtype: netCDF char arrays read back as objects, variable-length strings as unicode."""
    return a.astype(str) if a.dtype.kind in "OUS" and all(isinstance(v, (str, bytes)) for v in a.flat) else a


def _same(a: np.ndarray, b: np.ndarray) -> tuple[bool, float]:
    a, b = _text(a), _text(b)
    if a.shape != b.shape or a.dtype.kind != b.dtype.kind:
        return False, float("inf")
    if a.dtype.kind in "fc":
        equal = bool(np.array_equal(a, b, equal_nan=True))
        diff = float(np.nanmax(np.abs(a - b))) if a.size and not equal else 0.0
        return equal, diff
    return bool(np.array_equal(a, b)), 0.0 if np.array_equal(a, b) else float("inf")


def compare(before: Path, after: Path) -> bool:
    ok = True
    names = sorted({p.parent.name for p in before.glob("*/summary.nc")} | {p.parent.name for p in after.glob("*/summary.nc")})
    for exp in names:
        a_path, b_path = before / exp / "summary.nc", after / exp / "summary.nc"
        if not (a_path.exists() and b_path.exists()):
            side = before if a_path.exists() else after
            print(f"{exp:16s} only in {side} (counts as a difference)")
            ok = False
            continue
        with xr.open_dataset(a_path) as a, xr.open_dataset(b_path) as b:
            keys = sorted(set(a.variables) | set(b.variables))
            differing = []
            for key in keys:
                if key not in a.variables or key not in b.variables:
                    differing.append((key, "only on one side"))
                    continue
                equal, diff = _same(np.asarray(a[key].values), np.asarray(b[key].values))
                if not equal:
                    differing.append((key, f"max |diff| {diff:.3g}"))
            n_data = len(a.data_vars)
            status = "identical" if not differing else f"{len(differing)} DIFFER"
            print(f"{exp:16s} {n_data:3d} data variables, {len(keys) - n_data:3d} coordinates: {status}")
            for key, why in differing:
                print(f"{'':16s}   {key}: {why}")
            ok &= not differing
    return ok


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(0 if compare(Path(sys.argv[1]), Path(sys.argv[2])) else 1)
