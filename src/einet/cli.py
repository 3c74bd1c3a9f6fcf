"""The command line the Snakemake rules call: ``python -m einet <stage> ...``.

This is the only module that parses arguments. Errors that einet raises on
purpose print one clear line and exit with status 2 (bad input) or 1.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from einet import __version__
from einet.errors import ConfigError, EinetError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="einet",
        description="Excitatory-inhibitory network models: expand configs, simulate, analyse, collect, draw.",
    )
    parser.add_argument("--version", action="version", version=f"einet {__version__}")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars or info logs")
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
    p.add_argument("--threads", type=int, default=None, help="CPU threads for torch (default: torch's choice)")

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
        for path in stages.expand(args.experiment, args.scale, args.job, args.out, cross_check=not args.schema_only):
            logging.getLogger("einet").info("wrote %s", path)
    elif args.command == "simulate":
        if args.threads:
            import torch

            torch.set_num_threads(args.threads)
        stages.simulate(args.config, args.out, device=args.device, progress=not args.quiet)
    elif args.command == "train":
        if args.threads:
            import torch

            torch.set_num_threads(args.threads)
        stages.train(args.config, args.out, args.model, device=args.device, progress=not args.quiet)
    elif args.command == "analyze":
        stages.analyze(args.run, args.out)
    elif args.command == "collect":
        stages.collect(args.analyses, args.out)
    elif args.command == "figure":
        stages.figure(args.name, args.summary, args.pdf, args.png)
    elif args.command == "config-docs":
        from einet.config.docs import markdown

        sys.stdout.write(markdown())
    elif args.command == "report-captions":
        from einet.figures import report_template

        sys.stdout.write(report_template())


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        run(args)
    except ConfigError as err:
        print(f"einet {args.command}: config error: {err}", file=sys.stderr)
        return 2
    except EinetError as err:
        print(f"einet {args.command}: {err}", file=sys.stderr)
        return 1
    return 0
