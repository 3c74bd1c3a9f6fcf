r"""Reservoirs (random recurrent tanh or QIF spiking networks) with readouts trained by ridge or FORCE.

.. math::

    \tau \dot x = -x + g J r + W_{in} u(t) + W_{fb} z(t) + b, \qquad r = \tanh x, \qquad z = W_{out}^\top r

with :math:`J` sparse Gaussian (connection probability ``p``, variance
:math:`1/(pN)`), so :math:`g > 1` is the chaotic regime of Sompolinsky et al.
(1988) that FORCE learning tames (Sussillo & Abbott 2009). Integrated with
the exponential Euler step (input held over the step). The random biases
:math:`b` break the symmetry :math:`x \to -x` of a tanh network, without which
the rates would be odd functions of the input and no linear readout could
produce an even target such as a product of two inputs.

Training the readouts (:mod:`einet.training.reservoir`):

* **ridge**: run the reservoir open loop (no feedback) on the inputs, fit
  :math:`W_{out}` to the recorded rates offline (:func:`einet.training.ridge.fit_ridge`);
* **FORCE**: feed the output back while recursive least squares
  (:func:`einet.training.rls.rls_step`) updates :math:`W_{out}` every few steps,
  so the output is always close to the target and the fed-back signal is the
  one the network will see after training; then freeze :math:`W_{out}`.

Both are judged on held-out time after the training window, by the
coefficient of determination :math:`R^2 = 1 - \sum (y - z)^2 / \sum (y - \bar y)^2`.

**QIF reservoir** (:class:`QIFReservoir`, as in Nicola & Clopath 2017): quadratic
integrate-and-fire neurons (:mod:`einet.neurons.qif`, exact between steps)

.. math::

    \tau \dot v_i = v_i^2 + \eta_i + \textstyle\sum_j J_{ij} r_j + W_{in} u(t) + W_{fb} z(t), \qquad
    \tau_s \dot r_j = -\tau_s\, r_j \text{ between spikes}, \quad r_j \leftarrow r_j + 1 \text{ at each spike}

read out through the synaptic traces :math:`r` (filtered spikes, :math:`r \approx` rate
:math:`\times \tau_s`), which also carry the recurrent input, held over each step. The
excitabilities :math:`\eta_i` are spread around their mean, so neurons differ in rheobase and
gain: the QIF's rate :math:`\sqrt{c}/(\pi\tau)` for an input :math:`c > 0` (silent below) is the
rectifying nonlinearity that lets a linear readout of the traces form even functions of the
input, as the biases do for the tanh network. Each row of :math:`J` has its
nonzero entries' mean subtracted (as in Nicola & Clopath's code): the traces are positive,
and a nonzero row sum would add a neuron-specific constant that only shifts :math:`\eta_i`.
Two time scales matter: the traces must average out the firing of a neuron (its ripple at the
firing rate) while following the target; a short membrane time constant (a few ms, rates near
100 Hz) and :math:`\tau_s` of about 20 ms put the ripple well above the target's frequencies.
Ridge and FORCE are the same as for the tanh network, on :math:`r` instead of :math:`\tanh x`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import torch

from einet.neurons.qif import QIFParams, QIFState, qif_step


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


@dataclass(frozen=True)
class QIFReservoirParams:
    """Attributes: ``n`` neurons; ``g`` recurrent gain; ``p`` connection probability; ``tau`` membrane time constant
    [ms]; ``tau_syn`` trace time constant [ms]; ``eta`` mean excitability and ``eta_scale`` the standard deviation
    of the uniform excitabilities; ``input_scale``, ``feedback_scale``: standard deviations of the uniform input
    and feedback weights (QIF input units); ``v_peak``, ``v_reset`` of the QIF; ``seed``."""

    n: int = 500
    g: float = 1.0
    p: float = 0.1
    tau: float = 3.0
    tau_syn: float = 20.0
    eta: float = 0.5
    eta_scale: float = 1.0
    input_scale: float = 2.0
    feedback_scale: float = 1.0
    v_peak: float = 100.0
    v_reset: float = -100.0
    seed: int = 0


class QIFReservoir(NamedTuple):
    """``J`` ``[N, N]`` (scaled by g, row means of the nonzero entries removed), ``w_in`` ``[N, n_in]``, ``w_fb``
    ``[N, n_out]``, ``neuron``: QIF parameters with the ``[N]`` excitabilities, ``tau_syn`` [ms] of the traces."""

    J: torch.Tensor
    w_in: torch.Tensor
    w_fb: torch.Tensor
    neuron: QIFParams
    tau_syn: float


def make_qif_reservoir(p: QIFReservoirParams, n_inputs: int, n_outputs: int, dtype=torch.float64) -> QIFReservoir:
    """Draw the weights and excitabilities from ``p.seed``."""
    gen = torch.Generator().manual_seed(p.seed)
    mask = torch.rand((p.n, p.n), generator=gen) < p.p
    J = torch.randn((p.n, p.n), generator=gen) * mask * (p.g / math.sqrt(p.p * p.n))
    J = J - mask * (J.sum(1, keepdim=True) / mask.sum(1, keepdim=True).clamp(min=1))
    uniform = lambda *shape: 2.0 * torch.rand(shape, generator=gen) - 1.0  # noqa: E731
    w_in = p.input_scale * math.sqrt(3) * uniform(p.n, n_inputs)
    w_fb = p.feedback_scale * math.sqrt(3) * uniform(p.n, n_outputs)
    eta = p.eta + p.eta_scale * math.sqrt(3) * uniform(p.n)
    neuron = QIFParams(tau=p.tau, eta=eta.to(dtype), v_peak=p.v_peak, v_reset=p.v_reset)
    return QIFReservoir(J.to(dtype), w_in.to(dtype), w_fb.to(dtype), neuron, p.tau_syn)


class QIFRun(NamedTuple):
    neuron: QIFState
    trace: torch.Tensor


def qif_run_initial(res: QIFReservoir) -> QIFRun:
    """Every neuron at its reset value (so the first spikes are spread by the excitabilities), no traces."""
    zeros = torch.zeros(res.J.shape[0], dtype=res.J.dtype)
    return QIFRun(QIFState(zeros + res.neuron.v_reset, zeros.clone()), zeros.clone())


def qif_run_step(res: QIFReservoir, run: QIFRun, u: torch.Tensor, z: torch.Tensor | None, dt: float,
                 trace_decay: float) -> tuple[QIFRun, torch.Tensor]:
    """One step: recurrent, input and feedback currents held over it; returns the new state and the spike counts."""
    drive = res.J @ run.trace + res.w_in @ u
    if z is not None:
        drive = drive + res.w_fb @ z
    spikes, neuron = qif_step(drive, run.neuron, res.neuron, dt)
    return QIFRun(neuron, run.trace * trace_decay + spikes), spikes


def run_qif_open_loop(res: QIFReservoir, inputs: torch.Tensor, dt: float) -> tuple[torch.Tensor, float]:
    """``[T, N]`` traces driven by ``[T, n_in]`` inputs without feedback, and the mean firing rate [Hz]."""
    run, decay = qif_run_initial(res), math.exp(-dt / res.tau_syn)
    traces, count = [], torch.zeros((), dtype=res.J.dtype, device=res.J.device)  # summed on the device, read once
    for u in inputs:
        traces.append(run.trace)
        run, spikes = qif_run_step(res, run, u, None, dt, decay)
        count += spikes.sum()
    return torch.stack(traces), float(count) / (res.J.shape[0] * len(inputs) * dt / 1000.0)


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


def product_of_sines(n_steps: int, dt: float, periods=(200.0, 130.0)) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs ``[sin(2 pi t / T1), sin(2 pi t / T2)]`` and the target ``[T, 1]``: their product."""
    t = torch.arange(n_steps, dtype=torch.float64) * dt
    u = torch.stack([torch.sin(2 * math.pi * t / periods[0]), torch.sin(2 * math.pi * t / periods[1])], 1)
    return u, (u[:, 0] * u[:, 1]).unsqueeze(1)
