"""Ridge and RLS readouts against closed-form least squares (einet.training.ridge, rls)."""

from __future__ import annotations

import pytest
import torch

from einet.training.ridge import downsample, fit_ridge
from einet.training.rls import rls_initial, rls_step

F64 = torch.float64


def linear_data(seed=0, T=300, N=6, K=2, batch=()):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(*batch, T, N, generator=g, dtype=F64)
    W = torch.randn(*batch, N, K, generator=g, dtype=F64)
    b = torch.randn(*batch, K, generator=g, dtype=F64)
    return X, W, b, X @ W + b.unsqueeze(-2), g


def test_ridge_recovers_a_linear_map_and_its_intercept_exactly():
    X, W, b, Y, _ = linear_data()
    X = X + 3.0  # non-centred inputs: the intercept has to be fitted, not assumed
    Y = X @ W + b
    readout = fit_ridge(X, Y, alpha=0.0)
    torch.testing.assert_close(readout.weight, W, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(readout.bias, b, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(readout(X), Y, rtol=1e-10, atol=1e-10)


def test_ridge_downsamples_inputs_and_targets_together_and_batches():
    """Targets carry a time-dependent map, so any misalignment between the two would break recovery."""
    X, W, b, Y, _ = linear_data(batch=(3,))
    readout = fit_ridge(X, Y, alpha=0.0, every=7, washout=13)
    torch.testing.assert_close(readout.weight, W, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(readout.bias, b, rtol=1e-10, atol=1e-10)
    assert downsample(X, 7, 13).shape == (3, len(range(13, 300, 7)), 6)
    with pytest.raises(ValueError, match="300 time samples but targets 299"):
        fit_ridge(X, Y[..., 1:, :])


def test_ridge_penalty_matches_the_normal_equations():
    """alpha > 0: W = (Xc'Xc + alpha I)^{-1} Xc'Yc on centred data, b = mean(y) - mean(x) W."""
    X, _, _, Y, g = linear_data(seed=1)
    Y = Y + 0.3 * torch.randn(Y.shape, generator=g, dtype=F64)
    alpha = 25.0
    Xc, Yc = X - X.mean(0), Y - Y.mean(0)
    W = torch.linalg.solve(Xc.T @ Xc + alpha * torch.eye(6, dtype=F64), Xc.T @ Yc)
    readout = fit_ridge(X, Y, alpha=alpha)
    torch.testing.assert_close(readout.weight, W, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(readout.bias, Y.mean(0) - X.mean(0) @ W, rtol=1e-10, atol=1e-12)
    no_intercept = fit_ridge(X, Y, alpha=alpha, intercept=False)
    plain = torch.linalg.solve(X.T @ X + alpha * torch.eye(6, dtype=F64), X.T @ Y)
    torch.testing.assert_close(no_intercept.weight, plain)
    assert no_intercept.bias.abs().sum() == 0


def run_rls(X, Y, alpha, forgetting, intercept=False):
    state = rls_initial(X.shape[-1], Y.shape[-1], alpha=alpha, intercept=intercept)
    errors = []
    for t in range(X.shape[0]):
        out, state = rls_step(X[t], Y[t], state, forgetting)
        errors.append((out - Y[t]).abs().max().item())
    return state, errors


def test_rls_without_forgetting_is_the_ridge_solution_and_converges_to_least_squares():
    X, _, _, Y, g = linear_data(seed=2, T=400)
    Y = Y + 0.5 * torch.randn(Y.shape, generator=g, dtype=F64)  # noisy: the least-squares fit is not the truth
    alpha = 1e-3
    state, _ = run_rls(X, Y, alpha, 1.0)
    ridge = torch.linalg.solve(X.T @ X + alpha * torch.eye(6, dtype=F64), X.T @ Y)
    torch.testing.assert_close(state.weight, ridge, rtol=1e-8, atol=1e-9)
    lstsq = torch.linalg.lstsq(X, Y).solution
    torch.testing.assert_close(state.weight, lstsq, rtol=1e-5, atol=1e-5)
    with_bias, _ = run_rls(X, Y, 1e-6, 1.0, intercept=True)
    ls_bias = torch.linalg.lstsq(torch.cat([X, torch.ones(400, 1, dtype=F64)], 1), Y).solution
    torch.testing.assert_close(with_bias.weight, ls_bias, rtol=1e-6, atol=1e-6)


def test_rls_forgetting_factor_weights_samples_geometrically():
    """After T steps W minimises sum_t lambda^{T-t} |y_t - W'x_t|^2 + lambda^T alpha |W|^2."""
    X, _, _, Y, g = linear_data(seed=3, T=120, N=4)
    Y = Y + 0.5 * torch.randn(Y.shape, generator=g, dtype=F64)
    lam, alpha, T = 0.95, 2.0, 120
    state, _ = run_rls(X, Y, alpha, lam)
    weights = lam ** torch.arange(T - 1, -1, -1, dtype=F64)
    A = X.T @ (weights[:, None] * X) + lam ** T * alpha * torch.eye(4, dtype=F64)
    expected = torch.linalg.solve(A, X.T @ (weights[:, None] * Y))
    torch.testing.assert_close(state.weight, expected, rtol=1e-8, atol=1e-9)
    torch.testing.assert_close(state.P, torch.linalg.inv(A), rtol=1e-7, atol=1e-9)


def test_rls_tracks_a_map_that_changes_when_it_forgets():
    """A switch of the linear map halfway: with lambda < 1 the a-priori error returns to ~0, with 1 it does not."""
    X, W, _, _, g = linear_data(seed=4, T=600, N=5, K=1)
    W2 = torch.randn(W.shape, generator=g, dtype=F64)
    Y = torch.cat([X[:300] @ W, X[300:] @ W2])
    _, forgetting = run_rls(X, Y, 1.0, 0.9)
    _, keeping = run_rls(X, Y, 1.0, 1.0)
    assert max(forgetting[-50:]) < 1e-6
    assert max(keeping[-50:]) > 0.1
    with pytest.raises(ValueError, match="forgetting"):
        rls_step(X[0], Y[0], rls_initial(5, 1), forgetting=1.5)


def test_rls_batches_independent_problems():
    X, W, b, Y, _ = linear_data(seed=5, T=200, N=3, K=2, batch=(4,))
    state = rls_initial(3, 2, alpha=1e-6, batch_shape=(4,), intercept=True)
    for t in range(200):
        _, state = rls_step(X[:, t], Y[:, t], state)
    torch.testing.assert_close(state.weight[:, :3], W, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(state.weight[:, 3], b, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(state.predict(X[:, 0]), Y[:, 0], rtol=1e-6, atol=1e-6)


# ---------------------------------------------------------------- reservoir computing
from einet.network.reservoir import ReservoirParams, make_reservoir, product_of_sines  # noqa: E402
from einet.training.reservoir import train_force, train_ridge  # noqa: E402


def test_reservoir_readouts_reproduce_a_product_of_sines_on_held_out_time():
    """Ridge on a stable (g < 1) reservoir and FORCE on a chaotic (g = 1.5) one both reach R² > 0.95 on the
    last 1000 ms; without biases the rates are odd in the input, and no readout can make the even product."""
    dt = 1.0
    u, y = product_of_sines(3500, dt)
    stable = make_reservoir(ReservoirParams(n=200, g=0.9, seed=1), 2, 1)
    _, r2_ridge = train_ridge(stable, u, y, dt, n_train=2500)
    chaotic = make_reservoir(ReservoirParams(n=200, g=1.5, seed=1), 2, 1)
    _, r2_force = train_force(chaotic, u, y, dt, n_train=2500)
    unbiased = make_reservoir(ReservoirParams(n=200, g=0.9, bias_scale=0.0, seed=1), 2, 1)
    _, r2_odd = train_ridge(unbiased, u, y, dt, n_train=2500)
    assert r2_ridge > 0.95 and r2_force > 0.95
    assert r2_odd < 0.3
