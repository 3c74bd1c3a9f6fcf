"""The registry of tasks: ``task.kind`` -> how to build the task and what its config may set.

A task is one file of :mod:`einet.tasks` holding its class and ending in one
``register_task(...)``; :func:`einet.tasks.build.build_task` looks the kind up
here and :mod:`einet.experiment` checks a config's ``task`` section against the
entry (known kind, its epoch names) before anything runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from einet.registry import Registry

__all__ = ["TASKS", "TaskKind", "register_task"]


@dataclass(frozen=True)
class TaskKind:
    """One task.

    ``build(spec, common, epochs)`` makes the task object from the validated
    ``task`` section, ``common`` (``population`` index, ``sizes``, ``strength``,
    ``dtype``, ``device``, and ``patterns`` where the kind takes them) and the
    epoch durations the config overrides. ``epochs`` names the epochs a config may
    set, in order; ``patterns`` says whether ``task.patterns: low_rank`` applies.
    """

    name: str
    doc: str
    epochs: tuple[str, ...]
    build: Callable[[Any, dict, dict], Any]
    patterns: bool = False


TASKS: Registry[TaskKind] = Registry("task")


def register_task(kind: TaskKind) -> TaskKind:
    """Register ``kind`` under its name (duplicates refused)."""
    return TASKS.register(kind.name, kind)
