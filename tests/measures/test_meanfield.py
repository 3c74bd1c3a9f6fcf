"""Tests of einet.measures.meanfield against independent references.

Every expected value comes from scipy.integrate.quad, a Monte-Carlo sample or
a hand calculation written out here; none is produced by the code under test.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, special

from einet.measures import meanfield as mf
from einet.measures.meanfield import (
    MeanFieldSolution,
    balanced_limit,
    fraction_active,
    gaussian_moments,
    solve_mean_field,
)

# ---------------------------------------------------------------- references


def ref_phi(name, x, threshold, gain, r_max):
    """Transfer functions written out independently of the module."""
    u = gain * (x - threshold)
    if name == "threshold_linear":
        return max(u, 0.0)
    if name == "sigmoid":
        return r_max / (1.0 + math.exp(-u)) if u > -700 else 0.0
    if name == "erf":
        return r_max * 0.5 * (1.0 + math.erf(u / math.sqrt(2.0)))
    if name == "brunel_hakim":
        if u <= 0:
            return 0.0
        return u * u if u <= 1 else math.sqrt(4.0 * u - 3.0)
    raise AssertionError(name)


def kinks(name, threshold, gain):
    return [threshold, threshold + 1.0 / gain] if name == "brunel_hakim" else [threshold]


def quad_moments(name, mu, sigma, threshold=0.0, gain=1.0, r_max=1.0):
    """E[Phi(mu + sigma z)^k], k = 1, 2, by adaptive quadrature over z."""
    if sigma == 0:
        f = ref_phi(name, mu, threshold, gain, r_max)
        return f, f * f
    pdf = lambda z: math.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)  # noqa: E731
    zk = sorted((x - mu) / sigma for x in kinks(name, threshold, gain))
    lo, hi = -40.0, 40.0
    if name == "threshold_linear":  # integrand vanishes below the kink
        lo = max(lo, zk[0])
        hi = max(hi, lo + 40.0)
    edges = [lo] + [z for z in zk if lo < z < hi] + [hi]
    out = []
    # threshold-linear cases include rates ~1e-15 checked to rel 1e-9, so no
    # absolute floor there; elsewhere a 1e-16 floor stops quad from chasing
    # relative accuracy in ~1e-19 tails (far below the test tolerances)
    floor = 0.0 if name == "threshold_linear" else 1e-16
    for k in (1, 2):
        total = 0.0
        for a, b in zip(edges[:-1], edges[1:]):
            val, _ = integrate.quad(
                lambda z: ref_phi(name, mu + sigma * z, threshold, gain, r_max) ** k * pdf(z),
                a,
                b,
                epsabs=floor * max(r_max, 1.0) ** k,
                epsrel=1e-13,
                limit=400,
            )
            total += val
        out.append(total)
    return tuple(out)


# ---------------------------------------------------------------- moments

TL_CASES = [
    # mu, sigma, theta, gain
    (0.0, 1.0, 0.0, 1.0),
    (2.0, 0.5, 1.0, 1.0),
    (1.0, 3.0, 1.0, 2.5),
    (-1.0, 2.0, 0.5, 0.7),
    (-6.0, 1.0, 0.0, 1.0),  # strongly negative: rate ~1e-10
    (-30.0, 4.0, 1.0, 3.0),
    (3.0, 0.0, 1.0, 2.0),  # sigma = 0, active
    (-3.0, 0.0, 1.0, 2.0),  # sigma = 0, silent
]


@pytest.mark.parametrize("mu, sigma, theta, gain", TL_CASES)
def test_threshold_linear_moments_match_quad(mu, sigma, theta, gain):
    m_ref, q_ref = quad_moments("threshold_linear", mu, sigma, theta, gain)
    m, q = gaussian_moments("threshold_linear", mu, sigma, threshold=theta, gain=gain)
    assert m == pytest.approx(m_ref, rel=1e-9, abs=1e-300)
    assert q == pytest.approx(q_ref, rel=1e-9, abs=1e-300)


def test_threshold_linear_sigma_zero_is_exact():
    m, q = gaussian_moments("threshold_linear", [3.0, -3.0, 1.0], 0.0, threshold=1.0, gain=2.0)
    np.testing.assert_array_equal(m, [4.0, 0.0, 0.0])
    np.testing.assert_array_equal(q, [16.0, 0.0, 0.0])


@pytest.mark.parametrize("mu, sigma, theta, gain", [c for c in TL_CASES if c[1] > 0])
def test_threshold_linear_moments_match_monte_carlo(mu, sigma, theta, gain):
    n = 2_000_000
    z = np.random.default_rng(12345).standard_normal(n)
    r = gain * np.maximum(mu + sigma * z - theta, 0.0)
    # standard errors from the exact higher moments (quad), so they are
    # meaningful even when almost no sample is active
    _, q_ref = quad_moments("threshold_linear", mu, sigma, theta, gain)
    fourth = integrate.quad(
        lambda x: (gain * max(mu + sigma * x - theta, 0.0)) ** 4
        * math.exp(-0.5 * x * x)
        / math.sqrt(2 * math.pi),
        -40,
        40,
        points=[(theta - mu) / sigma] if abs((theta - mu) / sigma) < 40 else None,
        limit=400,
    )[0]
    m, q = gaussian_moments("threshold_linear", mu, sigma, threshold=theta, gain=gain)
    assert abs(m - r.mean()) <= 5 * math.sqrt(q_ref / n) + 1e-300
    assert abs(q - np.mean(r * r)) <= 5 * math.sqrt(fourth / n) + 1e-300


OTHER_CASES = [
    # name, mu, sigma, theta, gain, r_max
    ("erf", 0.3, 1.0, 0.0, 1.0, 1.0),
    ("erf", -2.0, 0.5, 1.0, 3.0, 20.0),
    ("erf", 4.0, 5.0, 1.0, 0.5, 2.0),
    ("erf", 1.0, 0.0, 0.0, 1.0, 5.0),
    ("sigmoid", 0.0, 1.0, 0.0, 1.0, 1.0),
    ("sigmoid", 2.0, 3.0, 1.0, 4.0, 50.0),
    ("sigmoid", -5.0, 0.2, 1.0, 1.5, 10.0),
    ("sigmoid", 1.0, 20.0, 1.0, 10.0, 1.0),  # nearly a step on the z scale
    ("sigmoid", 0.5, 0.0, 0.0, 2.0, 3.0),
    ("brunel_hakim", 0.5, 0.3, 0.0, 1.0, 1.0),
    ("brunel_hakim", 0.5, 1.0, 0.0, 1.0, 1.0),
    ("brunel_hakim", 3.0, 2.0, 1.0, 2.0, 1.0),
    ("brunel_hakim", -2.0, 1.0, 0.0, 1.0, 1.0),
    ("brunel_hakim", 0.0, 30.0, 0.0, 1.0, 1.0),  # kinks close together in z
    ("brunel_hakim", 1.2, 0.05, 1.0, 1.0, 1.0),
]


@pytest.mark.parametrize("name, mu, sigma, theta, gain, r_max", OTHER_CASES)
def test_other_transfer_moments_match_quad(name, mu, sigma, theta, gain, r_max):
    m_ref, q_ref = quad_moments(name, mu, sigma, theta, gain, r_max)
    m, q = gaussian_moments(name, mu, sigma, threshold=theta, gain=gain, r_max=r_max)
    scale = max(r_max, 1.0)
    assert m == pytest.approx(m_ref, rel=1e-10, abs=1e-13 * scale)
    assert q == pytest.approx(q_ref, rel=1e-10, abs=1e-13 * scale**2)


def test_brunel_hakim_pieces_at_sigma_zero():
    m, _ = gaussian_moments("brunel_hakim", [-1.0, 0.5, 1.0, 2.0], 0.0)
    np.testing.assert_allclose(m, [0.0, 0.25, 1.0, math.sqrt(5.0)], rtol=1e-15)


def test_moments_are_vectorised_and_broadcast():
    mu = np.array([[-1.0, 0.0, 2.0], [0.5, 1.5, 3.0]])
    sigma = np.array([[0.5], [2.0]])
    for name in mf.TRANSFER_FUNCTIONS:
        m, q = gaussian_moments(name, mu, sigma, threshold=0.5, gain=1.5, r_max=4.0)
        assert m.shape == q.shape == (2, 3)
        for idx in np.ndindex(2, 3):
            m_ref, q_ref = quad_moments(name, mu[idx], sigma[idx[0], 0], 0.5, 1.5, 4.0)
            assert m[idx] == pytest.approx(m_ref, rel=1e-10, abs=1e-13)
            assert q[idx] == pytest.approx(q_ref, rel=1e-10, abs=1e-13)
    m, q = gaussian_moments("sigmoid", 0.0, 1.0)
    assert np.ndim(m) == 0 and np.ndim(q) == 0


def test_unknown_transfer_lists_known_names():
    with pytest.raises(ValueError) as info:
        gaussian_moments("relu", 0.0, 1.0)
    for name in ("threshold_linear", "sigmoid", "erf", "brunel_hakim"):
        assert name in str(info.value)


def test_negative_sigma_rejected():
    with pytest.raises(ValueError, match="sigma"):
        gaussian_moments("erf", 0.0, -1.0)


# ---------------------------------------------------------------- fraction active


def test_fraction_active():
    mu = np.array([0.0, 2.0, -1.0, 3.0, 0.0, 1.0])
    sigma = np.array([1.0, 0.5, 2.0, 0.0, 0.0, 0.0])
    got = fraction_active(mu, sigma, 1.0)
    # Phi_N(-1) = 0.158655..., Phi_N(2) = 0.977249..., Phi_N(-1) again; then
    # the sigma = 0 step, where input exactly at threshold is not "above"
    expected = [0.15865525393145707, 0.9772498680518208, 0.15865525393145707, 1.0, 0.0, 0.0]
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_fraction_active_matches_sampled_fraction():
    z = np.random.default_rng(3).standard_normal(1_000_000)
    mu, sigma, theta = 0.4, 1.7, 1.1
    p = np.mean(mu + sigma * z > theta)
    assert abs(fraction_active(mu, sigma, theta) - p) < 5 * math.sqrt(p * (1 - p) / z.size)


# ---------------------------------------------------------------- all-to-all

TL1 = {"name": "threshold_linear", "threshold": 1.0, "gain": 1.0, "r_max": 1.0}


def test_all_to_all_threshold_linear_is_linear_solve():
    C = np.array([[1.0, -1.5], [1.0, -1.0]])
    M0 = 2.0
    ext = np.array([2.0, 1.0]) * M0
    sol = solve_mean_field(C, np.zeros((2, 2)), ext, [TL1, TL1])
    # (I - C)^{-1} (ext - theta) = (1/1.5) [[2, -1.5], [1, 0]] (3, 1) = (3, 2)
    np.testing.assert_allclose(sol.m, [3.0, 2.0], atol=1e-9)
    np.testing.assert_allclose(sol.q, [9.0, 4.0], atol=1e-8)
    np.testing.assert_allclose(sol.mu, [4.0, 3.0], atol=1e-9)
    np.testing.assert_array_equal(sol.sigma, [0.0, 0.0])
    assert isinstance(sol, MeanFieldSolution) and sol.converged
    with pytest.raises(AttributeError):
        sol.m = np.zeros(2)  # frozen


# ---------------------------------------------------------------- balanced limit

J = np.array([[1.0, -1.5], [1.0, -1.0]])
JA0 = np.array([2.0, 1.0])


@pytest.mark.parametrize("K", [1, 100, 2500, 10**6])
@pytest.mark.parametrize("M0", [0.5, 1.0, 3.0])
def test_balanced_limit_is_minus_J_inverse_Ja0(K, M0):
    # J^{-1} = [[-2, 3], [-2, 2]]  =>  -J^{-1} Ja0 M0 = (1, 2) M0
    m = balanced_limit(math.sqrt(K) * J, math.sqrt(K) * JA0 * M0)
    np.testing.assert_allclose(m, [M0, 2.0 * M0], rtol=1e-12)


def test_balanced_limit_random_three_populations():
    rng = np.random.default_rng(7)
    m_true = rng.uniform(0.5, 3.0, 3)
    C = rng.normal(size=(3, 3)) * 10
    ext = -C @ m_true
    np.testing.assert_allclose(balanced_limit(C, ext), m_true, rtol=1e-10)


def test_balanced_limit_negative_rate_names_population():
    # -J^{-1} (2, 1.5) = (-0.5, 1): population 0 would need a negative rate
    with pytest.raises(ValueError, match="population 0") as info:
        balanced_limit(J, [2.0, 1.5])
    assert "population 1" not in str(info.value)


def test_balanced_limit_singular():
    with pytest.raises(ValueError, match="singular"):
        balanced_limit([[1.0, -1.0], [2.0, -2.0]], [1.0, 1.0])


# ---------------------------------------------------------------- finite K


def _independent_residual(C, V, ext, theta, m, q):
    """Max |m - E[Phi]|, |q - E[Phi^2]| with quad, from (m, q) alone."""
    mu = C @ m + ext
    sigma = np.sqrt(V @ q)
    worst = 0.0
    for a in range(len(m)):
        m_ref, q_ref = quad_moments("threshold_linear", mu[a], sigma[a], theta, 1.0)
        worst = max(worst, abs(m[a] - m_ref), abs(q[a] - q_ref))
    return worst


def _finite_k_distances(N, M0=1.0, Ks=(100, 400, 1600, 6400), check_residual=False):
    m_bal = np.array([M0, 2.0 * M0])  # -J^{-1} Ja0 M0 by hand
    dist = []
    for K in Ks:
        C = math.sqrt(K) * J
        V = J**2 * (1.0 - K / N)
        ext = math.sqrt(K) * JA0 * M0
        sol = solve_mean_field(C, V, ext, [TL1, TL1])
        assert np.all(sol.m > 0) and np.all(sol.q >= sol.m**2)
        if check_residual:
            assert _independent_residual(C, V, ext, 1.0, sol.m, sol.q) < 1e-8
        dist.append(np.linalg.norm(sol.m - m_bal))
    return np.array(Ks, dtype=float), np.array(dist)


def test_finite_k_converges_to_balanced_limit_like_inverse_sqrt_k():
    Ks, dist = _finite_k_distances(N=10_000, check_residual=True)
    assert np.all(np.diff(dist) < 0)
    assert dist[-1] < dist[0] / 5
    slope = np.polyfit(np.log(Ks), np.log(dist), 1)[0]
    assert -0.7 <= slope <= -0.3
    # each quadrupling of K shrinks the distance by about 2; the finite-N
    # factor (1 - K/N) in V makes the last step (K/N = 0.64) a bit steeper
    ratios = dist[:-1] / dist[1:]
    assert np.all((ratios > 1.5) & (ratios < 3.2))


def test_finite_k_ratio_close_to_two_without_finite_n_correction():
    _, dist = _finite_k_distances(N=math.inf, M0=1.0)
    ratios = dist[:-1] / dist[1:]
    assert np.all((ratios > 1.5) & (ratios < 2.7))
    np.testing.assert_allclose(ratios, 2.0, atol=0.1)


# ---------------------------------------------------------------- sigmoid network


def test_sigmoid_network_self_consistent_by_monte_carlo():
    K, N = 400, 4000
    C = math.sqrt(K) * J
    V = J**2 * (1 - K / N)
    ext = math.sqrt(K) * JA0 * 0.3
    noise = np.array([0.2, 0.1])
    transfers = [
        {"name": "sigmoid", "threshold": 1.0, "gain": 2.0, "r_max": 1.0},
        {"name": "sigmoid", "threshold": 0.5, "gain": 1.0, "r_max": 2.0},
    ]
    sol = solve_mean_field(C, V, ext, transfers, noise_var=noise)
    mu = C @ sol.m + ext
    sigma = np.sqrt(V @ sol.q + noise)
    np.testing.assert_allclose(sol.mu, mu, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(sol.sigma, sigma, rtol=1e-12)
    n = 2_000_000
    z = np.random.default_rng(99).standard_normal(n)
    for a, t in enumerate(transfers):
        r = t["r_max"] / (1 + np.exp(-t["gain"] * (mu[a] + sigma[a] * z - t["threshold"])))
        se_m = r.std() / math.sqrt(n)
        se_q = (r * r).std() / math.sqrt(n)
        assert abs(sol.m[a] - r.mean()) < 5 * se_m
        assert abs(sol.q[a] - np.mean(r * r)) < 5 * se_q


def test_mixed_transfer_network_against_quad():
    C = 8.0 * J
    V = 0.5 * J**2
    ext = np.array([10.0, 6.0])
    transfers = [
        {"name": "brunel_hakim", "threshold": 0.5, "gain": 1.0},
        {"name": "erf", "threshold": 0.0, "gain": 1.0, "r_max": 5.0},
    ]
    sol = solve_mean_field(C, V, ext, transfers, noise_var=[0.1, 0.1])
    mu = C @ sol.m + ext
    sigma = np.sqrt(V @ sol.q + 0.1)
    for a, t in enumerate(transfers):
        m_ref, q_ref = quad_moments(t["name"], mu[a], sigma[a], t["threshold"], 1.0, 5.0)
        assert abs(sol.m[a] - m_ref) < 1e-9 and abs(sol.q[a] - q_ref) < 1e-9


# ---------------------------------------------------------------- fallbacks / errors


class _Failed:
    def __init__(self, x):
        self.x = np.full_like(np.asarray(x, dtype=float), np.nan)
        self.success = False


def test_pseudo_transient_fallback_when_root_fails(monkeypatch):
    monkeypatch.setattr(mf, "_root", lambda F, x0, **kw: _Failed(x0))
    K = 1600
    C, V, ext = math.sqrt(K) * J, J**2, math.sqrt(K) * JA0
    sol = solve_mean_field(C, V, ext, [TL1, TL1])
    assert sol.method == "pseudo-transient"
    assert _independent_residual(C, V, ext, 1.0, sol.m, sol.q) < 1e-8


def test_hard_saturating_case_nearly_silent_excitation():
    # balanced limit would need m_E < 0 (ext ratio 2 : 1.5), so E is nearly
    # silent and I carries the activity; scipy's hybr alone gets lost here
    K, N = 1000, 2000
    C, V = math.sqrt(K) * J, J**2 * (1 - K / N)
    ext = math.sqrt(K) * np.array([2.0, 1.5]) * 3.0
    t = {"name": "sigmoid", "threshold": 1.0, "gain": 0.5, "r_max": 10.0}
    sol = solve_mean_field(C, V, ext, [t, t])
    assert sol.m[0] < 0.01 < 1.0 < sol.m[1]
    mu, sigma = C @ sol.m + ext, np.sqrt(V @ sol.q)
    for a in range(2):
        m_ref, q_ref = quad_moments("sigmoid", mu[a], sigma[a], 1.0, 0.5, 10.0)
        assert abs(sol.m[a] - m_ref) < 1e-9 and abs(sol.q[a] - q_ref) < 1e-8


def _disable_newton_type(monkeypatch):
    monkeypatch.setattr(mf, "_root", lambda F, x0, **kw: _Failed(x0))
    monkeypatch.setattr(mf, "_newton", lambda F, x, tol, n: x)
    monkeypatch.setattr(mf, "_pseudo_transient", lambda F, x, tol, n, project: x)


def test_fixed_point_fallback_for_weak_coupling(monkeypatch):
    _disable_newton_type(monkeypatch)
    C = 0.5 * J
    V = 0.25 * J**2
    ext = np.array([1.0, 0.8])
    t = {"name": "sigmoid", "threshold": 0.0, "gain": 1.0, "r_max": 1.0}
    sol = solve_mean_field(C, V, ext, [t, t], tol=1e-12)
    assert sol.method == "fixed-point"
    mu, sigma = C @ sol.m + ext, np.sqrt(V @ sol.q)
    for a in range(2):
        m_ref, q_ref = quad_moments("sigmoid", mu[a], sigma[a])
        assert abs(sol.m[a] - m_ref) < 1e-10 and abs(sol.q[a] - q_ref) < 1e-10


def test_nonconvergence_raises_with_residual(monkeypatch):
    _disable_newton_type(monkeypatch)
    with pytest.raises(RuntimeError, match="residual"):
        solve_mean_field(
            math.sqrt(1600) * J, J**2, math.sqrt(1600) * JA0, [TL1, TL1], max_iter=3
        )


def test_runaway_excitation_has_no_solution():
    # gain 3 threshold-linear units with C = sqrt(10) J: the rate dynamics
    # blow up from every start, so there is no finite stable state
    K = 10
    t = {"name": "threshold_linear", "threshold": 1.0, "gain": 3.0}
    with pytest.raises(RuntimeError, match="no finite stable state"):
        solve_mean_field(math.sqrt(K) * J, J**2, math.sqrt(K) * JA0, [t, t], max_iter=200)


def test_bad_transfer_spec_rejected():
    with pytest.raises(ValueError, match="treshold"):
        solve_mean_field(J, 0 * J, JA0, [{"name": "erf", "treshold": 1.0}, TL1])
    with pytest.raises(ValueError, match="one transfer"):
        solve_mean_field(J, 0 * J, JA0, [TL1])
    with pytest.raises(ValueError, match="known"):
        solve_mean_field(J, 0 * J, JA0, [{"name": "tanh"}, TL1])


def test_erf_probit_identity_value():
    # E[Phi_N(a + b z)] = Phi_N(a / sqrt(1 + b^2)); a = 1, b = 1 -> Phi_N(1/sqrt 2)
    m, _ = gaussian_moments("erf", 1.0, 1.0)
    assert m == pytest.approx(0.5 * (1 + special.erf(0.5)), rel=1e-14)
