r"""Spike nonlinearities with surrogate derivatives, for gradient training of spiking networks.

A spike is the Heaviside step of the distance to threshold, :math:`z = H(v - V_{th})`
(with :math:`H(0) = 1`, the ``v >= v_th`` test of :mod:`einet.neurons.lif`).
Its true derivative is zero almost everywhere, so no gradient reaches the
weights through it. Surrogate-gradient training (Neftci, Mostafa & Zenke 2019)
keeps the exact step in the forward pass and replaces :math:`dz/dv` in the
backward pass by a *pseudo-derivative* :math:`\psi(v - V_{th})`, a bump around
threshold. The same :math:`\psi` is the post-synaptic factor of e-prop's
eligibility traces (:mod:`einet.training.eprop`), so both methods share this module.

Registered pseudo-derivatives of :math:`x = v - V_{th}` (mV), with width
:math:`w` (mV) and scale :math:`\gamma`; both peak at :math:`\gamma / w` at threshold:

``triangle`` (alias ``piecewise_linear``; Bellec et al. 2018, 2020)
    :math:`\psi(x) = \frac{\gamma}{w}\max\left(0, 1 - \frac{|x|}{w}\right)`;
    Bellec et al. take :math:`w` = the threshold's distance from rest and
    :math:`\gamma = 0.3`, which damps the growth of gradients through time.
``fast_sigmoid`` (alias ``superspike``; Zenke & Ganguli 2018)
    :math:`\psi(x) = \frac{\gamma}{w}\left(1 + \frac{|x|}{w}\right)^{-2}`, the
    derivative of the fast sigmoid :math:`\gamma\, x / (w + |x|)`; its tails
    decay as :math:`x^{-2}`, so neurons far below threshold still learn a little.

Adding one::

    @register_surrogate("boxcar")
    def boxcar(x, width, gamma):
        return gamma / width * (x.abs() < width / 2).to(x.dtype)

An unknown name is refused with the known ones listed, when the
:class:`Surrogate` is built, not in the middle of training.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from einet.registry import Registry
from einet.numeric import Scalar, check_positive

__all__ = ["SURROGATES", "Surrogate", "register_surrogate", "spike"]

PseudoDerivative = Callable[[torch.Tensor, Scalar, Scalar], torch.Tensor]

SURROGATES: Registry[PseudoDerivative] = Registry("surrogate derivative")


def register_surrogate(*names: str):
    """Decorator: register a pseudo-derivative ``f(x, width, gamma)`` under one or more names."""

    def decorate(fn: PseudoDerivative) -> PseudoDerivative:
        for name in names:
            SURROGATES.register(name, fn)
        return fn

    return decorate


@register_surrogate("triangle", "piecewise_linear")
def triangle(x: torch.Tensor, width: Scalar, gamma: Scalar) -> torch.Tensor:
    """Bellec et al.'s piecewise-linear pseudo-derivative: ``gamma/width * max(0, 1 - |x|/width)``."""
    return (gamma / width) * (1.0 - x.abs() / width).clamp(min=0.0)


@register_surrogate("fast_sigmoid", "superspike")
def fast_sigmoid(x: torch.Tensor, width: Scalar, gamma: Scalar) -> torch.Tensor:
    """Zenke & Ganguli's SuperSpike pseudo-derivative: ``gamma/width * (1 + |x|/width)**-2``."""
    return (gamma / width) / (1.0 + x.abs() / width) ** 2


class _Spike(torch.autograd.Function):
    """Heaviside forward, ``grad * psi(x)`` backward (no gradient to width or gamma)."""

    @staticmethod
    def forward(ctx, x, derivative, width, gamma):
        ctx.save_for_backward(x)
        ctx.derivative, ctx.width, ctx.gamma = derivative, width, gamma
        return (x >= 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * ctx.derivative(x, ctx.width, ctx.gamma), None, None, None


@dataclass(frozen=True)
class Surrogate:
    """A spike nonlinearity: exact step forward, registered pseudo-derivative backward.

    Attributes
    ----------
    name : a registered pseudo-derivative (``triangle``, ``fast_sigmoid``, ...)
    width : its width [mV], the scale of ``v - v_th`` over which neurons receive gradient
    gamma : its scale (dimensionless); the peak is ``gamma / width`` [1/mV]
    """

    name: str = "triangle"
    width: Scalar = 1.0
    gamma: Scalar = 1.0

    def __post_init__(self):
        SURROGATES.get(self.name)  # unknown names fail here, listing the known ones
        check_positive("Surrogate", width=self.width, gamma=self.gamma)

    def derivative(self, x: torch.Tensor) -> torch.Tensor:
        r"""The pseudo-derivative :math:`\psi(x)` at ``x = v - v_th`` [1/mV]."""
        return SURROGATES.get(self.name)(x, self.width, self.gamma)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """0/1 spikes ``x >= 0`` (dtype of ``x``) whose gradient is :meth:`derivative`."""
        return _Spike.apply(x, SURROGATES.get(self.name), self.width, self.gamma)


def spike(x: torch.Tensor, surrogate: str | Surrogate = "triangle", **options) -> torch.Tensor:
    """``H(x)`` with the surrogate gradient named by ``surrogate`` (options: ``width``, ``gamma``)."""
    if isinstance(surrogate, Surrogate):
        if options:
            raise ValueError(f"spike: options {sorted(options)} given with a built Surrogate")
        return surrogate(x)
    return Surrogate(surrogate, **options)(x)
