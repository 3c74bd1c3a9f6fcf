"""The fixed_point run kind against the analytic steady state of a threshold-linear E/I network, and the balance
analysis reading it as it reads a simulation."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import experiment
from einet.errors import ConfigError


def _raw(**simulation):
    raw = experiment()
    raw["simulation"].update({"duration": 5000.0, "method": "fixed_point", **simulation})
    raw["simulation"]["record"]["average_from"] = 0.0
    return raw


def test_the_fixed_point_is_the_analytic_steady_state_of_the_threshold_linear_network():
    """All-to-all J/N projections: every neuron of a population gets J_AB <r_B> + M0 J_A, so with both
    populations above threshold r = W r + h - theta, solved here by numpy."""
    import einet
    import einet.runs

    spec = einet.validate(_raw())
    assert einet.runs.run_kind_of(spec).name == "fixed_point"
    run = einet.simulate(spec, progress=False)
    W = np.array([[1.0, -1.5], [1.0, -1.0]])
    h = np.array([2.0 * 2.0, 2.0 * 1.0]) - 1.0  # M0 J_A minus the threshold
    expected = np.linalg.solve(np.eye(2) - W, h)
    assert (expected > 0).all()
    rates = run.rate_avg.groupby(run.neuron_population).mean().sel(neuron_population=["E", "I"]).values
    np.testing.assert_allclose(rates, expected, rtol=1e-7)
    assert int(run.converged) == 1 and 0 < int(run.steps) < 10000 and float(run.residual) <= 1e-9
    total = (run.current_exc_avg + run.current_inh_avg + run.current_ext_avg).groupby(run.neuron_population).mean()
    np.testing.assert_allclose(total.sel(neuron_population=["E", "I"]).values - 1.0, expected, rtol=1e-7)


def test_the_balance_analysis_reads_a_fixed_point_run_as_it_reads_a_simulation():
    import einet

    spec = einet.validate(_raw())
    summary = einet.analyze(einet.simulate(spec, progress=False), spec)
    raw = _raw()
    raw["simulation"].update(method="integrate")
    raw["simulation"]["record"]["average_from"] = 4000.0  # of 5000 ms: the settled state
    simulated_spec = einet.validate(raw)
    simulated = einet.analyze(einet.simulate(simulated_spec, progress=False), simulated_spec)
    np.testing.assert_allclose(summary.rate.values, simulated.rate.values, rtol=1e-6)


def test_a_run_that_does_not_settle_in_time_says_so():
    import einet

    run = einet.simulate(einet.validate(_raw(duration=20.0)), progress=False)
    assert int(run.converged) == 0 and int(run.steps) == 40 and float(run.residual) > 1e-9


@pytest.mark.parametrize("edit, key", [
    (lambda raw: raw["model"]["external"].update(noise={"E": 0.1}), "model.external.noise.E"),
    (lambda raw: raw.update(task={"kind": "odr", "population": "E"}), "task"),
    (lambda raw: raw.update(analysis={"kind": "ring"}), "analysis.kind"),
])
def test_what_has_no_fixed_point_is_refused_naming_the_key(edit, key):
    import einet

    raw = _raw()
    edit(raw)
    with pytest.raises(ConfigError) as err:
        einet.validate(raw)
    assert err.value.path == key
