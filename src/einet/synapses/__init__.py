"""Synapses: how populations reach each other.

==================  ============================================================
``connectivity``    rate projections' operators: all-to-all (J/N), sparse
                    fixed-K (J/sqrt(K), CSR), ring profiles, low rank
``profiles``        ring profiles: cosine, von Mises, wrapped Gaussian
``stp``             Tsodyks-Markram short-term plasticity (u, x)
``delays``          ring-buffer transmission delays of whole steps
``traces``          exponential spike traces
``projection``      event-driven sparse spiking projections (source-major CSR)
``poisson``         Poisson spike sources, independent or correlated
==================  ============================================================
"""
