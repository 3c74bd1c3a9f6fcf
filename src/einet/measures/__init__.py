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
