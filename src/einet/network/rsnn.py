r"""A recurrent spiking network (RSNN) for gradient training, and surrogate-gradient BPTT.

The network is the LIF/adaptive-LIF recurrent network of Bellec et al. (2020,
Nat Commun 11:3625) in einet's units: ``n_in`` inputs (spikes or analogue
values), ``n_rec`` recurrent neurons, ``n_out`` leaky linear readouts. In step
:math:`t` (steps of ``dt`` ms; :math:`z^{-1} = 0`)

.. math::

    \tilde v^t &= E_L + \alpha (v^{t-1} - E_L) - c\, w^{t-1}
                 + W^{in} x^t + W^{rec} z^{t-1}, \\
    z^t &= H(\tilde v^t - V_{th}), \\
    v^t &= \tilde v^t - (V_{th} - V_{reset})\, z^t \quad\text{(reset by subtraction), or }
           v^t = V_{reset} \text{ where } z^t = 1 \quad\text{(hard reset)}, \\
    w^t &= \rho\, w^{t-1} + b\, z^t, \\
    y^t &= \kappa\, y^{t-1} + W^{out} z^t + b^{out},

with the exact decays :math:`\alpha = e^{-dt/\tau_m}` (as in :mod:`einet.neurons.lif`),
:math:`\rho = e^{-dt/\tau_w}`, :math:`\kappa = e^{-dt/\tau_{out}}`, and
:math:`c` = ``filtered_step(dt, tau_m, tau_w)``, the membrane's exact response
over one step to the decaying adaptation current, as in :mod:`einet.neurons.alif`
(``b = 0``, the default, is the LIF). Why these choices:

* Synapses are delta currents: a spike of weight ``W`` [mV] moves the membrane
  by ``W`` at the end of the step it arrives in (the :math:`\tau_{syn} \to 0`
  limit of the LIF's current synapse at fixed charge). This keeps the hidden
  state per neuron to ``v`` (and ``w``), so e-prop's eligibility traces are exact
  for it, and weights read directly as PSP sizes.
* Recurrent spikes arrive one step after they are sent (einet's minimum delay),
  inputs in the step they are given.
* There is no refractory period and no self-connection (the diagonal of
  :math:`W^{rec}` is masked out, so it is never used and receives no gradient).
* With ``detach_reset`` (default) the reset term is treated as a constant by
  autograd, as in Bellec et al.: the gradient does not flow through the reset,
  which is what e-prop assumes (so the two gradients can be compared) and what
  Zenke & Vogels (2021, Neural Comput 33:899) found to train better.
  The adaptation's dependence on :math:`z` is kept (e-prop's ALIF eligibility keeps it too).

Dale's law
----------
With ``n_exc`` the first ``n_exc`` recurrent neurons are excitatory and the
rest inhibitory: every outgoing weight of a neuron (recurrent *and* readout,
the readout being a downstream population) has its neuron's sign. With
``input_exc`` the same holds for the input channels' weights. The signs are
enforced by *clamping* after every update (:meth:`RSNN.enforce_constraints`:
a weight that crossed zero is set to 0), as :class:`einet.network.layered.LayeredNetwork`
does; the parameters are the weights themselves, so gradients, e-prop updates and
optimizers see the same numbers the network uses.

Training
--------
The network is trained through the one loop :func:`einet.training.bptt.fit_bptt` with a
:class:`einet.training.spiking.SequenceObjective` (surrogate-gradient BPTT, truncated or not,
or e-prop's online eligibility traces, :mod:`einet.training.eprop`); this module only runs it.
Shapes: inputs ``[batch, time, n_in]``, any float dtype and device (those of the
network's weights).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, NamedTuple, Sequence

import torch
from torch import nn

from einet.numeric import Scalar, check_order, check_positive, dale_project, decay, filtered_step
from einet.neurons.surrogate import Surrogate

__all__ = ["RSNNParams", "RSNNState", "RSNNWeights", "RSNNRun", "RSNN", "TRAINABLE", "rsnn_initial", "rsnn_step",
           "rsnn_run"]

RESETS = ("subtract", "hard")

#: names accepted in ``trainable`` -> the network parameters they stand for
TRAINABLE: dict[str, tuple[str, ...]] = {"input": ("w_in",), "recurrent": ("w_rec",), "readout": ("w_out", "b_out")}

@dataclass(frozen=True)
class RSNNParams:
    """Neuron and readout constants; floats, or ``[batch, 1]`` tensors to sweep them over a batch.

    Attributes
    ----------
    tau_m : membrane time constant [ms]
    v_rest : resting potential E_L [mV]
    v_th : spike threshold [mV]
    v_reset : reset potential [mV], below ``v_th``; by subtraction a spike removes ``v_th - v_reset``
    reset : ``"subtract"`` (keeps the overshoot, Bellec et al.) or ``"hard"`` (set to ``v_reset``)
    tau_w : adaptation time constant [ms]
    b : adaptation increment per spike [mV] (as R I); 0 is the LIF
    tau_out : readout time constant [ms]
    surrogate : spike nonlinearity; default Bellec et al.'s triangle with width
        ``v_th - v_rest`` (15 mV) and damping 0.3
    detach_reset : no gradient through the reset term (see the module docstring)
    """

    tau_m: Scalar = 20.0
    v_rest: Scalar = -65.0
    v_th: Scalar = -50.0
    v_reset: Scalar = -65.0
    reset: Literal["subtract", "hard"] = "subtract"
    tau_w: Scalar = 200.0
    b: Scalar = 0.0
    tau_out: Scalar = 20.0
    surrogate: Surrogate = field(default_factory=lambda: Surrogate("triangle", width=15.0, gamma=0.3))
    detach_reset: bool = True

    def __post_init__(self):
        check_positive("RSNNParams", tau_m=self.tau_m, tau_w=self.tau_w, tau_out=self.tau_out)
        check_order("RSNNParams", "v_reset", "v_th", self.v_reset, self.v_th)
        if self.reset not in RESETS:
            raise ValueError(f"RSNNParams.reset: unknown reset {self.reset!r}; known: {', '.join(RESETS)}")
        if not isinstance(self.surrogate, Surrogate):
            raise TypeError(f"RSNNParams.surrogate must be a Surrogate, got {type(self.surrogate).__name__}")

    @property
    def adaptive(self) -> bool:
        """Whether the adaptation current is on (``b != 0`` anywhere)."""
        return bool((self.b != 0).any()) if isinstance(self.b, torch.Tensor) else self.b != 0


class RSNNState(NamedTuple):
    """``v`` membrane [mV], ``w`` adaptation [mV], ``z`` last spikes: ``[batch, n_rec]``; ``y`` ``[batch, n_out]``."""

    v: torch.Tensor
    w: torch.Tensor
    z: torch.Tensor
    y: torch.Tensor


class RSNNWeights(NamedTuple):
    """Effective weights: ``w_in`` ``[n_rec, n_in]``, ``w_rec`` ``[n_rec, n_rec]`` (zero diagonal),
    ``w_out`` ``[n_out, n_rec]``, ``b_out`` ``[n_out]``; [mV] for the first two."""

    w_in: torch.Tensor
    w_rec: torch.Tensor
    w_out: torch.Tensor
    b_out: torch.Tensor


class RSNNRun(NamedTuple):
    """``outputs`` ``[batch, time, n_out]``, ``spikes`` ``[batch, time, n_rec]``, and the final state."""

    outputs: torch.Tensor
    spikes: torch.Tensor
    state: RSNNState


def rsnn_initial(p: RSNNParams, batch: int, n_rec: int, n_out: int, dtype=torch.float64, device=None) -> RSNNState:
    """At rest: ``v = v_rest``, no adaptation, no spikes, readout 0."""
    zeros = torch.zeros((batch, n_rec), dtype=dtype, device=device)
    return RSNNState(zeros + p.v_rest, zeros.clone(), zeros.clone(),
                     torch.zeros((batch, n_out), dtype=dtype, device=device))


def _axpy(x: torch.Tensor, y: torch.Tensor, a: Scalar) -> torch.Tensor:
    """``x + a * y`` in one operation when ``a`` is a number (the step runs thousands of times per update)."""
    return torch.add(x, y, alpha=a) if not isinstance(a, torch.Tensor) else x + a * y


def _drive(x: torch.Tensor, weights: RSNNWeights, p: RSNNParams) -> torch.Tensor:
    """``v_rest + W_in x``: the part of the free membrane that does not depend on the state; for a
    ``[batch, time, n_in]`` input it is computed for all steps at once."""
    return x @ weights.w_in.T + p.v_rest


def _advance(drive: torch.Tensor, state: RSNNState, weights: RSNNWeights, p: RSNNParams, dt: float):
    """One step from ``drive`` (:func:`_drive` of this step's input); also returns the free membrane
    ``v~`` (before reset), which e-prop needs for ``psi``."""
    v_free = torch.addmm(_axpy(drive, state.v - p.v_rest, decay(dt, p.tau_m)), state.z, weights.w_rec.T)
    if p.adaptive:
        v_free = _axpy(v_free, state.w, -filtered_step(dt, p.tau_m, p.tau_w))
    z = p.surrogate(v_free - p.v_th)
    if p.detach_reset:
        zr = z.detach()
        if p.reset == "subtract":
            v = _axpy(v_free, zr, -(p.v_th - p.v_reset))
        else:  # the gradient of v~ is kept where no spike reset it, as for v~ (1 - z) + v_reset z
            v = torch.where(zr > 0, p.v_reset, v_free)
    elif p.reset == "subtract":
        v = v_free - (p.v_th - p.v_reset) * z
    else:
        v = v_free * (1.0 - z) + p.v_reset * z
    w = _axpy(state.w * decay(dt, p.tau_w), z, p.b) if p.adaptive else state.w
    y = torch.addmm(_axpy(weights.b_out, state.y, decay(dt, p.tau_out)), z, weights.w_out.T)
    return v_free, z, RSNNState(v, w, z, y)


def rsnn_step(x: torch.Tensor, state: RSNNState, weights: RSNNWeights, p: RSNNParams,
              dt: float) -> tuple[torch.Tensor, RSNNState]:
    """Advance by ``dt`` [ms].

    Parameters
    ----------
    x : ``[batch, n_in]`` inputs of this step (spike counts or values; weighted in mV)
    state : the state at the start of the step
    weights : effective weights (:meth:`RSNN.weights`)
    p : constants
    dt : step [ms]

    Returns
    -------
    spikes, state : 0/1 spikes of this step (surrogate gradient) and the state at its end
    """
    _, z, state = _advance(_drive(x, weights, p), state, weights, p, dt)
    return z, state


class RSNN(nn.Module):
    """Trainable weights of a recurrent spiking network, their masks and the constants.

    Parameters
    ----------
    n_in, n_rec, n_out : numbers of inputs, recurrent neurons and readouts
    params : neuron and readout constants
    dt : step [ms]
    n_exc : with Dale's law, the number of excitatory recurrent neurons (the first ``n_exc``);
        ``None``: no sign constraint on recurrent and readout weights
    input_exc : the same for the input channels (``n_in``: all excitatory); ``None``: unconstrained
    input_scale, recurrent_scale, readout_scale : initial weights are Gaussian with standard
        deviation ``scale / sqrt(fan_in)`` ([mV] for the first two), folded to their sign under
        Dale's law, inhibitory weights scaled by ``n_E / n_I`` so that E and I balance on average
    seed : seed of the initial weights (the network is deterministic from there)
    dtype, device : of the weights; inputs are cast to them
    """

    def __init__(self, n_in: int, n_rec: int, n_out: int, params: RSNNParams | None = None, dt: float = 1.0, *,
                 n_exc: int | None = None, input_exc: int | None = None, input_scale: float = 10.0,
                 recurrent_scale: float = 5.0, readout_scale: float = 1.0, seed: int = 0,
                 dtype=torch.float64, device=None):
        super().__init__()
        for name, n in (("n_in", n_in), ("n_rec", n_rec), ("n_out", n_out)):
            if int(n) != n or n < 1:
                raise ValueError(f"RSNN: {name} must be a whole number >= 1, got {n!r}")
        check_positive("RSNN", dt=dt)
        self.params = params if params is not None else RSNNParams()
        self.dt = float(dt)
        self.n_in, self.n_rec, self.n_out = int(n_in), int(n_rec), int(n_out)
        g = torch.Generator().manual_seed(int(seed))
        kw = dict(dtype=dtype)
        sign_rec = _signs(n_rec, n_exc, "n_exc")
        sign_in = _signs(n_in, input_exc, "input_exc")
        w_in = torch.randn(n_rec, n_in, generator=g, **kw) * (input_scale / n_in ** 0.5)
        w_rec = torch.randn(n_rec, n_rec, generator=g, **kw) * (recurrent_scale / n_rec ** 0.5)
        w_out = torch.randn(n_out, n_rec, generator=g, **kw) * (readout_scale / n_rec ** 0.5)
        if sign_in is not None:
            w_in = w_in.abs() * _balance(sign_in)
        if sign_rec is not None:
            w_rec = w_rec.abs() * _balance(sign_rec)
            w_out = w_out.abs() * _balance(sign_rec)
        # (the sign factors are float64: cast back, so a float32 network stays float32)
        self.w_in = nn.Parameter(w_in.to(dtype=dtype, device=device))
        self.w_rec = nn.Parameter((w_rec * (1.0 - torch.eye(n_rec, **kw))).to(dtype=dtype, device=device))
        self.w_out = nn.Parameter(w_out.to(dtype=dtype, device=device))
        self.b_out = nn.Parameter(torch.zeros(n_out, dtype=dtype, device=device))
        self.register_buffer("off_diagonal", (1.0 - torch.eye(n_rec, dtype=dtype, device=device)))
        self.register_buffer("sign_rec", None if sign_rec is None else sign_rec.to(dtype=dtype, device=device))
        self.register_buffer("sign_in", None if sign_in is None else sign_in.to(dtype=dtype, device=device))

    def weights(self) -> RSNNWeights:
        """The weights the dynamics use (recurrent diagonal masked out, so it gets no gradient)."""
        return RSNNWeights(self.w_in, self.w_rec * self.off_diagonal, self.w_out, self.b_out)

    def initial(self, batch: int) -> RSNNState:
        """Resting state for ``batch`` trials, with the weights' dtype and device."""
        return rsnn_initial(self.params, batch, self.n_rec, self.n_out, self.w_in.dtype, self.w_in.device)

    def forward(self, inputs: torch.Tensor, state: RSNNState | None = None) -> RSNNRun:
        """Run over ``[batch, time, n_in]`` inputs (see :func:`rsnn_run`)."""
        return rsnn_run(self, inputs, state)

    def parameter_groups(self, trainable: Sequence[str]) -> dict[str, nn.Parameter]:
        """The parameters behind the names in ``trainable`` (keys of :data:`TRAINABLE`), by attribute name."""
        names = _check_trainable(trainable)
        return {attr: getattr(self, attr) for name in names for attr in TRAINABLE[name]}

    @torch.no_grad()
    def enforce_constraints(self) -> None:
        """Zero the recurrent diagonal and clamp every weight with the wrong sign to 0 (Dale's law)."""
        self.w_rec.mul_(self.off_diagonal)
        if self.sign_rec is not None:
            self.w_rec.copy_(dale_project(self.w_rec, self.sign_rec))
            self.w_out.copy_(dale_project(self.w_out, self.sign_rec))
        if self.sign_in is not None:
            self.w_in.copy_(dale_project(self.w_in, self.sign_in))

    @torch.no_grad()
    def sign_violations(self) -> int:
        """Weights whose sign contradicts their source's (0 without Dale's law), plus nonzero self-connections."""
        count = int((self.w_rec.diagonal() != 0).sum())
        if self.sign_rec is not None:
            count += int((self.w_rec * self.sign_rec < 0).sum()) + int((self.w_out * self.sign_rec < 0).sum())
        if self.sign_in is not None:
            count += int((self.w_in * self.sign_in < 0).sum())
        return count


def _signs(n: int, n_exc: int | None, name: str) -> torch.Tensor | None:
    if n_exc is None:
        return None
    if int(n_exc) != n_exc or not 0 <= n_exc <= n:
        raise ValueError(f"RSNN: {name} must be a whole number in [0, {n}], got {n_exc!r}")
    return torch.cat([torch.ones(int(n_exc)), -torch.ones(n - int(n_exc))]).to(torch.float64)


def _balance(sign: torch.Tensor) -> torch.Tensor:
    """Column factors: +1 for E, -n_E/n_I for I (just -1 when one kind is missing)."""
    n_e, n_i = int((sign > 0).sum()), int((sign < 0).sum())
    return torch.where(sign > 0, 1.0, -(n_e / n_i if n_e and n_i else 1.0)).to(torch.float64)


def _check_trainable(trainable: Sequence[str]) -> tuple[str, ...]:
    if isinstance(trainable, str):
        trainable = (trainable,)
    names = tuple(trainable)
    unknown = [n for n in names if n not in TRAINABLE]
    if unknown:
        raise ValueError(f"unknown trainable parameter(s) {', '.join(map(repr, unknown))}; "
                         f"known: {', '.join(TRAINABLE)}")
    if not names:
        raise ValueError(f"trainable is empty; name at least one of: {', '.join(TRAINABLE)}")
    return tuple(dict.fromkeys(names))


def _prepare(net: RSNN, inputs: torch.Tensor, targets: torch.Tensor | None = None):
    """Cast to the weights' dtype/device and check shapes; a ``[time, n_out]`` target is shared by all trials."""
    like = net.w_in
    x = torch.as_tensor(inputs).to(dtype=like.dtype, device=like.device)
    if x.dim() != 3 or x.shape[-1] != net.n_in:
        raise ValueError(f"inputs must be [batch, time, n_in={net.n_in}], got shape {tuple(x.shape)}")
    if targets is None:
        return x, None
    y = torch.as_tensor(targets).to(dtype=like.dtype, device=like.device)
    if y.dim() == 2:
        y = y.expand(x.shape[0], *y.shape)
    if y.shape != (x.shape[0], x.shape[1], net.n_out):
        raise ValueError(f"targets must be [batch={x.shape[0]}, time={x.shape[1]}, n_out={net.n_out}] "
                         f"(or [time, n_out]), got shape {tuple(torch.as_tensor(targets).shape)}")
    return x, y


def rsnn_run(net: RSNN, inputs: torch.Tensor, state: RSNNState | None = None) -> RSNNRun:
    """Run ``net`` over ``[batch, time, n_in]`` inputs from ``state`` (default: rest); differentiable."""
    x, _ = _prepare(net, inputs)
    state = net.initial(x.shape[0]) if state is None else state
    weights = net.weights()
    drive = _drive(x, weights, net.params)
    outputs, spikes = [], []
    for t in range(x.shape[1]):
        _, z, state = _advance(drive[:, t], state, weights, net.params, net.dt)
        outputs.append(state.y)
        spikes.append(z)
    return RSNNRun(torch.stack(outputs, 1), torch.stack(spikes, 1), state)
