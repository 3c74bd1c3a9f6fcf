r"""Gradient training of recurrent spiking networks on target sequences: losses, BPTT, the objective.

:func:`bptt_gradients` runs the network of :mod:`einet.network.rsnn` over a batch of
trials, takes a loss of the readout against the targets and follows its autograd
gradient through the surrogate of :mod:`einet.neurons.surrogate`. With
``truncation = k`` the state is detached every ``k`` steps (truncated BPTT): credit
flows back at most ``k`` steps, and each window's graph is freed before the next is
built. :class:`SequenceObjective` hands these gradients, or e-prop's
(:func:`einet.training.eprop.eprop_gradients`), to the one training loop
:func:`einet.training.bptt.fit_bptt`.

Losses (:data:`einet.training.sequence_loss.LOSSES`: ``mse`` and ``cross_entropy``) are each a
sum over the steps that have a target divided by their number, so truncated windows add up to
the whole trial's loss.

Spiking losses jump when a spike appears or vanishes; an optional firing-rate regulariser
(``rate_penalty``, ``rate_target``) keeps training out of runaway firing.
"""

from __future__ import annotations

from typing import Callable, Sequence

import torch

from einet.network.rsnn import RSNN, RSNNState, TRAINABLE, _advance, _check_trainable, _drive, rsnn_run
from einet.training.eprop import eprop_gradients, resolve_feedback
from einet.training.sequence_loss import LOSSES, Gradients, check_rate, check_truncation, loss_of, rate_terms

__all__ = ["LOSSES", "Gradients", "SequenceObjective", "bptt_gradients"]


def bptt_gradients(net: RSNN, inputs: torch.Tensor, targets: torch.Tensor,
                   trainable: Sequence[str] = tuple(TRAINABLE), truncation: int | None = None,
                   rate_target: float = 10.0, rate_penalty: float = 0.0, loss: str = "mse") -> Gradients:
    r"""Surrogate-gradient BPTT gradients of ``loss`` (plus the optional rate regulariser).

    Parameters
    ----------
    net : the network (not changed)
    inputs : ``[batch, time, n_in]``
    targets : as ``loss`` needs them (see the module docstring)
    trainable : any of ``input``, ``recurrent``, ``readout``; only these gradients are computed
    truncation : detach the state every this many steps (None: full BPTT)
    rate_target, rate_penalty : add :math:`c \langle (f_j - f^*)^2 \rangle_j` to the loss, with
        :math:`f_j` neuron j's rate [Hz] over the whole batch, :math:`f^*` = ``rate_target`` and
        :math:`c` = ``rate_penalty`` [1/Hz^2]; Bellec et al.'s firing-rate regularisation, which keeps
        training from driving the network into runaway firing (0: off)
    loss : a name of :data:`LOSSES`
    """
    params = net.parameter_groups(trainable)
    check_truncation(truncation)
    check_rate(rate_target, rate_penalty)
    task = loss_of(loss)
    x, y_star = task.prepare(net, inputs, targets)
    batch, T = x.shape[:2]
    window = T if truncation is None else int(truncation)
    scale = 1.0 / task.count(y_star)
    d_counts = None
    if rate_penalty > 0 and window < T:
        # the regulariser couples all windows through the rates: take them from a forward pass first
        with torch.no_grad():
            counts = rsnn_run(net, x).spikes.sum((0, 1))
        d_counts = rate_terms(net, counts, batch * T, rate_target, rate_penalty)[2]
    grads = {k: torch.zeros_like(p) for k, p in params.items()}
    state, total, counts = net.initial(batch), 0.0, x.new_zeros(net.n_rec)
    outputs_all = []
    for start in range(0, T, window):
        stop = min(start + window, T)
        state = RSNNState(*(s.detach() for s in state))  # the truncation: no credit before `start`
        weights = net.weights()
        drive = _drive(x[:, start:stop], weights, net.params)
        outputs, spikes = [], []
        for t in range(stop - start):
            _, z, state = _advance(drive[:, t], state, weights, net.params, net.dt)
            outputs.append(state.y)
            spikes.append(z)
        window_outputs = torch.stack(outputs, 1)
        part = task.total(window_outputs, y_star[:, start:stop]) * scale
        objective = part
        window_counts = torch.stack(spikes, 1).sum((0, 1))
        if rate_penalty > 0:
            if d_counts is None:  # one window: the regulariser itself
                objective = objective + rate_terms(net, window_counts, batch * T, rate_target, rate_penalty)[1]
            else:  # its exact gradient, spread over the windows through each window's spike counts
                objective = objective + (d_counts * window_counts).sum()
        parts = torch.autograd.grad(objective, list(params.values()), allow_unused=True)
        for k, g in zip(params, parts):
            if g is not None:
                grads[k] += g
        total += float(part.detach())
        counts += window_counts.detach()
        if task.has_metrics:
            outputs_all.append(window_outputs.detach())
    f, reg, _ = rate_terms(net, counts, batch * T, rate_target, rate_penalty)
    metrics = task.metrics(torch.cat(outputs_all, 1), y_star) if task.has_metrics else {}
    return Gradients(total + float(reg), total, float(f.mean()), grads, metrics)


class SequenceObjective:
    """A recurrent spiking network's readout against fixed target sequences, for :func:`einet.training.bptt.fit_bptt`.

    All trials form one batch (one update per iteration), so the loss after the last update is
    evaluated too (``history.final_loss``). ``gradients`` picks the estimator: ``bptt``
    (:func:`bptt_gradients`, with ``truncation``) or ``eprop``
    (:func:`einet.training.eprop.eprop_gradients`, with ``feedback`` and ``seed``).
    """

    final_evaluation = True

    def __init__(self, inputs: torch.Tensor, targets: torch.Tensor, *, loss: str = "mse",
                 trainable: Sequence[str] = tuple(TRAINABLE), truncation: int | None = None,
                 rate_target: float = 10.0, rate_penalty: float = 0.0, gradients: str = "bptt",
                 feedback="symmetric", seed: int = 0):
        self.trainable = _check_trainable(trainable)
        check_rate(rate_target, rate_penalty)
        self.loss = loss_of(loss).name
        if gradients not in ("bptt", "eprop"):
            raise ValueError(f"unknown gradients {gradients!r}; known: bptt, eprop")
        if gradients == "eprop" and truncation is not None:
            raise ValueError("e-prop never looks back in time: truncation applies to gradients='bptt' only")
        check_truncation(truncation)
        self.inputs, self.targets = inputs, targets
        self.options = dict(rate_target=rate_target, rate_penalty=rate_penalty, loss=self.loss)
        self.gradients, self.truncation, self.feedback, self.seed = gradients, truncation, feedback, seed
        self._estimate: Callable[[RSNN], Gradients] | None = None

    def parameters(self, net: RSNN) -> list[torch.nn.Parameter]:
        return list(net.parameter_groups(self.trainable).values())

    def _estimator(self, net: RSNN) -> Callable[[RSNN], Gradients]:
        if self.gradients == "bptt":
            return lambda n: bptt_gradients(n, self.inputs, self.targets, self.trainable, self.truncation,
                                            **self.options)
        drawn = resolve_feedback(net, self.feedback, self.seed)  # a random matrix is drawn once and kept
        feedback = "symmetric" if drawn is None else drawn
        return lambda n: eprop_gradients(n, self.inputs, self.targets, self.trainable, feedback, self.seed,
                                         **self.options)

    def evaluate(self, net: RSNN) -> tuple[float, dict[str, float]]:
        if self._estimate is None:
            self._estimate = self._estimator(net)
        result = self._estimate(net)
        for attr, p in net.parameter_groups(self.trainable).items():
            p.grad = result.grads[attr].to(p.dtype)
        return result.loss, {self.loss: result.task, "rate": result.rate, **result.metrics}

    def random_state(self, net: RSNN) -> dict:
        return {}

    def set_random_state(self, net: RSNN, state: dict) -> None:
        pass
