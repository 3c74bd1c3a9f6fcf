"""End to end: the real Snakefile on a tiny experiment in a temporary directory."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import yaml

from einet import io
from einet.network.presets import balanced_ei

REPO = Path(__file__).resolve().parents[1]

TINY = {
    "name": "tiny",
    "description": "a balanced network small enough for a test",
    "model": balanced_ei(300, 300, 10),
    "simulation": {"dt": 0.5, "duration": 120.0, "device": "auto",
                   "record": {"every": 2.0, "neurons": 3, "average_from": 80.0}},
    "figures": ["rates_vs_K"],
    "sweep": {"grid": {"model.K": [10, 40], "simulation.seed": [0, 1]},
              "batch": {"model.external.M0": [1.0, 2.0]}},
    "scales": {"quick": {"simulation": {"duration": 100.0}}},
}


def snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "workflow" / "Snakefile"), "--directory", str(workdir),
           "--cores", "2", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    work = tmp_path_factory.mktemp("pipeline")
    (work / "config" / "experiments").mkdir(parents=True)
    (work / "config" / "config.yaml").write_text(yaml.safe_dump({"experiments": ["tiny"], "scale": "quick"}))
    (work / "config" / "experiments" / "tiny.yaml").write_text(yaml.safe_dump(TINY, sort_keys=False))
    result = snakemake(work)
    assert result.returncode == 0, result.stderr[-4000:]
    return work


@pytest.mark.slow
def test_pipeline_writes_every_stage(pipeline):
    jobs = [f"K~{k}/seed~{s}" for k in (10, 40) for s in (0, 1)]
    for job in jobs:
        for stage, ext in (("configs", "yaml"), ("runs", "nc"), ("analysis", "nc")):
            assert (pipeline / "results" / "tiny" / stage / f"{job}.{ext}").is_file()
        for rule in ("simulate", "analyze"):
            assert (pipeline / "results" / "tiny" / "logs" / rule / f"{job}.log").is_file()
    assert "wrote results/tiny/configs/K~40/seed~1.yaml" in (pipeline / "results/tiny/logs/expand.log").read_text()
    for ext in ("pdf", "png"):
        figure = pipeline / "results" / "figures" / f"tiny-rates_vs_K.{ext}"
        assert figure.is_file() and figure.stat().st_size > 10_000


@pytest.mark.slow
def test_resolved_config_applies_grid_and_scale(pipeline):
    config = yaml.safe_load((pipeline / "results/tiny/configs/K~40/seed~1.yaml").read_text())
    assert config["model"]["K"] == 40 and config["simulation"]["seed"] == 1
    assert config["simulation"]["duration"] == 100.0  # the quick scale
    assert config["job"]["name"] == "K~40/seed~1"


@pytest.mark.slow
def test_every_output_traces_to_its_experiment_file_scale_and_command(pipeline):
    """Each netCDF file names the experiment file, its sha256 and the scale, and the command that wrote it."""
    import hashlib

    digest = hashlib.sha256((pipeline / "config" / "experiments" / "tiny.yaml").read_bytes()).hexdigest()
    files = sorted((pipeline / "results" / "tiny").rglob("*.nc"))
    assert len(files) == 9  # four runs, four analyses, the summary
    for path in files:
        prov = io.read_provenance(path)
        assert (prov["experiment_file"], prov["experiment_sha256"], prov["scale"]) == ("tiny.yaml", digest, "quick")
        stage = "collect" if path.name == "summary.nc" else {"runs": "simulate", "analysis": "analyze"}[path.parts[-3]]
        assert prov["command"].startswith("einet --log ") and f" {stage} " in prov["command"], prov["command"]
        with xr.open_dataset(path) as ds:
            assert ds.attrs["history"].endswith(prov["command"])


@pytest.mark.slow
def test_summary_has_grid_and_batch_dimensions_with_provenance(pipeline):
    summary = io.read_dataset(pipeline / "results/tiny/summary.nc")
    assert summary.rate.dims == ("K", "seed", "M0", "population")
    np.testing.assert_array_equal(summary.K, [10, 40])
    np.testing.assert_array_equal(summary.seed, [0, 1])
    np.testing.assert_array_equal(summary.M0, [1.0, 2.0])
    for name in list(summary.data_vars) + list(summary.coords):
        assert summary[name].attrs.get("long_name"), name
        assert bool(summary[name].attrs.get("units")) == (summary[name].dtype.kind not in "UO"), name  # none on strings
    prov = io.read_provenance(summary)
    assert set(prov["config_dict"]["jobs"]) == {f"K~{k}/seed~{s}" for k in (10, 40) for s in (0, 1)}
    run = io.read_dataset(pipeline / "results/tiny/runs/K~40/seed~1.nc")
    run_prov = io.read_provenance(run)
    assert run_prov["seed"] == 1 and run_prov["device"] == "cpu" and run_prov["wall_time_s"] > 0
    assert run_prov["config_dict"]["model"]["K"] == 40


@pytest.mark.slow
def test_second_dry_run_has_nothing_to_do(pipeline):
    result = snakemake(pipeline, "-n")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Nothing to be done" in result.stdout + result.stderr


@pytest.mark.slow
def test_rerun_of_a_job_reproduces_its_numbers(pipeline, tmp_path):
    from einet import stages

    out = tmp_path / "again.nc"
    stages.simulate(pipeline / "results/tiny/configs/K~10/seed~0.yaml", out, progress=False)
    first = io.read_dataset(pipeline / "results/tiny/runs/K~10/seed~0.nc")
    again = io.read_dataset(out)
    np.testing.assert_array_equal(first.rate_avg.values, again.rate_avg.values)
    assert io.read_provenance(first)["config_sha256"] == io.read_provenance(again)["config_sha256"]


def test_bad_experiment_fails_at_parse_time_naming_the_key(tmp_path):
    (tmp_path / "config" / "experiments").mkdir(parents=True)
    (tmp_path / "config" / "config.yaml").write_text(yaml.safe_dump({"experiments": ["tiny"], "scale": None}))
    bad = yaml.safe_load(yaml.safe_dump(TINY))
    bad["model"]["projections"]["EI"]["J"] = 0.75  # an inhibitory source with a positive weight
    (tmp_path / "config" / "experiments" / "tiny.yaml").write_text(yaml.safe_dump(bad))
    result = snakemake(tmp_path, "-n")
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "model.projections.EI.J" in output and "Dale" in output
    assert not (tmp_path / "results").exists()


def test_bad_pipeline_config_is_rejected_by_the_schema(tmp_path):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.yaml").write_text(yaml.safe_dump({"experiments": ["tiny"], "scal": "quick"}))
    result = snakemake(tmp_path, "-n")
    assert result.returncode != 0
    assert "scal" in result.stdout + result.stderr


def test_a_scale_that_is_not_a_name_never_reaches_a_shell(tmp_path):
    """The scale is spliced into the expand rule's command line: the schema allows a name only."""
    (tmp_path / "config" / "experiments").mkdir(parents=True)
    (tmp_path / "config" / "experiments" / "tiny.yaml").write_text(yaml.safe_dump(TINY))
    (tmp_path / "config" / "config.yaml").write_text(
        yaml.safe_dump({"experiments": ["tiny"], "scale": "quick; touch injected"}))
    result = snakemake(tmp_path)
    assert result.returncode != 0
    assert "does not match" in result.stdout + result.stderr and "scale" in result.stdout + result.stderr
    assert not (tmp_path / "injected").exists() and not (tmp_path / "results").exists()


def test_the_pipeline_config_schema_is_read_without_a_warning(tmp_path):
    (tmp_path / "config" / "experiments").mkdir(parents=True)
    (tmp_path / "config" / "experiments" / "tiny.yaml").write_text(yaml.safe_dump(TINY))
    (tmp_path / "config" / "config.yaml").write_text(yaml.safe_dump({"experiments": ["tiny"], "scale": "quick"}))
    result = snakemake(tmp_path, "-n")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "No validator found" not in result.stdout + result.stderr


@pytest.mark.slow
def test_a_file_the_config_points_to_is_an_input_with_its_sha256_in_provenance(tmp_path):
    """Changing model.low_rank.file reruns the job that reads it; the run file records the file's sha256."""
    import hashlib

    raw = yaml.safe_load((REPO / "config" / "experiments" / "dual_task.yaml").read_text())
    raw.update(name="vectors", scales={"quick": {}}, figures=[])
    raw["model"]["populations"]["R"]["size"] = 100
    raw["model"]["low_rank"] = {"rank": 2, "file": "vectors.npz"}
    raw["task"].update(trials=1, epochs={"fixation": 20.0, "sample": 20.0, "delay": 50.0, "distractor": 20.0,
                                         "test": 20.0, "response": 20.0})
    (tmp_path / "config" / "experiments").mkdir(parents=True)
    (tmp_path / "config" / "experiments" / "vectors.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    (tmp_path / "config" / "config.yaml").write_text("experiments: [vectors]\n")
    rng = np.random.default_rng(0)

    def write_vectors():
        np.savez(tmp_path / "vectors.npz", m_R=rng.standard_normal((100, 2)), n_R=rng.standard_normal((100, 2)))

    write_vectors()
    run = "results/vectors/runs/default.nc"
    done = snakemake(tmp_path, run)
    assert done.returncode == 0, done.stderr[-3000:]
    digest = hashlib.sha256((tmp_path / "vectors.npz").read_bytes()).hexdigest()
    assert io.read_provenance(io.read_dataset(tmp_path / run))["inputs"] == (
        f"model.low_rank.file: vectors.npz {digest}")
    assert "Nothing to be done" in snakemake(tmp_path, "-n", run).stdout + snakemake(tmp_path, "-n", run).stderr
    write_vectors()  # other vectors under the same name
    plan = snakemake(tmp_path, "-n", run)
    assert plan.returncode == 0 and "simulate" in plan.stdout and "vectors.npz" in plan.stdout
