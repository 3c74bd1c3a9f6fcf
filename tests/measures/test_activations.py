"""The one activation table: every activation a layered network may name resolves in it, to the right function,
and the bounded ones carry the range the information measures bin over."""

from __future__ import annotations

import math

import pytest
import torch

from einet.config.layered import ACTIVATIONS as LAYERED_NAMES
from einet.measures.topology import ACTIVATIONS, resolve_activation

X = torch.tensor([-2.0, 0.0, 1.5], dtype=torch.float64)
EXPECTED = {
    "linear": X,
    "relu": torch.tensor([0.0, 0.0, 1.5], dtype=torch.float64),
    "sigmoid": 1 / (1 + torch.exp(-X)),
    "tanh": (torch.exp(X) - torch.exp(-X)) / (torch.exp(X) + torch.exp(-X)),
    "softplus": torch.log1p(torch.exp(X)),
}


@pytest.mark.parametrize("name", LAYERED_NAMES)
def test_every_layered_activation_is_in_the_table_and_computes_its_function(name):
    act = resolve_activation(name)
    assert act.name in ACTIVATIONS
    torch.testing.assert_close(act.fn(X), EXPECTED[name], rtol=1e-12, atol=1e-12)


def test_bounded_activations_carry_their_ranges_and_unbounded_ones_none():
    assert resolve_activation("sigmoid").default_range == (0.0, 1.0)
    assert resolve_activation("tanh").default_range == (-1.0, 1.0)
    assert all(resolve_activation(n).default_range is None for n in ("relu", "softplus", "linear"))
    assert math.isclose(float(resolve_activation("softplus").fn(torch.zeros(1, dtype=torch.float64))), math.log(2.0))
