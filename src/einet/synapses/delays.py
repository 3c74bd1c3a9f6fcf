"""Transmission delays of whole steps, kept in a ring buffer.

A projection with delay ``d`` steps delivers at step ``t`` what its source
emitted at step ``t - d``. The buffer holds the last ``d`` steps of source
output, so any number of spikes can be in flight on one synapse at once
(a spike every step, a burst shorter than the delay, ...): each arrives
exactly ``d`` steps after it was sent, and none overwrites another.
``d = 0`` passes the input straight through.

The buffer is a ``[d, batch, neuron]`` tensor written in place (avoiding a
copy of the whole buffer every step is the point of a ring buffer); the
state returned by :func:`delay_step` shares it with the state passed in.
"""

from __future__ import annotations

from typing import NamedTuple

import torch


class DelayState(NamedTuple):
    """``buffer``: ``[delay, batch, neuron]`` outputs in flight; ``head``: the slot to read and then overwrite."""

    buffer: torch.Tensor
    head: int


def delay_steps(delay_ms: float, dt: float) -> int:
    """A delay in ms as whole steps; refuses delays that are not a multiple of dt (to 1e-9)."""
    n = round(delay_ms / dt)
    if delay_ms < 0 or abs(n * dt - delay_ms) > 1e-9 * max(1.0, abs(delay_ms)):
        raise ValueError(f"delay {delay_ms!r} ms is not a non-negative multiple of dt={dt!r} ms")
    return int(n)


def delay_initial(delay: int, shape, dtype=torch.float64, device=None) -> DelayState:
    """An empty line of ``delay`` steps for outputs of ``shape`` (``[batch, neuron]``)."""
    if int(delay) != delay or delay < 0:
        raise ValueError(f"delay must be a non-negative whole number of steps, got {delay!r}")
    return DelayState(torch.zeros((int(delay), *shape), dtype=dtype, device=device), 0)


def delay_step(x: torch.Tensor, state: DelayState) -> tuple[torch.Tensor, DelayState]:
    """Push this step's ``x`` and return what was pushed ``delay`` steps ago (zeros at first)."""
    d = state.buffer.shape[0]
    if d == 0:
        return x, state
    out = state.buffer[state.head].clone()
    state.buffer[state.head] = x
    return out, DelayState(state.buffer, (state.head + 1) % d)
