"""Connectivity statistics against their distributions, and operators against dense algebra."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import special

from einet.synapses import profiles
from einet.synapses import connectivity
from einet.config.model import ProjectionSpec


def _ring_projection(connectivity_kind: str, profile: str, **params) -> ProjectionSpec:
    return ProjectionSpec(source="E", target="E", J=1.0, connectivity=connectivity_kind, profile=profile, **params)


def _pattern(n_t, n_s, K, seed=0, **kw):
    return connectivity.sample_sparse(n_t, n_s, K, torch.Generator().manual_seed(seed), **kw)


@pytest.mark.parametrize("n_s, K", [(2000, 50), (1000, 500), (5000, 20)])
def test_in_degrees_are_binomial(n_s, K):
    """Mean K and standard deviation sqrt(K (1 - K/N)), within sampling error."""
    n_t = 4000
    pat = _pattern(n_t, n_s, K)
    deg = (pat.crow[1:] - pat.crow[:-1]).double().numpy()
    sd = math.sqrt(K * (1 - K / n_s))
    assert abs(deg.mean() - K) < 5 * sd / math.sqrt(n_t)
    assert abs(deg.std() / sd - 1) < 5 / math.sqrt(2 * n_t)


def test_columns_are_sorted_unique_and_uniform():
    n_s, K = 300, 60
    pat = _pattern(3000, n_s, K, seed=1)
    col = pat.col.long()
    for i in range(0, 3000, 97):
        row = col[pat.crow[i] : pat.crow[i + 1]]
        assert bool((row[1:] > row[:-1]).all()), "columns must be strictly increasing within a row"
        assert int(row.max()) < n_s and int(row.min()) >= 0
    counts = np.bincount(col.numpy(), minlength=n_s)  # out-degrees: Binomial(3000, K/n_s)
    p = K / n_s
    expected, sd = 3000 * p, math.sqrt(3000 * p * (1 - p))
    assert abs(counts.mean() - expected) < 1e-9 + 5 * sd / math.sqrt(n_s)
    chi2 = (((counts - expected) / sd) ** 2).sum()
    assert abs(chi2 - n_s) < 6 * math.sqrt(2 * n_s)


def test_connection_probability_one_connects_everyone():
    pat = _pattern(5, 7, 7.0)
    assert pat.col.numel() == 35


@pytest.mark.parametrize("kappa", [0.5, -0.8, 1.0])
def test_cosine_profile_first_harmonic_matches_kappa(kappa):
    """For P_ij ∝ 1 + kappa cos(dtheta), <cos(dtheta)> over a row's partners is kappa / 2."""
    n, K = 2000, 100
    pat = _pattern(n, n, K, seed=2, profile=profiles.of(_ring_projection("sparse", "cosine", kappa=kappa)))
    theta = connectivity.ring_angles(n)
    rows = torch.repeat_interleave(torch.arange(n), pat.crow[1:] - pat.crow[:-1])
    cos = torch.cos(theta[rows] - theta[pat.col.long()])
    harmonic = 2 * float(cos.mean())
    # standard error of 2<cos> over ~n*K partners: 2 * sqrt(1/2 - kappa^2/4) / sqrt(nK)
    se = 2 * math.sqrt(0.5 - kappa**2 / 4) / math.sqrt(pat.col.numel())
    assert abs(harmonic - kappa) < 5 * se
    deg = (pat.crow[1:] - pat.crow[:-1]).double()
    assert abs(float(deg.mean()) - K) < 5 * math.sqrt(K) / math.sqrt(n)  # the profile keeps the mean degree


def test_sparse_operator_matches_dense_product():
    proj = ProjectionSpec(source="E", target="I", J=1.0, connectivity="sparse", K=30.0)
    op = connectivity.sparse(proj, 200, 150, 30.0, torch.Generator().manual_seed(4), torch.float64, "cpu")
    dense = op.to_dense()
    assert set(torch.unique(dense).tolist()) <= {0.0, 1 / math.sqrt(30.0)}
    x = torch.rand(5, 150, dtype=torch.float64)
    torch.testing.assert_close(op.apply(x), x @ dense.t())
    torch.testing.assert_close(op.apply(x[:1]), x[:1] @ dense.t())


@pytest.mark.parametrize("profile", ["uniform", "cosine"])
def test_all_to_all_factors_equal_the_dense_matrix(profile):
    """J/N (1 + kappa cos(theta_i - theta_j)) built densely, against the low-rank product."""
    n_t, n_s = 64, 48
    proj = ProjectionSpec(source="E", target="E", J=1.0, connectivity="all_to_all", profile=profile)
    op = connectivity.all_to_all(proj, n_t, n_s, torch.float64, "cpu")
    th_t = 2 * np.pi * np.arange(n_t) / n_t
    th_s = 2 * np.pi * np.arange(n_s) / n_s
    kappas = torch.tensor([[0.0], [0.7], [-1.0]], dtype=torch.float64)
    x = torch.rand(3, n_s, dtype=torch.float64)
    got = op.apply(x, kappas if profile == "cosine" else None)
    for b, kappa in enumerate(kappas[:, 0].tolist()):
        k = kappa if profile == "cosine" else 0.0
        dense = (1 + k * np.cos(th_t[:, None] - th_s[None, :])) / n_s
        np.testing.assert_allclose(got[b].numpy(), dense @ x[b].numpy(), rtol=1e-12, atol=1e-14)


def test_same_seed_same_pattern():
    a, b, c = _pattern(300, 300, 20, seed=9), _pattern(300, 300, 20, seed=9), _pattern(300, 300, 20, seed=10)
    assert torch.equal(a.col, b.col) and torch.equal(a.crow, b.crow)
    assert not torch.equal(a.col[:100], c.col[:100])


@pytest.mark.parametrize("batch", [1, 2, 3, 16, 17, 40, 64])  # one vector; one chunk, a partial one, several
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("segment", [None, 37, 400])  # the machine's choice, many ragged segments, one whole one
@pytest.mark.parametrize("profile", ["uniform", "von_mises"])  # a random pattern and a ring-thinned one
def test_compiled_pattern_kernel_matches_torch_sparse(batch, dtype, segment, profile, monkeypatch):
    from einet import kernels

    if kernels.load("pattern_mm") is None:
        pytest.skip("no C++ compiler here: the compiled kernel is optional")
    extra = {"concentration": 2.0} if profile == "von_mises" else {}
    proj = ProjectionSpec(source="E", target="I", J=1.0, connectivity="sparse", K=40.0, profile=profile, **extra)
    fast = connectivity.sparse(proj, 500, 400, 40.0, torch.Generator().manual_seed(6), dtype, "cpu", "auto")
    slow = connectivity.sparse(proj, 500, 400, 40.0, torch.Generator().manual_seed(6), dtype, "cpu", "torch")
    if segment is not None:
        monkeypatch.setattr(connectivity.SparseOperator, "segment_length", lambda self, b, size: segment)
    assert fast._use_pattern_kernel(torch.zeros(batch, 400, dtype=dtype))
    x = torch.rand(batch, 400, dtype=dtype)
    expected = x @ slow.to_dense().t()
    tol = 1e-5 if dtype == torch.float32 else 1e-12
    torch.testing.assert_close(fast.apply(x), expected, rtol=tol, atol=tol)
    torch.testing.assert_close(slow.apply(x), expected, rtol=tol, atol=tol)
    scale = torch.rand(batch, 1, dtype=dtype) + 0.5
    torch.testing.assert_close(fast.apply_scaled(x, None, scale), expected * scale, rtol=tol, atol=tol)
    assert fast.segmented(segment or fast.segment_length(batch, x.element_size()))[1].numel() == slow.nnz


def test_low_rank_scaled_sparse_projection_keeps_its_values_and_torchs_product():
    """Synapses of different values cannot go through the pattern kernel: torch's CSR product, exactly."""
    proj = ProjectionSpec(source="E", target="E", J=1.0, connectivity="sparse", K=40.0, low_rank=0.5)
    m, n = torch.randn(400, 1, dtype=torch.float64), torch.randn(400, 1, dtype=torch.float64)
    op = connectivity.sparse(proj, 400, 400, 40.0, torch.Generator().manual_seed(2), torch.float64, "cpu", "auto",
                             (m, n))
    x = torch.rand(3, 400, dtype=torch.float64)
    assert not op._use_pattern_kernel(x)
    dense = op.to_dense()
    pattern = dense != 0
    expected = torch.where(pattern, (1.0 + 0.5 * m @ n.T) / math.sqrt(40.0), torch.zeros_like(dense))
    torch.testing.assert_close(dense, expected, rtol=1e-12, atol=0)
    torch.testing.assert_close(op.apply(x), x @ expected.T, rtol=1e-12, atol=1e-14)


def test_segmented_pattern_rejects_a_wrong_segmentation():
    from einet import kernels

    kernel = kernels.load("pattern_mm")
    if kernel is None:
        pytest.skip("no C++ compiler here: the compiled kernel is optional")
    pat = _pattern(50, 300, 10, seed=1)
    crow, col = pat.crow.to(torch.int32), pat.col.to(torch.int32)
    seg_crow, local = kernel.segment_pattern(crow, col, 300, 64)
    assert seg_crow.shape == (5, 51) and int(seg_crow[-1, -1]) == pat.col.numel()
    with pytest.raises(RuntimeError, match="segments"):
        kernel.segmented_mv(seg_crow, local, torch.rand(300), 1.0, 128)
    with pytest.raises(RuntimeError, match="outside"):
        kernel.segment_pattern(crow, col, 100, 64)  # columns beyond the stated sources


@pytest.mark.parametrize("profile, params, mean_cos", [
    ("von_mises", {"concentration": 1.5}, lambda: float(special.i1(1.5) / special.i0(1.5))),
    ("gaussian", {"width": 0.6}, lambda: math.exp(-0.6**2 / 2)),
])
def test_sparse_ring_profiles_have_their_first_harmonic(profile, params, mean_cos):
    """<cos(delta)> over a row's partners equals the profile's normalised first Fourier coefficient."""
    n, K = 2000, 80
    pat = _pattern(n, n, K, seed=3, profile=profiles.of(_ring_projection("sparse", profile, K=K, **params)))
    theta = connectivity.ring_angles(n)
    rows = torch.repeat_interleave(torch.arange(n), pat.crow[1:] - pat.crow[:-1])
    cos = torch.cos(theta[rows] - theta[pat.col.long()])
    se = float(cos.std()) / math.sqrt(pat.col.numel())
    assert abs(float(cos.mean()) - mean_cos()) < 5 * se
    assert abs(pat.col.numel() / n - K) < 5 * math.sqrt(K / n)  # mean 1 keeps the mean degree


@pytest.mark.parametrize("profile, params", [("von_mises", {"concentration": 3.0}), ("gaussian", {"width": 0.4})])
@pytest.mark.parametrize("n_target, n_source", [(90, 90), (60, 90)])
def test_all_to_all_ring_profiles_equal_the_dense_formula(profile, params, n_target, n_source):
    proj = _ring_projection("all_to_all", profile, **params)
    op = connectivity.all_to_all(proj, n_target, n_source, torch.float64, "cpu")
    th_t = 2 * np.pi * np.arange(n_target) / n_target
    th_s = 2 * np.pi * np.arange(n_source) / n_source
    d = th_t[:, None] - th_s[None, :]
    if profile == "von_mises":
        f = np.exp(3.0 * np.cos(d)) / special.i0(3.0)
    else:
        f = sum(np.exp(-((d + 2 * np.pi * k) ** 2) / (2 * 0.4**2)) for k in range(-5, 6)) * np.sqrt(2 * np.pi) / 0.4
    x = torch.rand(4, n_source, dtype=torch.float64)
    np.testing.assert_allclose(op.apply(x).numpy(), x.numpy() @ (f / n_source).T, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(op.to_dense().numpy(), f / n_source, rtol=1e-10, atol=1e-12)
    assert type(op).__name__ == ("CirculantOperator" if n_target == n_source else "DenseOperator")
