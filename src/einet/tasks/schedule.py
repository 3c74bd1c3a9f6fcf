"""Epochs of a trial, in ms, and which one a time step falls in."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Epoch:
    """A named interval ``[start, stop)`` of a trial [ms]."""

    name: str
    start: float
    stop: float

    def __post_init__(self):
        if not self.stop > self.start >= 0:
            raise ValueError(f"epoch {self.name!r}: need 0 <= start < stop, got [{self.start}, {self.stop})")


class Schedule:
    """Consecutive epochs; a step belongs to the epoch containing its start time."""

    def __init__(self, epochs: list[Epoch]):
        for before, after in zip(epochs, epochs[1:]):
            if after.start != before.stop:
                raise ValueError(f"epochs {before.name!r} and {after.name!r} are not consecutive")
        names = [e.name for e in epochs]
        if len(set(names)) != len(names):
            raise ValueError(f"epoch names must be distinct: {names}")
        self.epochs = list(epochs)

    @classmethod
    def of(cls, *durations: tuple[str, float]) -> "Schedule":
        """Build from (name, duration) pairs, skipping zero durations."""
        epochs, t = [], 0.0
        for name, duration in durations:
            if duration > 0:
                epochs.append(Epoch(name, t, t + duration))
                t += duration
        return cls(epochs)

    @property
    def duration(self) -> float:
        return self.epochs[-1].stop

    def __getitem__(self, name: str) -> Epoch:
        for e in self.epochs:
            if e.name == name:
                return e
        raise KeyError(f"no epoch {name!r}; epochs: {', '.join(e.name for e in self.epochs)}")

    def epoch_at(self, t: float) -> str | None:
        for e in self.epochs:
            if e.start <= t < e.stop:
                return e.name
        return None

    def n_steps(self, dt: float) -> int:
        return int(round(self.duration / dt))


class EpochInputs:
    """Delivers a fixed input per epoch to one population, one step at a time.

    Subclasses set ``schedule``, ``population``, ``sizes`` and ``_inputs``
    (epoch name -> tensor broadcastable to ``[batch, N]``); epochs without an
    entry deliver nothing.
    """

    schedule: Schedule
    population: int
    sizes: list[int]
    _inputs: dict

    def stimulus(self, step: int, dt: float):
        """One entry per population for this step (None where nothing is delivered), or None."""
        value = self._inputs.get(self.schedule.epoch_at(step * dt))
        if value is None:
            return None
        return tuple(value if a == self.population else None for a in range(len(self.sizes)))


def duration_fields(epochs: dict) -> dict:
    """A config's epoch durations as a task class's fields: the ``stimulus`` epoch is the field
    ``stimulus_duration`` (a task's ``stimulus(step, dt)`` method has that name)."""
    fields = dict(epochs)
    if "stimulus" in fields:
        fields["stimulus_duration"] = fields.pop("stimulus")
    return fields
