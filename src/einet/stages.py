"""The pipeline stages the Snakemake rules call, one function each.

Each stage reads files, computes, and writes its output atomically with
provenance. ``cli.py`` only parses arguments and calls these.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import yaml

from einet.config.sweep import Experiment, validate

log = logging.getLogger("einet")


def _write_yaml_atomic(data: dict, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(yaml.safe_dump(data, sort_keys=False))
    tmp.replace(path)
    return path


def expand(experiment: str | Path, scale: str | None, job: str | None, out: str | Path) -> list[Path]:
    """Write the resolved config of one job (or of every job when ``job`` is None).

    With ``job=None``, ``out`` is a directory and files go to ``out/<job>.yaml``.
    """
    exp = Experiment(experiment, scale)
    if job is not None:
        return [_write_yaml_atomic(exp.job_config(job), Path(out))]
    return [_write_yaml_atomic(exp.job_config(j), Path(out) / f"{j}.yaml") for j in exp.job_names()]


def load_job(path: str | Path):
    """Validate a resolved job config file (as written by :func:`expand`)."""
    from einet.config.sweep import load_yaml

    return validate(load_yaml(path))


def simulate(config: str | Path, out: str | Path, *, device: str | None = None, progress: bool = True) -> Path:
    """Run one job config and write ``runs/<job>.nc``."""
    from einet import io
    from einet.fields import to_dict
    from einet.runs.rate import resolve_device, simulate as run

    spec = load_job(config)
    dev = resolve_device(device or spec.simulation.device)
    log.info("simulating %s on %s", spec.job.get("name", spec.name), dev)
    ds = run(spec, progress=progress, device=dev)  # builds the config's task, if any
    wall = ds.attrs.pop("wall_time_s")
    prov = io.make_provenance(to_dict(spec), device=str(dev), seed=spec.simulation.seed, wall_time_s=wall)
    return io.write_dataset(ds, out, provenance=prov)


def train(config: str | Path, out: str | Path, model_out: str | Path, *, device: str | None = None,
          progress: bool = True) -> tuple[Path, Path]:
    """Train the model of one job config; write ``trained/<job>.nc`` and ``models/<job>.pt``.

    A ``training.network`` is trained with its rules and, with ``checkpoint_every``, checkpointed to
    ``models/<job>.ckpt``; a job started again resumes from there. The checkpoint goes once both outputs exist.
    """
    import hashlib

    from einet import io
    from einet.datasets import load
    from einet.errors import ConfigError
    from einet.fields import field_info, to_dict
    from einet.config.experiment import ExperimentSpec
    from einet.runs.classifier import save_model, train as fit
    from einet.runs.rate import resolve_device

    spec = load_job(config)
    if spec.training is None:
        raise ConfigError("training", None, "a training section (this job has none: use simulate)")
    cfg = spec.training
    dev = resolve_device(device or cfg.device)
    job = spec.job.get("name", spec.name)
    log.info("training %s (%s) on %s", job, cfg.dataset or f"task {spec.task.kind}", dev)
    config_dict = to_dict(spec)
    checkpoint = Path(model_out).with_suffix(".ckpt")
    tag = hashlib.sha256(yaml.safe_dump(config_dict, sort_keys=False).encode()).hexdigest()
    if cfg.recurrent is not None:
        from einet.runs.task_training import train_task

        ds, model = train_task(spec, dev, checkpoint=checkpoint, tag=tag, progress=progress, label=f"train {job}")
    elif cfg.network is not None:
        from einet.runs.network_training import train_network

        ds, model = train_network(cfg, dev, checkpoint=checkpoint, tag=tag, progress=progress, label=f"train {job}")
    else:
        data = load(cfg.dataset, test_fraction=cfg.test_fraction, seed=cfg.seed, mnist_path=cfg.mnist_path)
        ds, model = fit(cfg, data, dev, progress=progress, label=f"train {job}")
    paths = spec.job.get("paths", {})
    for name, value in spec.job.get("grid", {}).items():  # scalar grid coordinates, for collect
        try:
            meta = field_info(ExperimentSpec, paths.get(name, name))
        except KeyError:
            meta = {}
        ds = ds.assign_coords({name: ((), value, {"units": meta.get("unit") or "1",
                                                 "long_name": paths.get(name, name)})})
    ds.attrs.update({"experiment": spec.name, "job": job, "dataset": cfg.dataset or "none"})
    wall = ds.attrs.pop("wall_time_s")
    prov = io.make_provenance(config_dict, device=str(dev), seed=cfg.seed, wall_time_s=wall)
    if cfg.recurrent is not None:
        from einet.runs.task_training import save_task_model

        model_path = save_task_model(model, prov.config, model_out)
    elif cfg.network is not None:
        from einet.training.checkpoint import save_network

        model_path = save_network(model, prov.config, model_out)
    else:
        sizes = [data.features, *cfg.hidden_sizes, data.classes]
        model_path = save_model(model, sizes, prov.config, model_out)
    nc_path = io.write_dataset(ds, out, provenance=prov)
    checkpoint.unlink(missing_ok=True)
    return nc_path, model_path


def analyze(run_path: str | Path, out: str | Path) -> Path:
    """Analyse one run file with the analysis its config names."""
    from einet import io
    from einet.analysis import ANALYSES

    started = time.perf_counter()
    run = io.read_dataset(run_path)
    prov = io.read_provenance(run)
    spec = validate(prov["config_dict"])
    analysis = ANALYSES.get(spec.analysis.kind)
    ds = analysis(run, spec)
    new = io.make_provenance(
        prov["config_dict"],
        device="cpu",  # analyses run on the host; the simulation's device is kept below
        seed=spec.simulation.seed,
        wall_time_s=time.perf_counter() - started,
        extra={
            "simulation_device": prov.get("device", "unknown"),
            "simulation_wall_time_s": prov.get("wall_time_s", 0.0),
            "simulation_git_commit": prov.get("git_commit", "unknown"),
        },
    )
    return io.write_dataset(ds, out, provenance=new)


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
    expanded = [ds.expand_dims(grid_names) if grid_names else ds for ds in datasets]
    summary = xr.combine_by_coords(expanded, combine_attrs="drop_conflicts") if grid_names else expanded[0]
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
    return io.write_dataset(summary, out, provenance=prov)


def figure(name: str, summary: str | Path, pdf: str | Path, png: str | Path | None = None) -> list[Path]:
    """Draw a registered figure from a summary file into PDF (and PNG)."""
    from einet import io
    from einet.figures import draw

    ds = io.read_dataset(summary)
    return draw(name, ds, Path(pdf), Path(png) if png else None)
