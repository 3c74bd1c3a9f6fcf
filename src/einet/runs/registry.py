"""The registry of run kinds: what one job does, which config section selects it, what may follow it.

A run kind is one file of :mod:`einet.runs` ending in one ``register_run(...)``.
The stages (:mod:`einet.stages`) and the workflow (``common.smk``) look a job's
kind up here instead of asking which config sections are set, and
:mod:`einet.experiment` checks a config against the entry before anything runs.

Selection is data: a kind names the config path that selects it
(``selected_by``, optionally with the value it must have); the default kind has
none and runs when nothing else is selected. When several kinds are selected,
the most specific path wins (``a.b`` over ``a``); two
unrelated selections are a config error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Literal, Optional

from einet.errors import ConfigError
from einet.registry import Registry

__all__ = ["RUNS", "RunKind", "register_run", "run_kind_for_stage", "run_kind_of"]

Stage = Literal["simulate", "train"]


@dataclass(frozen=True)
class RunKind:
    """One kind of job.

    ``run(spec, *, device, progress, checkpoint, tag, label)`` returns the run dataset
    (simulate stage) or ``(dataset, model)`` (train stage; ``save(model, spec,
    config_yaml, path)`` then writes the model file). ``check(spec)`` raises
    :class:`~einet.errors.ConfigError` for what this kind needs across sections. ``analyses`` names existing
    analyses that read this kind's runs (besides those that name the kind themselves). ``writes`` lists the
    variable and dimension names of its run files (``*`` matches any text): a sweep axis may not take one
    (tests/test_experiments.py checks the list against the files). ``gpu_capable``: its network runs on
    ``simulation.device`` (or ``training.device``), so a large job of this kind gains from a GPU
    (:mod:`einet.runs.placement` asks a cluster for one).
    """

    name: str
    doc: str
    stage: Stage
    run: Callable[..., Any]
    selected_by: Optional[str] = None
    selected_value: Any = None
    uses_model: bool = True
    save: Optional[Callable[..., Any]] = None
    check: Optional[Callable[[Any], None]] = None
    analyses: tuple[str, ...] = ()
    writes: tuple[str, ...] = ()
    gpu_capable: bool = False

    def accepts(self, analysis) -> bool:
        """Whether ``analysis`` (an :class:`einet.analysis.Analysis`) reads this kind's runs: the analysis names
        the kind, or the kind names the analysis (so a new kind can reuse an analysis without editing it)."""
        return self.name in analysis.runs or analysis.name in self.analyses

    def selects(self, spec) -> bool:
        if self.selected_by is None:
            return False
        value = _resolve(spec, self.selected_by)
        return value is not None if self.selected_value is None else value == self.selected_value


RUNS: Registry[RunKind] = Registry("run kind")


def register_run(kind: RunKind) -> RunKind:
    """Register ``kind`` under its name (duplicates refused); the train stage needs a ``save``."""
    if kind.stage == "train" and kind.save is None:
        raise ValueError(f"run kind {kind.name!r}: a train-stage kind needs save=")
    return RUNS.register(kind.name, kind)


def _resolve(spec, path: str):
    value = spec
    for part in path.split("."):
        value = getattr(value, part, None)
        if value is None:
            return None
    return value


def run_kind_of(spec) -> RunKind:
    """The kind of job ``spec`` describes (see the module docstring for the rule)."""
    kinds = [RUNS.get(n) for n in RUNS.names()]
    chosen = [k for k in kinds if k.selects(spec)]
    chosen = [k for k in chosen
              if not any(o.selected_by != k.selected_by and o.selected_by.startswith(k.selected_by + ".")
                         for o in chosen)]
    if len(chosen) > 1:
        first, second = sorted(chosen, key=lambda k: k.selected_by)[:2]
        raise ConfigError(second.selected_by, "<set>", f"null: {first.selected_by} already makes this a "
                          f"{first.name} experiment (one kind of run per experiment)")
    if chosen:
        return chosen[0]
    defaults = [k for k in kinds if k.selected_by is None]
    if len(defaults) != 1:
        raise RuntimeError(f"exactly one run kind must be the default; found {[k.name for k in defaults]}")
    return defaults[0]


def run_kind_for_stage(spec, stage: Stage) -> RunKind:
    """The kind of job ``spec`` describes, which must belong to ``stage`` (a config error naming the
    ``training`` section otherwise: it is what moves a job between the simulate and train stages)."""
    kind = run_kind_of(spec)
    if kind.stage != stage:
        if stage == "simulate":
            raise ConfigError("training", "<a training section>", f"null for rule simulate (a {kind.name} job is "
                              "trained: use train)")
        raise ConfigError("training", None, f"a training section (this is a {kind.name} job: use simulate)")
    return kind
