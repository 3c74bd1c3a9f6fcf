r"""e-prop: online gradient estimates for recurrent spiking networks (Bellec et al. 2020, Nat Commun 11:3625).

For the network of :mod:`einet.network.rsnn` and the loss
:math:`E = \langle (y - y^*)^2 \rangle` (mean over trials, steps and readouts),
BPTT needs the whole trial stored and run backwards. e-prop factorises the
gradient into what is available *at the synapse, forward in time*:

.. math::

    \frac{dE}{dW_{ji}} \approx \sum_t L_j^t\, \bar e_{ji}^t, \qquad
    L_j^t = \sum_k B_{jk}\, \frac{\partial E}{\partial y_k^t}, \qquad
    \bar e_{ji}^t = \kappa\, \bar e_{ji}^{t-1} + e_{ji}^t, \qquad
    e_{ji}^t = \psi_j^t\, \epsilon_{ji}^t,

where :math:`\psi_j^t` is the surrogate pseudo-derivative at the free membrane
:math:`\tilde v_j^t` (:mod:`einet.neurons.surrogate`), :math:`\epsilon_{ji}^t =
\partial \tilde v_j^t / \partial W_{ji}` is the *eligibility vector* computed
through neuron :math:`j`'s own state only, and the filter :math:`\kappa` (the
readout's leak) carries a spike's effect on all later outputs. The learning
signal :math:`L` uses :math:`B = W^{out\top}` (``symmetric``) or a fixed random
matrix (``random``, Lillicrap et al. 2016's feedback alignment). For the
presynaptic activity :math:`x_i^t` (an input, or a recurrent spike of step
:math:`t-1`) the eligibility vectors follow

.. math::

    \epsilon^{v,t}_{ji} &= \alpha\, r_j^{t-1}\, \epsilon^{v,t-1}_{ji} - c\, \epsilon^{w,t-1}_{ji} + x_i^t, \\
    \epsilon^{w,t}_{ji} &= \rho\, \epsilon^{w,t-1}_{ji} + b\, \psi_j^t\, \epsilon^{v,t}_{ji}
    \quad\text{(ALIF only: the adaptation eligibility)},

with :math:`r = 1` for reset by subtraction and :math:`r = 1 - z` for the hard
reset (the reset's own dependence on :math:`z` is dropped, as in the paper;
for the LIF with subtraction :math:`\epsilon^v` is the presynaptic trace
:math:`\bar x_i`). The readout gradients are exact:
:math:`dE/dW^{out}_{kj} = \sum_t \partial E/\partial y_k^t\, \bar z_j^t` with
:math:`\bar z` the :math:`\kappa`-filtered spikes.

What is exact and what is not: e-prop drops the paths by which a spike of
neuron :math:`j` changes *other* neurons (through :math:`W^{rec}`) and so its
future learning signals. With :math:`W^{rec} = 0` there are no such paths and,
with ``symmetric`` feedback and ``detach_reset`` (which makes BPTT drop the
reset path too), the e-prop gradients of the input and recurrent weights equal
the surrogate-BPTT ones; with recurrence they are an approximation that points
the same way (Bellec et al., Fig. 2). Everything runs forward in time, batched
over trials, in memory :math:`O(\text{batch} \cdot n_{rec} (n_{in} + n_{rec}))`
independent of the trial's length.
"""

from __future__ import annotations

from typing import Sequence

import torch

from einet.numeric import decay, filtered_step
from einet.network.rsnn import RSNN, TRAINABLE, _advance, _check_trainable, _drive
from einet.training.sequence_loss import Gradients, check_rate, loss_of, rate_terms

__all__ = ["FEEDBACK", "eprop_gradients", "random_feedback", "resolve_feedback"]

FEEDBACK = ("symmetric", "random")


def random_feedback(net: RSNN, seed: int = 0) -> torch.Tensor:
    """A fixed random feedback matrix ``[n_rec, n_out]``, Gaussian with standard deviation ``1/sqrt(n_rec)``."""
    g = torch.Generator().manual_seed(int(seed))
    B = torch.randn(net.n_rec, net.n_out, generator=g, dtype=torch.float64) / net.n_rec ** 0.5
    return B.to(dtype=net.w_out.dtype, device=net.w_out.device)


def resolve_feedback(net: RSNN, feedback, seed: int = 0) -> torch.Tensor | None:
    """``None`` for symmetric feedback (read from the current readout at each step), else ``[n_rec, n_out]``."""
    if isinstance(feedback, torch.Tensor):
        if feedback.shape != (net.n_rec, net.n_out):
            raise ValueError(f"feedback matrix must be [n_rec={net.n_rec}, n_out={net.n_out}], "
                             f"got {tuple(feedback.shape)}")
        return feedback.to(dtype=net.w_out.dtype, device=net.w_out.device)
    if feedback not in FEEDBACK:
        raise ValueError(f"unknown feedback {feedback!r}; known: {', '.join(FEEDBACK)} (or a [n_rec, n_out] tensor)")
    return None if feedback == "symmetric" else random_feedback(net, seed)


def _col(x):
    """A ``[batch, 1]`` parameter as ``[batch, 1, 1]`` to broadcast against ``[batch, n_rec, n_pre]``."""
    return x.unsqueeze(-1) if isinstance(x, torch.Tensor) and x.dim() > 0 else x


@torch.no_grad()
def eprop_gradients(net: RSNN, inputs: torch.Tensor, targets: torch.Tensor,
                    trainable: Sequence[str] = tuple(TRAINABLE), feedback: str | torch.Tensor = "symmetric",
                    seed: int = 0, rate_target: float = 10.0, rate_penalty: float = 0.0,
                    loss: str = "mse") -> Gradients:
    r"""Loss and e-prop gradient estimates, computed online in one forward pass.

    Parameters
    ----------
    net : the network (not changed)
    inputs : ``[batch, time, n_in]``
    targets : as ``loss`` needs them (:mod:`einet.training.sequence_loss`)
    trainable : any of ``input``, ``recurrent``, ``readout``; only these gradients are computed
    feedback : ``symmetric`` (B = W_out^T), ``random`` (:func:`random_feedback` of ``seed``),
        or a ``[n_rec, n_out]`` matrix
    seed : seed of the random feedback matrix
    rate_target, rate_penalty : the firing-rate regulariser of
        :func:`einet.training.spiking.bptt_gradients`; its gradient is
        :math:`\sum_j \partial R/\partial f_j \sum_t e_{ji}^t` (unfiltered traces: a spike counts
        once, not through the readout), the rates being known at the trial's end

    Returns
    -------
    gradients : as :func:`einet.training.spiking.bptt_gradients`
    """
    names = _check_trainable(trainable)
    check_rate(rate_target, rate_penalty)
    fb = resolve_feedback(net, feedback, seed)
    task = loss_of(loss)
    x, y_star = task.prepare(net, inputs, targets)
    p, dt = net.params, net.dt
    batch, T, _ = x.shape
    weights = net.weights()
    count = task.count(y_star)
    alpha, rho = _col(decay(dt, p.tau_m)), _col(decay(dt, p.tau_w))
    c, b = _col(filtered_step(dt, p.tau_m, p.tau_w)), _col(p.b)
    kappa = decay(dt, p.tau_out)  # [batch, 1] or float: for y, z_bar
    kappa3 = _col(kappa)  # for the filtered eligibility traces
    adaptive, hard = p.adaptive, p.reset == "hard"

    state = net.initial(batch)
    # The presynaptic activities of all trained hidden weights side by side ([x^t, z^{t-1}]), so one
    # set of [batch, n_rec, n_pre] eligibility tensors serves both; split again at the end.
    sizes = {"w_in": net.n_in, "w_rec": net.n_rec}
    hidden = [a for name in names for a in TRAINABLE[name] if a in sizes]
    n_pre = sum(sizes[a] for a in hidden)
    grads = {a: torch.zeros_like(getattr(net, a)) for name in names for a in TRAINABLE[name]}
    # eps_v starts as [batch, 1, n_pre]: for the LIF with subtraction it stays a presynaptic trace;
    # a hard reset or adaptation broadcasts it to [batch, n_rec, n_pre] on the first step
    eps_v = eps_w = x.new_zeros((batch, 1, n_pre))
    e_bar = x.new_zeros((batch, net.n_rec, n_pre))
    g_hidden = x.new_zeros((net.n_rec, n_pre))
    e_sum = x.new_zeros((net.n_rec, n_pre))  # sum of e over trials and steps, for the rate regulariser
    drive = _drive(x, weights, p)
    feedback_matrix = weights.w_out if fb is None else fb.T  # [n_out, n_rec]
    z_bar, one_bar = x.new_zeros((batch, net.n_rec)), 0.0
    keep = 1.0  # r^{t-1}: what the reset leaves of dv/dW
    outputs, spikes = [], []
    for t in range(T):
        if hidden:
            pre = torch.cat([x[:, t] if a == "w_in" else state.z for a in hidden], -1).unsqueeze(1)
        v_free, z, state = _advance(drive[:, t], state, weights, p, dt)
        outputs.append(state.y)
        spikes.append(z)
        err = task.derivative(state.y, y_star[:, t], count)  # dE/dy^t, [batch, n_out]
        if hidden:
            psi = p.surrogate.derivative(v_free - p.v_th).unsqueeze(-1)  # [batch, n_rec, 1]
            ev = (alpha * keep) * eps_v + pre
            if adaptive:
                ev = ev - c * eps_w
                eps_w = rho * eps_w + b * psi * ev
            eps_v = ev
            e = psi * ev
            e_bar = kappa3 * e_bar + e
            signal = err @ feedback_matrix  # L^t, [batch, n_rec]
            g_hidden += (signal.unsqueeze(-1) * e_bar).sum(0)
            if rate_penalty > 0:
                e_sum += e.sum(0)
        if "w_out" in grads:
            z_bar = kappa * z_bar + z
            one_bar = kappa * one_bar + 1.0
            grads["w_out"].addmm_(err.T, z_bar)
            grads["b_out"] += (err * one_bar).sum(0)
        if hard:
            keep = (1.0 - z).unsqueeze(-1)
    outputs = torch.stack(outputs, 1)
    total = task.total(outputs, y_star)
    counts = torch.stack(spikes, 1).sum((0, 1))
    f, reg, d_counts = rate_terms(net, counts, batch * T, rate_target, rate_penalty)
    if rate_penalty > 0:
        g_hidden += d_counts.unsqueeze(-1) * e_sum
    for a, part in zip(hidden, g_hidden.split([sizes[a] for a in hidden], -1)):
        grads[a] += part
    if "w_rec" in grads:
        grads["w_rec"] *= net.off_diagonal
    task_loss = float(total) / count
    return Gradients(task_loss + float(reg), task_loss, float(f.mean()), grads, task.metrics(outputs, y_star))
