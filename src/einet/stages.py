"""The pipeline stages the Snakemake rules call, one function each.

Each stage reads files, computes, and writes its output atomically with
provenance. ``cli.py`` only parses arguments and calls these.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import yaml

from einet.config.sweep import validate as validate_schema
from einet.experiment import Experiment, load_job

log = logging.getLogger("einet")


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _holds(ds) -> str:
    """What a dataset holds, for a log line: how many variables over which dimension sizes."""
    dims = ", ".join(f"{name}={size}" for name, size in ds.sizes.items())
    return _n(len(ds.data_vars), "variable") + (f" over {dims}" if dims else "")


def _file_size(path: str | Path) -> str:
    size = float(Path(path).stat().st_size)
    for unit in ("B", "kB", "MB"):
        if size < 1000:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} GB"


def _batch(spec) -> str:
    """The batch axes of a job, for a log line ("batch M0: 2 values"), or "" for none."""
    from einet.config.sweep import batch_axes

    axes = batch_axes(spec)
    return ("batch " + ", ".join(f"{a.name}: {_n(len(a.values), 'value')}" for a in axes)) if axes else ""


def _write_logged(ds, out: str | Path, provenance) -> Path:
    """Write a stage's netCDF output and log what it holds, how big it is and how long writing took."""
    from einet import io

    started = time.perf_counter()
    path = io.write_dataset(ds, out, provenance=provenance)
    log.info("wrote %s (%s; %s) in %.2f s", path, _holds(ds), _file_size(path), time.perf_counter() - started)
    return path


def _write_yaml_atomic(data: dict, path: Path) -> Path:
    from einet.io import atomic_write

    text = yaml.safe_dump(data, sort_keys=False)
    return atomic_write(path, lambda tmp: tmp.write_text(text))


def expand(experiment: str | Path, scale: str | None, job: str | None, out: str | Path, *,
           cross_check: bool = True) -> list[Path]:
    """Write the resolved config of one job (or of every job when ``job`` is None).

    With ``job=None``, ``out`` is a directory and files go to ``out/<job>.yaml``. Every job is validated and,
    unless ``cross_check`` is false, checked against the registries (:mod:`einet.experiment`); the workflow
    checks every job when it parses, so its rule skips that here (it would load torch once per job).
    """
    from einet.config.sweep import Experiment as SchemaExperiment

    started = time.perf_counter()
    exp = (Experiment if cross_check else SchemaExperiment)(experiment, scale)
    axes = "; ".join(part for part in (
        "grid " + ", ".join(f"{a.name}: {_n(len(a.values), 'value')}" for a in exp.grid) if exp.grid else "",
        _batch(exp.spec)) if part)
    log.info("read %s %s: experiment %s, %s%s", experiment, f"at scale {scale}" if scale else "as written",
             exp.name, _n(len(exp.job_names()), "job"), f" ({axes})" if axes else "")
    log.info("validated every job against the schema%s in %.2f s", " and the registries" if cross_check else "",
             time.perf_counter() - started)
    jobs = [job] if job is not None else exp.job_names()
    paths = [_write_yaml_atomic(exp.job_config(j), Path(out) if job is not None else Path(out) / f"{j}.yaml")
             for j in jobs]
    for path in paths:
        log.info("wrote %s", path)
    return paths


def _input_digests(spec) -> dict:
    """``{"inputs": "key: path sha256 ..."}`` for the files outside the config the job read, else {}."""
    from einet.config.inputs import provenance_text

    text = provenance_text(spec)
    return {"inputs": text} if text else {}


def simulate(config: str | Path, out: str | Path, *, device: str | None = None, progress: bool = True,
             threads: int | None = None) -> Path:
    """Run one job config of a simulate-stage kind (see :data:`einet.runs.RUNS`) and write ``runs/<job>.nc``.

    ``threads`` (default: ``simulation.threads``, else torch's choice) sets torch's CPU threads."""
    from einet import io
    from einet.fields import to_dict
    from einet.runs import run_kind_for_stage
    from einet.runs.base import resolve_device

    spec = load_job(config)
    threads = threads or spec.simulation.threads
    if threads is not None:
        import torch

        torch.set_num_threads(threads)
    kind = run_kind_for_stage(spec, "simulate")
    dev = resolve_device(device or spec.simulation.device, "--device" if device else "simulation.device")
    batch = _batch(spec)
    log.info("read %s: job %s of %s, a %s run%s, on %s", config, spec.job.get("name", spec.name), spec.name,
             kind.name, f" ({batch})" if batch else "", dev)
    ds = kind.run(spec, progress=progress, device=dev)
    wall = ds.attrs.pop("wall_time_s")
    log.info("simulated in %.2f s", wall)
    prov = io.make_provenance(to_dict(spec), device=str(dev), seed=spec.simulation.seed, wall_time_s=wall,
                              extra=_input_digests(spec))
    return _write_logged(ds, out, prov)


def train(config: str | Path, out: str | Path, model_out: str | Path, *, device: str | None = None,
          progress: bool = True) -> tuple[Path, Path]:
    """Train the model of one job config; write ``trained/<job>.nc`` and ``models/<job>.pt``.

    The job's run kind (:data:`einet.runs.RUNS`, a train-stage one) trains and saves it. Kinds that
    checkpoint write ``models/<job>.ckpt``; a job started again resumes from there. The checkpoint goes once
    both outputs exist.
    """
    import hashlib

    from einet import io
    from einet.fields import to_dict
    from einet.runs import run_kind_for_stage
    from einet.runs.base import resolve_device, sweep_coords

    spec = load_job(config)
    kind = run_kind_for_stage(spec, "train")
    cfg = spec.training
    dev = resolve_device(device or cfg.device, "--device" if device else "training.device")
    job = spec.job.get("name", spec.name)
    log.info("read %s: job %s of %s, a %s run on %s, on %s", config, job, spec.name, kind.name,
             getattr(cfg, "dataset", None) or f"task {spec.task.kind}", dev)
    config_dict = to_dict(spec)
    checkpoint = Path(model_out).with_suffix(".ckpt")
    tag = hashlib.sha256(yaml.safe_dump(config_dict, sort_keys=False).encode()).hexdigest()
    ds, model = kind.run(spec, device=dev, checkpoint=checkpoint, tag=tag, progress=progress, label=f"train {job}")
    ds = ds.assign_coords(sweep_coords(spec, []))  # scalar grid coordinates, for collect
    ds.attrs.update({"experiment": spec.name, "job": job, "dataset": getattr(cfg, "dataset", None) or "none"})
    wall = ds.attrs.pop("wall_time_s")
    log.info("trained in %.2f s", wall)
    prov = io.make_provenance(config_dict, device=str(dev), seed=cfg.seed, wall_time_s=wall,
                              extra=_input_digests(spec))
    model_path = kind.save(model, spec, prov.config, model_out)
    log.info("wrote %s (%s)", model_path, _file_size(model_path))
    nc_path = _write_logged(ds, out, prov)
    from einet.training.checkpoint import remove_checkpoint

    remove_checkpoint(checkpoint)
    return nc_path, model_path


def analyze(run_path: str | Path, out: str | Path, *, progress: bool = True) -> Path:
    """Analyse one run file with the analysis its config names (``progress``: the bars of analyses that
    show one)."""
    from einet import io
    from einet.analysis import ANALYSES
    from einet.analysis import analyze as run_analysis
    from einet.progress import progress_shown

    started = time.perf_counter()
    run = io.read_dataset(run_path)
    prov = io.read_provenance(run)
    spec = validate_schema(prov["config_dict"])  # the run was cross-checked before it was simulated
    runs = ANALYSES.get(spec.analysis.kind).runs if spec.analysis.kind in ANALYSES else ()
    log.info("read %s (%s; %s): job %s of %s, a %s run", run_path, _holds(run), _file_size(run_path),
             spec.job.get("name", spec.name), spec.name, " or ".join(runs) or "unknown")
    analysing = time.perf_counter()
    with progress_shown(progress):
        ds = run_analysis(run, spec)
    log.info("%s analysis in %.2f s", spec.analysis.kind, time.perf_counter() - analysing)
    new = io.make_provenance(
        prov["config_dict"],
        device="cpu",  # analyses run on the host; the simulation's device is kept below
        seed=spec.simulation.seed,
        wall_time_s=time.perf_counter() - started,
        extra={
            "simulation_device": prov.get("device", "unknown"),
            "simulation_wall_time_s": prov.get("wall_time_s", 0.0),
            "simulation_git_commit": prov.get("git_commit", "unknown"),
            **({"inputs": prov["inputs"]} if prov.get("inputs") else {}),
        },
    )
    return _write_logged(ds, out, new)


def collect(paths: list[str | Path], out: str | Path) -> Path:
    """Combine per-job analyses along their grid dimensions into ``summary.nc``."""
    import xarray as xr

    from einet import io

    started = time.perf_counter()
    if not paths:
        raise ValueError("collect needs at least one analysis file")
    datasets = io.open_many(paths)
    provs = [io.read_provenance(d) for d in datasets]
    grid_names = list(provs[0]["config_dict"].get("job", {}).get("grid", {}))
    log.info("read %s of %s (%s), the first %s (%s)", _n(len(paths), "analysis file"),
             provs[0]["config_dict"].get("name"), f"grid {', '.join(grid_names)}" if grid_names else "no grid",
             paths[0], _holds(datasets[0]))
    combining = time.perf_counter()
    expanded = [ds.expand_dims(grid_names) if grid_names else ds for ds in datasets]
    summary = xr.combine_by_coords(expanded, combine_attrs="drop_conflicts") if grid_names else expanded[0]
    log.info("combined %s%s in %.2f s", _n(len(datasets), "job"),
             f" along {', '.join(grid_names)}" if grid_names else "", time.perf_counter() - combining)
    for name, var in datasets[0].variables.items():
        if name in summary.variables:
            summary[name].attrs.update(var.attrs)
    summary.attrs = {k: v for k, v in datasets[0].attrs.items() if not k.startswith(io.PROVENANCE_PREFIX)}
    summary.attrs.pop("job", None)
    jobs = {p["config_dict"]["job"]["name"]: p["config_sha256"] for p in provs}
    first = provs[0]["config_dict"]
    config = {"experiment": first["name"], "grid": grid_names, "jobs": jobs, "job_config_example": first}
    prov = io.make_provenance(
        config,
        device="cpu",
        seed=int(first["simulation"]["seed"]),
        wall_time_s=time.perf_counter() - started,
    )
    return _write_logged(summary, out, prov)


def figure(name: str, summary: str | Path, pdf: str | Path, png: str | Path | None = None) -> list[Path]:
    """Draw a registered figure from a summary file into PDF (and PNG)."""
    from einet import io
    from einet.figures import draw

    ds = io.read_dataset(summary)
    config = io.read_provenance(ds).get("config_dict")
    config = config if isinstance(config, dict) else {}
    analysis = (config.get("job_config_example") or {}).get("analysis") if config else None
    kind = analysis.get("kind", "unknown") if isinstance(analysis, dict) else "unknown"
    log.info("read %s (%s; %s): the %s analysis of %s, %s", summary, _holds(ds), _file_size(summary), kind,
             config.get("experiment", "unknown"), _n(len(config.get("jobs") or {}), "job"))
    started = time.perf_counter()
    paths = draw(name, ds, Path(pdf), Path(png) if png else None)
    log.info("drew figure %s in %.2f s", name, time.perf_counter() - started)
    log.info("wrote %s", ", ".join(f"{path} ({_file_size(path)})" for path in paths))
    return paths
