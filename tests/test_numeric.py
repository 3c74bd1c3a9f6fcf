"""Dale's projection, the one every network and rule clamps through."""

from __future__ import annotations

import torch

from einet.numeric import dale_project


def test_dale_projection_zeroes_exactly_the_wrong_signed_entries_for_scalar_and_per_column_signs():
    w = torch.tensor([[0.5, -0.2, 0.0], [-1.0, 2.0, -0.3]], dtype=torch.float64)
    assert torch.equal(dale_project(w, 1.0), torch.tensor([[0.5, 0.0, 0.0], [0.0, 2.0, 0.0]], dtype=torch.float64))
    assert torch.equal(dale_project(w, -1.0), torch.tensor([[0.0, -0.2, 0.0], [-1.0, 0.0, -0.3]], dtype=torch.float64))
    assert dale_project(w, 0.0) is w
    columns = torch.tensor([1.0, -1.0, 0.0], dtype=torch.float64)  # one sign per source
    expected = torch.stack([dale_project(w[:, j], float(columns[j])) for j in range(3)], dim=1)
    assert torch.equal(dale_project(w, columns), expected)
    for sign in (1.0, -1.0):  # the tensor path agrees with the scalar path
        assert torch.equal(dale_project(w, torch.full((3,), sign, dtype=torch.float64)), dale_project(w, sign))
