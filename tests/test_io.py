"""Tests of einet.io: netCDF round trips, validation, atomic writes, provenance."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import importlib.metadata
import shutil
import subprocess
import sys
from pathlib import Path

import netCDF4
import numpy as np
import pytest
import xarray as xr
import yaml

import einet
from einet import io
from einet.errors import EinetError

CONFIG = {
    "model": {"populations": {"E": {"n": 4, "tau": 0.02}, "I": {"n": 2, "tau": 0.01}}},
    "simulation": {"dt": 0.001, "steps": 5},
    "labels": ["baseline", "Ünicode"],
}


def roundtrip(ds: xr.Dataset, tmp_path, **kw) -> xr.Dataset:
    """Write *ds* with write_dataset, read it back with read_dataset."""
    path = io.write_dataset(ds, tmp_path / "out.nc", **kw)
    return io.read_dataset(path)


def make_ds() -> xr.Dataset:
    """A small dataset shaped like a simulation result, with literal values."""
    rate = np.array(
        [[0.5, 1.25, -3.0], [2.0, 0.0, 7.5], [1e-30, 3.4e38, -0.125],
         [4.0, 5.0, 6.0], [9.0, 8.0, 7.0], [0.1, 0.2, 0.3]],
        dtype=np.float32,
    )
    return xr.Dataset(
        data_vars={
            "rate": (("neuron", "time"), rate, {"units": "Hz", "long_name": "firing rate"}),
            "voltage": (
                ("time", "neuron"),
                np.arange(18, dtype=np.float64).reshape(3, 6) / 7.0,
                {"units": "mV", "long_name": "membrane potential"},
            ),
            "spike_count": (
                ("population",),
                np.array([12, -(2**40)], dtype=np.int64),
                {"units": "1", "long_name": "number of spikes"},
            ),
        },
        coords={
            "time": ("time", np.array([0.0, 0.001, 0.002]), {"units": "s", "long_name": "time"}),
            "population": ("population", np.array(["E", "I"]), {"long_name": "population name"}),
            "neuron": ("neuron", np.arange(6, dtype=np.int32),
                       {"units": "1", "long_name": "neuron index"}),
            "neuron_population": ("neuron", np.array(["E", "E", "E", "E", "I", "I"]),
                                  {"long_name": "population of each neuron"}),
            "tau": ("neuron", np.array([0.02] * 4 + [0.01] * 2, dtype=np.float32),
                    {"units": "s", "long_name": "membrane time constant"}),
        },
        attrs={"title": "test run", "n_trials": 3},
    )


def provenance(**kw):
    args = {"device": "cpu", "seed": 1234, "wall_time_s": 2.5}
    args.update(kw)
    return io.make_provenance(CONFIG, **args)


def open_files() -> set:
    """Paths this process holds open (Linux); empty where /proc is missing."""
    fd_dir = Path("/proc/self/fd")
    if not fd_dir.is_dir():
        return set()
    paths = set()
    for fd in fd_dir.iterdir():
        try:
            paths.add(os.readlink(fd))
        except OSError:
            pass
    return paths


def leftovers(tmp_path) -> list:
    """Temporary files write_dataset might have left behind."""
    return sorted(p.name for p in tmp_path.rglob("*tmp*"))


# ---------------------------------------------------------------- round trip


def test_roundtrip_keeps_values_dtypes_and_dims(tmp_path):
    ds = make_ds()
    back = roundtrip(ds, tmp_path, provenance=provenance())

    assert list(back.data_vars) == ["rate", "voltage", "spike_count"]
    assert back["rate"].dims == ("neuron", "time")
    assert back["voltage"].dims == ("time", "neuron")
    assert dict(back.sizes) == {"neuron": 6, "time": 3, "population": 2}
    for name, dtype in [("rate", np.float32), ("voltage", np.float64),
                        ("spike_count", np.int64), ("neuron", np.int32), ("tau", np.float32)]:
        assert back[name].dtype == dtype, name
        np.testing.assert_array_equal(back[name].values, ds[name].values)
    assert back["spike_count"].values.tolist() == [12, -(2**40)]


def test_roundtrip_keeps_coordinates_including_strings(tmp_path):
    back = roundtrip(make_ds(), tmp_path, provenance=provenance())

    assert set(back.indexes) == {"time", "population", "neuron"}
    assert set(back.coords) == {"time", "population", "neuron", "neuron_population", "tau"}
    assert back["population"].values.tolist() == ["E", "I"]
    assert back["neuron_population"].dims == ("neuron",)
    assert back["neuron_population"].values.tolist() == ["E"] * 4 + ["I"] * 2
    assert back["population"].dtype.kind == "U"
    # Selecting by a string label must work after reading.
    assert back["spike_count"].sel(population="I").item() == -(2**40)


def test_roundtrip_keeps_attributes(tmp_path):
    ds = make_ds()
    back = roundtrip(ds, tmp_path, provenance=provenance())
    for name in ds.variables:
        assert back[name].attrs.get("units") == ds[name].attrs.get("units"), name
        assert back[name].attrs["long_name"] == ds[name].attrs["long_name"], name
    assert back.attrs["title"] == "test run"
    assert back.attrs["n_trials"] == 3


def test_roundtrip_is_identical_apart_from_provenance(tmp_path):
    ds = make_ds()
    back = roundtrip(ds, tmp_path)
    assert set(back.attrs) - set(ds.attrs) == {"Conventions", "history"}  # the writer's own
    back.attrs = {k: v for k, v in back.attrs.items() if k in ds.attrs}
    xr.testing.assert_identical(back, ds)


def test_roundtrip_keeps_provenance(tmp_path):
    back = roundtrip(make_ds(), tmp_path, provenance=provenance(extra={"n_runs": 7}))
    prov = io.read_provenance(back)

    expected_text = yaml.safe_dump(CONFIG, sort_keys=False)
    assert prov["config"] == expected_text
    assert prov["config_sha256"] == hashlib.sha256(expected_text.encode("utf-8")).hexdigest()
    assert prov["config_dict"] == CONFIG
    assert prov["seed"] == 1234 and isinstance(prov["seed"], int)
    assert prov["device"] == "cpu"
    assert prov["wall_time_s"] == 2.5
    assert prov["n_runs"] == 7
    assert prov["einet_version"] == einet.__version__
    assert prov["xarray_version"] == xr.__version__
    for key in ("torch_version", "python_version", "git_commit", "created", "hostname"):
        assert isinstance(prov[key], str) and prov[key], key
    assert back.attrs["einet_seed"] == 1234


def test_read_provenance_from_path_matches_dataset(tmp_path):
    path = io.write_dataset(make_ds(), tmp_path / "a.nc", provenance=provenance(seed=5))
    assert io.read_provenance(path)["seed"] == 5
    assert io.read_provenance(path)["config_dict"] == CONFIG


def test_provenance_none_keeps_input_provenance(tmp_path):
    first = roundtrip(make_ds(), tmp_path, provenance=provenance(seed=99))
    derived = first.assign(total=first["rate"].sum("neuron").assign_attrs(
        units="Hz", long_name="summed rate"))
    path = io.write_dataset(derived, tmp_path / "derived.nc")  # provenance=None
    prov = io.read_provenance(path)
    assert prov["seed"] == 99
    assert prov["config"] == yaml.safe_dump(CONFIG, sort_keys=False)


def test_new_provenance_replaces_old_entirely(tmp_path):
    first = roundtrip(make_ds(), tmp_path, provenance=provenance(extra={"stale": 1}))
    path = io.write_dataset(first, tmp_path / "b.nc", provenance=provenance(seed=7))
    prov = io.read_provenance(path)
    assert prov["seed"] == 7
    assert "stale" not in prov


def test_provenance_dict_from_read_provenance_can_be_written(tmp_path):
    path = io.write_dataset(make_ds(), tmp_path / "a.nc", provenance=provenance(seed=11))
    prov = io.read_provenance(path)
    out = io.write_dataset(make_ds(), tmp_path / "c.nc", provenance=prov)
    again = io.read_provenance(out)
    assert again["seed"] == 11
    assert again["config_dict"] == CONFIG
    assert "einet_config_dict" not in io.read_dataset(out).attrs


def test_bool_attributes_become_ints(tmp_path):
    ds = make_ds()
    ds.attrs["converged"] = True
    ds["rate"].attrs["clipped"] = np.array([True, False])
    back = roundtrip(ds, tmp_path)
    assert back.attrs["converged"] == 1
    assert back["rate"].attrs["clipped"].tolist() == [1, 0]
    # The caller's dataset is not modified.
    assert ds.attrs["converged"] is True
    assert ds["rate"].attrs["clipped"].dtype == bool


def test_numeric_array_attribute_roundtrips(tmp_path):
    ds = make_ds()
    ds["rate"].attrs["valid_range"] = np.array([0.0, 500.0])
    back = roundtrip(ds, tmp_path)
    assert back["rate"].attrs["valid_range"].tolist() == [0.0, 500.0]


def test_write_does_not_mutate_caller_dataset(tmp_path):
    ds = make_ds()
    ds["rate"].encoding = {"chunksizes": (1, 1), "zlib": False}
    before = ds.copy(deep=True)
    io.write_dataset(ds, tmp_path / "x.nc", provenance=provenance())
    xr.testing.assert_identical(ds, before)
    assert ds["rate"].encoding == {"chunksizes": (1, 1), "zlib": False}
    assert not any(k.startswith("einet_") for k in ds.attrs)


def test_stale_encoding_from_read_file_does_not_break_write(tmp_path):
    back = roundtrip(make_ds(), tmp_path)
    smaller = back.isel(neuron=slice(0, 2))  # keeps encoding with old chunk sizes
    out = io.read_dataset(io.write_dataset(smaller, tmp_path / "small.nc"))
    assert out.sizes["neuron"] == 2
    np.testing.assert_array_equal(out["rate"].values, make_ds()["rate"].values[:2])


# ---------------------------------------------------------------- file format


def test_file_is_netcdf4_and_numeric_variables_are_zlib_compressed(tmp_path):
    path = io.write_dataset(make_ds(), tmp_path / "c.nc", provenance=provenance())
    with netCDF4.Dataset(path) as nc:
        assert nc.file_format == "NETCDF4"
        for name in ("rate", "voltage", "spike_count", "time", "neuron", "tau"):
            filters = nc.variables[name].filters()
            assert filters["zlib"] is True, name
            assert filters["complevel"] == 4, name
        for name in ("population", "neuron_population"):
            var = nc.variables[name]
            assert var.dtype == "S1" and var.getncattr("_Encoding") == "utf-8", name  # CF char arrays
            assert var.filters()["zlib"] is False, name


def test_file_states_its_conventions_and_the_command_that_wrote_it(tmp_path):
    """CF tools read ``Conventions``; ``history`` says what made the file, once (a re-written file's
    old history is not carried on)."""
    from datetime import datetime

    with io.recorded_command(["einet", "simulate", "a b.yaml"]):
        first = io.write_dataset(make_ds(), tmp_path / "first.nc")
    again = io.write_dataset(io.read_dataset(first), tmp_path / "again.nc")
    with netCDF4.Dataset(first) as nc:
        assert nc.Conventions == io.CONVENTIONS == "CF-1.8"
        stamp, command = nc.history.split(": ", 1)
    datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ")
    assert command == "einet simulate 'a b.yaml'"
    with netCDF4.Dataset(again) as nc:
        assert "\n" not in nc.history and "einet simulate" not in nc.history  # outside the block: sys.argv


def test_strings_carry_no_units(tmp_path):
    """A label is not a quantity: units on one are refused, so no file calls a name dimensionless."""
    ds = make_ds()
    ds["population"].attrs["units"] = "1"
    with pytest.raises(EinetError, match="'population': strings have no units"):
        io.write_dataset(ds, tmp_path / "out.nc")
    assert leftovers(tmp_path) == []


def test_write_creates_parent_directories(tmp_path):
    target = tmp_path / "a" / "b" / "c.nc"
    assert io.write_dataset(make_ds(), target) == target
    assert target.is_file()


# ---------------------------------------------------------------- validation


@pytest.mark.parametrize("missing", ["units", "long_name"])
@pytest.mark.parametrize("name", ["rate", "time", "neuron"])
def test_missing_required_attribute_fails_before_any_file(tmp_path, name, missing):
    ds = make_ds()
    del ds[name].attrs[missing]
    target = tmp_path / "sub" / "out.nc"
    with pytest.raises(EinetError) as err:
        io.write_dataset(ds, target)
    assert repr(name) in str(err.value)
    assert missing in str(err.value)
    assert not target.exists()
    assert not target.parent.exists()  # nothing, not even the directory
    assert leftovers(tmp_path) == []


def test_every_offending_variable_is_named(tmp_path):
    ds = make_ds()
    ds["rate"].attrs["units"] = ""
    ds["voltage"].attrs["long_name"] = 3
    del ds["tau"].attrs["units"]
    with pytest.raises(EinetError) as err:
        io.write_dataset(ds, tmp_path / "out.nc")
    message = str(err.value)
    for name in ("'rate'", "'voltage'", "'tau'"):
        assert name in message
    assert "'time'" not in message
    assert not (tmp_path / "out.nc").exists()


@pytest.mark.parametrize("where", ["dataset", "variable"])
def test_bad_attribute_type_is_named(tmp_path, where):
    ds = make_ds()
    owner = ds if where == "dataset" else ds["rate"]
    owner.attrs["solver_options"] = {"method": "euler"}
    with pytest.raises(EinetError) as err:
        io.write_dataset(ds, tmp_path / "out.nc")
    assert "'solver_options'" in str(err.value)
    assert "dict" in str(err.value)
    assert "str, int, float" in str(err.value)
    assert not (tmp_path / "out.nc").exists()


@pytest.mark.parametrize("value", [[1, 2], None, np.zeros((2, 2)), np.array(["a", "b"])])
def test_other_bad_attribute_values_are_rejected(tmp_path, value):
    ds = make_ds()
    ds.attrs["bad"] = value
    with pytest.raises(EinetError, match="'bad'"):
        io.write_dataset(ds, tmp_path / "out.nc")


def test_datetime_variable_is_rejected_with_advice(tmp_path):
    ds = make_ds()
    ds["stamp"] = ("time", np.array(["2024-01-01"] * 3, dtype="datetime64[ns]"),
                   {"units": "s", "long_name": "stamp"})
    with pytest.raises(EinetError, match="'stamp'.*float"):
        io.write_dataset(ds, tmp_path / "out.nc")


# ---------------------------------------------------------------- atomicity


def test_failed_write_leaves_existing_file_untouched(tmp_path, monkeypatch):
    target = tmp_path / "out.nc"
    io.write_dataset(make_ds(), target, provenance=provenance(seed=1))
    original = target.read_bytes()

    def half_write(self, path, *args, **kwargs):
        with open(path, "wb") as handle:  # leave a partial file, then die
            handle.write(b"CDF\x01 partial")
        raise OSError("disk full")

    monkeypatch.setattr(xr.Dataset, "to_netcdf", half_write)
    with pytest.raises(OSError, match="disk full"):
        io.write_dataset(make_ds(), target, provenance=provenance(seed=2))

    assert target.read_bytes() == original
    assert [p.name for p in tmp_path.iterdir()] == ["out.nc"]
    monkeypatch.undo()
    assert io.read_provenance(target)["seed"] == 1


def test_interrupted_write_cleans_up_temp_file(tmp_path, monkeypatch):
    def interrupted(self, path, *args, **kwargs):
        open(path, "wb").close()
        raise KeyboardInterrupt

    monkeypatch.setattr(xr.Dataset, "to_netcdf", interrupted)
    with pytest.raises(KeyboardInterrupt):
        io.write_dataset(make_ds(), tmp_path / "new.nc")
    assert list(tmp_path.iterdir()) == []


def test_temp_file_is_written_next_to_target(tmp_path, monkeypatch):
    seen = []
    real = xr.Dataset.to_netcdf

    def spy(self, path, *args, **kwargs):
        seen.append(path)
        return real(self, path, *args, **kwargs)

    monkeypatch.setattr(xr.Dataset, "to_netcdf", spy)
    target = tmp_path / "d" / "out.nc"
    io.write_dataset(make_ds(), target)
    (tmp,) = seen
    assert tmp.parent == target.parent
    assert tmp.name.startswith(".out.nc.tmp-")
    assert not tmp.exists()
    assert leftovers(tmp_path) == []


# ---------------------------------------------------------------- reading


def test_read_missing_file_names_path(tmp_path):
    missing = tmp_path / "nowhere" / "result.nc"
    with pytest.raises(EinetError, match="result.nc") as err:
        io.read_dataset(missing)
    assert str(missing) in str(err.value)
    with pytest.raises(EinetError, match="result.nc"):
        io.read_provenance(missing)


def test_read_non_netcdf_file_gives_einet_error(tmp_path):
    bad = tmp_path / "bad.nc"
    bad.write_text("not netCDF")
    with pytest.raises(EinetError, match="bad.nc"):
        io.read_dataset(bad)


def test_file_can_be_replaced_after_reading(tmp_path):
    target = tmp_path / "out.nc"
    io.write_dataset(make_ds(), target, provenance=provenance(seed=1))
    first = io.read_dataset(target)
    assert str(target) not in open_files(), "read_dataset left the file open"

    changed = make_ds()
    changed["rate"] = changed["rate"] + 1.0
    io.write_dataset(changed, target, provenance=provenance(seed=2))

    # The first dataset is still usable: it was in memory, not on disk.
    np.testing.assert_array_equal(first["rate"].values, make_ds()["rate"].values)
    assert io.read_provenance(first)["seed"] == 1
    second = io.read_dataset(target)
    np.testing.assert_array_equal(second["rate"].values, make_ds()["rate"].values + 1.0)
    assert io.read_provenance(second)["seed"] == 2


def test_open_many_keeps_order(tmp_path):
    paths = []
    for seed in (3, 1, 2):
        paths.append(io.write_dataset(make_ds(), tmp_path / f"r{seed}.nc",
                                      provenance=provenance(seed=seed)))
    datasets = io.open_many(paths)
    assert [io.read_provenance(d)["seed"] for d in datasets] == [3, 1, 2]


def test_read_provenance_without_provenance_is_empty(tmp_path):
    assert io.read_provenance(roundtrip(make_ds(), tmp_path)) == {}


# ---------------------------------------------------------------- provenance


def test_make_provenance_fields():
    prov = provenance(extra={"flag": True})
    text = yaml.safe_dump(CONFIG, sort_keys=False)
    assert prov.config == text
    assert prov.config_sha256 == hashlib.sha256(text.encode()).hexdigest()
    assert prov.seed == 1234 and prov.wall_time_s == 2.5 and prov.device == "cpu"
    assert prov.created.endswith("+00:00")
    assert prov.extra == {"flag": 1, "command": prov.extra["command"]}  # the command is always recorded
    with io.recorded_command(["einet", "simulate", "a b.yaml"]):
        assert provenance().extra["command"] == "einet simulate 'a b.yaml'"
    attrs = prov.as_attrs()
    assert attrs["einet_config"] == text
    assert attrs["einet_version"] == einet.__version__
    assert attrs["einet_flag"] == 1
    assert all(key.startswith("einet_") for key in attrs)
    with pytest.raises(dataclasses.FrozenInstanceError):
        prov.seed = 3


def test_torch_version_matches_installed_torch():
    try:
        expected = importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        expected = "not installed"
    assert provenance().torch_version == expected


def test_torch_version_when_torch_is_not_importable(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    assert provenance().torch_version == "not installed"


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"seed": 1.5}, "seed"),
        ({"seed": True}, "seed"),
        ({"wall_time_s": "1 s"}, "wall_time_s"),
        ({"device": ""}, "device"),
        ({"extra": {"seed": 3}}, "reserved"),
        ({"extra": {"opts": {"a": 1}}}, "'opts'"),
    ],
)
def test_make_provenance_rejects_bad_arguments(kwargs, fragment):
    with pytest.raises(EinetError, match=fragment):
        provenance(**kwargs)


def test_make_provenance_rejects_non_yaml_config():
    with pytest.raises(EinetError, match="YAML"):
        io.make_provenance({"x": object()}, device="cpu", seed=0, wall_time_s=0.0)


def _git(*args, cwd):
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.org",
         "-c", "commit.gpgsign=false", *args],
        cwd=cwd, check=True, capture_output=True,
    )


@pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")
def test_git_commit_clean_dirty_and_outside_repo(tmp_path, monkeypatch):
    outside = tmp_path / "outside"
    repo = tmp_path / "repo"
    outside.mkdir()
    repo.mkdir()
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    monkeypatch.setattr(io, "_SOURCE_DIR", outside)
    assert provenance().git_commit == "unknown"

    _git("init", "-q", cwd=repo)
    (repo / "code.py").write_text("x = 1\n")
    _git("add", "code.py", cwd=repo)
    _git("commit", "-q", "-m", "first", cwd=repo)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, check=True,
                          capture_output=True, text=True).stdout.strip()
    monkeypatch.setattr(io, "_SOURCE_DIR", repo)
    (repo / "untracked.txt").write_text("ignored for -dirty\n")
    assert provenance().git_commit == head
    (repo / "code.py").write_text("x = 2\n")
    assert provenance().git_commit == head + "-dirty"


def test_io_import_does_not_import_torch():
    code = "import sys, einet.io; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_atomic_write_keeps_the_old_file_and_no_temporary_when_the_writer_fails(tmp_path):
    target = tmp_path / "figure.png"
    target.write_text("old")

    def half_then_crash(tmp):
        tmp.write_text("half")
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError, match="killed"):
        io.atomic_write(target, half_then_crash)
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["figure.png"]
    seen = []
    io.atomic_write(target, lambda tmp: (seen.append(tmp.suffix), tmp.write_text("new")))
    assert target.read_text() == "new" and seen == [".png"]  # writers that pick a format by suffix see it


def test_model_files_share_one_format_and_refuse_another_kind(tmp_path):
    import torch

    from einet.training.checkpoint import read_model_file, save_model_file

    path = save_model_file("classifier", {"w": torch.ones(2)}, "name: x\n", tmp_path / "m.pt", sizes=[2, 1])
    payload = torch.load(path, weights_only=True)
    assert payload["kind"] == "classifier" and payload["config"] == "name: x\n" and payload["sizes"] == [2, 1]
    assert torch.equal(read_model_file(path, "classifier")["state_dict"]["w"], torch.ones(2))
    with pytest.raises(ValueError, match="a classifier model file, not a layered one"):
        read_model_file(path, "layered")
