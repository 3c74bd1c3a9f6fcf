"""The command line the Snakemake rules call: ``python -m einet <stage> ...``.

This is the only module that parses arguments, and the one exception boundary:
any failure ends as one line naming the stage, the file and, for a bad config,
the key (exit status 2 for bad input, 1 otherwise, 130 when interrupted). With
``--log FILE`` (what the rules pass) everything the process prints, C++
compilers and tracebacks included, goes to that file and only the one line to
the terminal; without it ``--traceback`` shows where an unexpected error arose.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import traceback
from pathlib import Path

from einet import __version__
from einet.errors import ConfigError, EinetError


class _Parser(argparse.ArgumentParser):
    """Usage mistakes, like every other failure, end as one line (``--help`` shows the usage)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: usage error: {' '.join(message.split())} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="einet",
        description="Excitatory-inhibitory network models: expand configs, simulate, analyse, collect, draw.",
    )
    parser.add_argument("--version", action="version", version=f"einet {__version__}")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars or info logs")
    parser.add_argument("--log", type=Path, default=None,
                        help="write all output (logs, progress, tracebacks) to this file; only the one-line "
                        "verdict of a failure goes to the terminal")
    parser.add_argument("--traceback", action="store_true", help="print the traceback of an unexpected error")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("expand", help="validate an experiment and write resolved job configs",
                       description="Validate an experiment file and write one resolved YAML per job.")
    p.add_argument("experiment", type=Path, help="experiment YAML (config/experiments/<name>.yaml)")
    p.add_argument("--scale", default=None, help="a key of the experiment's scales (quick, paper)")
    p.add_argument("--job", default=None, help="write only this job (e.g. K~200/seed~0)")
    p.add_argument("--out", type=Path, help="output file (with --job) or directory (without)")
    p.add_argument("--list", action="store_true", help="print the job names and exit")
    p.add_argument("--schema-only", action="store_true",
                   help="check each job against the schema only, not against the run, analysis and figure "
                   "registries (the workflow has cross-checked every job when it parsed; this keeps torch unloaded)")

    p = sub.add_parser("simulate", help="run one job config and write its run netCDF",
                       description="Simulate one resolved job config; writes runs/<job>.nc.")
    p.add_argument("config", type=Path, help="resolved job config (results/<exp>/configs/<job>.yaml)")
    p.add_argument("--out", type=Path, required=True, help="output netCDF file")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default=None,
                   help="override simulation.device (the config's value by default)")
    p.add_argument("--threads", type=int, default=None,
                   help="CPU threads for torch (default: simulation.threads, else torch's choice)")

    p = sub.add_parser("train", help="train one job's classifier or task network; write its history netCDF and model",
                       description="Train the model of one resolved job config (training section): a classifier on "
                       "its dataset, or with training.kind: task the rate network on its task; writes trained/<job>.nc "
                       "(history and evaluations) and models/<job>.pt.")
    p.add_argument("config", type=Path, help="resolved job config (results/<exp>/configs/<job>.yaml)")
    p.add_argument("--out", type=Path, required=True, help="output netCDF file (training history)")
    p.add_argument("--model", type=Path, required=True, help="output model file (.pt: tensors and the spec only)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default=None,
                   help="override training.device (the config's value by default)")
    p.add_argument("--threads", type=int, default=None, help="CPU threads for torch (default: torch's choice)")

    p = sub.add_parser("analyze", help="analyse a run netCDF",
                       description="Apply the config's analysis to a run file; writes analysis/<job>.nc.")
    p.add_argument("run", type=Path, help="run netCDF written by simulate")
    p.add_argument("--out", type=Path, required=True, help="output netCDF file")

    p = sub.add_parser("collect", help="combine analyses along the grid axes",
                       description="Combine per-job analysis files along their grid dimensions.")
    p.add_argument("analyses", type=Path, nargs="+", help="analysis netCDF files")
    p.add_argument("--out", type=Path, required=True, help="summary netCDF file")

    p = sub.add_parser("figure", help="draw a figure from a summary netCDF",
                       description="Draw a registered figure from a summary file.")
    p.add_argument("name", help="figure name (e.g. balanced)")
    p.add_argument("summary", type=Path, help="summary netCDF written by collect")
    p.add_argument("--pdf", type=Path, required=True, help="PDF output")
    p.add_argument("--png", type=Path, default=None, help="PNG output")

    p = sub.add_parser("kernels", help="build the compiled CPU kernels into the kernel cache; report each",
                       description="Build every compiled CPU kernel (or the ones named) into the kernel cache "
                       "unless it is there, and report each: built, already built, or unavailable and why (then "
                       "jobs use plain torch). The cache is $EINET_KERNEL_CACHE, else ~/.cache/einet/kernels; "
                       "the pipeline's first rule runs this, so that no job builds.")
    p.add_argument("names", nargs="*", metavar="NAME", help="kernels to build (default: all)")
    p.add_argument("--out", type=Path, default=None, help="also write the report to this file")
    p.add_argument("--jobs", type=int, default=1, help="kernels built at once (each build uses one core)")
    p.add_argument("--rebuild", action="store_true", help="build again even where the cache has a build")

    p = sub.add_parser("config-docs", help="print the documentation of every config key (Markdown)")
    p = sub.add_parser("report-captions", help="print workflow/report/figure.rst, the figures' captions")
    return parser


def run(args: argparse.Namespace) -> None:
    from einet import stages

    if args.command == "expand":
        if args.list:
            from einet.experiment import Experiment

            print("\n".join(Experiment(args.experiment, args.scale).job_names()))
            return
        if args.out is None:
            raise ConfigError("--out", None, "an output path (a file with --job, else a directory)")
        stages.expand(args.experiment, args.scale, args.job, args.out, cross_check=not args.schema_only)
    elif args.command == "simulate":
        stages.simulate(args.config, args.out, device=args.device, progress=not args.quiet, threads=args.threads)
    elif args.command == "train":
        if args.threads:
            import torch

            torch.set_num_threads(args.threads)
        stages.train(args.config, args.out, args.model, device=args.device, progress=not args.quiet)
    elif args.command == "analyze":
        stages.analyze(args.run, args.out, progress=not args.quiet)
    elif args.command == "collect":
        stages.collect(args.analyses, args.out)
    elif args.command == "figure":
        stages.figure(args.name, args.summary, args.pdf, args.png)
    elif args.command == "kernels":
        _kernels(args)
    elif args.command == "config-docs":
        from einet.config.docs import markdown

        sys.stdout.write(markdown())
    elif args.command == "report-captions":
        from einet.figures import report_template

        sys.stdout.write(report_template())


def _kernels(args: argparse.Namespace) -> None:
    """``einet kernels``: one line per kernel, on stdout and in ``--out``; a kernel that cannot be built is
    reported, not an error (jobs then run plain torch)."""
    from einet import kernels

    unknown = sorted(set(args.names) - set(kernels.known()))
    if unknown:
        raise ConfigError("NAME", unknown[0], f"one of the kernels {', '.join(kernels.known())}")
    root = kernels.cache_root()
    where = "EINET_KERNEL_CACHE" if os.environ.get("EINET_KERNEL_CACHE") else "the default; EINET_KERNEL_CACHE moves it"
    identity, why = kernels.compiler()
    doing = "a missing one takes about a minute to build" if identity else f"{why}: only builds already there load"
    logging.getLogger("einet").info("kernels in %s: %s", root, doing)
    statuses = kernels.prepare(args.names or None, rebuild=args.rebuild, jobs=args.jobs)
    lines = [f"# einet kernel cache: {root} ({where})", f"# compiler: {identity or why}"]
    for status in statuses:
        detail = " ".join(part for part in (status.entry.name if status.entry else "", status.detail) if part)
        lines.append(f"{status.name:14s} {status.state:14s} {detail}".rstrip())
    report = "\n".join(lines) + "\n"
    sys.stdout.write(report)
    if args.out is not None:
        from einet.io import atomic_write

        atomic_write(args.out, lambda tmp: tmp.write_text(report))


#: The file each stage reads first: what its error line names.
_SUBJECT = {"expand": "experiment", "simulate": "config", "train": "config", "analyze": "run", "figure": "summary"}


class Terminated(BaseException):
    """SIGTERM (Snakemake stopping its jobs, a cluster's time limit): raised so that every ``finally`` and
    :func:`einet.io.atomic_write` removes its temporary files before the process exits."""


def _on_sigterm(signum, frame):
    raise Terminated()


def _route_output_to(path: Path):
    """Point file descriptors 1 and 2 at ``path`` (Python, torch's C++ and compilers alike write there).

    Returns a stream to the original stderr, for the one-line verdict, and a function that points the
    descriptors back (for callers in the same process, such as tests)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    console = os.fdopen(os.dup(2), "w", buffering=1)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    streams = sys.stdout, sys.stderr  # Python-level writers too, whatever they were (a test's capture)
    sys.stdout = os.fdopen(1, "w", buffering=1, closefd=False)
    sys.stderr = os.fdopen(2, "w", buffering=1, closefd=False)

    def restore():
        sys.stdout.flush()
        sys.stderr.flush()
        sys.stdout, sys.stderr = streams
        for target, original in zip((1, 2), saved):
            os.dup2(original, target)
            os.close(original)

    return console, restore


def _subject(args: argparse.Namespace) -> str:
    if args.command == "collect":
        return f"{args.out} (from {len(args.analyses)} analyses)"
    name = _SUBJECT.get(args.command)
    return str(getattr(args, name)) if name else ""


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    console, restore = _route_output_to(args.log) if args.log else (sys.stderr, None)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s: %(message)s",
        stream=sys.stderr,
    )
    previous = signal.signal(signal.SIGTERM, _on_sigterm) if _in_main_thread() else None
    where = f"einet {args.command}: " + (f"{_subject(args)}: " if _subject(args) else "")
    status, verdict = 0, None
    from einet.io import recorded_command

    try:
        with recorded_command(["einet", *(sys.argv[1:] if argv is None else argv)]):  # the files' history
            run(args)
    except ConfigError as err:
        status, verdict = 2, f"{where}config error: {_one_line(err)}"
    except EinetError as err:
        status, verdict = 1, f"{where}{_one_line(err)}"
    except (KeyboardInterrupt, Terminated):
        status, verdict = 130, f"{where}interrupted; nothing was written under the output names"
    except Exception as err:  # anything else: a bug, a broken file, the machine
        detail = f"{type(err).__name__}: {_one_line(err)}" if str(err) else type(err).__name__
        if args.log:
            traceback.print_exc(file=sys.stderr)
            status, verdict = 1, f"{where}{detail} (traceback in {args.log})"
        else:
            if args.traceback:
                traceback.print_exc(file=sys.stderr)
            status, verdict = 1, f"{where}{detail}" + ("" if args.traceback else " (--traceback shows where)")
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    if verdict:
        if args.log:
            print(verdict, file=sys.stderr, flush=True)  # the log holds the verdict too
        print(verdict, file=console, flush=True)
    if restore is not None:
        restore()
        console.close()
    return status


def _in_main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()
