"""Bump decoding against profiles with known Fourier modes."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from einet.measures.bump import decode, ring_angles


def test_bump_at_ninety_degrees_over_a_thousand_neurons():
    theta = ring_angles(1000)
    m0, m1, phase = decode(1 + torch.cos(theta - math.pi / 2))
    assert math.isclose(math.degrees(float(phase)), 90.0, abs_tol=1e-9)
    assert math.isclose(float(m0), 1.0, abs_tol=1e-12) and math.isclose(float(m1), 1.0, abs_tol=1e-12)


@pytest.mark.parametrize("n", [3, 7, 64, 1001])
def test_every_phase_and_any_size(n):
    phases = torch.linspace(0, 2 * math.pi, 73, dtype=torch.float64)[:-1]
    theta = ring_angles(n)
    rates = 2.5 + 0.8 * torch.cos(theta[None, :] - phases[:, None])  # [phase, neuron]
    m0, m1, phase = decode(rates)
    np.testing.assert_allclose(m0, 2.5, atol=1e-12)
    np.testing.assert_allclose(m1, 0.8, atol=1e-12)
    wrapped = torch.remainder(phase - phases + math.pi, 2 * math.pi) - math.pi  # circular difference
    np.testing.assert_allclose(wrapped, 0.0, atol=1e-12)


def test_higher_harmonics_and_uniform_profiles_do_not_move_the_phase():
    theta = ring_angles(360)
    _, m1, _ = decode(3.0 + torch.cos(2 * theta) + torch.cos(3 * theta))
    assert float(m1) < 1e-12  # no first harmonic at all
    _, m1, phase = decode(1 + 0.5 * torch.cos(theta - 1.0) + 0.7 * torch.cos(2 * (theta - 2.0)))
    assert math.isclose(float(phase), 1.0, abs_tol=1e-12) and math.isclose(float(m1), 0.5, abs_tol=1e-12)


def test_rectified_bump_matches_numerical_fourier_integrals():
    """A threshold-linear bump max(cos(theta - phi) - c, 0): Fourier modes by quadrature."""
    from scipy.integrate import quad

    phi, cut = 4.0, 0.3
    theta = ring_angles(20000)
    m0, m1, phase = decode(torch.clamp(torch.cos(theta - phi) - cut, min=0))

    def f(t):
        return max(math.cos(t) - cut, 0.0)

    a0 = quad(f, -math.pi, math.pi, points=[-math.acos(cut), math.acos(cut)])[0] / (2 * math.pi)
    a1 = quad(lambda t: f(t) * math.cos(t), -math.pi, math.pi, points=[-math.acos(cut), math.acos(cut)])[0] / math.pi
    assert math.isclose(float(m0), a0, rel_tol=1e-6) and math.isclose(float(m1), a1, rel_tol=1e-6)
    assert math.isclose(float(phase), phi, abs_tol=1e-9)


def test_drift_and_diffusion_of_a_known_random_walk():
    """phi(t) = phi0 + mu t + sqrt(2 D) W(t), wrapped: the estimates recover mu and D."""
    from einet.measures.bump import drift_diffusion

    rng = np.random.default_rng(0)
    trials, dt_ms, steps = 4000, 10.0, 200
    mu, D = 0.3, 0.05  # rad/s, rad^2/s
    dt = dt_ms / 1000.0
    increments = mu * dt + np.sqrt(2 * D * dt) * rng.standard_normal((trials, steps))
    walk = rng.uniform(0, 2 * np.pi, (trials, 1)) + np.concatenate([np.zeros((trials, 1)), increments.cumsum(1)], 1)
    est = drift_diffusion(np.mod(walk, 2 * np.pi), np.arange(steps + 1) * dt_ms + 500.0)
    T = steps * dt
    # standard errors: mean displacement at T has sd sqrt(2 D T / trials); variance has sd ~ 2 D T sqrt(2 / trials)
    assert abs(est["drift"] - mu) < 5 * np.sqrt(2 * D * T / trials) / T
    assert abs(est["diffusion"] - D) < 5 * D * np.sqrt(2 / trials)


def test_persistence_is_m1_over_m0_and_zero_without_activity():
    from einet.measures.bump import persistence

    np.testing.assert_allclose(persistence([2.0, 0.0, 1.0], [1.0, 0.5, 0.0]), [0.5, 0.0, 0.0])
