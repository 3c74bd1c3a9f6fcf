"""Analysis ``information``: a trained classifier's EI history, with its causal-plane coordinates.

The train stage already measured every layer at every checkpoint; this
passes that history on unchanged (so collect and the figures see the same
numbers) and adds the width-free causal-plane coordinates: sensitivity,
degeneracy and EI_parts per (input, output) pair of the layer. Raw bits
grow with a layer's size; per pair, layers of different widths can share
one plane (see ``information.causal_plane``).
"""

from __future__ import annotations

import xarray as xr

__all__ = ["analyze"]


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
    ds.attrs.update({"experiment": run.attrs.get("experiment", spec.name), "job": run.attrs.get("job", ""),
                     "analysis": "information"})
    return ds
