"""Low-rank structure: vectors from the configured Gaussian, operators against dense algebra, fixed point."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from einet.errors import ConfigError
from einet.fields import parse_section
from einet.network.rate import RateNetwork
from einet.config.model import ModelSpec

COV = [[1.0, 0.6], [0.6, 2.0]]


def spec(connectivity="all_to_all", strength=0.5, n=400, source_type="exc", J=0.4, cov=COV, mean=(0.1, 0.3)):
    raw = {
        "populations": {"E": {"size": n, "type": source_type, "tau": 10.0, "transfer": {"threshold": -50.0}}},
        "projections": {"EE": {"source": "E", "target": "E", "J": J, "connectivity": connectivity,
                               "low_rank": strength, **({"K": 50.0} if connectivity == "sparse" else {})}},
        "external": {"M0": 1.0, "J": {"E": 1.0}},
        "low_rank": {"rank": 1, "mean": list(mean), "cov": cov},
    }
    return parse_section(ModelSpec, raw, "model")


def test_vectors_follow_the_configured_gaussian():
    net = RateNetwork(spec(n=40000, source_type="mixed"), 1.0, dtype=torch.float64)
    m, n = net.low_rank_vectors["E"]
    x = torch.cat([m, n], dim=1).numpy()
    np.testing.assert_allclose(x.mean(axis=0), [0.1, 0.3], atol=5 * math.sqrt(2.0 / 40000))
    np.testing.assert_allclose(np.cov(x.T), COV, atol=5 * 2.0 * math.sqrt(2 / 40000))


def test_all_to_all_low_rank_equals_the_dense_matrix_for_each_batch_strength():
    strengths = (0.0, 0.5, -1.5)
    net = RateNetwork([spec(strength=s, source_type="mixed") for s in strengths], 1.0, dtype=torch.float64)
    m, n = (v[:, 0].numpy() for v in net.low_rank_vectors["E"])
    x = torch.rand(3, 400, dtype=torch.float64)
    op = net.projection_operator("EE")
    got = op.apply(x, torch.tensor(strengths, dtype=torch.float64)[:, None]).numpy()
    for b, s in enumerate(strengths):
        dense = (1 + s * np.outer(m, n)) / 400
        np.testing.assert_allclose(got[b], dense @ x[b].numpy(), rtol=1e-10, atol=1e-12)


def test_sparse_low_rank_scales_each_synapse():
    s = spec("sparse", strength=0.05, cov=[[0.2, 0.0], [0.0, 0.2]], mean=(0.0, 0.0))
    net = RateNetwork(s, 1.0, dtype=torch.float64, seed=4)
    m, n = (v[:, 0].numpy() for v in net.low_rank_vectors["E"])
    dense = net.projection_operator("EE").to_dense().numpy()
    connected = dense != 0
    expected = (1 + 0.05 * np.outer(m, n)) / math.sqrt(50.0)
    np.testing.assert_allclose(dense[connected], expected[connected], rtol=1e-12)
    plain = RateNetwork(spec("sparse", strength=0.0), 1.0, dtype=torch.float64, seed=4)
    np.testing.assert_array_equal(connected, plain.projection_operator("EE").to_dense().numpy() != 0)


def test_sign_changing_sparse_weights_break_dale():
    with pytest.raises(ConfigError, match="Dale"):
        RateNetwork(spec("sparse", strength=3.0), 1.0)


def test_linear_rank_one_fixed_point():
    """r = I + J <r> + J s m <n r> (all neurons active): r = a + b m with a 2 x 2 linear system."""
    J, s, I = 0.4, 0.5, 1.0
    net = RateNetwork(spec(strength=s, J=J, source_type="mixed"), 1.0, dtype=torch.float64)
    m, n = (v[:, 0].numpy() for v in net.low_rank_vectors["E"])
    state = net.initial_state()
    with torch.inference_mode():
        for _ in range(800):
            state, _ = net.step(state)
    # a = I + 50 + J (a + b <m>) and b = J s (a <n> + b <n m>); the threshold is -50
    A = np.array([[1 - J, -J * m.mean()], [-J * s * n.mean(), 1 - J * s * (n * m).mean()]])
    a, b = np.linalg.solve(A, [I + 50.0, 0.0])
    np.testing.assert_allclose(state.rates[0][0].numpy(), a + b * m, rtol=1e-9)


def test_sign_changing_all_to_all_weights_break_dale_unless_mixed():
    with pytest.raises(ConfigError, match=r"low_rank: got 3.0, .*Dale.s law"):
        RateNetwork(spec(strength=3.0), 1.0)  # m.n takes both signs, so some 1 + 3 m.n < 0
    small = spec(strength=1e-3, cov=[[0.1, 0.0], [0.0, 0.1]], mean=(0.0, 0.0))
    RateNetwork(small, 1.0)  # |m.n| stays far below 1000 for 400 neurons: every weight keeps its sign
    RateNetwork(spec(strength=3.0, source_type="mixed"), 1.0)  # allowed without Dale's law


def test_extreme_products_match_the_full_matrix():
    from einet.synapses.connectivity import extreme_products

    g = torch.Generator().manual_seed(1)
    m, n = torch.randn(2500, 2, generator=g, dtype=torch.float64), torch.randn(300, 2, generator=g, dtype=torch.float64)
    full = m @ n.t()
    assert extreme_products(m, n, chunk=700) == (float(full.min()), float(full.max()))


def test_given_vectors_are_used_as_given_and_checked(tmp_path):
    """A rank-one network with given m = n = 1 + cos(theta) has the weights J (1 + s m_i n_j) / N."""
    n = 40
    theta = np.linspace(0, 2 * np.pi, n, endpoint=False)
    m = (1 + np.cos(theta))[:, None]
    path = tmp_path / "vectors.npz"
    np.savez(path, m_R=m, n_R=m)
    raw = {"populations": {"R": {"size": n, "type": "mixed"}},
           "projections": {"RR": {"source": "R", "target": "R", "J": 0.5, "connectivity": "all_to_all",
                                  "low_rank": 2.0}},
           "low_rank": {"rank": 1, "file": str(path)}, "external": {"M0": 1.0, "J": {"R": 1.0}}}
    net = RateNetwork([parse_section(ModelSpec, raw, "model")], 1.0, dtype=torch.float64)
    x = torch.rand(1, n, dtype=torch.float64)
    expected = (1 + 2.0 * np.outer(m, m)) / n  # the operator; J multiplies its output
    got = net.projection_operator("RR").apply(x, torch.tensor([[2.0]], dtype=torch.float64))
    torch.testing.assert_close(got[0], torch.from_numpy(expected) @ x[0], rtol=1e-12, atol=1e-14)
    np.savez(path, m_R=m[:-1], n_R=m)
    with pytest.raises(ConfigError, match=r"m_R of shape \(40, 1\)"):
        parse_section(ModelSpec, raw, "model")
    raw["low_rank"]["file"] = str(tmp_path / "missing.npz")
    with pytest.raises(ConfigError) as info:
        parse_section(ModelSpec, raw, "model")
    assert info.value.path == "model.low_rank.file"
