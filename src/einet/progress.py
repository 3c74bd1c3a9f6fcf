"""Progress bars that suit where they are shown: a redrawn bar on a terminal, whole lines in a log.

A rule's log is a file, where tqdm's carriage-return redraws pile up into one unreadable line. Off a
terminal a bar therefore writes one complete line per refresh, at most one every :data:`LOG_INTERVAL_S`
seconds plus the final one, as an INFO record of the ``einet.progress`` logger (so it carries the log's
time stamps), or as a plain line on the stream where no logging is set up to show it. Every bar einet shows
is made by :func:`progress_bar`; code without a progress argument of its own (analyses) follows the
stage's setting through :func:`progress_shown`.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import sys
import time

from tqdm import tqdm

__all__ = ["LOG_INTERVAL_S", "progress_bar", "progress_shown"]

#: seconds between two progress lines off a terminal (a redrawn bar refreshes as often as its caller asks)
LOG_INTERVAL_S = 30.0

log = logging.getLogger("einet.progress")
_shown = contextvars.ContextVar("einet_progress_shown", default=True)
_LINE = ("{desc}: {percentage:3.0f}% ({n_fmt}/{total_fmt} {unit}) after {elapsed}, {remaining} to go, "
         "{rate_fmt}{postfix}")
_LINE_WITHOUT_TOTAL = "{desc}: {n_fmt} {unit} after {elapsed}, {rate_fmt}{postfix}"


@contextlib.contextmanager
def progress_shown(shown: bool):
    """Within this block, bars made with ``enabled=None`` are shown iff ``shown``: how a stage's quiet
    option reaches code that takes no progress argument."""
    token = _shown.set(bool(shown))
    try:
        yield
    finally:
        _shown.reset(token)


def progress_bar(iterable=None, *, desc: str, unit: str, total: int | None = None, enabled: bool | None = None,
                 file=None, mininterval: float | None = None, **kwargs) -> tqdm:
    """A tqdm bar on ``file`` (default: stderr as it is now), redrawn on a terminal and whole lines elsewhere.

    ``enabled=None`` follows :func:`progress_shown` (default shown); other keywords go to tqdm."""
    if not (_shown.get() if enabled is None else enabled):
        return tqdm(iterable, total=total, disable=True)
    stream = sys.stderr if file is None else file
    if _is_terminal(stream):
        timing = {} if mininterval is None else {"mininterval": mininterval}
        return tqdm(iterable, desc=desc, unit=unit, total=total, file=stream, **timing, **kwargs)
    interval = max(mininterval or 0.0, LOG_INTERVAL_S)
    return _LineBar(iterable, desc=desc or "progress", unit=unit, total=total, stream=stream,
                    mininterval=interval, maxinterval=max(interval, 1.0), **kwargs)


def _is_terminal(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


class _Nowhere:
    """Where a line bar's own tqdm output goes (its redraws and final newline): lines are written by display."""

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


class _LineBar(tqdm):
    """A tqdm bar whose display is one complete line, written when the count has moved since the last one
    (the start, an idle wait and a close right after a line add nothing to read) and, but for the final one,
    at least ``mininterval`` after it (``set_postfix`` redraws at once, every step in some loops)."""

    def __init__(self, *args, stream, **kwargs):
        self._stream = stream
        self._shown_n = kwargs.get("initial", 0)
        self._shown_t = time.time()  # tqdm's clock
        super().__init__(*args, file=_Nowhere(), **kwargs)

    def display(self, msg=None, pos=None):
        now = self._time()
        closing = self.disable  # close() disables the bar, then displays its final state
        if msg == "" or self.n == self._shown_n or (not closing and now - self._shown_t < self.mininterval):
            return True
        self._shown_n, self._shown_t = self.n, now
        line = msg or self.format_meter(**{**self.format_dict,
                                           "bar_format": _LINE if self.total else _LINE_WITHOUT_TOTAL})
        if log.isEnabledFor(logging.INFO) and log.hasHandlers():
            log.info("%s", line)
        else:
            self._stream.write(line + "\n")
            self._stream.flush()
        return True
