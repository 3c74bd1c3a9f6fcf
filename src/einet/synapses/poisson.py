r"""Batched Poisson spike sources: independent trains and groups with a given pairwise count correlation.

Spikes come as tensors of any shape whose last axis is the neuron, usually
``[batch, neuron]`` for one step or ``[steps, batch, neuron]`` for a block of
steps drawn at once (one call per block instead of per step keeps the Python
overhead out of long runs). Every draw takes a ``torch.Generator``, so a run
is reproducible from its seed on any device and in any dtype.

Rates are in Hz and steps in ms (the expected count per step is
:math:`\lambda = r\,dt/1000`). Two output forms:

* ``counts=True``: the number of spikes of a Poisson process in each step,
  :math:`\mathrm{Poisson}(\lambda)`; exact for any dt;
* ``counts=False`` (default): 0/1, whether the step holds at least one spike,
  with probability :math:`1 - e^{-\lambda}` (the discrete-time trace of the
  same process; its mean count per step is :math:`1 - e^{-\lambda} \approx
  \lambda - \lambda^2/2`, 0.5 % low at 10 Hz and dt = 1 ms).

Correlated groups (multiple interaction process)
------------------------------------------------
:func:`correlated_poisson` draws the trains of a group from one shared
*mother* train (Kuhn, Aertsen & Rotter 2003, J Neurosci 23:4315; Brette 2009,
Neural Comput 21:188): the mother is Poisson at rate :math:`r/c` and each
neuron copies each mother spike independently with probability :math:`c`.
A thinned Poisson process is Poisson, so every neuron is Poisson at rate
:math:`r`; and for the counts :math:`n_i, n_j` of two neurons in a window
:math:`T` with mother count :math:`M \sim \mathrm{Poisson}(rT/c)`:

.. math::

    \mathrm{Cov}(n_i, n_j) = \mathrm{Cov}(E[n_i|M], E[n_j|M]) = c^2\, \mathrm{Var}(M) = c\, r T,
    \qquad \mathrm{Var}(n_i) = r T,

so the pairwise count correlation coefficient is exactly :math:`c`, in every
window (the covariance sits at lag zero: copies are synchronous). Copying
with probability :math:`\sqrt{c}` instead is right for the other mixture, in
which the mother has rate :math:`r` and each neuron tops its copies up with
an independent train at rate :math:`(1 - \sqrt{c})\,r`: then
:math:`\mathrm{Cov} = (\sqrt{c})^2 r T = c\,r T`. The construction here needs
no top-up and has smaller synchronous events (:math:`c N` spikes on average
instead of :math:`\sqrt{c} N`).

In the 0/1 form a neuron spikes in a step when it copies at least one of the
step's :math:`M` mother spikes, with probability :math:`1 - (1-c)^M`; its
marginal is again :math:`1 - e^{-\lambda}`, and the correlation of two neurons'
indicators (hence of their counts in any window of whole steps, steps being
independent) is

.. math:: \rho = \frac{e^{c\lambda} - 1}{e^{\lambda} - 1} \;\to\; c \quad (\lambda \to 0),

slightly below :math:`c` (0.1992 for c = 0.2 at 10 Hz and dt = 1 ms); see
:func:`indicator_correlation`.
"""

from __future__ import annotations

import math

import torch

from einet.numeric import Scalar


def expected_count(rate: Scalar, dt: float) -> Scalar:
    """The expected spike count per step, :math:`\\lambda = r\\,dt/1000` (``rate`` [Hz], ``dt`` [ms])."""
    return rate * dt / 1000.0


def spike_probability(rate: Scalar, dt: float) -> Scalar:
    """The probability :math:`1 - e^{-r\\,dt/1000}` that a step holds at least one spike."""
    lam = expected_count(rate, dt)
    return -torch.expm1(-lam) if isinstance(lam, torch.Tensor) else -math.expm1(-lam)


def indicator_correlation(rate: float, correlation: float, dt: float) -> float:
    """The correlation of two neurons' 0/1 spikes in a group of :func:`correlated_poisson`
    (and of their counts in any window of whole steps): :math:`(e^{c\\lambda} - 1)/(e^{\\lambda} - 1)`."""
    lam = expected_count(rate, dt)
    return math.expm1(correlation * lam) / math.expm1(lam) if lam > 0 else correlation


def _check(rate, correlation=None) -> None:
    bad = bool((rate < 0).any()) if isinstance(rate, torch.Tensor) else rate < 0
    if bad:
        raise ValueError(f"a Poisson rate must be >= 0 Hz, got {rate!r}")
    if correlation is not None:
        c = correlation
        bad = bool(((c < 0) | (c > 1)).any()) if isinstance(c, torch.Tensor) else not 0 <= c <= 1
        if bad:
            raise ValueError(f"a count correlation must lie in [0, 1], got {correlation!r}")


def _full(value: Scalar, shape, dtype, device) -> torch.Tensor:
    return torch.as_tensor(value, dtype=dtype, device=device).expand(shape)


def poisson_spikes(rate: Scalar, shape, dt: float, generator: torch.Generator, *, counts: bool = False,
                   dtype=torch.float32, device=None) -> torch.Tensor:
    """Independent Poisson trains.

    Parameters
    ----------
    rate : rate [Hz], a float or a tensor broadcastable to ``shape`` (e.g. ``[batch, 1]`` for a batch sweep)
    shape : the output shape, e.g. ``(batch, neuron)`` or ``(steps, batch, neuron)``
    dt : step [ms]
    generator : the source of randomness (on ``device``)
    counts : spike counts per step instead of 0/1 (see the module docstring)

    Returns
    -------
    spikes : ``shape``, of ``dtype`` on ``device``
    """
    _check(rate)
    shape = tuple(shape)
    if counts:
        return torch.poisson(_full(expected_count(rate, dt), shape, dtype, device).contiguous(), generator=generator)
    p = spike_probability(rate, dt)
    u = torch.rand(shape, generator=generator, dtype=dtype, device=device)
    return (u < p).to(dtype)


def correlated_poisson(rate: Scalar, correlation: Scalar, shape, dt: float, generator: torch.Generator, *,
                       counts: bool = False, dtype=torch.float32, device=None) -> torch.Tensor:
    """One group of Poisson trains with pairwise count correlation ``correlation`` (multiple interaction process).

    The neurons along the last axis of ``shape`` share one mother train per index of the leading axes
    (per step and batch element), so different batch elements are independent groups.

    Parameters
    ----------
    rate : rate of every neuron [Hz], a float or broadcastable to ``shape[:-1] + (1,)``
    correlation : count correlation c in [0, 1], a float or broadcastable to ``shape[:-1] + (1,)``;
        0 gives independent trains, 1 identical ones
    shape, dt, generator, counts, dtype, device : as for :func:`poisson_spikes`
    """
    _check(rate, correlation)
    if not isinstance(correlation, torch.Tensor) and correlation == 0:
        return poisson_spikes(rate, shape, dt, generator, counts=counts, dtype=dtype, device=device)
    shape = tuple(shape)
    mother_shape = shape[:-1] + (1,)
    c = _full(correlation, mother_shape, dtype, device)
    shared = c > 0
    c_safe = torch.where(shared, c, torch.ones_like(c))  # an element with c = 0 is drawn independently below
    mother = torch.poisson(_full(expected_count(rate, dt), mother_shape, dtype, device) / c_safe,
                           generator=generator)
    if counts:
        out = torch.binomial(mother.expand(shape).contiguous(), c_safe.expand(shape).contiguous(),
                             generator=generator)
    else:
        # at least one of the M mother spikes copied: probability 1 - (1 - c)^M, drawn without a binomial
        p = -torch.expm1(mother * torch.log1p(-c_safe.clamp(max=1.0 - 1e-12)))
        p = torch.where(c_safe >= 1.0, (mother > 0).to(dtype), p)
        out = (torch.rand(shape, generator=generator, dtype=dtype, device=device) < p).to(dtype)
    if bool(shared.all()):
        return out
    independent = poisson_spikes(rate, shape, dt, generator, counts=counts, dtype=dtype, device=device)
    return torch.where(shared, out, independent)
