"""Progress bars: redrawn on a terminal, whole lines in a log file (what a rule's log is)."""

from __future__ import annotations

import io
import logging
import re

from tqdm import tqdm

from einet import progress
from einet.progress import progress_bar, progress_shown

LINE = re.compile(r"^count: +\d+% \(\d+/20 step\) after \d\d:\d\d, \d\d:\d\d to go, .*step/s(, loss=\d\.\d+)?$")


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _count(stream, by_update: bool) -> None:
    """Twenty steps, as a stage counts them: by update() or by iterating the bar."""
    if by_update:
        bar = progress_bar(total=20, desc="count", unit="step", file=stream, mininterval=0.0)
        for i in range(20):
            bar.update()
            bar.set_postfix(loss=f"{1 / (i + 1):.3f}")
        bar.close()
    else:
        for _ in progress_bar(range(20), desc="count", unit="step", file=stream):
            pass


def test_off_a_terminal_a_bar_writes_whole_lines_on_its_stream(monkeypatch, caplog):
    monkeypatch.setattr(progress, "LOG_INTERVAL_S", 0.0)  # a line per update, so that every kind shows
    caplog.set_level(logging.WARNING, logger="einet.progress")  # no INFO logging: the lines go to the stream
    for by_update in (True, False):
        stream = io.StringIO()
        _count(stream, by_update)
        text = stream.getvalue()
        assert "\r" not in text and text.endswith("\n")
        lines = text.splitlines()
        assert len(lines) == 20 and all(LINE.match(line) for line in lines), lines
        assert lines[-1].startswith("count: 100% (20/20 step)")


def test_off_a_terminal_with_info_logging_each_line_is_a_log_record(monkeypatch, caplog):
    monkeypatch.setattr(progress, "LOG_INTERVAL_S", 0.0)
    caplog.set_level(logging.INFO, logger="einet.progress")
    stream = io.StringIO()
    _count(stream, by_update=True)
    assert stream.getvalue() == ""
    messages = [r.getMessage() for r in caplog.records if r.name == "einet.progress"]
    assert len(messages) == 20 and all(LINE.match(m) for m in messages), messages


def test_off_a_terminal_lines_are_spaced_by_the_log_interval(caplog):
    """At the default interval a quick loop writes its final line only, never a line per step."""
    caplog.set_level(logging.WARNING, logger="einet.progress")
    stream = io.StringIO()
    _count(stream, by_update=True)
    assert stream.getvalue().splitlines() == [stream.getvalue().strip()]
    assert stream.getvalue().startswith("count: 100% (20/20 step)")


def test_on_a_terminal_the_bar_is_redrawn_in_place():
    terminal = _Terminal()
    bar = progress_bar(total=3, desc="count", unit="step", file=terminal, mininterval=0.0)
    assert type(bar) is tqdm
    for _ in range(3):
        bar.update()
    bar.close()
    assert "\r" in terminal.getvalue() and "3/3" in terminal.getvalue()


def test_a_stage_setting_reaches_bars_that_take_no_argument_and_an_argument_wins():
    def shown(**enabled) -> bool:
        bar = progress_bar(total=3, desc="count", unit="step", file=io.StringIO(), **enabled)
        on = not bar.disable  # (close disables a bar)
        bar.close()
        return on

    with progress_shown(False):
        assert (shown(), shown(enabled=True)) == (False, True)
    assert (shown(), shown(enabled=False)) == (True, False)
