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
    # the experiment block: the rule's params.experiment, written by experiment_caption() at parse time
    lines += ["{% if snakemake.params.experiment %}", "", "{{ snakemake.params.experiment }}", "{% endif %}"]
    return "\n".join(lines) + "\n"


#: Settings that say where or how a run goes, not what it is: left out of a caption.
_NOT_PARAMETERS = {"device", "dtype", "seed", "kernels", "threads", "record", "record_every", "rate_bin",
                   "checkpoint_every", "checkpoints", "mnist_path", "init_v"}


def experiment_caption(experiment) -> str:
    """The block every figure caption of ``experiment`` (an :class:`einet.config.sweep.Experiment`) ends with, as
    reStructuredText: experiment, scale, sweep axes and the main parameters as the file (at that scale) writes
    them, so a figure in the report says what produced it. Swept settings appear on the sweep line only."""
    spec, raw = experiment.spec, experiment.raw
    swept = {axis.path for axis in (*experiment.grid, *experiment.batch)}
    jobs = len(experiment.job_names())
    scale = f"``{experiment.scale}``" if experiment.scale else "none (the file as written)"
    lines = [f"- **Experiment** ``{spec.name}``" + (f": {_rst(spec.description)}" if spec.description else ""),
             f"- **Scale** {scale}: {jobs} job{'s' if jobs != 1 else ''}"]
    for title, where, axes in (("Grid", "a job per point", experiment.grid),
                               ("Batch", "inside each job", experiment.batch)):
        if axes:
            lines.append(f"- **{title}** ({where}): " + "; ".join(
                f"{_rst(a.name)} ({_rst(a.path)}) = {_rst(_values(a.labels or a.values))}" for a in axes))
    if not experiment.grid and not experiment.batch:
        lines.append("- **Sweep**: none (one parameter set)")
    sections = ["model", "spiking", "reservoir", "stdp", "training", "task"]
    for section in sections + ["simulation"]:
        if not isinstance(raw.get(section), dict):
            continue
        items = _section_items(raw[section], section, swept)
        if section == "simulation":  # a task or a reservoir sets the run's length, not simulation.duration
            items = [f"{i} ms" for i in items if i.split()[0] == "dt" or (
                i.startswith("duration ") and spec.task is None and spec.reservoir is None)]
        if items:
            lines.append(f"- **{section}**: {_rst('; '.join(items))}")
    return "\n".join(lines)


def _section_items(section: dict, prefix: str, swept: set[str]) -> list[str]:
    """``key value`` per scalar setting of one config section, population sizes, projection weights and flat
    mappings (task epochs); deeper mappings are left to the file."""
    items = []
    for key, value in section.items():
        path = f"{prefix}.{key}"
        if path in swept or key in _NOT_PARAMETERS or value is None:
            continue
        if key == "populations" and isinstance(value, dict):
            pops = [f"{name} {'(swept)' if f'{path}.{name}.size' in swept else p.get('size', '?')}"
                    + (f" {p['type']}" if p.get("type") else "")
                    for name, p in value.items() if isinstance(p, dict)]
            items.append("populations " + ", ".join(pops))
        elif key == "projections" and isinstance(value, dict):
            weights = [(name, p.get("J", p.get("weight"))) for name, p in value.items() if isinstance(p, dict)]
            weights = [f"{name} {_value(w)}" for name, w in weights
                       if w is not None and not {f"{path}.{name}.J", f"{path}.{name}.weight"} & swept]
            if weights:
                name = "J" if any("J" in p for p in value.values() if isinstance(p, dict)) else "weights"
                items.append(f"{name} " + ", ".join(weights))
        elif isinstance(value, dict) and value and all(_scalar(v) for v in value.values()):
            unit = " (ms)" if key == "epochs" else ""
            items.append(f"{key}{unit} " + ", ".join(f"{k} {_value(v)}" for k, v in value.items()
                                                     if f"{path}.{k}" not in swept))
        elif _scalar(value) or (isinstance(value, list) and 0 < len(value) <= 4 and all(map(_scalar, value))):
            items.append(f"{key} {_value(value)}")
    return items


def _scalar(value) -> bool:
    return isinstance(value, (bool, int, float, str))


def _value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(map(_value, value)) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_value(v)}" for k, v in value.items()) + "}"
    return str(value)


def _values(values) -> str:
    """An axis's values; a long axis as its first three and last values and its length."""
    shown = [_value(v) for v in values]
    if len(shown) > 8:
        return ", ".join([*shown[:3], "...", shown[-1]]) + f" ({len(shown)} values)"
    return ", ".join(shown)


def _rst(text: str) -> str:
    """Plain text that reStructuredText shows as written (``*``, ``_``, backquotes and ``|`` are markup)."""
    for char in "\\*_`|":
        text = text.replace(char, "\\" + char)
    return text


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
    """Draw figure ``name`` under :mod:`einet.figures.style` and save it atomically as PDF (TrueType fonts)
    and PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from einet.figures.style import RC
    from einet.io import atomic_write

    written = []
    with matplotlib.rc_context(RC):
        fig = FIGURES.get(name)(ds)
        for path in (pdf, png):
            if path is None:
                continue
            written.append(atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=150)))
    plt.close(fig)
    return written
