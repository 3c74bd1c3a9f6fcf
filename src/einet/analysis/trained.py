"""Analysis ``information``: a trained classifier's EI history, with its causal-plane coordinates.

The train stage already measured every layer at every checkpoint; this
passes that history on unchanged (so collect and the figures see the same
numbers) and adds the width-free causal-plane coordinates: sensitivity,
degeneracy and EI_parts per (input, output) pair of the layer. Raw bits
grow with a layer's size; per pair, layers of different widths can share
one plane (see ``information.causal_plane``).

The causal plane itself follows Marrow, Michaud & Hoel (2020): degeneracy =
sensitivity - EI, with the layer's vector EI where it can be estimated and
EI_parts, their approximation for wide layers, where it cannot: a layer whose
vector EI is saturated at any checkpoint (``ei_saturated``: at its
estimator's ceiling, about log2 of the sample count) is drawn with EI_parts
throughout, so that its path stays one quantity. ``plane_estimator`` names the
choice per layer; ``plane_degeneracy`` and ``plane_saturated`` are the
coordinates and their flag.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from einet.errors import EinetError

__all__ = ["analyze", "plane_estimator"]

#: The estimators a causal plane's degeneracy may subtract, by the name the files use.
PLANE_ESTIMATORS = ("ei", "ei_parts")


def plane_estimator(ei_saturated: xr.DataArray) -> xr.DataArray:
    """Per layer, "ei" where the vector EI is saturated at no checkpoint (no dimension but ``layer`` kept), else
    "ei_parts"."""
    others = [d for d in ei_saturated.dims if d != "layer"]
    saturated = ei_saturated.astype(bool).any(others) if others else ei_saturated.astype(bool)
    return xr.where(saturated, "ei_parts", "ei").astype(str)


def analyze(run: xr.Dataset, spec) -> xr.Dataset:
    """The run's history plus per-pair coordinates and each layer's effectiveness EI_parts / sensitivity."""
    ds = run.copy()
    pairs = ds["layer_inputs"] * ds["layer_outputs"]
    for key in ("sensitivity", "degeneracy", "ei_parts"):
        ds[f"{key}_per_pair"] = (ds[key] / pairs).assign_attrs(
            units="bit", long_name=f"{ds[key].attrs.get('long_name', key)}, per (input, output) pair"
        )
    ratio = (ds["ei_parts"] / ds["sensitivity"]).where(ds["sensitivity"] > 0)
    ds["effectiveness"] = ratio.assign_attrs(units="1", long_name="ei_parts / sensitivity (1: no degeneracy)")
    missing = [v for v in ("ei_saturated", "ei_parts_saturated", "sensitivity_saturated") if v not in ds]
    if missing:
        raise EinetError(f"the run file has no {', '.join(missing)}: it was trained before estimates carried "
                         "saturation flags; train it again")
    estimator = plane_estimator(ds["ei_saturated"])
    use_ei = estimator == "ei"
    subtracted = xr.where(use_ei, ds["ei"], ds["ei_parts"])
    flag = ds["sensitivity_saturated"].astype(bool) | xr.where(use_ei, ds["ei_saturated"], ds["ei_parts_saturated"]
                                                               ).astype(bool)
    ds["plane_estimator"] = estimator.assign_attrs(
        long_name="estimator subtracted from sensitivity for the causal plane's degeneracy: ei (vector EI) or "
        "ei_parts (where the vector EI is saturated at any checkpoint)")
    ds["plane_degeneracy"] = (ds["sensitivity"] - subtracted).transpose(*ds["ei"].dims).assign_attrs(
        units="bit", long_name="causal-plane degeneracy: sensitivity minus the layer's plane_estimator")
    ds["plane_saturated"] = flag.astype(np.int8).transpose(*ds["ei"].dims).assign_attrs(
        units="1", long_name="1 where sensitivity or the subtracted estimate is saturated",
        flag_values=np.array([0, 1], dtype=np.int8), flag_meanings="measured saturated")
    ds.attrs.update({"experiment": run.attrs.get("experiment", spec.name), "job": run.attrs.get("job", ""),
                     "analysis": "information"})
    return ds
