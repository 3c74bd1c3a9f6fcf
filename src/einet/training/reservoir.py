"""Readouts of a reservoir (:mod:`einet.network.reservoir`) trained by ridge regression or by FORCE (RLS with
the output fed back), and the held-out R² they reach."""

from __future__ import annotations

import math

import torch

from einet.network.reservoir import (
    QIFReservoir, Reservoir, qif_run_initial, qif_run_step, run_open_loop, run_qif_open_loop,
)
from einet.training.ridge import fit_ridge
from einet.training.rls import rls_initial, rls_step

__all__ = ["r_squared", "train_force", "train_ridge"]


def r_squared(target: torch.Tensor, output: torch.Tensor) -> float:
    """Coefficient of determination of ``output`` for ``target`` (``[T, K]``, pooled over outputs)."""
    resid = ((target - output) ** 2).sum()
    total = ((target - target.mean(0)) ** 2).sum()
    return float(1.0 - resid / total)


def train_ridge(res: Reservoir | QIFReservoir, inputs: torch.Tensor, target: torch.Tensor, dt: float, n_train: int,
                washout: int = 100, alpha: float = 1e-4) -> tuple[torch.Tensor, float]:
    """Fit on the first ``n_train`` steps (after ``washout``); returns the whole output ``[T, K]`` and held-out R².

    A :class:`QIFReservoir` is read out through its traces.
    """
    if isinstance(res, QIFReservoir):
        rates, _ = run_qif_open_loop(res, inputs, dt)
    else:
        rates = run_open_loop(res, inputs, dt)
    readout = fit_ridge(rates[:n_train], target[:n_train], alpha=alpha, washout=washout)
    output = readout(rates)
    return output, r_squared(target[n_train:], output[n_train:])


def train_force(res: Reservoir | QIFReservoir, inputs: torch.Tensor, target: torch.Tensor, dt: float, n_train: int,
                alpha: float = 1.0, every: int = 2, washout: int = 100) -> tuple[torch.Tensor, float]:
    """FORCE: RLS with the output fed back during the first ``n_train`` steps, frozen afterwards.

    Returns the output ``[T, K]`` (fed back throughout) and the R² on the held-out steps after ``n_train``.
    A :class:`QIFReservoir` learns on its traces.
    """
    if isinstance(res, QIFReservoir):
        return _train_force_qif(res, inputs, target, dt, n_train, alpha, every, washout)
    a = math.exp(-dt / res.tau)
    n, k = res.J.shape[0], target.shape[1]
    state = rls_initial(n, k, alpha=alpha, dtype=res.J.dtype)
    x = torch.zeros(n, dtype=res.J.dtype)
    outputs = []
    for t, u in enumerate(inputs):
        r = torch.tanh(x)
        if washout <= t < n_train and t % every == 0:
            _, state = rls_step(r, target[t], state)
        z = state.predict(r)  # a-posteriori output: what the network sees
        outputs.append(z)
        x = a * x + (1 - a) * (res.J @ r + res.w_in @ u + res.w_fb @ z + res.bias)
    output = torch.stack(outputs)
    return output, r_squared(target[n_train:], output[n_train:])


def _train_force_qif(res: QIFReservoir, inputs, target, dt, n_train, alpha, every, washout):
    """:func:`train_force` on the traces of a QIF reservoir (the same loop: learn, read out, feed back, step)."""
    run, decay = qif_run_initial(res), math.exp(-dt / res.tau_syn)
    state = rls_initial(res.J.shape[0], target.shape[1], alpha=alpha, dtype=res.J.dtype)
    outputs = []
    for t, u in enumerate(inputs):
        r = run.trace
        if washout <= t < n_train and t % every == 0:
            _, state = rls_step(r, target[t], state)
        z = state.predict(r)
        outputs.append(z)
        run, _ = qif_run_step(res, run, u, z, dt, decay)
    output = torch.stack(outputs)
    return output, r_squared(target[n_train:], output[n_train:])
