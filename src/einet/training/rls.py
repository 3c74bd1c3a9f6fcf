r"""Recursive least squares (RLS) readouts, the online learner of FORCE training.

With forgetting factor :math:`\lambda \in (0, 1]` and :math:`P_0 = I/\alpha`,
each step with input :math:`x` and target :math:`y`

.. math::

    k = \frac{P x}{\lambda + x^\top P x}, \quad
    e = y - W^\top x, \quad
    W \leftarrow W + k\, e^\top, \quad
    P \leftarrow \frac{P - k\, x^\top P}{\lambda}

so that after :math:`T` steps (from :math:`W_0 = 0`) :math:`W` minimises

.. math:: \sum_{t=1}^{T} \lambda^{T-t} \lVert y_t - W^\top x_t \rVert^2 + \lambda^T \alpha \lVert W \rVert_F^2 :

old samples are down-weighted geometrically, and with :math:`\lambda = 1`
the result is the ridge solution with penalty :math:`\alpha`. ``P`` is the
inverse of the weighted input correlation (plus the decayed prior).
With ``intercept=True`` a constant 1 is appended to the input and its
weight is the bias. Leading dimensions of ``x`` are batch dimensions.

FORCE learning (Sussillo & Abbott 2009) feeds the returned a-priori output
:math:`z = W^\top x` back into the network while RLS updates ``W`` every few steps.
"""

from __future__ import annotations

from typing import NamedTuple

import torch


class RLSState(NamedTuple):
    """``weight`` ``[..., N(+1), K]``, ``P`` ``[..., N(+1), N(+1)]``; ``intercept``: a 1 is appended to inputs."""

    weight: torch.Tensor
    P: torch.Tensor
    intercept: bool

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """``[..., K]`` output for ``[..., N]`` inputs."""
        x = _augment(x, self.intercept)
        return (x.unsqueeze(-2) @ self.weight).squeeze(-2)


def _augment(x: torch.Tensor, intercept: bool) -> torch.Tensor:
    return torch.cat([x, x.new_ones((*x.shape[:-1], 1))], -1) if intercept else x


def rls_initial(n_inputs: int, n_outputs: int, alpha: float = 1.0, batch_shape=(), intercept: bool = False,
                dtype=torch.float64, device=None) -> RLSState:
    """``W = 0`` and ``P = I / alpha`` (``alpha`` > 0 is the prior's penalty)."""
    if alpha <= 0:
        raise ValueError(f"alpha must be > 0, got {alpha!r}")
    n = n_inputs + int(intercept)
    eye = torch.eye(n, dtype=dtype, device=device) / alpha
    P = eye.expand(*batch_shape, n, n).clone()
    W = torch.zeros((*batch_shape, n, n_outputs), dtype=dtype, device=device)
    return RLSState(W, P, intercept)


def rls_step(x: torch.Tensor, target: torch.Tensor, state: RLSState,
             forgetting: float = 1.0) -> tuple[torch.Tensor, RLSState]:
    """One RLS update; returns the a-priori output ``W^T x`` (before the update) and the new state.

    Parameters
    ----------
    x : ``[..., N]`` inputs
    target : ``[..., K]`` targets
    state : current weights and inverse correlation
    forgetting : lambda in (0, 1]; 1 keeps all samples with equal weight
    """
    if not 0.0 < forgetting <= 1.0:
        raise ValueError(f"forgetting must be in (0, 1], got {forgetting!r}")
    x = _augment(x, state.intercept)
    Px = (state.P @ x.unsqueeze(-1)).squeeze(-1)
    k = Px / (forgetting + (x * Px).sum(-1, keepdim=True))
    output = (x.unsqueeze(-2) @ state.weight).squeeze(-2)
    error = target - output
    W = state.weight + k.unsqueeze(-1) * error.unsqueeze(-2)
    P = (state.P - k.unsqueeze(-1) * Px.unsqueeze(-2)) / forgetting
    P = 0.5 * (P + P.transpose(-1, -2))  # keep it symmetric against rounding
    return output, RLSState(W, P, state.intercept)
