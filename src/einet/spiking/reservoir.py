r"""A rate reservoir (random recurrent tanh network) with readouts trained by ridge or FORCE.

.. math::

    \tau \dot x = -x + g J r + W_{in} u(t) + W_{fb} z(t) + b, \qquad r = \tanh x, \qquad z = W_{out}^\top r

with :math:`J` sparse Gaussian (connection probability ``p``, variance
:math:`1/(pN)`), so :math:`g > 1` is the chaotic regime of Sompolinsky et al.
(1988) that FORCE learning tames (Sussillo & Abbott 2009). Integrated with
the exponential Euler step (input held over the step). The random biases
:math:`b` break the symmetry :math:`x \to -x` of a tanh network, without which
the rates would be odd functions of the input and no linear readout could
produce an even target such as a product of two inputs.

* **ridge**: run the reservoir open loop (no feedback) on the inputs, fit
  :math:`W_{out}` to the recorded rates offline (:func:`einet.spiking.ridge.fit_ridge`);
* **FORCE**: feed the output back while recursive least squares
  (:func:`einet.spiking.rls.rls_step`) updates :math:`W_{out}` every few steps,
  so the output is always close to the target and the fed-back signal is the
  one the network will see after training; then freeze :math:`W_{out}`.

Both are judged on held-out time after the training window, by the
coefficient of determination :math:`R^2 = 1 - \sum (y - z)^2 / \sum (y - \bar y)^2`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import torch

from einet.spiking.ridge import fit_ridge
from einet.spiking.rls import rls_initial, rls_step


@dataclass(frozen=True)
class ReservoirParams:
    """Attributes: ``n`` neurons; ``g`` recurrent gain; ``p`` connection probability; ``tau`` [ms];
    ``input_scale``, ``feedback_scale``, ``bias_scale``: standard deviations of the uniform input and feedback
    weights and of the biases;
    ``seed``."""

    n: int = 300
    g: float = 1.5
    p: float = 0.1
    tau: float = 10.0
    input_scale: float = 1.0
    feedback_scale: float = 1.0
    bias_scale: float = 0.5
    seed: int = 0


class Reservoir(NamedTuple):
    """``J`` ``[N, N]`` (scaled by g), ``w_in`` ``[N, n_in]``, ``w_fb`` ``[N, n_out]``, ``bias`` ``[N]``, ``tau`` [ms]."""

    J: torch.Tensor
    w_in: torch.Tensor
    w_fb: torch.Tensor
    bias: torch.Tensor
    tau: float


def make_reservoir(p: ReservoirParams, n_inputs: int, n_outputs: int, dtype=torch.float64) -> Reservoir:
    """Draw the weights from ``p.seed``."""
    gen = torch.Generator().manual_seed(p.seed)
    mask = torch.rand((p.n, p.n), generator=gen) < p.p
    J = torch.randn((p.n, p.n), generator=gen) * mask * (p.g / math.sqrt(p.p * p.n))
    uniform = lambda *shape: 2.0 * torch.rand(shape, generator=gen) - 1.0  # noqa: E731
    return Reservoir(J.to(dtype), (p.input_scale * math.sqrt(3) * uniform(p.n, n_inputs)).to(dtype),
                     (p.feedback_scale * math.sqrt(3) * uniform(p.n, n_outputs)).to(dtype),
                     (p.bias_scale * math.sqrt(3) * uniform(p.n)).to(dtype), p.tau)


def r_squared(target: torch.Tensor, output: torch.Tensor) -> float:
    """Coefficient of determination of ``output`` for ``target`` (``[T, K]``, pooled over outputs)."""
    resid = ((target - output) ** 2).sum()
    total = ((target - target.mean(0)) ** 2).sum()
    return float(1.0 - resid / total)


def run_open_loop(res: Reservoir, inputs: torch.Tensor, dt: float, x0: torch.Tensor | None = None) -> torch.Tensor:
    """``[T, N]`` rates driven by ``[T, n_in]`` inputs, without feedback."""
    a = math.exp(-dt / res.tau)
    x = torch.zeros(res.J.shape[0], dtype=res.J.dtype) if x0 is None else x0
    rates = []
    for u in inputs:
        r = torch.tanh(x)
        rates.append(r)
        x = a * x + (1 - a) * (res.J @ r + res.w_in @ u + res.bias)
    return torch.stack(rates)


def train_ridge(res: Reservoir, inputs: torch.Tensor, target: torch.Tensor, dt: float, n_train: int,
                washout: int = 100, alpha: float = 1e-4) -> tuple[torch.Tensor, float]:
    """Fit on the first ``n_train`` steps (after ``washout``); returns the whole output ``[T, K]`` and held-out R²."""
    rates = run_open_loop(res, inputs, dt)
    readout = fit_ridge(rates[:n_train], target[:n_train], alpha=alpha, washout=washout)
    output = readout(rates)
    return output, r_squared(target[n_train:], output[n_train:])


def train_force(res: Reservoir, inputs: torch.Tensor, target: torch.Tensor, dt: float, n_train: int,
                alpha: float = 1.0, every: int = 2, washout: int = 100) -> tuple[torch.Tensor, float]:
    """FORCE: RLS with the output fed back during the first ``n_train`` steps, frozen afterwards.

    Returns the output ``[T, K]`` (fed back throughout) and the R² on the held-out steps after ``n_train``.
    """
    a = math.exp(-dt / res.tau)
    n, k = res.J.shape[0], target.shape[1]
    state = rls_initial(n, k, alpha=alpha, dtype=res.J.dtype)
    x = torch.zeros(n, dtype=res.J.dtype)
    outputs = []
    for t, u in enumerate(inputs):
        r = torch.tanh(x)
        if washout <= t < n_train and t % every == 0:
            _, state = rls_step(r, target[t], state)
        z = state.predict(r)  # a-posteriori output: what the network sees
        outputs.append(z)
        x = a * x + (1 - a) * (res.J @ r + res.w_in @ u + res.w_fb @ z + res.bias)
    output = torch.stack(outputs)
    return output, r_squared(target[n_train:], output[n_train:])


def product_of_sines(n_steps: int, dt: float, periods=(200.0, 130.0)) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs ``[sin(2 pi t / T1), sin(2 pi t / T2)]`` and the target ``[T, 1]``: their product."""
    t = torch.arange(n_steps, dtype=torch.float64) * dt
    u = torch.stack([torch.sin(2 * math.pi * t / periods[0]), torch.sin(2 * math.pi * t / periods[1])], 1)
    return u, (u[:, 0] * u[:, 1]).unsqueeze(1)
