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

from einet.measures.bump import decode, drift_diffusion, persistence
from einet.measures.information import causal_plane, degeneracy, ei, ei_parts, sensitivity
from einet.measures.map_information import map_measures
from einet.measures.meanfield import balanced_limit, solve_mean_field
from einet.measures.spike_statistics import fano_factor, isi_statistics, synchrony
from einet.measures.topology import topology_of

__all__ = [
    "decode", "drift_diffusion", "persistence",
    "causal_plane", "degeneracy", "ei", "ei_parts", "sensitivity", "map_measures",
    "balanced_limit", "solve_mean_field",
    "fano_factor", "isi_statistics", "synchrony",
    "topology_of",
]
