"""The one registry of learning rules, rate-based and spike-based.

Every rule einet knows (the rate rules of :mod:`einet.plasticity.rate_rules` and the
spike-timing rules of :mod:`einet.plasticity.stdp`) is registered here under one
name space, so a name means one thing everywhere and a duplicate is refused
whatever its kind. A rule's *kind* follows from its class: subclasses of
:class:`einet.plasticity.rate_rules.RateRule` are ``"rate"`` rules (they see the rates
of a projection's source and target), every other class is a ``"spike"`` rule
(it sees spikes and traces, see :mod:`einet.plasticity.spiking`). Lookups may
ask for one kind; a rule of the other kind is then reported as unknown, with
the rules of the asked kind listed.

The built-in rules are imported on the first lookup, so ``LEARNING_RULES``
lists them whichever module was imported first.
"""

from __future__ import annotations

import dataclasses
import importlib
from typing import Any, Literal

from einet.registry import Registry

__all__ = ["LEARNING_RULES", "RuleKind", "register_rule", "learning_rule", "rule_class", "rule_kind", "rule_names"]

RuleKind = Literal["rate", "spike"]

_BUILTIN_MODULES = ("einet.plasticity.rate_rules", "einet.plasticity.stdp")


class _RuleRegistry(Registry[type]):
    """A :class:`~einet.registry.Registry` that imports the built-in rules before the first lookup."""

    _loaded = False

    def _load_builtins(self) -> None:
        if _RuleRegistry._loaded:
            return
        _RuleRegistry._loaded = True  # set first: the imports below register into this registry
        for module in _BUILTIN_MODULES:
            importlib.import_module(module)

    def get(self, name: str) -> type:
        self._load_builtins()
        return super().get(name)

    def names(self) -> list[str]:
        self._load_builtins()
        return super().names()

    def __contains__(self, name: object) -> bool:
        self._load_builtins()
        return super().__contains__(name)


LEARNING_RULES: Registry[type] = _RuleRegistry("learning rule")


def register_rule(name: str):
    """Class decorator: register a rule class under ``name`` (case-insensitive, duplicates refused)."""

    def decorate(cls):
        LEARNING_RULES.register(name, cls)
        return cls

    return decorate


def rule_kind(cls: type) -> RuleKind:
    """``"rate"`` for rules that declare ``kind = "rate"`` (every subclass of
    :class:`~einet.plasticity.rate_rules.RateRule`), else ``"spike"``."""
    return "rate" if getattr(cls, "kind", None) == "rate" else "spike"


def rule_names(kind: RuleKind | None = None) -> list[str]:
    """Registered names, all or of one kind."""
    return [n for n in LEARNING_RULES.names() if kind is None or rule_kind(LEARNING_RULES.get(n)) == kind]


def rule_class(name: str, kind: RuleKind | None = None) -> type:
    """The class registered as ``name``; with ``kind``, a rule of another kind counts as unknown."""
    cls = LEARNING_RULES.get(name)
    if kind is not None and rule_kind(cls) != kind:
        raise KeyError(
            f"unknown {kind} learning rule {name!r} (it is a {rule_kind(cls)} rule); "
            f"known: {', '.join(rule_names(kind))}"
        )
    return cls


def learning_rule(name: str, kind: RuleKind | None = None, **options: Any):
    """Build the rule registered as ``name``; an unknown option is named along with the valid ones."""
    cls = rule_class(name, kind)
    if dataclasses.is_dataclass(cls):
        known = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(options) - set(known))
        if unknown:
            raise ValueError(f"learning rule {name!r}: unknown option(s) {', '.join(unknown)}; "
                             f"valid: {', '.join(known)}")
        if rule_kind(cls) == "rate":  # rate rules declare their options with einet.fields.option
            from einet.fields import parse_section

            return parse_section(cls, dict(options), f"learning rule {name}")
    return cls(**options)
