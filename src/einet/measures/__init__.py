"""Measures: the numerical library behind the analyses, with no pipeline knowledge.

======================  ==========================================================
``meanfield``           balanced-state and finite-K mean-field solutions
``information``         effective information, sensitivity, degeneracy of layers
``map_information``     the same measures for any batched map (recurrent networks)
``histogram``           binning, joint histograms and mutual information
``topology``            which inputs reach which outputs of a layered network
``bump``                population-vector decoding of a ring, drift and diffusion
``spike_statistics``    rates, ISI CV, Fano factor and synchrony from spike events
======================  ==========================================================

Everything here takes tensors or arrays and returns numbers; nothing reads a
config or a file.
"""

from importlib import import_module as _import_module

#: public name -> the module of this folder that defines it (loaded on first use: analyses that need one
#: measure do not pay for the others' imports)
_WHERE = {
    "decode": "bump", "drift_diffusion": "bump", "persistence": "bump",
    "causal_plane": "information", "degeneracy": "information", "ei": "information", "ei_parts": "information",
    "sensitivity": "information", "map_measures": "map_information",
    "balanced_limit": "meanfield", "solve_mean_field": "meanfield",
    "fano_factor": "spike_statistics", "isi_cv2": "spike_statistics", "isi_statistics": "spike_statistics",
    "synchrony": "spike_statistics",
    "topology_of": "topology",
}

__all__ = list(_WHERE)


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module 'einet.measures' has no attribute {name!r}")
    return getattr(_import_module(f"einet.measures.{_WHERE[name]}"), name)
