"""Figures: one function per figure, reading a summary dataset only.

``FIGURES`` maps a figure name (as listed in an experiment's ``figures``) to
its drawing function ``(summary) -> matplotlib Figure``.
"""

from __future__ import annotations

import os
from pathlib import Path

from einet.registry import Registry

FIGURES: Registry = Registry("figure")


def _balanced(ds):
    from einet.figures.balanced import draw_balanced

    return draw_balanced(ds)


FIGURES.register("rates_vs_K", _balanced)


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
