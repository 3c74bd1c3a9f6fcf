"""Rate learning rules against theory: Oja -> first PC, BCM threshold, Vogels-Sprekeler fixed point, Dale's law."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pytest
import torch

from einet.plasticity.registry import LEARNING_RULES, learning_rule, rule_names
from einet.plasticity.rate_rules import BCM, RateActivity
from einet.network.builder import NetworkBuilder

RATE_RULES = ["backprop", "hebbian", "oja", "bcm", "vogels_sprekeler"]


def test_one_registry_holds_rate_and_spike_rules():
    assert set(RATE_RULES) <= set(rule_names("rate"))
    assert {"stdp", "reward_stdp"} <= set(rule_names("spike"))
    assert set(RATE_RULES) | {"stdp"} <= set(LEARNING_RULES.names())
    with pytest.raises(ValueError, match="already registered"):
        LEARNING_RULES.register("bcm", object)  # one name space for both kinds
    with pytest.raises(KeyError, match="unknown rate learning rule 'stdp'.*known: .*bcm"):
        learning_rule("stdp", "rate")
    with pytest.raises(ValueError, match="unknown option\\(s\\) eta; valid: learning_rate"):
        learning_rule("oja", eta=0.1)
    with pytest.raises(ValueError, match="learning rule bcm.tau_theta"):
        learning_rule("bcm", tau_theta=-1.0)


def test_the_documented_user_rule_is_a_few_lines():
    from einet.fields import option, positive
    from einet.plasticity.registry import register_rule
    from einet.plasticity.rate_rules import RateRule

    @register_rule("test_anti_hebbian")
    @dataclass(frozen=True)
    class AntiHebbian(RateRule):
        learning_rate: float = option(1e-3, doc="step size per update", check=positive)

        def update(self, weights, a, state):
            return weights - self.learning_rate * a.post.T @ a.pre / a.pre.shape[0], state

    rule = learning_rule("test_anti_hebbian", learning_rate=0.5)
    w, _ = rule.update(torch.zeros(1, 2), RateActivity(torch.tensor([[1.0, 2.0]]), torch.tensor([[2.0]]), 0), None)
    assert torch.equal(w, torch.tensor([[-1.0, -2.0]]))


def _single_neuron(rule: str, n_in: int, **options) -> NetworkBuilder:
    b = NetworkBuilder()
    b.layer("Input").population("E", n_in)
    b.layer("Out").population("E", 1, "linear").bias(False)
    b.connect(source="Input.E", target="Out.E").learning_rule(rule, **options)
    return b


def test_oja_converges_to_the_unit_first_principal_component():
    # zero-mean 2-D Gaussian whose covariance has eigenvalues 4 and 1, first PC at 30 degrees
    angle = math.radians(30.0)
    rot = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    cov = rot @ np.diag([4.0, 1.0]) @ rot.T
    pc1 = np.linalg.eigh(cov)[1][:, -1]
    net = _single_neuron("oja", 2, learning_rate=0.002).build(seed=3, dtype=torch.float64)
    gen = torch.Generator().manual_seed(0)
    chol = torch.linalg.cholesky(torch.as_tensor(cov))
    for _ in range(4000):
        x = torch.randn(64, 2, generator=gen, dtype=torch.float64) @ chol.T
        net.local_update(net.run(x))  # y = W x (linear, tau = dt, one step)
    w = net.weight("Input.E", "Out.E").detach().numpy()[0]
    assert abs(np.linalg.norm(w) - 1.0) <= 0.01
    assert abs(w @ pc1) / np.linalg.norm(w) >= 0.99


def test_normalised_hebbian_keeps_row_norms_and_finds_the_first_principal_component():
    # normalised Hebbian learning of a linear neuron is a power iteration on the input covariance
    cov = torch.tensor([[2.0, 1.2, 0.0], [1.2, 2.0, 0.0], [0.0, 0.0, 0.5]], dtype=torch.float64)
    pc1 = torch.linalg.eigh(cov)[1][:, -1]
    net = _single_neuron("hebbian", 3, learning_rate=0.01).build(seed=5, dtype=torch.float64)
    norm0 = net.weight("Input.E", "Out.E").detach().norm()
    gen = torch.Generator().manual_seed(1)
    chol = torch.linalg.cholesky(cov)
    for _ in range(1500):
        net.local_update(net.run(torch.randn(32, 3, generator=gen, dtype=torch.float64) @ chol.T))
        torch.testing.assert_close(net.weight("Input.E", "Out.E").detach().norm(), norm0, rtol=1e-12, atol=0)
    w = net.weight("Input.E", "Out.E").detach()[0]
    assert abs(w @ pc1) / w.norm() >= 0.99


def test_bcm_threshold_follows_its_analytic_trajectory():
    rule = BCM(learning_rate=0.1, tau_theta=7.0, theta_init=0.5)
    w = torch.zeros(3, 4, dtype=torch.float64)
    theta = rule.initial(w)
    y = torch.tensor([[0.3, 1.0, 2.0]], dtype=torch.float64).repeat(5, 1)  # constant activity, batch of 5
    pre = torch.ones(5, 4, dtype=torch.float64)
    for n in range(1, 41):
        w, theta = rule.update(w, RateActivity(pre, y, 0), theta)
        expected = y[0] ** 2 + (0.5 - y[0] ** 2) * math.exp(-n / 7.0)  # tau_theta dtheta/dn = y^2 - theta
        torch.testing.assert_close(theta, expected, rtol=1e-12, atol=1e-14)


def test_bcm_weight_change_flips_sign_at_the_threshold():
    rule = BCM(learning_rate=1.0, tau_theta=5.0)
    theta = torch.tensor([2.0, 2.0, 2.0], dtype=torch.float64)
    post = torch.tensor([[1.9, 2.0, 2.1]], dtype=torch.float64)  # below, at, above theta
    pre = torch.tensor([[1.0, 0.5]], dtype=torch.float64)
    w0 = torch.zeros(3, 2, dtype=torch.float64)
    w, _ = rule.update(w0, RateActivity(pre, post, 0), theta)
    assert (w[0] < 0).all() and (w[1] == 0).all() and (w[2] > 0).all()
    # and the size is y (y - theta) x
    torch.testing.assert_close(w[2], 2.1 * 0.1 * pre[0], rtol=1e-12, atol=0)


@pytest.mark.parametrize("start", [0.1, 10.0], ids=["weak_inhibition", "silencing_inhibition"])
def test_vogels_sprekeler_drives_the_target_to_rho0(start):
    rho0 = 0.5
    b = NetworkBuilder()
    b.layer("Input").population("E", 4)
    b.layer("H").population("I", 3, "relu").type("inh").bias(False)
    b.layer("Out").population("E", 2, "relu").bias(False)
    b.connect(source="Input.E", target="H.I").type("exc").learning_rule("none")
    b.connect(source="Input.E", target="Out.E").type("exc").init_scale(8.0).learning_rule("none")
    b.connect(source="H.I", target="Out.E").init_scale(start).learning_rule(
        "vogels_sprekeler", learning_rate=0.2, rho0=rho0)
    b.dynamics(forward_steps=2)  # feed-forward with tau = dt: Out = relu(W_E x + W_I r_I) at step 2
    net = b.build(seed=1, dtype=torch.float64)
    x = torch.tensor([[1.0, 0.5, 2.0, 1.5]], dtype=torch.float64).repeat(8, 1)
    excitation = x[0] @ net.weight("Input.E", "Out.E").detach().T
    assert (excitation > rho0).all()  # the fixed point needs inhibition (W_I <= 0) to exist
    for _ in range(600):
        net.local_update(net.run(x))
    state = net.run(x)
    torch.testing.assert_close(state["Out.E"][0], torch.full((2,), rho0, dtype=torch.float64), rtol=0, atol=1e-6)
    # analytic fixed point: W_I r_I = rho0 - W_E x, with W_I <= 0
    inhibition = state["H.I"][0] @ net.weight("H.I", "Out.E").detach().T
    torch.testing.assert_close(inhibition, rho0 - excitation, rtol=0, atol=1e-6)
    assert (net.weight("H.I", "Out.E") <= 0).all()


def _ei_network(rule: str, **options) -> NetworkBuilder:
    b = NetworkBuilder()
    b.layer("Input").population("E", 12)
    b.layer("H1").population("E", 20, "relu").type("Exc")
    b.layer("H1").population("I", 6, "relu").type("Inh")
    b.layer("Output").population("E", 4, "linear")
    for source, target in [("Input.E", "H1.E"), ("Input.E", "H1.I"), ("H1.E", "H1.I"), ("H1.I", "H1.E"),
                           ("H1.E", "Output.E")]:
        b.connect(source=source, target=target)
    b.learning_rule(rule, **options)
    b.dynamics(forward_steps=4, backward_steps=3)
    return b


@pytest.mark.parametrize("rule", RATE_RULES)
def test_dale_law_holds_after_every_update_of_every_rule(rule):
    net = _ei_network(rule, learning_rate=0.01 if rule == "backprop" else 0.005).build(seed=0)
    optimizers = net.optimizers()
    before = [w.detach().clone() for w in net.weights]
    gen = torch.Generator().manual_seed(0)
    for _ in range(100):
        x = torch.randn(16, 12, generator=gen)
        y = torch.randint(0, 4, (16,), generator=gen)
        state = net.run(x)
        if optimizers:
            for opt in optimizers:
                opt.zero_grad()
            torch.nn.functional.cross_entropy(state["Output.E"], y).backward()
            for opt in optimizers:
                opt.step()
            net.enforce_dale()
        net.local_update(state)
        assert net.sign_violations() == 0
    for w, w0, sign in zip(net.weights, before, net.signs):
        assert torch.isfinite(w).all()
        if sign != 0:
            assert not torch.equal(w, w0), "the rule did not move the weights"
            assert (w * sign > 0).any(), "Dale's law held only because every weight was zeroed"
