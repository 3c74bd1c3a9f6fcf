"""The command line: every subcommand documents itself, and errors are one clear line."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from conftest import experiment
from einet.cli import main

COMMANDS = ["expand", "simulate", "train", "analyze", "collect", "figure", "config-docs"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_subcommand_prints_help(command, capsys):
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    assert "usage: einet " + command in capsys.readouterr().out


def test_module_entry_point_runs():
    result = subprocess.run([sys.executable, "-m", "einet", "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    for command in COMMANDS:
        assert command in result.stdout


def test_config_error_exits_2_with_the_key(tmp_path, capsys):
    raw = experiment()
    raw["model"]["populations"]["E"]["size"] = 0
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(raw))
    assert main(["expand", str(path), "--list"]) == 2
    err = capsys.readouterr().err
    assert "model.populations.E.size" in err and "config error" in err


def test_expand_list_and_write(tmp_path, capsys):
    raw = experiment(sweep={"grid": {"simulation.seed": [3, 4]}})
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(raw))
    assert main(["expand", str(path), "--list"]) == 0
    assert capsys.readouterr().out.split() == ["seed~3", "seed~4"]
    assert main(["-q", "expand", str(path), "--out", str(tmp_path / "configs")]) == 0
    written = yaml.safe_load((tmp_path / "configs" / "seed~4.yaml").read_text())
    assert written["simulation"]["seed"] == 4 and written["job"]["grid"] == {"seed": 4}


def test_simulate_then_analyze_by_hand(tmp_path):
    raw = experiment()
    raw["simulation"].update(duration=1000.0, record={"every": 5.0, "average_from": 800.0})
    path = tmp_path / "job.yaml"
    path.write_text(yaml.safe_dump(raw))
    assert main(["-q", "simulate", str(path), "--out", str(tmp_path / "run.nc"), "--device", "cpu"]) == 0
    assert main(["-q", "analyze", str(tmp_path / "run.nc"), "--out", str(tmp_path / "analysis.nc")]) == 0
    from einet import io

    ds = io.read_dataset(tmp_path / "analysis.nc")
    # all-to-all network: the simulated rates are the linear-algebra fixed point (3, 2) ...
    assert abs(float(ds.rate.sel(population="E")) - 3.0) < 1e-3
    # ... which is also the mean-field solution, since all-to-all input has no quenched variance
    assert abs(float(ds.rate_meanfield.sel(population="I")) - 2.0) < 1e-9


def test_missing_input_file_is_one_clear_line(tmp_path, capsys):
    assert main(["analyze", str(tmp_path / "nope.nc"), "--out", str(tmp_path / "x.nc")]) == 1
    err = capsys.readouterr().err.strip()
    assert "nope.nc" in err and "\n" not in err


def test_missing_config_is_a_config_error(tmp_path, capsys):
    assert main(["simulate", str(tmp_path / "nope.yaml"), "--out", str(tmp_path / "x.nc")]) == 2
    err = capsys.readouterr().err
    assert "nope.yaml" in err and "existing YAML file" in err
