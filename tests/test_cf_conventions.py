"""Every kind of file the pipeline writes passes the CF conventions checker with no errors.

Users open einet's netCDF files with generic CF tools (ncview, Panoply, cf-python, xarray's decoding), which
trust ``units``, ``long_name`` and the global ``Conventions``; the checker is the independent judge of
whether those attributes are right. One shrunk shipped experiment per run kind is taken through the command
line (its first job only): its run file, its analysis file and the collected summary are each checked.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from test_experiments import EXPERIMENTS, SHRINK

cfchecks = pytest.importorskip("cfchecker.cfchecks", reason="the CF checker (pip install cfchecker) is not installed")

#: One shipped experiment per run kind (the test below fails when a kind is missing).
EXPERIMENT_OF_KIND = {
    "rate": "balanced",
    "fixed_point": "balanced_fixed_point",
    "sessions": "serial_bias",
    "spiking": "cuba",
    "reservoir": "reservoir",
    "stdp": "stdp",
    "task_training": "trained_odr",
    "network_training": "learning_rules",
    "classifier": "classifier_ei",
}

# The checker reads CF's standard-name, area-type and region tables from cfconventions.org unless given
# files; einet uses none of them, so empty tables keep the check offline (a standard_name would then fail).
_EMPTY_TABLES = {  # file: (root element, element of its date)
    "standard_names.xml": ("standard_name_table", "last_modified"),
    "area_types.xml": ("area_type_table", "date"),
    "region_names.xml": ("standardized_region_list", "date"),
}


@pytest.fixture(scope="module")
def checker_tables(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("cf_tables")
    for name, (root, date) in _EMPTY_TABLES.items():
        (folder / name).write_text(f"<{root}><version_number>0</version_number><{date}>none</{date}></{root}>")
    return {"cfStandardNamesXML": str(folder / "standard_names.xml"),
            "cfAreaTypesXML": str(folder / "area_types.xml"),
            "cfRegionNamesXML": str(folder / "region_names.xml")}


def cf_messages(path: Path, tables: dict) -> dict[str, list[str]]:
    """The checker's ERROR (FATAL included) and WARN messages for ``path``, each prefixed by its variable.

    The CF version checked is the one the file's ``Conventions`` names (the checker's newest when none)."""
    checker = cfchecks.CFChecker(version=cfchecks.CFVersion(), silent=True, **tables)
    results = checker.checker(str(path))
    out: dict[str, list[str]] = {"ERROR": [], "WARN": []}
    for owner, found in [("global", results["global"]), *results["variables"].items()]:
        out["ERROR"] += [f"{owner}: {m}" for m in found["FATAL"] + found["ERROR"]]
        out["WARN"] += [f"{owner}: {m}" for m in found["WARN"]]
    return out


def metadata_faults(path: Path) -> list[str]:
    """What the checker lets pass but CF means: strings carry no units, every file names its CF version
    and its history, and a sweep coordinate is named in words, its config key kept in ``einet_config_key``."""
    import netCDF4

    from einet.config.sweep import batch_axes, validate
    from einet.io import read_provenance

    config = read_provenance(path)["config_dict"]
    sweep = set()  # a summary's config is the collection's, without a job
    if "job" in config:
        sweep = set(config["job"].get("grid", {})) | {a.name for a in batch_axes(validate(config))}
    faults = []
    with netCDF4.Dataset(path) as nc:
        if getattr(nc, "Conventions", None) != "CF-1.8" or not getattr(nc, "history", "").strip():
            faults.append("global: no Conventions CF-1.8 or no history")
        for name, var in nc.variables.items():
            if var.dtype == str or var.dtype.kind == "S":
                if "units" in var.ncattrs():
                    faults.append(f"{name}: a string variable with units {var.units!r}")
        for name in sweep:
            attrs = {k: nc[name].getncattr(k) for k in nc[name].ncattrs()}
            if not attrs.get("einet_config_key") or attrs.get("long_name") == attrs["einet_config_key"]:
                faults.append(f"{name}: a sweep coordinate labelled by its config key ({attrs})")
    return faults


def _first_job_through_cli(raw: dict, scale: dict, tmp_path: Path) -> list[Path]:
    """Expand, run, analyse and collect the first job of ``raw`` with the command line, as the rules do;
    returns the run, analysis and summary files."""
    from einet.cli import main
    from einet.experiment import Experiment, validate
    from einet.runs import run_kind_of

    raw = dict(raw, scales={"test": scale})
    config = tmp_path / f"{raw['name']}.yaml"
    config.write_text(yaml.safe_dump(raw, sort_keys=False))
    job = Experiment(config, "test").job_names()[0]
    job_file, run = tmp_path / "configs" / f"{job}.yaml", tmp_path / "runs" / f"{job}.nc"
    analysis, summary = tmp_path / "analysis" / f"{job}.nc", tmp_path / "summary.nc"
    assert main(["-q", "expand", str(config), "--scale", "test", "--job", job, "--out", str(job_file)]) == 0
    if run_kind_of(validate(yaml.safe_load(job_file.read_text()))).stage == "train":
        assert main(["-q", "train", str(job_file), "--out", str(run), "--model", str(tmp_path / "model.pt"),
                     "--device", "cpu"]) == 0
    else:
        assert main(["-q", "simulate", str(job_file), "--out", str(run), "--device", "cpu"]) == 0
    assert main(["-q", "analyze", str(run), "--out", str(analysis)]) == 0
    assert main(["-q", "collect", str(analysis), "--out", str(summary)]) == 0
    return [run, analysis, summary]


def test_every_run_kind_has_an_experiment_here():
    from einet.runs import RUNS

    assert set(EXPERIMENT_OF_KIND) == set(RUNS.names())


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(EXPERIMENT_OF_KIND))
def test_every_file_of_a_run_kind_passes_the_cf_checker(kind, tmp_path, checker_tables):
    name = EXPERIMENT_OF_KIND[kind]
    raw = yaml.safe_load((EXPERIMENTS / f"{name}.yaml").read_text())
    errors = []
    for path in _first_job_through_cli(raw, SHRINK[name], tmp_path):
        found = cf_messages(path, checker_tables)
        print(f"{kind} {path.parent.name}/{path.name}: {len(found['ERROR'])} errors, "
              f"{len(found['WARN'])} warnings")
        errors += [f"{path.parent.name}/{path.name}: {m}" for m in found["ERROR"] + metadata_faults(path)]
    assert not errors, f"{len(errors)} CF errors:\n" + "\n".join(errors)


def test_every_config_unit_is_a_udunits_unit():
    """A sweep coordinate takes the units of the config field it sets, so every field's unit must parse."""
    from cfunits import Units

    from einet.config.experiment import ExperimentSpec
    from einet.fields import describe, field_info

    units = {key: field_info(ExperimentSpec, key.replace("<name>", "X")).get("unit")
             for key, *_ in describe(ExperimentSpec)}
    assert "ms" in units.values()
    assert not {k: u for k, u in units.items() if u and not Units(u).isvalid}


def test_the_checker_finds_what_it_is_here_for(tmp_path, checker_tables):
    """A file with units CF tools cannot parse and an unordered coordinate is refused, so that a passing
    check means something (the empty tables do not switch the checks off)."""
    import netCDF4

    path = tmp_path / "bad.nc"
    with netCDF4.Dataset(path, "w") as nc:
        nc.Conventions = "CF-1.8"
        nc.createDimension("K", 3)
        K = nc.createVariable("K", "f8", ("K",))
        K[:], K.units, K.long_name = [20.0, 10.0, 40.0], "1", "in-degree"
        rate = nc.createVariable("rate", "f8", ("K",))
        rate.units, rate.long_name = "spikes per bin", "rate"
    errors = cf_messages(path, checker_tables)["ERROR"]
    assert any(m.startswith("rate:") for m in errors) and any(m.startswith("K:") for m in errors), errors
