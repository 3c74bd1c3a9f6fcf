"""Sparse balanced networks: simulation against the balanced limit and the mean-field theory."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import experiment
from einet.analysis.balance import analyze, coefficients, theory
from einet.experiment import validate
from einet.network.presets import balanced_ei
from einet.runs.rate import simulate


def balanced_job(K: float, n: int = 2000, M0=(1.0,)):
    model = balanced_ei(n, n, K)
    raw = experiment(model, sweep={"batch": {"model.external.M0": list(M0)}})
    raw["simulation"] = {"dt": 0.5, "duration": 300.0, "seed": 1, "device": "cpu",
                         "record": {"every": 1.0, "average_from": 220.0, "neurons": 2}}
    return validate(raw)


@pytest.fixture(scope="module")
def analyses():
    out = {}
    for K in (25.0, 100.0, 400.0):
        spec = balanced_job(K, M0=(1.0, 2.0))
        out[K] = analyze(simulate(spec, progress=False), spec)
    return out


def test_balanced_limit_is_minus_J_inverse_times_drive():
    spec = balanced_job(100.0)
    J = np.array([[0.5, -0.75], [0.5, -0.5]])
    expected = -np.linalg.solve(J, np.array([1.0, 0.5]))  # (1, 2): independent of K
    np.testing.assert_allclose(theory(spec.model)["balanced"], expected, rtol=1e-12)
    C, V, ext = coefficients(spec.model)
    np.testing.assert_allclose(C, 10.0 * J)
    np.testing.assert_allclose(V, J**2 * (1 - 100 / 2000))
    np.testing.assert_allclose(ext, [10.0, 5.0])


@pytest.mark.slow
def test_rates_approach_the_balanced_limit_as_K_grows(analyses):
    # the inhibitory rate may cross its limit at small K, so compare the distance of the rate vector
    distance = {
        K: float(np.linalg.norm((ds.rate - ds.rate_balanced).sel(M0=1.0).values)) for K, ds in analyses.items()
    }
    assert distance[25.0] > distance[100.0] > distance[400.0]
    # O(1/sqrt K): a 16-fold K at least halves the distance (the asymptotic factor is 4)
    assert distance[400.0] < 0.6 * distance[25.0]


@pytest.mark.slow
def test_simulated_rates_match_the_mean_field_solution(analyses):
    for K, ds in analyses.items():
        rel = np.abs(ds.rate - ds.rate_meanfield) / ds.rate_meanfield
        assert float(rel.max()) < 0.04, f"K={K}: {rel.values}"
        frac = np.abs(ds.fraction_active - ds.fraction_active_meanfield)
        assert float(frac.max()) < 0.04


@pytest.mark.slow
def test_rates_scale_linearly_with_the_drive_in_the_balanced_limit(analyses):
    ds = analyses[400.0]
    np.testing.assert_allclose(ds.rate_balanced.sel(M0=2.0), 2 * ds.rate_balanced.sel(M0=1.0), rtol=1e-12)
    ratio = (ds.rate.sel(M0=2.0) / ds.rate.sel(M0=1.0)).values
    assert np.all((ratio > 1.7) & (ratio < 2.3))


@pytest.mark.slow
def test_inputs_grow_like_sqrt_K_while_the_net_input_stays_order_one(analyses):
    exc = {K: float((ds.current_exc + ds.current_ext).sel(M0=1.0, population="E")) for K, ds in analyses.items()}
    assert 3.2 < exc[400.0] / exc[25.0] < 4.8  # sqrt(16) = 4
    index = {K: ds.balance_index.sel(M0=1.0).values for K, ds in analyses.items()}
    assert np.all(index[25.0] > index[100.0]) and np.all(index[100.0] > index[400.0])
    assert np.all(index[400.0] < 0.6 * index[25.0])
    for ds in analyses.values():  # net input = exc + inh + ext, recomputed independently
        np.testing.assert_allclose(ds.current_net, ds.current_exc + ds.current_inh + ds.current_ext, rtol=1e-6)


@pytest.mark.slow
def test_rate_histograms_are_normalised_densities(analyses):
    ds = analyses[100.0]
    width = float(ds.rate_bin[1] - ds.rate_bin[0])
    mass = (ds.rate_hist * width).sum("rate_bin")
    assert float(mass.max()) <= 1.0 + 1e-9
    assert float(mass.min()) > 0.95  # almost all neurons lie below 5x the mean rate
