"""Which steady states a ring network has: uniform, bump, or both (bistable).

Every parameter set is run twice, from the uniform state and from a bump
(a batch axis over ``init_modulation``). A steady state counts as a bump when
its persistence m1/m0 exceeds a threshold. Comparing the two starts gives the
region of each parameter set, the hysteresis that a single start cannot show.

Bistability comes in two kinds, told apart by the uniform state's mean rate m0
against the bump's: ``bistable``, a low-rate uniform state beside the bump (the
working-memory regime: a transient cue switches the bump on), and
``bistable_high``, a high-rate uniform state (with a sigmoid, the saturated one)
beside a bump of lower mean rate (a cue cannot switch the bump on from there).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from einet.errors import EinetError

REGIONS = ("uniform", "bistable", "bump", "bump_from_uniform_only", "bistable_high")


def region_of(bump_from_uniform: np.ndarray, bump_from_bump: np.ndarray, m0_from_uniform=None,
              m0_from_bump=None) -> np.ndarray:
    """Region codes (indices into ``REGIONS``) from the two starts' outcomes; with both starts' steady mean
    rates, a bistable pair whose uniform state fires more than its bump is ``bistable_high``."""
    u, b = np.asarray(bump_from_uniform, bool), np.asarray(bump_from_bump, bool)
    code = np.select([~u & ~b, ~u & b, u & b], [0, 1, 2], default=3).astype(np.int8)
    if m0_from_uniform is not None and m0_from_bump is not None:
        high = np.asarray(m0_from_uniform, float) > np.asarray(m0_from_bump, float)
        code = np.where((code == 1) & high, np.int8(REGIONS.index("bistable_high")), code).astype(np.int8)
    return code


def analyze(run: xr.Dataset, spec) -> xr.Dataset:
    """Steady-state m0, m1 and persistence per start; the region per parameter set."""
    settings = spec.analysis
    axis = settings.start_axis
    if "bump_m1" not in run.variables:
        raise EinetError("the multistability analysis needs simulation.record.bump: true")
    if axis not in run.dims or run.sizes[axis] < 2:
        raise EinetError(
            f"the multistability analysis needs a batch axis {axis!r} (analysis.start_axis) over "
            "model.populations.<name>.init_modulation with at least two values (0 = uniform start)"
        )
    pop = settings.population or str(run.population.values[0])
    if pop not in run.population.values:
        raise EinetError(f"analysis.population {pop!r} is not one of {', '.join(map(str, run.population.values))}")
    late = run.time.values >= spec.simulation.record.average_from
    steady = run.sel(population=pop).isel(time=np.flatnonzero(late)).mean("time")
    m0, m1 = steady.bump_m0, steady.bump_m1
    persistence = (m1 / m0.where(m0 > 0)).fillna(0.0)
    has_bump = persistence > settings.bump_threshold
    starts = run[axis].values
    from_uniform = has_bump.sel({axis: starts.min()}, drop=True)
    from_bump = has_bump.sel({axis: starts.max()}, drop=True)
    region = xr.apply_ufunc(region_of, from_uniform, from_bump, m0.sel({axis: starts.min()}, drop=True),
                            m0.sel({axis: starts.max()}, drop=True))
    window = f"mean over t >= {spec.simulation.record.average_from} ms"
    ds = xr.Dataset(
        {
            "m0": m0.assign_attrs(units="1", long_name=f"steady mean rate of {pop} ({window})"),
            "m1": m1.assign_attrs(units="1", long_name=f"steady first-harmonic amplitude of {pop} ({window})"),
            "persistence": persistence.assign_attrs(units="1", long_name="steady m1 / m0"),
            "bump": has_bump.astype(np.int8).assign_attrs(
                units="1", long_name=f"1 where m1/m0 > {settings.bump_threshold}"),
            "region": region.assign_attrs(
                units="1", long_name="steady states reached from the uniform and the bump start",
                flag_values=np.arange(len(REGIONS), dtype=np.int8), flag_meanings=" ".join(REGIONS)),
        }
    )
    ds.attrs.update({"experiment": run.attrs.get("experiment", ""), "job": run.attrs.get("job", ""),
                     "analysis": "multistability", "start_axis": axis, "population": pop,
                     "bump_threshold": settings.bump_threshold})
    return ds
