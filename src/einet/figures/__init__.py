"""Figures: one function per figure, reading a summary dataset only.

``FIGURES`` maps a figure name (as listed in an experiment's ``figures``) to
a :class:`Figure`: a drawing function ``(summary) -> matplotlib Figure`` and
the analysis kinds whose summaries it reads. A figure is a function in one
file here plus one ``register_figure`` line below.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

from einet.registry import Registry

@dataclass(frozen=True)
class Figure:
    """One figure: ``einet.figures.<module>.<function>(summary)``, imported when first drawn, and the
    analysis kinds whose summaries it reads (checked when an experiment file is loaded)."""

    name: str
    module: str
    function: str
    analyses: tuple[str, ...]

    def __call__(self, ds):
        return self.draw_function()(ds)

    def draw_function(self):
        return getattr(importlib.import_module(f"einet.figures.{self.module}"), self.function)

    @property
    def caption(self) -> str:
        """The report caption written beside the draw function (``@caption``); Jinja, as Snakemake renders it."""
        text = getattr(self.draw_function(), "CAPTION", None)
        if not text:
            raise ValueError(f"figure {self.name!r}: {self.module}.{self.function} has no @caption")
        return text


def caption(text: str):
    """Decorator: the report caption of a draw function, kept beside it (``workflow/report/figure.rst`` is
    generated from these: ``einet report-captions``)."""

    def attach(function):
        function.CAPTION = text
        return function

    return attach


def report_template() -> str:
    """``workflow/report/figure.rst``: one branch per registered figure with its caption."""
    lines = []
    for i, key in enumerate(FIGURES.names()):
        figure = FIGURES.get(key)
        lines.append(f'{{% {"if" if i == 0 else "elif"} snakemake.wildcards.figure == "{figure.name}" %}}')
        lines.append(figure.caption.rstrip("\n"))
    lines += ["{% else %}", "Figure ``{{ snakemake.wildcards.figure }}`` of experiment "
              "``{{ snakemake.wildcards.exp }}``.", "{% endif %}"]
    return "\n".join(lines) + "\n"


FIGURES: Registry[Figure] = Registry("figure")


def register_figure(name: str, module: str, function: str, *, analyses: tuple[str, ...]) -> Figure:
    """Register figure ``name``, drawn by ``einet.figures.<module>.<function>`` from ``analyses`` summaries."""
    return FIGURES.register(name, Figure(name, module, function, tuple(analyses)))


register_figure("rates_vs_K", "balanced", "draw_balanced", analyses=("balance",))
register_figure("multistability", "multistability", "draw_multistability", analyses=("multistability",))
register_figure("ring_attractor", "ring", "draw_ring_attractor", analyses=("ring",))
register_figure("stp_memory", "stp", "draw_stp_memory", analyses=("ring",))
register_figure("dual_task", "dual", "draw_dual_task", analyses=("dual",))
register_figure("causal_plane", "information", "draw_causal_plane", analyses=("information",))
register_figure("ei_training", "information", "draw_ei_training", analyses=("information",))
register_figure("recurrent_ei", "information", "draw_recurrent_ei", analyses=("recurrent_ei",))
register_figure("serial_bias", "serial_bias", "draw_serial_bias", analyses=("serial_bias",))
register_figure("learning_curves", "learning", "draw_learning_curves", analyses=("learning",))
register_figure("receptive_fields", "learning", "draw_receptive_fields", analyses=("learning",))
register_figure("cuba", "spiking", "draw_cuba", analyses=("spiking",))
register_figure("reservoir", "reservoir", "draw_reservoir", analyses=("reservoir",))
register_figure("stdp", "stdp", "draw_stdp", analyses=("stdp",))
register_figure("trained_odr", "task_training", "draw_trained_odr", analyses=("task_training",))
register_figure("trained_dual", "task_training", "draw_trained_dual", analyses=("task_training",))
register_figure("psychometric", "decision", "draw_psychometric", analyses=("decision",))


def draw(name: str, ds, pdf: Path, png: Path | None = None) -> list[Path]:
    """Draw figure ``name`` and save it atomically as PDF (and PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from einet.io import atomic_write

    fig = FIGURES.get(name)(ds)
    written = []
    for path in (pdf, png):
        if path is None:
            continue
        written.append(atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=150)))
    plt.close(fig)
    return written
