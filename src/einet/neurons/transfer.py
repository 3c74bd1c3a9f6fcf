"""Transfer functions Phi: input current -> rate, registered by name.

Each takes the input ``x`` and broadcastable tensors ``threshold``, ``gain``
and ``r_max`` (shape ``[batch, 1]`` so batch elements may differ).
"""

from __future__ import annotations

import math
from typing import Callable

import torch

from einet.config.model import TRANSFER_NAMES
from einet.registry import Registry

Transfer = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]
TRANSFERS: Registry[Transfer] = Registry("transfer function")


def threshold_linear(x, threshold, gain, r_max):
    r""":math:`\Phi(x) = g\,\max(x - \theta, 0)`."""
    return gain * torch.relu(x - threshold)


def sigmoid(x, threshold, gain, r_max):
    r""":math:`\Phi(x) = r_{max} / (1 + e^{-g (x - \theta)})`."""
    return r_max * torch.sigmoid(gain * (x - threshold))


def erf(x, threshold, gain, r_max):
    r""":math:`\Phi(x) = r_{max}\,(1 + \mathrm{erf}(g (x - \theta)/\sqrt{2}))/2`, a Gaussian cdf."""
    return r_max * 0.5 * (1.0 + torch.erf(gain * (x - threshold) / math.sqrt(2.0)))


def brunel_hakim(x, threshold, gain, r_max):
    r"""Square-root nonlinearity: with :math:`u = g(x - \theta)`,

    .. math:: \Phi = 0 \; (u \le 0), \quad u^2 \; (0 < u \le 1), \quad \sqrt{4u - 3} \; (u > 1)

    continuous with a continuous slope at u = 1; it grows like sqrt(u), as the
    rate of an integrate-and-fire neuron at high input does.
    """
    u = gain * (x - threshold)
    low = torch.clamp(u, min=0.0) ** 2
    high = torch.sqrt(torch.clamp(4.0 * u - 3.0, min=1.0))
    return torch.where(u > 1.0, high, low)


for _fn in (threshold_linear, sigmoid, erf, brunel_hakim):
    TRANSFERS.register(_fn.__name__, _fn)
assert set(TRANSFERS.names()) == set(TRANSFER_NAMES), "spec.TransferName and the registry disagree"
