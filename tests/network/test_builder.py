"""The population builder: spec round trip, printed architecture, dynamics in closed form, training."""

from __future__ import annotations

import math
import time

import pytest
import torch

from einet.datasets import load
from einet.errors import ConfigError
from einet.training.supervised import train_classifier
from einet.network.builder import NetworkBuilder
from einet.config.layered import RuleSpec, spec_from_yaml, spec_to_yaml


def ei_builder() -> NetworkBuilder:
    b = NetworkBuilder()
    b.layer("Input").population("E", 64)
    b.layer("H1").population("E", 100, "relu").type("Exc")
    b.layer("H1").population("SomaI", 25, "relu").type("Inh").tau(2.0)
    b.layer("H1").population("Extra", 5).type("Inh")
    b.layer("Output").population("E", 10, "linear")
    b.connect(source="Input.E", target="H1.E")
    b.connect(source="Input.E", target="H1.SomaI")
    b.connect(source="H1.E", target="H1.SomaI").learning_rule("BCM", learning_rate=0.01)
    b.connect(source="H1.SomaI", target="H1.E").learning_rule("vogels_sprekeler", rho0=0.2)
    b.connect(source="H1.E", target="Output.E").type("Mixed")
    b.learning_rule("backprop", learning_rate=0.01)
    b.set_learning_rule_for_layer("Output", "hebbian", learning_rate=0.001)
    b.dynamics(dt=1.0, forward_steps=4, backward_steps=2)
    return b


EXPECTED_ARCHITECTURE = """\
==================================================
Network architecture:
Populations (update order):
  Input.E (64): input
  H1.E (100) [Exc]: relu, tau=1 ms, bias=yes
  H1.SomaI (25) [Inh]: relu, tau=2 ms, bias=yes
  H1.Extra (5) [Inh]: relu, tau=1 ms, bias=yes
  Output.E (10): linear, tau=1 ms, bias=yes, output
Projections:
  Input.E (64) -> H1.E (100), forward, init_scale=1: backprop (learning_rate=0.01, optimizer=adam, weight_decay=0)
  Input.E (64) -> H1.SomaI (25), forward, init_scale=1: backprop (learning_rate=0.01, optimizer=adam, weight_decay=0)
  H1.E (100) -> H1.SomaI (25) [Exc], forward, init_scale=1: bcm (learning_rate=0.01, tau_theta=10, theta_init=0)
  H1.SomaI (25) -> H1.E (100) [Inh], recurrent, init_scale=1: vogels_sprekeler (learning_rate=0.001, rho0=0.2)
  H1.E (100) -> Output.E (10), forward, init_scale=1: hebbian (learning_rate=0.001, norm=null)
Unconnected populations:
  H1.Extra (5) [Inh]
Dynamics: dt=1 ms, forward_steps=4, backward_steps=2, integration=euler
==================================================
"""


def test_print_architecture_shows_what_is_built(capsys):
    b = ei_builder()
    text = b.print_architecture()
    assert capsys.readouterr().out == text == EXPECTED_ARCHITECTURE
    net = b.build(seed=0)
    # the printed signs, directions and rules are those of the built network
    assert net.signs == [0, 0, 1, -1, 0]
    assert net.directions == ["forward", "forward", "forward", "recurrent", "forward"]
    assert [type(r).__name__ for r in net.rules] == ["Backprop", "Backprop", "BCM", "VogelsSprekeler", "Hebbian"]
    assert [tuple(w.shape) for w in net.weights] == [(100, 64), (25, 64), (25, 100), (100, 25), (10, 100)]


def test_spec_yaml_spec_is_lossless_and_yaml_and_builder_agree():
    spec = ei_builder().spec()
    assert spec_from_yaml(spec_to_yaml(spec)) == spec
    assert NetworkBuilder.from_spec(spec).spec() == spec
    handwritten = """
layers:
  Input: {populations: {E: {size: 4}}}
  Out:
    populations: {E: {size: 2, type: exc, activation: linear}}
    learning_rule: oja
projections:
  - {source: Input.E, target: Out.E}
"""
    b = NetworkBuilder()
    b.layer("Input").population("E", 4)
    b.layer("Out").population("E", 2, "linear").type("Exc")
    b.layer("Out").learning_rule("oja")
    b.connect(source="Input.E", target="Out.E")
    assert spec_from_yaml(handwritten) == b.spec()
    assert b.spec().rule_for(b.spec().projections[0]) == RuleSpec("oja")


def test_bad_specs_fail_naming_the_key():
    b = NetworkBuilder()
    b.layer("Input").population("E", 4)
    b.layer("Out").population("E", 2)
    b.connect(source="Input.E", target="Out.X")
    with pytest.raises(ConfigError, match=r"projections\[0\]\.target: got 'Out.X'"):
        b.spec()
    b = NetworkBuilder()
    b.layer("Input").population("E", 4)
    b.layer("Out").population("E", 2)
    b.connect(source="Input.E", target="Out.E").learning_rule("stdp")
    with pytest.raises(ConfigError, match=r"projections\[0\]\.learning_rule\.name.*bcm"):
        b.spec()
    b.connect(source="Input.E", target="Out.E").learning_rule("bcm", tau=3)
    with pytest.raises(ConfigError, match=r"learning_rule\.options\.tau.*tau_theta"):
        b.spec()
    b.connect(source="Input.E", target="Out.E").learning_rule("bcm").direction("forward")
    b.connect(source="Out.E", target="Out.E").direction("forward")
    with pytest.raises(ConfigError, match=r"projections\[1\]\.direction"):
        b.spec()


@pytest.mark.parametrize("integration", ["euler", "exponential"])
@pytest.mark.parametrize("steps", [1, 3, 7])
def test_leaky_integration_of_a_linear_population_is_exact(integration, steps):
    dt, tau = 0.5, 2.0
    b = NetworkBuilder()
    b.layer("Input").population("E", 5)
    b.layer("Out").population("E", 3, "linear").tau(tau).bias(False)
    b.connect(source="Input.E", target="Out.E")
    b.dynamics(dt=dt, forward_steps=steps, integration=integration)
    net = b.build(seed=2, dtype=torch.float64)
    x = torch.randn(4, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    wx = x @ net.weight("Input.E", "Out.E").detach().T
    if integration == "euler":
        factor = 1 - (1 - dt / tau) ** steps
    else:  # the exact solution of tau dr/dt = -r + W x from r(0) = 0
        factor = 1 - math.exp(-steps * dt / tau)
    torch.testing.assert_close(net(x), factor * wx, rtol=1e-14, atol=1e-15)


def test_truncated_bptt_sends_gradients_through_the_last_steps_only():
    def network(back):
        b = NetworkBuilder()
        b.layer("Input").population("E", 3)
        b.layer("H").population("E", 4, "tanh").tau(4.0)
        b.connect(source="Input.E", target="H.E")
        b.connect(source="H.E", target="H.E")
        b.dynamics(forward_steps=6, backward_steps=back)
        return b.build(seed=0, dtype=torch.float64)

    x = torch.linspace(-1, 1, 6, dtype=torch.float64).reshape(2, 3)
    net = network(1)
    net(x).sum().backward()
    # one step back: y = r5 + a (tanh(W r5 + U x) - r5) with r5 a constant, so
    # d sum(y) / dW = a sum_batch (1 - tanh(z)^2) r5^T
    with torch.no_grad():
        r5 = net.run(x, steps=5)["H.E"]
        z = r5 @ net.weight("H.E", "H.E").T + x @ net.weight("Input.E", "H.E").T
        expected = 0.25 * (1 - torch.tanh(z) ** 2).T @ r5
    torch.testing.assert_close(net.weight("H.E", "H.E").grad, expected, rtol=1e-12, atol=1e-14)
    full = network(None)
    full(x).sum().backward()
    assert not torch.allclose(full.weight("H.E", "H.E").grad, expected)


def test_default_ei_network_is_active_and_learns():
    b = NetworkBuilder()
    b.layer("Input").population("E", 64)
    b.layer("H1").population("E", 80, "relu").type("Exc")
    b.layer("H1").population("I", 20, "relu").type("Inh")
    b.layer("Output").population("E", 10, "linear")
    for source, target in [("Input.E", "H1.E"), ("Input.E", "H1.I"), ("H1.E", "H1.I"), ("H1.I", "H1.E"),
                           ("H1.E", "Output.E")]:
        b.connect(source=source, target=target)
    b.dynamics(forward_steps=3)  # defaults otherwise: backprop (adam, 1e-3), init_scale 1, tau = dt
    net = b.build(seed=0)
    split = load("digits", seed=0)
    state = net.run(split.x_test)
    for pop in ("H1.E", "H1.I"):
        assert (state[pop] > 0).float().mean() > 0.2, f"{pop} is (nearly) silent at initialisation"
    history = train_classifier(net, split, epochs=3, batch_size=32, seed=0)
    assert history.test_accuracy[-1] > 0.85
    assert int(history.sign_violations.sum()) == 0
    assert (net.weight("H1.I", "H1.E") < 0).any() and (net.weight("H1.E", "H1.I") > 0).any()


def test_backprop_reaches_95_percent_on_digits_within_a_minute():
    b = NetworkBuilder()
    b.layer("Input").population("E", 64)
    b.layer("H1").population("E", 64, "relu").type("Exc")
    b.layer("Output").population("E", 10, "linear")
    b.connect(source="Input.E", target="H1.E")
    b.connect(source="H1.E", target="Output.E")
    b.learning_rule("backprop", learning_rate=0.01)
    start = time.perf_counter()
    net = b.build(seed=0)
    history = train_classifier(net, load("digits", seed=0), epochs=8, batch_size=32, seed=0)
    elapsed = time.perf_counter() - start
    assert float(history.test_accuracy[-1]) >= 0.95
    assert elapsed < 60.0
    assert set(history.data_vars) == {"train_loss", "train_accuracy", "test_loss", "test_accuracy",
                                      "sign_violations", "weight_mean", "weight_std", "weight_abs_max"}
    assert history.sizes["epoch"] == 9 and int(history.sign_violations.sum()) == 0
    assert (net.weight("H1.E", "Output.E") >= 0).all()
