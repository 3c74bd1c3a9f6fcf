r"""Pair-based STDP from traces, with additive or multiplicative weight dependence, and reward-modulated STDP.

For one pair with :math:`\Delta t = t_{post} - t_{pre}` (pre time = arrival
at the synapse) the weight changes by the kernel

.. math::

    \Delta w = \begin{cases} A_+\, f_+(w)\, e^{-\Delta t/\tau_+} & \Delta t \ge 0 \\
                             -A_-\, f_-(w)\, e^{\Delta t/\tau_-} & \Delta t < 0 \end{cases}

computed online as :math:`A_+ f_+(w)\, x_{pre}` at each postsynaptic spike
and :math:`-A_- f_-(w)\, y_{post}` at each presynaptic arrival (traces of
amplitude 1; all pairs interact). Weight dependence:

* ``additive``: :math:`f_\pm = 1`, then weights are clipped to ``[w_min, w_max]``;
* ``multiplicative``: :math:`f_+ = w_{max} - w`, :math:`f_- = w - w_{min}`
  (soft bounds; the clip then only guards against amplitudes above 1).

Reward-modulated STDP (Izhikevich 2007) accumulates the same changes in an
eligibility trace instead of the weight and applies them when a reward comes:

.. math:: \tau_e \dot e = -e + \mathrm{STDP}(t), \qquad \dot w = \eta\, R(t)\, e

with ``e`` decaying by :math:`e^{-dt/\tau_e}` before each step's change is
added, and :math:`w \leftarrow \mathrm{clip}(w + \eta R e)` every step.
Without spikes every term is an exact zero (no division anywhere), so empty
traces never produce NaN.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from einet.numeric import check_order, check_positive, decay
from einet.plasticity.spiking import SynapseActivity, register_rule

DEPENDENCES = ("additive", "multiplicative")


@register_rule("stdp")
@dataclass(frozen=True)
class STDP:
    """Pair-based STDP.

    Attributes
    ----------
    a_plus : potentiation amplitude (weight units; per unit of ``w_max - w`` when multiplicative)
    a_minus : depression amplitude (>= 0; the sign is applied by the rule)
    tau_pre : presynaptic trace time constant tau_+ [ms]
    tau_post : postsynaptic trace time constant tau_- [ms]
    w_min, w_max : weight bounds
    dependence : ``"additive"`` or ``"multiplicative"``
    """

    a_plus: float = 0.01
    a_minus: float = 0.0105
    tau_pre: float = 20.0
    tau_post: float = 20.0
    w_min: float = 0.0
    w_max: float = 1.0
    dependence: str = "additive"

    def __post_init__(self):
        check_positive(type(self).__name__, tau_pre=self.tau_pre, tau_post=self.tau_post)
        check_order(type(self).__name__, "w_min", "w_max", self.w_min, self.w_max)
        if self.a_plus < 0 or self.a_minus < 0:
            raise ValueError(f"{type(self).__name__}: a_plus and a_minus must be >= 0, "
                             f"got {self.a_plus}, {self.a_minus}")
        if self.dependence not in DEPENDENCES:
            raise ValueError(f"{type(self).__name__}.dependence: unknown {self.dependence!r}; "
                             f"known: {', '.join(DEPENDENCES)}")

    def initial(self, weights: torch.Tensor):
        return None

    def change(self, w: torch.Tensor, a: SynapseActivity) -> torch.Tensor:
        """The STDP change of this step (before bounds)."""
        potentiation = a.post_spikes * a.pre_trace
        depression = a.pre_spikes * a.post_trace
        if self.dependence == "additive":
            return self.a_plus * potentiation - self.a_minus * depression
        return self.a_plus * (self.w_max - w) * potentiation - self.a_minus * (w - self.w_min) * depression

    def update(self, weights: torch.Tensor, a: SynapseActivity, state):
        return (weights + self.change(weights, a)).clamp(self.w_min, self.w_max), state


@register_rule("reward_stdp")
@dataclass(frozen=True)
class RewardSTDP(STDP):
    """STDP gated by a reward through an eligibility trace.

    Attributes (besides those of :class:`STDP`)
    ----------
    lr : learning rate eta, per unit of reward
    tau_eligibility : eligibility time constant tau_e [ms]
    """

    lr: float = 1.0
    tau_eligibility: float = 200.0

    def __post_init__(self):
        super().__post_init__()
        check_positive("RewardSTDP", tau_eligibility=self.tau_eligibility)

    def initial(self, weights: torch.Tensor) -> torch.Tensor:
        """The eligibility trace, one per synapse, starting at 0."""
        return torch.zeros_like(weights)

    def update(self, weights: torch.Tensor, a: SynapseActivity, eligibility: torch.Tensor):
        eligibility = eligibility * decay(a.dt, self.tau_eligibility) + self.change(weights, a)
        weights = (weights + self.lr * a.reward * eligibility).clamp(self.w_min, self.w_max)
        return weights, eligibility
