"""The spec of a layered, population-centric rate network (the EIANN style of model).

Layers group populations; a population has a size, a type (``exc`` / ``inh``
fix the sign of every outgoing weight under Dale's law, ``mixed`` leaves it
free), an activation and a time constant. Projections join two populations
(``"Layer.Population"``) and carry a learning rule. Rules are given globally,
per layer and per population (for the projections *into* it) and per
projection; the most specific one wins (projection > target population >
target layer > network).

The :class:`~einet.network.builder.NetworkBuilder` and YAML files produce this one
tree through the same parser, ``spec -> YAML -> spec`` is lossless, and the
methods that resolve defaults (:meth:`LayeredNetworkSpec.rule_for`,
:meth:`~LayeredNetworkSpec.sign_of`, :meth:`~LayeredNetworkSpec.direction_of`,
...) are the only ones that both :func:`einet.network.builder.architecture_text` and the network use,
so what is printed is what is built.

Dynamics
--------
Every step, populations are updated in order (layers in order, populations in
the order given); a *forward* projection reads its source's rate of this step
(already updated), a *recurrent* one its rate of the previous step. With
``tau == dt`` and one step a feed-forward network is an ordinary MLP.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Optional

import yaml

from einet.errors import ConfigError
from einet.fields import load_yaml, option, parse_section, positive, to_dict

__all__ = [
    "ACTIVATIONS", "RuleSpec", "LayerPopulationSpec", "LayerSpec", "LayeredProjectionSpec", "DynamicsSpec",
    "LayeredNetworkSpec", "spec_to_yaml", "spec_from_yaml", "parse_network",
]

Activation = Literal["linear", "relu", "sigmoid", "tanh", "softplus"]
ACTIVATIONS: tuple[str, ...] = Activation.__args__  # type: ignore[attr-defined]
PopType = Literal["exc", "inh", "mixed"]


def _name(value: str) -> str | None:
    ok = isinstance(value, str) and value and "." not in value and value.strip() == value
    return None if ok else "a name without dots or surrounding spaces"


def _pop_ref(value: str) -> str | None:
    parts = value.split(".") if isinstance(value, str) else []
    return None if len(parts) == 2 and all(parts) else "'Layer.Population'"


@dataclass(frozen=True)
class RuleSpec:
    """A learning rule by name with its options (``none``: the weights stay as initialised)."""

    name: str = option(doc="a registered rate rule (backprop, hebbian, oja, bcm, vogels_sprekeler, ...) or none")
    options: dict[str, Any] = option(factory=dict, doc="options of the rule, e.g. learning_rate")

    @staticmethod
    def _shorthand(value):
        return {"name": value} if isinstance(value, str) else value

    def _check(self, path: str) -> None:
        base = f"{path}." if path else ""
        if self.name == "none":
            if self.options:
                raise ConfigError(f"{base}options", self.options, "no options for rule none")
            return
        if self.name != self.name.lower():
            raise ConfigError(f"{base}name", self.name, "a lower-case rule name")


@dataclass(frozen=True)
class LayerPopulationSpec:
    """A population of one layer."""

    size: int = option(doc="number of neurons", check=positive)
    type: PopType = option(
        "mixed", doc="exc or inh: the sign of every outgoing weight under Dale's law; mixed: no sign constraint"
    )
    activation: Activation = option("relu", doc="f in r <- r + (dt/tau)(-r + f(W r + b)); unused for the input")
    tau: float = option(1.0, doc="time constant (tau = dt: the rate jumps to f(.) every step)", unit="ms",
                        check=positive)
    bias: bool = option(True, doc="a bias b per neuron, trained when a backprop projection enters the population")
    learning_rule: Optional[RuleSpec] = option(None, doc="rule of the projections into this population")


@dataclass(frozen=True)
class LayerSpec:
    """A named group of populations."""

    populations: dict[str, LayerPopulationSpec] = option(factory=dict, doc="populations by name, in update order")
    learning_rule: Optional[RuleSpec] = option(None, doc="rule of the projections into this layer's populations")


@dataclass(frozen=True)
class LayeredProjectionSpec:
    """Weights from one population onto another."""

    source: str = option(doc="presynaptic population, 'Layer.Population'", check=_pop_ref)
    target: str = option(doc="postsynaptic population, 'Layer.Population'", check=_pop_ref)
    type: Literal["auto", "exc", "inh", "mixed"] = option(
        "auto", doc="sign of the weights: auto takes the source population's type; exc/inh/mixed override it"
    )
    direction: Literal["auto", "forward", "recurrent"] = option(
        "auto",
        doc="forward: reads the source's rate of this step (the source must be updated earlier); recurrent: "
        "of the previous step; auto: forward when the source comes earlier in the update order",
    )
    init_scale: float = option(
        1.0,
        doc="weights start as N(0, init_scale^2/N_source) (mixed) or sign*|N(0, 1)|*init_scale/N_source "
        "(exc, inh: the mean input from a population is then init_scale*sqrt(2/pi)*its mean rate)",
        check=positive,
    )
    learning_rule: Optional[RuleSpec] = option(None, doc="rule of this projection (overrides all others)")


@dataclass(frozen=True)
class DynamicsSpec:
    """How rates evolve until the readout."""

    dt: float = option(1.0, doc="time step", unit="ms", check=positive)
    forward_steps: int = option(1, doc="steps from rest (all rates 0) to the readout", check=positive)
    backward_steps: Optional[int] = option(
        None, doc="gradients flow through the last k steps only (truncated BPTT); null: all steps", check=positive
    )
    integration: Literal["euler", "exponential"] = option(
        "euler",
        doc="euler: r <- r + (dt/tau)(-r + f), needs dt <= tau; exponential: r <- r + (1 - exp(-dt/tau))(-r + f), "
        "exact while f is constant over a step",
    )


@dataclass(frozen=True)
class LayeredNetworkSpec:
    """A whole layered network: populations by layer, projections, rules and dynamics."""

    layers: dict[str, LayerSpec] = option(factory=dict, doc="layers by name, in update order")
    projections: list[LayeredProjectionSpec] = option(factory=list, doc="projections (one per source-target pair)")
    learning_rule: RuleSpec = option(factory=lambda: RuleSpec("backprop"), doc="rule of every other projection")
    dynamics: DynamicsSpec = option(factory=DynamicsSpec, doc="time step, steps to readout, BPTT truncation")
    input: Optional[str] = option(None, doc="population clamped to the data (default: first population)",
                                  check=_pop_ref)
    output: Optional[str] = option(None, doc="population read out (default: first population of the last layer)",
                                   check=_pop_ref)

    # ------------------------------------------------------------ resolution (used by print and build)
    def populations(self) -> list[str]:
        """Every population as ``Layer.Population``, in update order."""
        return [f"{lname}.{pname}" for lname, layer in self.layers.items() for pname in layer.populations]

    def population(self, ref: str) -> LayerPopulationSpec:
        layer, pop = ref.split(".")
        return self.layers[layer].populations[pop]

    def input_population(self) -> str:
        return self.input if self.input is not None else self.populations()[0]

    def output_population(self) -> str:
        if self.output is not None:
            return self.output
        last = list(self.layers)[-1]
        return f"{last}.{next(iter(self.layers[last].populations))}"

    def rule_for(self, proj: LayeredProjectionSpec) -> RuleSpec:
        """The most specific rule: projection, target population, target layer, network."""
        layer, pop = proj.target.split(".")
        for rule in (proj.learning_rule, self.layers[layer].populations[pop].learning_rule,
                     self.layers[layer].learning_rule):
            if rule is not None:
                return rule
        return self.learning_rule

    def sign_of(self, proj: LayeredProjectionSpec) -> int:
        """+1 (exc), -1 (inh) or 0 (mixed) after the projection's override."""
        kind = self.population(proj.source).type if proj.type == "auto" else proj.type
        return {"exc": 1, "inh": -1, "mixed": 0}[kind]

    def direction_of(self, proj: LayeredProjectionSpec) -> str:
        if proj.direction != "auto":
            return proj.direction
        order = self.populations()
        return "forward" if order.index(proj.source) < order.index(proj.target) else "recurrent"

    def unconnected(self) -> list[str]:
        """Populations that no projection touches (the input included when nothing reads it)."""
        used = {p.source for p in self.projections} | {p.target for p in self.projections}
        return [p for p in self.populations() if p not in used]

    # ------------------------------------------------------------ checks across fields
    def _check(self, path: str) -> None:
        base = f"{path}." if path else ""
        if not self.layers or not any(layer.populations for layer in self.layers.values()):
            raise ConfigError(f"{base}layers", to_dict(self.layers), "at least one layer with a population")
        for lname, layer in self.layers.items():
            for name in (lname, *layer.populations):
                if _name(name):
                    raise ConfigError(f"{base}layers.{lname}", name, _name(name))
            if not layer.populations:
                raise ConfigError(f"{base}layers.{lname}.populations", {}, "at least one population")
        order = self.populations()
        for key in ("input", "output"):
            ref = getattr(self, key)
            if ref is not None and ref not in order:
                raise ConfigError(f"{base}{key}", ref, f"one of the populations {', '.join(order)}")
        if self.input_population() == self.output_population():
            raise ConfigError(f"{base}output", self.output_population(), "a population other than the input")
        seen = set()
        for i, proj in enumerate(self.projections):
            ppath = f"{base}projections[{i}]"
            for end in ("source", "target"):
                if getattr(proj, end) not in order:
                    raise ConfigError(f"{ppath}.{end}", getattr(proj, end),
                                      f"one of the populations {', '.join(order)}")
            if (proj.source, proj.target) in seen:
                raise ConfigError(ppath, f"{proj.source} -> {proj.target}", "one projection per source and target")
            seen.add((proj.source, proj.target))
            if proj.target == self.input_population():
                raise ConfigError(f"{ppath}.target", proj.target, "not the input population (it is clamped)")
            if proj.direction == "forward" and order.index(proj.source) >= order.index(proj.target):
                raise ConfigError(f"{ppath}.direction", "forward",
                                  "recurrent (a forward source must be updated before its target)")
        dyn = self.dynamics
        if dyn.backward_steps is not None and dyn.backward_steps > dyn.forward_steps:
            raise ConfigError(f"{base}dynamics.backward_steps", dyn.backward_steps,
                              f"at most forward_steps ({dyn.forward_steps})")
        if dyn.integration == "euler":
            for ref in order:
                tau = self.population(ref).tau
                if dyn.dt > tau * (1 + 1e-12):
                    layer, pop = ref.split(".")
                    raise ConfigError(f"{base}layers.{layer}.populations.{pop}.tau", tau,
                                      f">= dynamics.dt ({dyn.dt}) with euler integration (or integration: "
                                      "exponential)")


def parse_network(raw: Any, path: str = "") -> LayeredNetworkSpec:
    """Validate a raw mapping (from YAML or the builder) into a :class:`LayeredNetworkSpec`."""
    return parse_section(LayeredNetworkSpec, raw, path)


def spec_to_yaml(spec: LayeredNetworkSpec) -> str:
    return yaml.safe_dump(to_dict(spec), sort_keys=False)


def spec_from_yaml(text: str) -> LayeredNetworkSpec:
    return parse_network(load_yaml(text, "network spec"))
