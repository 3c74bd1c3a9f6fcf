"""CPU thread policy: numbers that do not depend on the thread count, and a step loop never slower than 1 thread.

Two facts measured on the 2-core machines this project runs on shape it:

* MKL's single-precision matrix product picks a different kernel on 2 threads than on 1 for small batches
  (e.g. 6 x 512 times 512 x 512), so a run's last digits would depend on the thread count. MKL's strict
  conditional numerical reproducibility (``MKL_CBWR=AUTO,STRICT``) removes that, at the same or better
  speed here. ``import einet`` asks for it (it only works before MKL's first call); a user's own
  ``MKL_CBWR`` is kept, and :func:`products_independent_of_threads` checks that it took effect.
* On a shared machine an OpenMP team waits, spinning, for a thread the OS has descheduled: a step that
  takes 0.7 ms on 1 thread has taken 50 ms on 2. No wait policy wins both ways (passive waiting costs
  75 % on an idle machine), so :class:`ThreadGovernor` measures instead: it times a few steps on each
  thread count, keeps the faster, and measures again later, less often while the choice holds.

Changing the thread count mid-run is safe because the run's numbers do not depend on it
(``tests/test_threads.py`` checks the rate, spiking and task runs byte for byte, switching every step);
where the matrix products do depend on it (MKL ran before ``import einet``), the governor stays off.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from statistics import median
from typing import Callable, Iterator

import torch


_independent: bool | None = None


def products_independent_of_threads() -> bool:
    """Whether a small-batch float32 matrix product gives the same bits on 1 thread as on 2 (checked once)."""
    global _independent
    if _independent is None:
        threads = torch.get_num_threads()
        generator = torch.Generator().manual_seed(0)
        a, b = torch.rand(6, 96, generator=generator), torch.rand(96, 640, generator=generator)
        try:
            torch.set_num_threads(1)
            one = a @ b
            torch.set_num_threads(2)
            _independent = torch.equal(one, a @ b)
        finally:
            torch.set_num_threads(threads)
    return _independent


class ThreadGovernor:
    """Keeps a CPU step loop on the faster of ``threads`` and 1 thread; call :meth:`tick` after every step.

    A probe times ``probe_steps`` steps on the current choice, then on the other count (median, so one
    preempted step does not decide), and keeps the faster; the other count's steps stop early once one of
    them takes ``give_up`` times the current choice's median. The next probe comes ``interval_s`` of wall
    time later, doubling up to ``max_interval_s`` while the choice holds, so probing costs a few percent
    of a run at most. Three steps in a row ``give_up`` times slower than the choice measured (another
    job took the other core) start a probe at once, the other count first.
    """

    def __init__(self, threads: int, *, probe_steps: int = 5, interval_s: float = 0.5, max_interval_s: float = 30.0,
                 give_up: float = 2.0, clock: Callable[[], float] = time.perf_counter):
        self.threads = int(threads)
        self.active = self.threads > 1
        self.probe_steps, self.give_up = probe_steps, give_up
        self.first_interval, self.max_interval = interval_s, max_interval_s
        self.interval = interval_s
        self.clock = clock
        self.chosen = self.threads
        self.probes = 0  # probes finished, for the log and the tests
        self._order: tuple[int, ...] = ()  # the counts of the probe under way, in the order measured
        self._times: list[list[float]] = []
        self._next_probe = 0.0
        self._reference = float("inf")  # the chosen count's median step time at the last probe
        self._slow = 0  # steps in a row slower than give_up x reference
        self._last = clock()
        if self.active:
            torch.set_num_threads(self.chosen)

    def tick(self) -> None:
        """Record that one step ended; switch the thread count when a probe says so."""
        if not self.active:
            return
        now = self.clock()
        elapsed, self._last = now - self._last, now
        if not self._order:
            self._slow = self._slow + 1 if elapsed > self.give_up * self._reference else 0
            other = 1 if self.chosen > 1 else self.threads
            if self._slow >= 3:
                self._start_probe((other, self.chosen))
            elif now >= self._next_probe:
                self._start_probe((self.chosen, other))
            return
        times = self._times[-1]
        times.append(elapsed)
        hopeless = len(self._times) == 2 and elapsed > self.give_up * median(self._times[0])
        if len(times) < self.probe_steps and not hopeless:
            return
        if len(self._times) == 1:
            self._times.append([])
            torch.set_num_threads(self._order[1])
        else:
            self._finish_probe()
        self._last = self.clock()

    def _start_probe(self, order: tuple[int, int]) -> None:
        self._order, self._times, self._slow = order, [[]], 0
        torch.set_num_threads(order[0])
        self._last = self.clock()

    def _finish_probe(self) -> None:
        first, second = (median(t) for t in self._times)
        choice = self._order[0] if first <= second else self._order[1]
        self._reference = min(first, second)
        self.interval = min(2 * self.interval, self.max_interval) if choice == self.chosen else self.first_interval
        self.chosen = choice
        self.probes += 1
        self._order = ()
        torch.set_num_threads(choice)
        self._next_probe = self.clock() + self.interval

    def close(self) -> None:
        """Give torch back the thread count it was given."""
        if self.active:
            torch.set_num_threads(self.threads)


def governor_for(device: torch.device, threads: int | None = None) -> ThreadGovernor:
    """The step loop's governor: active on the CPU when more than 1 thread is allowed (``threads``, default
    torch's current count)."""
    count = torch.get_num_threads() if threads is None else threads
    governed = torch.device(device).type == "cpu" and count > 1 and products_independent_of_threads()
    return ThreadGovernor(count if governed else 1)


@contextmanager
def governed(device: torch.device, threads: int | None = None) -> Iterator[ThreadGovernor]:
    """``with governed(device) as governor:`` a step loop that calls ``governor.tick()`` after each step, and
    leaves torch's thread count as it found it."""
    governor = governor_for(device, threads)
    try:
        yield governor
    finally:
        governor.close()
