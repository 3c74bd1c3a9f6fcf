"""The command line: every subcommand documents itself, and errors are one clear line."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
import yaml

from conftest import experiment
from einet.cli import main

COMMANDS = ["expand", "simulate", "train", "analyze", "collect", "figure", "kernels", "config-docs"]


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


def test_with_a_log_the_terminal_gets_one_line_and_the_log_the_traceback(tmp_path, capfd, monkeypatch):
    """What the rules do: --log takes everything, C-level output included; the verdict goes to both."""
    import einet.stages

    def broken(run, out, **options):
        os.write(2, b"a C library complains\n")
        return 1 / 0

    monkeypatch.setattr(einet.stages, "analyze", broken)
    garbage = tmp_path / "run.nc"
    log = tmp_path / "logs" / "analyze.log"
    assert main(["--log", str(log), "analyze", str(garbage), "--out", str(tmp_path / "out.nc")]) == 1
    terminal = capfd.readouterr().err.strip().splitlines()
    assert len(terminal) == 1 and terminal[0].startswith(f"einet analyze: {garbage}: ")
    assert terminal[0].endswith(f"(traceback in {log})")
    text = log.read_text()
    assert "ZeroDivisionError" in terminal[0] and "a C library complains" in text
    assert "Traceback (most recent call last)" in text and text.strip().endswith(terminal[0])
    assert not (tmp_path / "out.nc").exists()


def test_with_a_log_a_config_error_has_no_traceback(tmp_path, capfd):
    raw = experiment()
    raw["model"]["K"] = -1.0
    config = tmp_path / "job.yaml"
    config.write_text(yaml.safe_dump(raw))
    log = tmp_path / "simulate.log"
    assert main(["--log", str(log), "simulate", str(config), "--out", str(tmp_path / "run.nc")]) == 2
    line = f"einet simulate: {config}: config error: model.K: got -1.0, expected a number > 0"
    assert capfd.readouterr().err.strip() == line
    assert "Traceback" not in log.read_text() and log.read_text().strip().endswith(line)


@pytest.mark.slow
def test_every_stage_logs_what_it_read_did_and_wrote_in_whole_lines(tmp_path):
    """The rules' logs (--log, stderr not a terminal) say what each stage read, did and wrote, with timings,
    and progress bars leave complete lines there, not carriage-return redraws."""
    from einet.network.presets import balanced_ei

    raw = experiment(balanced_ei(100, 100, 10), sweep={"grid": {"model.K": [10]},
                                                       "batch": {"model.external.M0": [1.0, 2.0]}},
                     figures=["rates_vs_K"])
    raw["name"] = "tiny"
    raw["simulation"].update(duration=200.0, record={"every": 5.0, "average_from": 100.0})
    exp = tmp_path / "tiny.yaml"
    exp.write_text(yaml.safe_dump(raw, sort_keys=False))
    config, run, analysis = (tmp_path / "configs" / "K~10.yaml", tmp_path / "run.nc", tmp_path / "analysis.nc")
    summary, pdf, png = tmp_path / "summary.nc", tmp_path / "fig.pdf", tmp_path / "fig.png"
    stages = {
        "expand": ["expand", str(exp), "--scale", "quick", "--out", str(tmp_path / "configs")],
        "simulate": ["simulate", str(config), "--out", str(run), "--device", "cpu"],
        "analyze": ["analyze", str(run), "--out", str(analysis)],
        "collect": ["collect", str(analysis), "--out", str(summary)],
        "figure": ["figure", "rates_vs_K", str(summary), "--pdf", str(pdf), "--png", str(png)],
    }
    logs = {}
    for stage, args in stages.items():
        log = tmp_path / "logs" / f"{stage}.log"
        done = subprocess.run([sys.executable, "-m", "einet", "--log", str(log), *args], capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 0, (stage, done.stderr, log.read_text() if log.exists() else "")
        logs[stage] = log.read_text()
        assert "\r" not in logs[stage], stage
        bars = [line for line in logs[stage].splitlines() if "%" in line]  # a progress line has its percentage
        assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ einet\.progress INFO: [^:]+: +\d+% \(\d+/\d+ "
                                r"\w+\) after \d\d:\d\d, \d\d:\d\d to go, .*/s", line) for line in bars), bars
    seconds = r"in \d+\.\d\d s"
    assert re.search(f"read {re.escape(str(exp))} at scale quick: experiment tiny, 1 job \\(grid K: 1 value; "
                     r"batch M0: 2 values\)", logs["expand"])
    assert "defines no scale 'quick'" in logs["expand"] and f"wrote {config}" in logs["expand"]
    assert re.search(r"validated every job against the schema and the registries " + seconds, logs["expand"])
    assert re.search(f"read {re.escape(str(config))}: job K~10 of tiny, a rate run \\(batch M0: 2 values\\), on cpu",
                     logs["simulate"])
    assert re.search(r"einet\.progress INFO: simulate K~10: 100% \(400/400 step\) after \d\d:\d\d", logs["simulate"])
    assert re.search(r"simulated " + seconds, logs["simulate"])
    assert re.search(f"read {re.escape(str(run))} \\(9 variables over M0=2, population=2, time=40, .* kB\\): "
                     "job K~10 of tiny, a rate run", logs["analyze"])
    assert re.search(r"balance analysis " + seconds, logs["analyze"])
    assert re.search(f"read 1 analysis file of tiny \\(grid K\\), the first {re.escape(str(analysis))} "
                     r"\(\d+ variables over ", logs["collect"])
    assert re.search(r"combined 1 job along K " + seconds, logs["collect"])
    assert re.search(f"read {re.escape(str(summary))} .*: the balance analysis of tiny, 1 job", logs["figure"])
    assert re.search(r"drew figure rates_vs_K " + seconds, logs["figure"])
    assert re.search(f"wrote {re.escape(str(pdf))} \\(\\d+\\.\\d kB\\), {re.escape(str(png))} ", logs["figure"])
    for stage, out in (("simulate", run), ("analyze", analysis), ("collect", summary)):
        assert re.search(f"wrote {re.escape(str(out))} \\(\\d+ variables over .*; [\\d.]+ [kM]?B\\) " + seconds,
                         logs[stage]), stage
