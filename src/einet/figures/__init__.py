"""Figures: one function per figure, reading a summary dataset only.

``FIGURES`` maps a figure name (as listed in an experiment's ``figures``) to
its drawing function ``(summary) -> matplotlib Figure``.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path

from einet.registry import Registry

FIGURES: Registry = Registry("figure")


def _lazy(module: str, function: str):
    """A drawing function imported on first use, so the registry stays cheap to load."""

    def draw(ds):
        return getattr(importlib.import_module(f"einet.figures.{module}"), function)(ds)

    return draw


FIGURES.register("rates_vs_K", _lazy("balanced", "draw_balanced"))
FIGURES.register("multistability", _lazy("multistability", "draw_multistability"))
FIGURES.register("ring_attractor", _lazy("ring", "draw_ring_attractor"))
FIGURES.register("stp_memory", _lazy("stp", "draw_stp_memory"))
FIGURES.register("dual_task", _lazy("dual", "draw_dual_task"))
FIGURES.register("causal_plane", _lazy("information", "draw_causal_plane"))
FIGURES.register("ei_training", _lazy("information", "draw_ei_training"))
FIGURES.register("recurrent_ei", _lazy("information", "draw_recurrent_ei"))
FIGURES.register("serial_bias", _lazy("serial_bias", "draw_serial_bias"))
FIGURES.register("learning_curves", _lazy("learning", "draw_learning_curves"))
FIGURES.register("receptive_fields", _lazy("learning", "draw_receptive_fields"))
FIGURES.register("cuba", _lazy("spiking", "draw_cuba"))
FIGURES.register("reservoir", _lazy("reservoir", "draw_reservoir"))
FIGURES.register("stdp", _lazy("stdp", "draw_stdp"))
FIGURES.register("trained_odr", _lazy("task_training", "draw_trained_odr"))
FIGURES.register("trained_dual", _lazy("task_training", "draw_trained_dual"))


def draw(name: str, ds, pdf: Path, png: Path | None = None) -> list[Path]:
    """Draw figure ``name`` and save it atomically as PDF (and PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = FIGURES.get(name)(ds)
    written = []
    for path in (pdf, png):
        if path is None:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.stem}.tmp-{os.getpid()}{path.suffix}")
        fig.savefig(tmp, dpi=150)
        tmp.replace(path)
        written.append(path)
    plt.close(fig)
    return written
