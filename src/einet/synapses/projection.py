r"""Event-driven sparse projections: only the synapses of neurons that spiked are touched.

A projection from ``N_s`` sources to ``N_t`` targets is stored source-major
(the CSR of the transposed weight matrix, i.e. the CSC of
:math:`W \in \mathbb{R}^{N_t \times N_s}` in einet's target-by-source
convention): row ``j`` lists the targets of source ``j``. Propagating spikes
``s`` of shape ``[batch, N_s]``,

.. math:: I_i = \sum_j W_{ij}\, s_j ,

gathers the rows of the (batch, source) pairs that spiked and scatter-adds
them into ``[batch, N_t]``: the cost is proportional to the number of
spikes times the out-degree, not to ``N_s N_t``. Spike counts above 1
(a QIF neuron firing twice in one step) scale their row.

The structure is shared by the batch; the synaptic values are ``[nnz]``
(shared) or ``[batch, nnz]`` (per batch element, e.g. when plasticity acts).
The same object maps neuron-level tensors onto synapses
(:meth:`SparseProjection.pre`, :meth:`SparseProjection.post`), which is
what the learning rules of :mod:`einet.plasticity.spiking` need.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class SparseProjection:
    """Source-major sparse structure.

    Attributes
    ----------
    crow : ``[N_s + 1]`` int64 row pointers over sources
    target : ``[nnz]`` int64 target index of each synapse, sorted within a row
    source : ``[nnz]`` int64 source index of each synapse (the row expanded)
    n_target : number of targets
    """

    crow: torch.Tensor
    target: torch.Tensor
    source: torch.Tensor
    n_target: int

    @property
    def n_source(self) -> int:
        return self.crow.numel() - 1

    @property
    def nnz(self) -> int:
        return self.target.numel()

    @classmethod
    def from_indices(cls, target: torch.Tensor, source: torch.Tensor, n_target: int, n_source: int,
                     values: torch.Tensor | None = None):
        """Build from synapse lists; returns ``(projection, values)`` with ``values`` reordered to match
        (``None`` stays ``None``). Duplicate (target, source) pairs are kept as separate synapses."""
        target = torch.as_tensor(target, dtype=torch.int64).flatten()
        source = torch.as_tensor(source, dtype=torch.int64).flatten()
        if target.numel() != source.numel():
            raise ValueError(f"{target.numel()} targets but {source.numel()} sources")
        if target.numel() and (int(target.min()) < 0 or int(target.max()) >= n_target
                               or int(source.min()) < 0 or int(source.max()) >= n_source):
            raise ValueError(f"indices out of range for {n_target} targets and {n_source} sources")
        order = torch.argsort(source * n_target + target, stable=True)
        source, target = source[order], target[order]
        counts = torch.bincount(source, minlength=n_source)
        crow = torch.zeros(n_source + 1, dtype=torch.int64, device=target.device)
        crow[1:] = torch.cumsum(counts, 0)
        if values is not None:
            values = values[..., order]
        return cls(crow, target, source, int(n_target)), values

    @classmethod
    def from_dense(cls, weights: torch.Tensor):
        """From a dense ``[N_t, N_s]`` (or ``[batch, N_t, N_s]``) matrix; its zeros are not synapses
        (for a batched matrix, the union of the batch's nonzeros). Returns ``(projection, values)``."""
        pattern = weights != 0 if weights.dim() == 2 else (weights != 0).any(0)
        target, source = pattern.nonzero(as_tuple=True)
        values = weights[..., target, source]
        proj, values = cls.from_indices(target, source, weights.shape[-2], weights.shape[-1], values)
        return proj, values

    @classmethod
    def from_target_csr(cls, crow: torch.Tensor, col: torch.Tensor, n_source: int,
                        values: torch.Tensor | None = None):
        """From a target-major CSR (``crow`` over targets, ``col`` = sources), the layout of
        :class:`einet.synapses.connectivity.SparseOperator`. Returns ``(projection, values)``."""
        crow = torch.as_tensor(crow, dtype=torch.int64)
        counts = crow[1:] - crow[:-1]
        target = torch.repeat_interleave(torch.arange(counts.numel(), device=crow.device), counts)
        return cls.from_indices(target, col, counts.numel(), n_source, values)

    def to(self, device) -> "SparseProjection":
        return SparseProjection(self.crow.to(device), self.target.to(device), self.source.to(device), self.n_target)

    def to_dense(self, values: torch.Tensor) -> torch.Tensor:
        """The ``[..., N_t, N_s]`` weight matrix (duplicates summed); for tests and small networks."""
        out = values.new_zeros((*values.shape[:-1], self.n_target, self.n_source))
        flat = out.view(*values.shape[:-1], -1)
        flat.index_add_(flat.dim() - 1, self.target * self.n_source + self.source, values)
        return out

    # ---------------------------------------------------------------- synapse views
    def pre(self, x: torch.Tensor) -> torch.Tensor:
        """Source-side ``[batch, N_s]`` values at every synapse, ``[batch, nnz]``."""
        return x.index_select(-1, self.source)

    def post(self, y: torch.Tensor) -> torch.Tensor:
        """Target-side ``[batch, N_t]`` values at every synapse, ``[batch, nnz]``."""
        return y.index_select(-1, self.target)

    # ---------------------------------------------------------------- propagation
    def propagate(self, spikes: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
        """``[batch, N_t]`` input from ``[batch, N_s]`` spikes (counts), touching only rows that spiked."""
        batch = spikes.shape[0]
        out = spikes.new_zeros((batch, self.n_target))
        b, j = spikes.nonzero(as_tuple=True)
        if j.numel() == 0:
            return out
        start = self.crow[j]
        length = self.crow[j + 1] - start
        event = torch.repeat_interleave(torch.arange(j.numel(), device=j.device), length)
        if event.numel() == 0:
            return out
        first = torch.cumsum(length, 0) - length  # offset of each event's first entry in the gather
        entry = start[event] + (torch.arange(event.numel(), device=j.device) - first[event])
        weight = values[entry] if values.dim() == 1 else values[b[event], entry]
        contribution = weight * spikes[b, j][event]
        out.view(-1).index_add_(0, b[event] * self.n_target + self.target[entry], contribution)
        return out


class DenseSynapses:
    """The synapse view of a dense ``[batch, N_t, N_s]`` weight tensor (for the learning rules)."""

    @staticmethod
    def pre(x: torch.Tensor) -> torch.Tensor:
        return x.unsqueeze(-2)

    @staticmethod
    def post(y: torch.Tensor) -> torch.Tensor:
        return y.unsqueeze(-1)
