r"""One LIF neuron whose excitatory Poisson inputs learn by pair-based STDP (Song, Miller & Abbott 2000).

The neuron (:func:`einet.neurons.lif.lif_step`, current-based exponential
synapses) receives ``n`` excitatory inputs through plastic weights
:math:`w_i \in [0, 1]`, fractions of ``w_max`` (each arriving spike adds
:math:`w_i w_{max}` mV to the synaptic current), and optionally inhibitory
inputs with one fixed weight. The first ``n_correlated`` excitatory inputs
are copies of one mother train (:func:`einet.synapses.poisson.correlated_poisson`),
the rest independent. Weights follow :class:`einet.plasticity.stdp.STDP`
through :func:`einet.plasticity.spiking.plasticity_step` (the library's order
of events: a pre and a post spike in the same step count as pre before post).

Why the correlated group wins
-----------------------------
For independent pre and post trains the additive rule drifts by

.. math:: \langle \dot w \rangle = r_{pre}\, r_{post}\, (A_+ \tau_+ - A_- \tau_-)

(:func:`expected_drift`), negative when :math:`A_-\tau_- > A_+\tau_+`: inputs
that do not help to fire the neuron are depressed, which regulates its rate.
Synchronous inputs raise the probability of a postsynaptic spike just after
their own spikes, which adds potentiation only they receive; under the
additive rule this instability drives weights to the bounds (a bimodal
distribution, correlated inputs at the top), while the multiplicative rule
(soft bounds) has a stable fixed point near
:math:`A_+\tau_+/(A_+\tau_+ + A_-\tau_-)` for an independent input and keeps
the distribution unimodal (van Rossum, Bi & Turrigiano 2000; Rubin, Lee &
Sompolinsky 2001).

In discrete time the same-step pairs counted as causal shift the balance: the
windows :math:`\tau_\pm` become :math:`dt/(1 - e^{-dt/\tau_+}) \approx \tau_+ + dt/2`
and :math:`dt\,e^{-dt/\tau_-}/(1 - e^{-dt/\tau_-}) \approx \tau_- - dt/2`;
at dt = 1 ms and :math:`\tau_\pm` = 20 ms this is a 5 % bias towards
potentiation, as large as Song et al.'s :math:`A_-/A_+ = 1.05`, so a coarse
step needs a larger ratio (:func:`expected_drift` with ``dt`` gives the exact value).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple, Sequence

import torch

from einet.neurons.lif import LIFParams, lif_initial, lif_step
from einet.progress import progress_bar
from einet.plasticity.spiking import SynapseActivity, plasticity_initial, plasticity_step
from einet.synapses.poisson import correlated_poisson, poisson_spikes
from einet.synapses.projection import DenseSynapses
from einet.threads import governed


def expected_drift(rate_pre: float, rate_post: float, a_plus: float, a_minus: float, tau_plus: float,
                   tau_minus: float, dt: float | None = None) -> float:
    r"""Mean weight change per second of additive STDP for independent Poisson pre and post trains.

    ``rate_*`` [Hz], ``tau_*`` and ``dt`` [ms]. Without ``dt`` the continuous-time value
    :math:`r_{pre} r_{post} (A_+\tau_+ - A_-\tau_-)`; with ``dt``, that of the stepped rule for
    0/1 spikes with per-step probabilities :math:`p = 1 - e^{-r\,dt}`: per step,
    :math:`A_+ p_{post} E[x_{pre}] - A_- p_{pre} E[y_{post}]` with the trace means
    :math:`p/(1-\lambda)` (after this step's arrivals) and :math:`p\lambda/(1-\lambda)` (before this
    step's spikes), :math:`\lambda = e^{-dt/\tau}`.
    """
    if dt is None:
        return rate_pre * rate_post * (a_plus * tau_plus - a_minus * tau_minus) / 1000.0
    p_pre, p_post = -math.expm1(-rate_pre * dt / 1000.0), -math.expm1(-rate_post * dt / 1000.0)
    lam_plus, lam_minus = math.exp(-dt / tau_plus), math.exp(-dt / tau_minus)
    per_step = (a_plus * p_post * p_pre / (1.0 - lam_plus)
                - a_minus * p_pre * p_post * lam_minus / (1.0 - lam_minus))
    return per_step * 1000.0 / dt


class PerElementRule:
    """Rules that differ between batch elements (one per element), run as one rule with shared traces.

    Each distinct rule updates the whole batch and only its own elements' results are kept: with a
    few elements that is cheaper than slicing every field of the activity. All rules must share
    ``tau_pre`` and ``tau_post`` (the traces are common) and see the whole batch's rule state.
    """

    def __init__(self, rules: Sequence):
        rules = list(rules)
        if not rules:
            raise ValueError("PerElementRule needs at least one rule")
        taus = {(r.tau_pre, r.tau_post) for r in rules}
        if len(taus) != 1:
            raise ValueError(f"PerElementRule: the rules' trace time constants differ: {sorted(taus)}")
        self.tau_pre, self.tau_post = taus.pop()
        self.rules = list(dict.fromkeys(rules))  # distinct, in order of first use
        self.owner = [self.rules.index(r) for r in rules]

    def initial(self, weights: torch.Tensor):
        """Each distinct rule's state, and the mask of its elements (``[batch, 1, ...]``, on the weights' device)."""
        shape = (len(self.owner),) + (1,) * (weights.dim() - 1)
        owner = torch.tensor(self.owner, device=weights.device).reshape(shape)
        return tuple((owner == k, rule.initial(weights)) for k, rule in enumerate(self.rules))

    def update(self, weights: torch.Tensor, a: SynapseActivity, state):
        out, states = None, []
        for rule, (mask, inner) in zip(self.rules, state):
            new, inner = rule.update(weights, a, inner)
            out = new if out is None else torch.where(mask, new, out)
            states.append((mask, inner))
        return out, tuple(states)


@dataclass(frozen=True)
class PoissonInputs:
    """The neuron's inputs.

    Attributes
    ----------
    n : excitatory (plastic) inputs
    n_correlated : the first ``n_correlated`` share a mother train
    rate : excitatory rate [Hz]
    correlation : pairwise count correlation within the correlated group
    n_inhibitory, rate_inhibitory, w_inhibitory : inhibitory inputs, their rate [Hz] and fixed weight [mV]
    """

    n: int
    n_correlated: int
    rate: float
    correlation: float
    n_inhibitory: int = 0
    rate_inhibitory: float = 0.0
    w_inhibitory: float = 0.0

    def draw(self, steps: int, batch: int, dt: float, generator: torch.Generator, dtype, device):
        """``steps`` steps of excitatory spikes ``[steps, batch, n]`` and the summed inhibitory
        current jumps ``[steps, batch, 1]`` [mV] (None without inhibitory inputs)."""
        kw = dict(dtype=dtype, device=device)
        exc = torch.cat([correlated_poisson(self.rate, self.correlation, (steps, batch, self.n_correlated), dt,
                                            generator, **kw),
                         poisson_spikes(self.rate, (steps, batch, self.n - self.n_correlated), dt, generator, **kw)],
                        dim=-1)
        if self.n_inhibitory == 0 or self.w_inhibitory == 0:
            return exc, None
        inh = poisson_spikes(self.rate_inhibitory, (steps, batch, self.n_inhibitory), dt, generator, **kw)
        return exc, inh.sum(-1, keepdim=True) * self.w_inhibitory


class NeuronRecord(NamedTuple):
    """What a run keeps (on the CPU).

    Attributes
    ----------
    weights : ``[snapshot, batch, n]`` weights (fractions of w_max) at steps ``0, every, 2 every, ...``
        and at the last step
    post_counts : ``[batch, bin]`` postsynaptic spikes per whole bin of ``bin_steps`` steps (a last,
        partial bin is left out)
    input_counts : ``[batch, n]`` spikes each excitatory input sent over the run
    snapshot_steps : the step of each snapshot
    """

    weights: torch.Tensor
    post_counts: torch.Tensor
    input_counts: torch.Tensor
    snapshot_steps: list[int]


def run_stdp_neuron(rules: Sequence, inputs: PoissonInputs, neuron: LIFParams, w_max: float, w0: torch.Tensor,
                    n_steps: int, dt: float, generator: torch.Generator, *, snapshot_every: int, bin_steps: int,
                    block: int = 1000, progress: bool = False, label: str = "stdp") -> NeuronRecord:
    """Run one neuron per batch element, each learning with its own rule.

    Parameters
    ----------
    rules : one STDP rule per batch element (weights in [w_min, w_max] of the rule, here [0, 1])
    inputs : the Poisson inputs (independent draws per batch element)
    neuron : LIF parameters of the postsynaptic neuron
    w_max : current jump [mV] of a spike through a weight of 1
    w0 : ``[batch, n]`` initial weights
    n_steps, dt : steps and step [ms]
    generator : source of every input spike (on the device of ``w0``)
    snapshot_every : steps between weight snapshots
    bin_steps : steps per bin of the postsynaptic spike counts
    block : steps of input drawn at once (memory ``block * batch * n`` values)
    """
    batch, n = w0.shape
    if len(rules) != batch:
        raise ValueError(f"run_stdp_neuron: {len(rules)} rules for a batch of {batch}")
    rule = PerElementRule(rules)
    dtype, device = w0.dtype, w0.device
    w = w0.reshape(batch, 1, n).clone()  # dense [batch, target, source] with one target
    synapses = DenseSynapses()
    plastic = plasticity_initial(rule, w, batch, n, 1)
    state = lif_initial(neuron, (batch, 1), dtype=dtype, device=device)
    snapshots, steps_kept = [w[:, 0].clone()], [0]
    counts, bins = torch.zeros(batch, 1, dtype=dtype, device=device), []
    sent = torch.zeros(batch, n, dtype=dtype, device=device)
    bar = progress_bar(total=n_steps, desc=label, unit="step", enabled=progress, mininterval=5.0)
    with torch.inference_mode(), governed(device) as governor:
        for start in range(0, n_steps, block):
            k = min(block, n_steps - start)
            exc, inh = inputs.draw(k, batch, dt, generator, dtype, device)
            sent += exc.sum(0)
            for s in range(k):
                x = exc[s]
                # elementwise product and sum, not bmm: BLAS threads spin on a product this small
                arriving = (w[:, 0] * x).sum(-1, keepdim=True) * w_max
                if inh is not None:
                    arriving = arriving + inh[s]
                post, state = lif_step(0.0, state, neuron, dt, arriving)
                w, plastic = plasticity_step(rule, w, plastic, x, post, synapses, dt)
                counts += post
                governor.tick()
                step = start + s + 1
                if step % bin_steps == 0:
                    bins.append(counts.clone())
                    counts.zero_()
                if step % snapshot_every == 0:
                    snapshots.append(w[:, 0].clone())
                    steps_kept.append(step)
            bar.update(k)
    bar.close()
    if steps_kept[-1] != n_steps:  # the final weights are always kept
        snapshots.append(w[:, 0].clone())
        steps_kept.append(n_steps)
    post_counts = torch.cat(bins, dim=1) if bins else torch.zeros(batch, 0, dtype=dtype, device=device)
    return NeuronRecord(torch.stack(snapshots).cpu(), post_counts.cpu(), sent.cpu(), steps_kept)
