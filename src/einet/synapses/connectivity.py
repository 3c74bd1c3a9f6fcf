"""Connectivity: build the weight structure of a projection as a linear operator.

A projection's weight is ``J * S`` where ``J`` may vary across the batch and
``S`` is the structure shared by every batch element:

* sparse: ``S_ij = c_ij / sqrt(K)`` with ``c_ij ~ Bernoulli(K/N_s * profile_ij)``,
  stored as CSR with int32 indices (never as a dense N x N matrix);
* all_to_all: ``S_ij = profile_ij / N_s``. The uniform and cosine profiles are
  low rank (1 and 3), so the product is computed from factors in O(N).

Connectivity is always drawn on the CPU from a seeded generator and then moved
to the device, so a seed gives the same network on every device.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import torch

from einet import kernels
from einet.numeric import ring_angles
from einet.synapses import profiles
from einet.synapses.profiles import Profile
from einet.config.model import ProjectionSpec

_CHUNK_ELEMENTS = 1 << 22  # draws per chunk when sampling sparse rows


# ----------------------------------------------------------------- operators
class SparseOperator:
    """``y = S x`` with ``S`` a CSR matrix (int32 indices) whose entries all equal ``value``.

    ``kernel="auto"`` uses the compiled pattern kernel (:mod:`einet.kernels`) on the CPU when it
    is available: the pattern is cut into source segments with 2-byte indices (built on first
    use, for the batch size the network runs), of as many sources as the uint16 index allows for
    one vector and of a packed chunk's worth of L2 for a batch. ``"torch"`` always uses
    torch.sparse (which is also what runs on CUDA and whenever gradients are needed).
    """

    def __init__(self, crow: torch.Tensor, col: torch.Tensor, value: float, shape, dtype, device,
                 kernel: str = "auto", values: torch.Tensor | None = None):
        self.value = float(value)
        self.uniform = values is None  # the pattern kernel needs one value for every synapse
        self.kernel = kernel
        values = torch.full((col.numel(),), value, dtype=dtype) if values is None else values.to(dtype)
        with warnings.catch_warnings():  # "sparse CSR support is in beta": we rely on the stable core
            warnings.simplefilter("ignore", UserWarning)
            self.matrix = torch.sparse_csr_tensor(
                crow.to(torch.int32), col.to(torch.int32), values, size=shape, dtype=dtype, check_invariants=False
            ).to(device)
        self.shape = tuple(shape)
        self._segmented: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}

    @property
    def nnz(self) -> int:
        return int(self.matrix.values().numel())

    def in_degrees(self) -> torch.Tensor:
        crow = self.matrix.crow_indices()
        return (crow[1:] - crow[:-1]).cpu()

    def to_dense(self) -> torch.Tensor:
        """For tests and small networks only."""
        return self.matrix.to_dense()

    def apply(self, x: torch.Tensor, coefficient=None) -> torch.Tensor:
        """``x``: [batch, N_source] -> [batch, N_target]."""
        if self._use_pattern_kernel(x):
            return self._pattern(x, torch.full((x.shape[0],), self.value, dtype=x.dtype))
        if x.shape[0] == 1:  # matrix-vector is torch's fastest product for one element
            return (self.matrix @ x[0]).unsqueeze(0)
        return (self.matrix @ x.t()).t()

    def apply_scaled(self, x: torch.Tensor, coefficient, scale: torch.Tensor) -> torch.Tensor:
        """``scale * (S x)`` for a per-batch ``scale`` [batch, 1], in one pass where the kernel runs."""
        trained = torch.is_grad_enabled() and scale.requires_grad  # a trained J needs autograd
        if x.shape[0] > 1 and scale.shape[0] == x.shape[0] and not trained and self._use_pattern_kernel(x):
            return self._pattern(x, (scale.reshape(-1) * self.value).contiguous())
        return self.apply(x, coefficient) * scale

    def _pattern(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        kernel = kernels.load("pattern_mm")
        length = self.segment_length(x.shape[0], x.element_size())
        seg_crow, local = self.segmented(length)
        if x.shape[0] == 1:
            return kernel.segmented_mv(seg_crow, local, x[0].contiguous(), float(weights[0]), length).unsqueeze(0)
        return kernel.segmented_mm(seg_crow, local, x.contiguous(), weights, length)

    def segment_length(self, batch: int, itemsize: int) -> int:
        """Sources per segment: the uint16 limit for one vector (its gathers hit L1 or L2 either way, and
        fewer segments cost less per row); for a batch, the packed chunks (16 values a source) of one
        segment fill the L2, so a sweep's gathers mostly stay there (half the L2 measured 5 % faster at
        N = 40,000 but 30 % slower at 160,000, where a row then has 25 synapses per segment)."""
        if batch == 1:
            return 1 << 16
        return max(256, min(1 << 16, kernels.cache_bytes(2) // (16 * itemsize)))

    def segmented(self, length: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The pattern cut into segments of ``length`` sources (built once per length)."""
        if length not in self._segmented:
            m = self.matrix
            self._segmented[length] = kernels.load("pattern_mm").segment_pattern(
                m.crow_indices(), m.col_indices(), self.shape[1], length)
        return self._segmented[length]

    def _use_pattern_kernel(self, x: torch.Tensor) -> bool:
        if self.kernel != "auto" or x.device.type != "cpu" or not self.uniform:
            return False
        if torch.is_grad_enabled() and x.requires_grad:
            return False
        return kernels.load("pattern_mm") is not None

    def nbytes(self) -> int:
        m = self.matrix
        tensors = [m.crow_indices(), m.col_indices(), m.values()] + [t for pair in self._segmented.values() for t in pair]
        return sum(t.numel() * t.element_size() for t in tensors)


class LowRankOperator:
    """``y = sum_k c_k * U_k (V_k^T x)`` for all-to-all profiles.

    ``coefficient`` (the batch of kappa values, shape [batch, 1]) multiplies
    every factor but the first, so kappa can vary across the batch.
    """

    def __init__(self, U: torch.Tensor, V: torch.Tensor, dtype, device):
        self.U = U.to(dtype=dtype, device=device)  # [N_target, rank]
        self.V = V.to(dtype=dtype, device=device)  # [N_source, rank]
        self.shape = (U.shape[0], V.shape[0])

    def apply(self, x: torch.Tensor, coefficient=None) -> torch.Tensor:
        proj = x @ self.V  # [batch, rank]
        if coefficient is not None and proj.shape[1] > 1:
            proj = torch.cat([proj[:, :1], proj[:, 1:] * coefficient], dim=1)
        return proj @ self.U.t()

    def to_dense(self, coefficient: float = 1.0) -> torch.Tensor:
        scale = torch.ones(self.U.shape[1], dtype=self.U.dtype, device=self.U.device)
        scale[1:] = coefficient
        return (self.U * scale) @ self.V.t()

    def nbytes(self) -> int:
        return (self.U.numel() + self.V.numel()) * self.U.element_size()


class CirculantOperator:
    """``y_i = (1/N) sum_j f(theta_i - theta_j) x_j`` on one ring, by FFT in O(N log N)."""

    def __init__(self, kernel: torch.Tensor, dtype, device):
        n = kernel.shape[0]
        self.n = n
        self.shape = (n, n)
        self.kernel = kernel.to(dtype=dtype, device=device) / n  # f(theta_k) / N, k = 0..N-1
        self.spectrum = torch.fft.rfft(self.kernel)

    def apply(self, x: torch.Tensor, coefficient=None) -> torch.Tensor:
        return torch.fft.irfft(torch.fft.rfft(x, dim=-1) * self.spectrum, n=self.n, dim=-1)

    def to_dense(self, coefficient=None) -> torch.Tensor:
        idx = torch.arange(self.n, device=self.kernel.device)
        return self.kernel[(idx[:, None] - idx[None, :]) % self.n]

    def nbytes(self) -> int:
        return (self.kernel.numel() + 2 * self.spectrum.numel()) * self.kernel.element_size()


class DenseOperator:
    """``y = W x`` for structures with no cheaper form (profiles between rings of different sizes)."""

    def __init__(self, weights: torch.Tensor, dtype, device):
        self.weights = weights.to(dtype=dtype, device=device)
        self.shape = tuple(weights.shape)

    def apply(self, x: torch.Tensor, coefficient=None) -> torch.Tensor:
        return x @ self.weights.t()

    def to_dense(self, coefficient=None) -> torch.Tensor:
        return self.weights

    def nbytes(self) -> int:
        return self.weights.numel() * self.weights.element_size()


# ----------------------------------------------------------------- builders
def all_to_all(proj: ProjectionSpec, n_target: int, n_source: int, dtype, device, vectors=None):
    """``profile_ij / N_s`` in its cheapest exact form.

    Uniform, cosine and low-rank structures are low rank (1, 3 and 1 + R; kappa
    and the low-rank strength may vary over the batch); other profiles are
    circulant between rings of equal size (FFT) and dense otherwise.
    """
    if proj.low_rank != 0:
        m, n = vectors
        U = torch.cat([torch.ones(n_target, 1, dtype=torch.float64), m], dim=1)
        V = torch.cat([torch.ones(n_source, 1, dtype=torch.float64), n], dim=1) / n_source
        return LowRankOperator(U, V, dtype, device)
    if proj.profile in ("von_mises", "gaussian"):
        profile = profiles.of(proj)
        if n_target == n_source:
            return CirculantOperator(profile.fn(ring_angles(n_source)), dtype, device)
        delta = ring_angles(n_target)[:, None] - ring_angles(n_source)[None, :]
        return DenseOperator(profile.fn(delta) / n_source, dtype, device)
    ones_t = torch.ones(n_target, 1, dtype=torch.float64)
    ones_s = torch.ones(n_source, 1, dtype=torch.float64) / n_source
    if proj.profile == "uniform":
        return LowRankOperator(ones_t, ones_s, dtype, device)
    th_t, th_s = ring_angles(n_target), ring_angles(n_source)
    U = torch.cat([ones_t, torch.cos(th_t)[:, None], torch.sin(th_t)[:, None]], dim=1)
    V = torch.cat([ones_s, torch.cos(th_s)[:, None] / n_source, torch.sin(th_s)[:, None] / n_source], dim=1)
    return LowRankOperator(U, V, dtype, device)


@dataclass(frozen=True)
class SparsePattern:
    """Row pointers and sorted column indices of a 0/1 connectivity matrix."""

    crow: torch.Tensor  # int64 [N_target + 1]
    col: torch.Tensor  # int32 [nnz]
    shape: tuple[int, int]


def sample_sparse(
    n_target: int,
    n_source: int,
    K: float,
    generator: torch.Generator,
    profile: Profile | None = None,
) -> SparsePattern:
    """Draw ``c_ij ~ Bernoulli(K/N_s * f(theta_i - theta_j))`` row by row.

    Each row is a Bernoulli process sampled through its geometric gaps, so the
    cost is O(K) per row, never O(N_s); a ring profile ``f`` thins a process
    of rate K/N_s * max f. Columns come out sorted, as CSR wants.
    """
    p = K / n_source
    p_max = min(1.0, p * profile.peak) if profile is not None else p
    expected = n_source * p_max
    width = int(expected + 8.0 * math.sqrt(expected * (1 - p_max) + 1.0) + 16)
    rows_per_chunk = max(1, _CHUNK_ELEMENTS // width)
    th_t = ring_angles(n_target)
    th_s = ring_angles(n_source)
    counts = torch.empty(n_target, dtype=torch.int64)
    cols = []
    for start in range(0, n_target, rows_per_chunk):
        stop = min(n_target, start + rows_per_chunk)
        positions, valid = _bernoulli_rows(stop - start, n_source, p_max, width, generator)
        if profile is not None:
            safe = positions.clamp(max=n_source - 1)
            delta = th_t[start:stop, None] - th_s[safe]
            accept = profile.fn(delta) / profile.peak
            valid &= torch.rand(valid.shape, generator=generator, dtype=torch.float64) < accept
        counts[start:stop] = valid.sum(dim=1)
        cols.append(positions[valid].to(torch.int32))
    crow = torch.zeros(n_target + 1, dtype=torch.int64)
    crow[1:] = torch.cumsum(counts, 0)
    if crow[-1] >= 2**31:
        raise ValueError(f"{int(crow[-1])} synapses exceed int32 CSR indices; split the population")
    col = torch.cat(cols) if cols else torch.empty(0, dtype=torch.int32)
    return SparsePattern(crow=crow, col=col, shape=(n_target, n_source))


def _bernoulli_rows(rows: int, n: int, p: float, width: int, generator):
    """Success positions of ``rows`` Bernoulli(p) sequences of length ``n``.

    Returns positions [rows, width] and a validity mask. Rows whose process
    did not pass ``n`` within ``width`` draws (vanishingly rare) are redrawn
    with twice the width.
    """
    if p >= 1.0:
        positions = torch.arange(n).expand(rows, n).clone()
        return positions, torch.ones(rows, n, dtype=torch.bool)
    u = torch.rand(rows, width, generator=generator, dtype=torch.float64)
    gaps = torch.floor(torch.log1p(-u) / math.log1p(-p)).to(torch.int64)  # failures before success
    positions = torch.cumsum(gaps + 1, dim=1) - 1
    unfinished = positions[:, -1] < n
    if bool(unfinished.any()):
        idx = torch.nonzero(unfinished).flatten()
        more, more_valid = _bernoulli_rows(len(idx), n, p, 2 * width, generator)
        pad = more.shape[1] - width
        positions = torch.cat([positions, torch.full((rows, pad), n, dtype=torch.int64)], dim=1)
        positions[idx] = more
        valid = positions < n
        valid[idx] = more_valid
        return positions, valid
    return positions, positions < n


def sparse(
    proj: ProjectionSpec, n_target: int, n_source: int, K: float, generator, dtype, device, kernel: str = "auto",
    vectors: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> SparseOperator:
    """Sample the pattern; with a low-rank term, synapse ij has value (1 + kappa m_i . n_j) / sqrt(K)."""
    pattern = sample_sparse(n_target, n_source, K, generator, profiles.of(proj))
    values = None
    if proj.low_rank != 0:
        m, n = vectors
        rows = torch.repeat_interleave(torch.arange(n_target), pattern.crow[1:] - pattern.crow[:-1])
        values = (1.0 + proj.low_rank * (m[rows] * n[pattern.col.long()]).sum(dim=1)) / math.sqrt(K)
    return SparseOperator(pattern.crow, pattern.col, 1.0 / math.sqrt(K), pattern.shape, dtype, device, kernel, values)


def extreme_products(m: torch.Tensor, n: torch.Tensor, chunk: int = 1024) -> tuple[float, float]:
    """Smallest and largest ``m_i . n_j`` over all pairs, in row chunks (no N x N matrix at once)."""
    low, high = math.inf, -math.inf
    for start in range(0, m.shape[0], chunk):
        products = m[start : start + chunk] @ n.t()
        low, high = min(low, float(products.min())), max(high, float(products.max()))
    return low, high


def check_low_rank_signs(name: str, vectors: tuple[torch.Tensor, torch.Tensor], strengths: list[float]) -> None:
    """Dale's law for an all-to-all low-rank projection: ``1 + s m_i . n_j >= 0`` for every pair and every
    batch element's strength ``s``; raises :class:`ConfigError` naming the projection's ``low_rank`` key."""
    from einet.errors import ConfigError

    low, high = extreme_products(*vectors)
    for i, s in enumerate(strengths):
        if 1.0 + min(s * low, s * high) < 0:
            element = f" in batch element {i}" if len(strengths) > 1 else ""
            raise ConfigError(
                f"model.projections.{name}.low_rank", s,
                f"a strength that keeps every weight's sign (Dale's law){element}: "
                f"1 + strength * m.n ranges over m.n in [{low:.3g}, {high:.3g}]",
            )


def draw_low_rank(spec, sizes: dict[str, int], generator: torch.Generator) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Vectors (m, n), each ``[N_A, rank]``, of every population: i.i.d. Gaussian per neuron (each column
    less its mean over the neurons with ``spec.zero_mean``), or read from ``spec.file`` when the vectors
    are given explicitly."""
    if spec.file is not None:
        from einet.config.model import check_low_rank_file

        arrays = check_low_rank_file(spec, sizes, "model.low_rank.file")
        return {pop: (torch.from_numpy(arrays[f"m_{pop}"]), torch.from_numpy(arrays[f"n_{pop}"])) for pop in sizes}
    R = spec.rank
    mean = torch.tensor(spec.mean or [0.0] * 2 * R, dtype=torch.float64)
    cov = torch.tensor(spec.cov, dtype=torch.float64) if spec.cov else torch.eye(2 * R, dtype=torch.float64)
    eigval, eigvec = torch.linalg.eigh(cov)  # a square root that tolerates singular covariances
    root = eigvec * eigval.clamp(min=0).sqrt()
    out = {}
    for name, size in sizes.items():
        z = torch.randn(size, 2 * R, generator=generator, dtype=torch.float64)
        x = mean + z @ root.t()
        if spec.zero_mean:
            x = x - x.mean(dim=0)
        out[name] = (x[:, :R].contiguous(), x[:, R:].contiguous())
    return out


LOW_RANK_SEED_OFFSET = 2  # the vectors' generator is seeded apart from connectivity (seed) and noise (seed + 1)


def network_low_rank_vectors(model, seed: int) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """The (m, n) vectors a :class:`~einet.network.rate.RateNetwork` with this model and seed uses,
    so that tasks and analyses can rebuild them without building the network."""
    if model.low_rank is None:
        return {}
    sizes = {name: pop.size for name, pop in model.populations.items()}
    return draw_low_rank(model.low_rank, sizes, torch.Generator().manual_seed(seed + LOW_RANK_SEED_OFFSET))


def estimate_bytes(n_target: int, n_source: int, K: float | None, kind: str, itemsize: int,
                   profile: str = "uniform", segmented: bool = False) -> int:
    """Bytes a projection's structure will occupy on its device (expected nnz, +5 sd); with ``segmented``
    a sparse one's include the compiled kernel's segmented copy of its pattern (2 bytes a synapse)."""
    if kind == "all_to_all":
        if profile in ("von_mises", "gaussian"):
            return 3 * n_source * itemsize if n_target == n_source else n_target * n_source * itemsize
        return 3 * (n_target + n_source) * itemsize
    p = K / n_source
    nnz = n_target * K + 5 * math.sqrt(n_target * K * (1 - p))
    return int(nnz * (4 + itemsize + (2 if segmented else 0)) + (n_target + 1) * 4)


def sampling_bytes(n_target: int, n_source: int, K: float | None) -> int:
    """Peak host memory while sampling a sparse projection (int64 chunks + int32 output)."""
    if K is None:
        return 0
    return 4 * _CHUNK_ELEMENTS * 8 + int(n_target * K * 4 * 2)


def apply_scaled(operator, x: torch.Tensor, coefficient, scale: torch.Tensor) -> torch.Tensor:
    """``scale * operator(x)``, fused when the operator can (sparse patterns on the CPU)."""
    fused = getattr(operator, "apply_scaled", None)
    return fused(x, coefficient, scale) if fused is not None else operator.apply(x, coefficient) * scale
