"""Short-term plasticity against its analytic steady state and an independent ODE solution."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.integrate import solve_ivp

from einet.fields import parse_section
from einet.network.rate import RateNetwork
from einet.config.model import ModelSpec
from einet.synapses.stp import STPParams, stp_initial, stp_step


def params(U, tau_fac, tau_rec):
    col = lambda v: torch.tensor([[v]], dtype=torch.float64)  # noqa: E731
    return STPParams(col(U), col(tau_fac), col(tau_rec))


@pytest.mark.parametrize("rate", [0.5, 5.0, 40.0])
@pytest.mark.parametrize("dt", [5.0, 1.0])
def test_steady_state_matches_the_analytic_fixed_point(rate, dt):
    U, tau_f, tau_d = 0.05, 500.0, 200.0
    r = rate / 1000.0  # Hz -> per ms
    u_star = U * (1 + tau_f * r) / (1 + U * tau_f * r)
    x_star = 1 / (1 + u_star * tau_d * r)
    p = params(U, tau_f, tau_d)
    state = stp_initial(p, 3)
    rates = torch.full((1, 3), rate, dtype=torch.float64)
    for _ in range(int(60 * tau_f / dt)):  # u relaxes at >= 1/tau_f: e^-60 is far below 1e-10
        state = stp_step(rates, state, p, dt)
    np.testing.assert_allclose(state.u.numpy(), u_star, rtol=1e-10)
    np.testing.assert_allclose(state.x.numpy(), x_star, rtol=1e-10)


def test_transient_matches_an_ode_solver():
    U, tau_f, tau_d, rate = 0.2, 300.0, 150.0, 30.0
    r = rate / 1000.0

    def rhs(t, y):
        u, x = y
        return [(U - u) / tau_f + U * (1 - u) * r, (1 - x) / tau_d - u * x * r]

    times = np.arange(0, 600.0, 0.05)
    ode = solve_ivp(rhs, (0, times[-1]), [U, 1.0], t_eval=times, rtol=1e-11, atol=1e-12, method="DOP853")
    p = params(U, tau_f, tau_d)
    state = stp_initial(p, 1)
    rates = torch.full((1, 1), rate, dtype=torch.float64)
    us, xs = [float(state.u)], [float(state.x)]
    for _ in range(len(times) - 1):
        state = stp_step(rates, state, p, 0.05)
        us.append(float(state.u))
        xs.append(float(state.x))
    # u is exact; x is advanced with the end-of-step u, an O(dt) splitting error
    np.testing.assert_allclose(us, ode.y[0], atol=1e-9)
    np.testing.assert_allclose(xs, ode.y[1], atol=2e-4)


def _network(U_values, rate=20.0):
    specs = []
    for U in U_values:
        raw = {
            "populations": {
                "E": {"size": 50, "type": "exc", "tau": 10.0},  # a constant presynaptic rate
                "I": {"size": 30, "type": "inh", "tau": 0.0, "transfer": {"threshold": -100.0}},
            },
            "projections": {
                "IE": {"source": "E", "target": "I", "J": 2.0, "connectivity": "all_to_all",
                       "stp": {"U": U, "tau_fac": 800.0, "tau_rec": 100.0}},
            },
            "external": {"M0": 1.0, "J": {"E": rate, "I": 0.0}},
        }
        for p in raw["populations"].values():
            p["init_rate"] = rate if p is raw["populations"]["E"] else 0.0
        specs.append(parse_section(ModelSpec, raw, "model"))
    return RateNetwork(specs, 5.0, dtype=torch.float64)


def test_projection_transmits_u_x_r():
    net = _network([0.1, 0.4])
    state = net.initial_state()
    with torch.inference_mode():
        for _ in range(4000):
            state, currents = net.step(state)
    u, x = state.plasticity[0]
    for b, U in enumerate([0.1, 0.4]):
        r = 20.0 / 1000.0
        u_star = U * (1 + 800.0 * r) / (1 + U * 800.0 * r)
        x_star = 1 / (1 + u_star * 100.0 * r)
        assert math.isclose(float(u[b].mean()), u_star, rel_tol=1e-9)
        # all-to-all: the input to I is J * mean_j(u_j x_j r_j), here 2 * u* x* * 20
        expected = 2.0 * u_star * x_star * 20.0
        assert math.isclose(float(currents.exc[1][b].mean()), expected, rel_tol=1e-9)


def test_stp_parameters_form_a_batch_axis(tmp_path):
    import yaml

    from einet.experiment import Experiment, validate
    from einet.config.sweep import batch_elements

    raw = {"name": "stp", "model": {
        "populations": {"E": {"size": 10, "type": "exc"}, "I": {"size": 10, "type": "inh"}},
        "projections": {"IE": {"source": "E", "target": "I", "J": 1.0, "connectivity": "all_to_all",
                               "stp": {"U": 0.1}}}},
        "sweep": {"batch": {"model.projections.IE.stp.tau_fac": [200.0, 800.0]}}}
    path = tmp_path / "stp.yaml"
    path.write_text(yaml.safe_dump(raw))
    job = validate(Experiment(path).job_config("default"))
    assert [e.model.projections["IE"].stp.tau_fac for e in batch_elements(job)] == [200.0, 800.0]


def test_recorder_keeps_u_and_x_of_stp_projections():
    from einet.experiment import validate
    from einet.runs.rate import simulate

    raw = {"name": "stp", "model": {
        "populations": {"E": {"size": 20, "type": "exc", "tau": 10.0, "init_rate": 10.0},
                        "I": {"size": 10, "type": "inh", "tau": 10.0}},
        "projections": {"IE": {"source": "E", "target": "I", "J": 1.0, "connectivity": "all_to_all",
                               "stp": {"U": 0.3, "tau_fac": 100.0, "tau_rec": 50.0}},
                        "EI": {"source": "I", "target": "E", "J": -0.1, "connectivity": "all_to_all"}},
        "external": {"J": {"E": 10.0}}},
        "simulation": {"dt": 1.0, "duration": 50.0, "dtype": "float64", "record": {"every": 1.0}}}
    spec = validate(raw)
    ds = simulate(spec, progress=False)
    assert list(ds.stp_projection.values) == ["IE"]
    u = ds.stp_u_mean.sel(stp_projection="IE").values
    x = ds.stp_x_mean.sel(stp_projection="IE").values
    assert u[0] == 0.3 and x[0] == 1.0  # rest
    # with E at ~10 Hz, u rises and x falls monotonically from rest
    assert np.all(np.diff(u) > 0) and np.all(np.diff(x) < 0)
