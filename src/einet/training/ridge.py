r"""Ridge-regression readouts fitted offline to recorded network states.

:func:`fit_ridge` finds the readout :math:`y = x W + b` minimising

.. math:: \sum_t \lVert y_t - x_t W - b \rVert^2 + \alpha \lVert W \rVert_F^2

(the intercept ``b`` is not penalised: inputs and targets are centred, ``W``
is solved for, and ``b = \bar y - \bar x W``). Inputs and targets are
downsampled together (same washout, same stride), so sample ``t`` of one is
always sample ``t`` of the other; their lengths must agree before downsampling.
Leading dimensions are batch dimensions: ``[..., T, N]`` inputs and
``[..., T, K]`` targets give ``[..., N, K]`` weights, one readout per batch element.
"""

from __future__ import annotations

from typing import NamedTuple

import torch


class LinearReadout(NamedTuple):
    """``weight`` ``[..., N, K]`` and ``bias`` ``[..., K]``; call it on ``[..., T, N]`` states."""

    weight: torch.Tensor
    bias: torch.Tensor

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return x @ self.weight + self.bias.unsqueeze(-2)


def downsample(x: torch.Tensor, every: int = 1, washout: int = 0) -> torch.Tensor:
    """Drop the first ``washout`` samples of time (dim -2), then keep every ``every``-th."""
    if int(every) != every or every < 1:
        raise ValueError(f"every must be a whole number >= 1, got {every!r}")
    if int(washout) != washout or washout < 0:
        raise ValueError(f"washout must be a whole number >= 0, got {washout!r}")
    return x[..., int(washout)::int(every), :]


def fit_ridge(states: torch.Tensor, targets: torch.Tensor, alpha: float = 1e-6, intercept: bool = True,
              every: int = 1, washout: int = 0) -> LinearReadout:
    """Fit a ridge readout.

    Parameters
    ----------
    states : ``[..., T, N]`` inputs (recorded network states)
    targets : ``[..., T, K]`` (or ``[..., T]`` for one output) targets, sampled at the same times
    alpha : L2 penalty on the weights (>= 0; 0 is ordinary least squares)
    intercept : fit an unpenalised bias
    every : keep every ``every``-th sample of both
    washout : drop this many initial samples of both first
    """
    if targets.dim() == states.dim() - 1:
        targets = targets.unsqueeze(-1)
    if states.shape[-2] != targets.shape[-2]:
        raise ValueError(f"states have {states.shape[-2]} time samples but targets {targets.shape[-2]}")
    if alpha < 0:
        raise ValueError(f"alpha must be >= 0, got {alpha!r}")
    x = downsample(states, every, washout)
    y = downsample(targets, every, washout).to(x.dtype)
    if x.shape[-2] == 0:
        raise ValueError("no samples left after washout and downsampling")
    if intercept:
        x_mean, y_mean = x.mean(-2, keepdim=True), y.mean(-2, keepdim=True)
        x, y = x - x_mean, y - y_mean
    n = x.shape[-1]
    if alpha > 0:  # stack sqrt(alpha) I under x: least squares of the augmented system is the ridge solution
        eye = (alpha ** 0.5) * torch.eye(n, dtype=x.dtype, device=x.device).expand(*x.shape[:-2], n, n)
        x = torch.cat([x, eye], -2)
        y = torch.cat([y, y.new_zeros((*y.shape[:-2], n, y.shape[-1]))], -2)
    driver = "gelsd" if x.device.type == "cpu" else None
    weight = torch.linalg.lstsq(x, y, driver=driver).solution
    if intercept:
        bias = (y_mean - x_mean @ weight).squeeze(-2)
    else:
        bias = weight.new_zeros((*weight.shape[:-2], weight.shape[-1]))
    return LinearReadout(weight, bias)
