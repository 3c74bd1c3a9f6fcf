"""Learning rules for rate networks: backprop and local (Hebbian, Oja, BCM, inhibitory) plasticity.

A projection's weights ``W`` are a ``[N_target, N_source]`` matrix shared by
every sample of a minibatch. A local rule sees the rates of the projection's
source (``pre``, ``[batch, N_source]``) and target (``post``,
``[batch, N_target]``) at readout and returns new weights; every rule averages
its update over the batch with one matrix product, never a loop over samples.
One call is one *update*; time constants of rules (the BCM threshold) are
counted in updates.

Dale's law is not each rule's business: the network projects the weights of
every sign-constrained projection back onto their sign after every update of
every rule (see :meth:`einet.network.layered.LayeredNetwork.enforce_dale`). A
rule that rescales weights (Hebbian normalisation) projects first itself with
:func:`dale_project`, so that the rescaled weights keep their norm.

Adding a rule
-------------
Subclass :class:`RateRule` as a frozen dataclass whose options are declared
with :func:`einet.fields.option` (so YAML values are checked and documented),
write ``update`` and register it::

    from dataclasses import dataclass
    from einet.fields import option, positive
    from einet.plasticity.registry import register_rule
    from einet.plasticity.rate_rules import RateRule

    @register_rule("anti_hebbian")
    @dataclass(frozen=True)
    class AntiHebbian(RateRule):
        learning_rate: float = option(1e-3, doc="step size per update", check=positive)

        def update(self, weights, a, state):
            return weights - self.learning_rate * a.post.T @ a.pre / a.pre.shape[0], state

The builder then accepts ``.learning_rule("anti_hebbian", learning_rate=0.01)``
and the YAML ``learning_rule: {name: anti_hebbian, options: {learning_rate: 0.01}}``.
``initial(weights)`` returns the rule's own state (``None`` by default).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, NamedTuple, Optional

import torch

from einet.fields import finite, non_negative, option, positive
from einet.numeric import dale_project
from einet.plasticity.registry import register_rule

__all__ = ["RateActivity", "RateRule", "dale_project", "Backprop", "Hebbian", "Oja", "BCM", "VogelsSprekeler"]


class RateActivity(NamedTuple):
    """What a rate rule sees.

    Attributes
    ----------
    pre : ``[batch, N_source]`` rates of the source population
    post : ``[batch, N_target]`` rates of the target population
    sign : +1 (excitatory), -1 (inhibitory) or 0 (free) -- the sign the weights must keep
    """

    pre: torch.Tensor
    post: torch.Tensor
    sign: float


def _outer_mean(post: torch.Tensor, pre: torch.Tensor) -> torch.Tensor:
    """<post pre^T> over the batch, ``[N_target, N_source]``."""
    return post.transpose(0, 1) @ pre / pre.shape[0]


@dataclass(frozen=True)
class RateRule:
    """Base class of rate rules; ``gradient`` rules are applied by an optimizer, not by :meth:`update`."""

    gradient: ClassVar[bool] = False
    kind: ClassVar[str] = "rate"  # what plasticity.registry.rule_kind reads: the rule sees rates

    def initial(self, weights: torch.Tensor) -> Any:
        return None

    def update(self, weights: torch.Tensor, activity: RateActivity, state: Any) -> tuple[torch.Tensor, Any]:
        raise NotImplementedError


@register_rule("backprop")
@dataclass(frozen=True)
class Backprop(RateRule):
    """Gradient descent on the task loss, by autograd through the dynamics (truncated BPTT)."""

    gradient: ClassVar[bool] = True

    learning_rate: float = option(1e-3, doc="optimizer step size", check=positive)
    optimizer: Literal["adam", "sgd"] = option("adam", doc="adam or sgd (plain, no momentum)")
    weight_decay: float = option(0.0, doc="L2 penalty coefficient", check=non_negative)

    def update(self, weights, activity, state):
        return weights, state


@register_rule("hebbian")
@dataclass(frozen=True)
class Hebbian(RateRule):
    r"""Hebbian learning with each target's incoming weights renormalised.

    .. math:: W \leftarrow n_i \frac{W_i + \eta \langle y_i x\rangle}{\lVert W_i + \eta \langle y_i x\rangle\rVert}

    where :math:`n_i` is the norm of row :math:`i` when learning started
    (``norm: null``) or the given ``norm``.
    """

    learning_rate: float = option(1e-3, doc="step size per update", check=positive)
    norm: Optional[float] = option(
        None, doc="L2 norm of each target's incoming weights; null keeps the norm each row starts with",
        check=positive,
    )

    def initial(self, weights):
        return weights.norm(dim=1, keepdim=True).clone() if self.norm is None else None

    def update(self, weights, a, state):
        w = dale_project(weights + self.learning_rate * _outer_mean(a.post, a.pre), a.sign)
        target = state if state is not None else self.norm
        return w * (target / w.norm(dim=1, keepdim=True).clamp(min=1e-12)), state


@register_rule("oja")
@dataclass(frozen=True)
class Oja(RateRule):
    r"""Oja's rule, Hebbian growth with a decay that holds each row's norm at 1.

    .. math:: \Delta W_{ij} = \eta \langle y_i (x_j - y_i W_{ij}) \rangle

    For a linear target :math:`y = W x` of zero-mean input, each row converges
    to the unit-norm first principal component (Oja 1982).
    """

    learning_rate: float = option(1e-3, doc="step size per update", check=positive)

    def update(self, weights, a, state):
        decay = (a.post * a.post).mean(dim=0).unsqueeze(1) * weights
        return weights + self.learning_rate * (_outer_mean(a.post, a.pre) - decay), state


@register_rule("bcm")
@dataclass(frozen=True)
class BCM(RateRule):
    r"""Bienenstock-Cooper-Munro rule with a sliding threshold per target neuron.

    .. math::

        \Delta W_{ij} = \eta \langle y_i (y_i - \theta_i) x_j \rangle, \qquad
        \theta_i \leftarrow \theta_i + (1 - e^{-1/\tau_\theta}) (\langle y_i^2 \rangle - \theta_i)

    The weights change with the threshold of before the update, which then
    slides; for constant activity :math:`\theta` follows
    :math:`y^2 + (\theta_0 - y^2) e^{-n/\tau_\theta}` after :math:`n` updates
    exactly (the step is the exact solution of
    :math:`\tau_\theta \dot\theta = y^2 - \theta` over one update).
    """

    learning_rate: float = option(1e-3, doc="step size per update", check=positive)
    tau_theta: float = option(10.0, doc="time constant of the sliding threshold", unit="updates", check=positive)
    theta_init: float = option(0.0, doc="threshold before the first update", check=finite)

    def initial(self, weights):
        return weights.new_full((weights.shape[0],), self.theta_init)

    def update(self, weights, a, theta):
        dw = _outer_mean(a.post * (a.post - theta), a.pre)
        step = 1.0 - math.exp(-1.0 / self.tau_theta)
        theta = theta + step * ((a.post * a.post).mean(dim=0) - theta)
        return weights + self.learning_rate * dw, theta


@register_rule("vogels_sprekeler")
@dataclass(frozen=True)
class VogelsSprekeler(RateRule):
    r"""Inhibitory plasticity that holds the target's rate at :math:`\rho_0` (rate form of Vogels et al. 2011).

    .. math:: \Delta W_{ij} = -\eta \langle x_j (y_i - \rho_0) \rangle

    On an inhibitory projection (:math:`W \le 0`) inhibition grows while the
    target fires above :math:`\rho_0` and shrinks below it, so a constant
    drive settles where :math:`y_i = \rho_0`.
    """

    learning_rate: float = option(1e-3, doc="step size per update", check=positive)
    rho0: float = option(1.0, doc="target rate of the postsynaptic neurons", check=non_negative)

    def update(self, weights, a, state):
        return weights - self.learning_rate * _outer_mean(a.post - self.rho0, a.pre), state
