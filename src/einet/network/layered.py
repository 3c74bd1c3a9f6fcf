r"""The layered rate network built from a :class:`~einet.config.layered.LayeredNetworkSpec`.

Dynamics
--------
Rates start at rest (0) and the input population is clamped to the data.
Every step updates the other populations in order,

.. math::

    r_p \leftarrow r_p + \alpha_p \bigl(-r_p + f_p(\textstyle\sum_q W_{pq} r_q + b_p)\bigr),
    \qquad \alpha_p = \begin{cases} \Delta t/\tau_p & \text{euler} \\
                                   1 - e^{-\Delta t/\tau_p} & \text{exponential} \end{cases}

where a forward projection reads :math:`r_q` of this step and a recurrent one
of the previous step. The exponential form is the exact solution of
:math:`\tau \dot r = -r + f` while :math:`f` stays constant over the step.
After ``forward_steps`` steps the output population is read out. Gradients
flow through the last ``backward_steps`` steps only: the earlier steps run
without autograd and the state is detached (truncated BPTT).

Dale's law
----------
Weights are stored as they act (``W``, not a reparameterisation) and kept on
their sign by projection: :meth:`LayeredNetwork.enforce_dale` sets entries of
the wrong sign to 0 after every optimizer step and every local update. The
projection is the nearest admissible weight matrix, so backprop becomes
projected gradient descent; local rules (Oja, BCM, Vogels-Sprekeler) keep
their published form in ``W`` (a reparameterisation ``W = s |theta|`` would
turn each rule's fixed points into ones in ``theta``); and a synapse can reach
exactly 0, which inhibitory plasticity needs when it lets go of a target.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from einet.config.layered import LayeredNetworkSpec, RuleSpec
from einet.errors import ConfigError
from einet.fields import parse_section
from einet.measures.topology import resolve_activation
from einet.plasticity.rate_rules import RateActivity, dale_project
from einet.plasticity.registry import rule_class, rule_names

__all__ = ["LayeredNetwork", "build_rule", "check_rules"]

class LayeredNetwork(nn.Module):
    """A population-centric rate network; ``forward(x)`` returns the output population's rates.

    Parameters
    ----------
    spec : the validated spec (its resolution methods decide signs, directions and rules)
    seed : seed of the weight initialisation
    dtype : float dtype of weights and rates
    """

    def __init__(self, spec: LayeredNetworkSpec, seed: int = 0, dtype: torch.dtype = torch.float32):
        super().__init__()
        self.spec = spec
        self.order = spec.populations()
        self.input_name = spec.input_population()
        self.output_name = spec.output_population()
        self.sizes = {ref: spec.population(ref).size for ref in self.order}
        dyn = spec.dynamics
        self.alpha = {}
        for ref in self.order:
            ratio = dyn.dt / spec.population(ref).tau
            self.alpha[ref] = ratio if dyn.integration == "euler" else -math.expm1(-ratio)
        self.projections = list(spec.projections)
        self.signs = [spec.sign_of(p) for p in self.projections]
        self.directions = [spec.direction_of(p) for p in self.projections]
        self.rules = [build_rule(spec.rule_for(p)) for p in check_rules(spec).projections]
        gen = torch.Generator().manual_seed(int(seed))
        weights = []
        for proj, sign in zip(self.projections, self.signs):
            n_t, n_s = self.sizes[proj.target], self.sizes[proj.source]
            z = torch.randn(n_t, n_s, generator=gen, dtype=torch.float64)
            w = z * proj.init_scale / math.sqrt(n_s) if sign == 0 else sign * z.abs() * proj.init_scale / n_s
            weights.append(nn.Parameter(w.to(dtype), requires_grad=self._trained_by_gradient(len(weights))))
        self.weights = nn.ParameterList(weights)
        self.bias_names = [ref for ref in self.order if ref != self.input_name and spec.population(ref).bias]
        self.biases = nn.ParameterList([
            nn.Parameter(torch.zeros(self.sizes[ref], dtype=dtype), requires_grad=self._bias_trained(ref))
            for ref in self.bias_names
        ])
        # Rule states (BCM thresholds, Hebbian row norms) are buffers, so the state dict, and with it a
        # checkpoint, holds everything that decides the next update.
        for i, (rule, w) in enumerate(zip(self.rules, self.weights)):
            state = None if rule is None else rule.initial(w.detach())
            if state is not None and not isinstance(state, torch.Tensor):
                raise TypeError(f"rule {type(rule).__name__}: its state must be a tensor or None, "
                                f"got {type(state).__name__}")
            self.register_buffer(f"rule_state_{i}", state)
        self._incoming = {ref: [i for i, p in enumerate(self.projections) if p.target == ref] for ref in self.order}

    @property
    def rule_states(self) -> list[Any]:
        """The state of each projection's rule (``None`` where it keeps none), as stored in buffers."""
        return [getattr(self, f"rule_state_{i}") for i in range(len(self.projections))]

    # ------------------------------------------------------------ which parameters learn how
    def _trained_by_gradient(self, i: int) -> bool:
        return self.rules[i] is not None and self.rules[i].gradient

    def _bias_trained(self, ref: str) -> bool:
        return any(self._trained_by_gradient(i) for i, p in enumerate(self.projections) if p.target == ref)

    def optimizers(self) -> list[torch.optim.Optimizer]:
        """One optimizer per kind over the backprop projections (each with its rule's settings).

        A population's bias follows the first backprop projection into it.
        """
        groups: dict[str, list[dict]] = {}
        bias_of = dict(zip(self.bias_names, self.biases))
        claimed = set()
        for i, proj in enumerate(self.projections):
            rule = self.rules[i]
            if not self._trained_by_gradient(i):
                continue
            params = [self.weights[i]]
            if proj.target in bias_of and proj.target not in claimed:
                params.append(bias_of[proj.target])
                claimed.add(proj.target)
            groups.setdefault(rule.optimizer, []).append(
                {"params": params, "lr": rule.learning_rate, "weight_decay": rule.weight_decay})
        out: list[torch.optim.Optimizer] = []
        for kind, group in groups.items():
            out.append(torch.optim.Adam(group) if kind == "adam" else torch.optim.SGD(group))
        return out

    # ------------------------------------------------------------ dynamics
    def _drive(self, ref: str, new: dict, old: dict, bias: dict) -> torch.Tensor:
        total = bias.get(ref)
        for i in self._incoming[ref]:
            proj = self.projections[i]
            src = new[proj.source] if self.directions[i] == "forward" else old[proj.source]
            term = src @ self.weights[i].transpose(0, 1)
            total = term if total is None else total + term
        if total is None:
            ref_any = new[self.input_name]
            total = ref_any.new_zeros(ref_any.shape[0], self.sizes[ref])
        return total

    def _step(self, old: dict, x: torch.Tensor) -> dict:
        bias = dict(zip(self.bias_names, self.biases))
        new = {self.input_name: x}
        for ref in self.order:
            if ref == self.input_name:
                continue
            f = resolve_activation(self.spec.population(ref).activation).fn
            r = old[ref]
            new[ref] = r + self.alpha[ref] * (f(self._drive(ref, new, old, bias)) - r)
        return new

    def run(self, x: torch.Tensor, steps: int | None = None) -> dict[str, torch.Tensor]:
        """Rates of every population after ``steps`` (default ``forward_steps``), ``{ref: [batch, size]}``."""
        dyn = self.spec.dynamics
        steps = dyn.forward_steps if steps is None else steps
        back = steps if dyn.backward_steps is None else min(dyn.backward_steps, steps)
        state = {ref: x.new_zeros(x.shape[0], self.sizes[ref]) for ref in self.order}
        state[self.input_name] = x
        if steps > back:
            with torch.no_grad():
                for _ in range(steps - back):
                    state = self._step(state, x)
            state = {k: v.detach() for k, v in state.items()}
        for _ in range(back):
            state = self._step(state, x)
        return state

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.run(x)[self.output_name]

    # ------------------------------------------------------------ learning
    @torch.no_grad()
    def local_update(self, state: dict[str, torch.Tensor]) -> None:
        """One update of every local (non-gradient) rule from readout rates, then Dale's law."""
        for i, (proj, rule) in enumerate(zip(self.projections, self.rules)):
            if rule is None or rule.gradient:
                continue
            activity = RateActivity(state[proj.source].detach(), state[proj.target].detach(), self.signs[i])
            w, rule_state = rule.update(self.weights[i].detach(), activity, getattr(self, f"rule_state_{i}"))
            setattr(self, f"rule_state_{i}", rule_state)
            self.weights[i].copy_(w)
        self.enforce_dale()

    @torch.no_grad()
    def enforce_dale(self) -> None:
        """Set every weight of the wrong sign to 0 (call after each update of any rule)."""
        for w, sign in zip(self.weights, self.signs):
            if sign != 0:
                w.copy_(dale_project(w, sign))

    def sign_violations(self) -> int:
        """How many weights have the wrong sign for their projection."""
        with torch.no_grad():
            return int(sum(int((w * sign < 0).sum()) for w, sign in zip(self.weights, self.signs) if sign != 0))

    def weight(self, source: str, target: str) -> torch.Tensor:
        """The weights of the projection ``source -> target``, ``[N_target, N_source]``."""
        for proj, w in zip(self.projections, self.weights):
            if proj.source == source and proj.target == target:
                return w
        raise KeyError(f"no projection {source} -> {target}")


def build_rule(rule: RuleSpec):
    """The rate rule object of ``rule`` (``None`` for ``none``), its options checked by the rule's own fields."""
    if rule.name == "none":
        return None
    return parse_section(rule_class(rule.name, "rate"), dict(rule.options), rule.name)


def _rule_specs(spec: LayeredNetworkSpec, path: str):
    """Every rule a layered spec names, with its config path."""
    yield f"{path}learning_rule", spec.learning_rule
    for lname, layer in spec.layers.items():
        if layer.learning_rule is not None:
            yield f"{path}layers.{lname}.learning_rule", layer.learning_rule
        for pname, pop in layer.populations.items():
            if pop.learning_rule is not None:
                yield f"{path}layers.{lname}.populations.{pname}.learning_rule", pop.learning_rule
    for i, proj in enumerate(spec.projections):
        if proj.learning_rule is not None:
            yield f"{path}projections[{i}].learning_rule", proj.learning_rule


def check_rules(spec: LayeredNetworkSpec, path: str = "") -> LayeredNetworkSpec:
    """Each rule a layered spec names is a registered rate rule with valid options (errors name the key)."""
    for where, rule in _rule_specs(spec, path):
        if rule.name == "none":
            continue
        try:
            cls = rule_class(rule.name, "rate")
        except KeyError:
            raise ConfigError(f"{where}.name", rule.name, f"none or one of {', '.join(rule_names('rate'))}") from None
        parse_section(cls, dict(rule.options), f"{where}.options")
    return spec
