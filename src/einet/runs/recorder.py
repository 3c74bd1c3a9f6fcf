"""The recorder: what a simulation keeps, sampled every k steps, on the device.

Three kinds of record, all cheap enough to take at every sample:

* population means of every variable, ``[time, batch, population]``;
* traces of the chosen variables for a subset of neurons, ``[time, batch, sample]``;
* per-neuron time averages of every variable over ``[average_from, duration)``,
  ``[batch, neuron]``, which is what rate distributions and balance analyses need
  without storing every neuron at every time.
"""

from __future__ import annotations

import numpy as np
import torch

from einet.measures.bump import decode
from einet.config.experiment import RECORDABLE, RecordSpec, record_window_error, sample_stride
from einet.errors import ConfigError, SimulationDiverged
from einet.network.memory import require


def sample_indices(size: int, count: int) -> list[int]:
    """``count`` evenly spaced neuron indices in ``range(size)`` (all if count >= size)."""
    if count >= size:
        return list(range(size))
    return sorted({int(round(i)) for i in np.linspace(0, size - 1, count)})


class Recorder:
    """Collects samples of a :class:`~einet.network.rate.RateNetwork` run.

    Parameters
    ----------
    network : RateNetwork
    record : RecordSpec
    n_steps : int
        Steps the run will take; sample ``k`` is taken before step ``k * every``.
    max_rate : float
        A rate above this bound, NaN or infinity raises :class:`SimulationDiverged`.
    batch_labels : list of str
        A readable label per batch element, used in divergence messages.
    """

    def __init__(self, network, record: RecordSpec, n_steps: int, max_rate: float, batch_labels=None):
        self.net = network
        problem = record_window_error(n_steps, network.dt, record, n_steps * network.dt)
        if problem:  # a task's schedule may be shorter than its window: refused before the first step
            raise ConfigError(*problem)
        self.every = sample_stride(record, network.dt)
        self.n_samples = (n_steps + self.every - 1) // self.every
        self.average_start = int(round(record.average_from / network.dt))
        self.traced = list(record.variables)
        self.max_rate = max_rate
        self.batch_labels = batch_labels or [str(i) for i in range(network.batch_size)]
        B, P = network.batch_size, len(network.sizes)
        kw = dict(dtype=network.dtype, device=network.device)
        self.samples = [sample_indices(n, record.neurons) for n in network.sizes]
        self._check_fits(record)
        self.means = {v: torch.zeros(self.n_samples, B, P, **kw) for v in RECORDABLE}
        n_traced = sum(len(s) for s in self.samples)
        self.traces = {v: torch.zeros(self.n_samples, B, n_traced, **kw) for v in self.traced}
        self.sums = {v: [torch.zeros(B, n, **kw) for n in network.sizes] for v in RECORDABLE}
        self.n_averaged = 0
        self.stp_projections = [
            (i, name) for i, name in enumerate(network.projection_names) if network.has_stp(name)
        ]
        self.bump = {v: torch.zeros(self.n_samples, B, P, **kw) for v in ("m0", "m1", "phase")} if record.bump else {}
        self.stp_means = {v: torch.zeros(self.n_samples, B, len(self.stp_projections), **kw) for v in ("u", "x")}
        # u and x of the traced neurons of each STP projection's source population (NaN-padded)
        self.stp_samples = [self.samples[network.source_index(name)] for _, name in self.stp_projections]
        width = max((len(s) for s in self.stp_samples), default=0)
        self.stp_traces = {v: torch.full((self.n_samples, B, len(self.stp_projections), width), float("nan"), **kw)
                           for v in ("u", "x")} if width else {}
        self._overlap_vectors = [
            network.low_rank_vectors[name][0].to(**kw) / size
            for name, size in zip(network.population_names, network.sizes)
        ] if record.overlaps else []
        rank = self._overlap_vectors[0].shape[1] if self._overlap_vectors else 0
        self.overlaps = torch.zeros(self.n_samples, B, P, rank, **kw) if rank else None
        self._sample_index = [torch.tensor(s, dtype=torch.long, device=network.device) for s in self.samples]
        self.times = np.arange(self.n_samples) * self.every * network.dt
        self._k = 0
        self._first_bad = None  # off the CPU: [population, batch] step of the first bad sample, -1 while fine

    def _check_fits(self, record: RecordSpec) -> None:
        """Refuse, before anything is allocated, a record that would not fit: every buffer below grows with
        the number of samples (duration / record.every), and the run file holds a host copy of each."""
        net = self.net
        B, P = net.batch_size, len(net.sizes)
        n_traced = sum(len(s) for s in self.samples)
        n_stp = sum(net.has_stp(name) for name in net.projection_names)
        width = max((len(self.samples[net.source_index(name)]) for name in net.projection_names
                     if net.has_stp(name)), default=0)
        rank = net.low_rank_vectors[net.population_names[0]][0].shape[1] if record.overlaps else 0
        per_sample = B * (P * len(RECORDABLE) + n_traced * len(record.variables) + 3 * P * record.bump
                          + 2 * n_stp * (1 + width) + P * rank)
        itemsize = torch.empty((), dtype=net.dtype).element_size()
        buffers = self.n_samples * per_sample * itemsize
        advice = (f"record fewer samples ({self.n_samples} now: raise simulation.record.every or shorten "
                  "simulation.duration) or trace fewer neurons (simulation.record.neurons)")
        what = f"recording {self.n_samples} samples"
        if net.device.type == "cpu":
            require(2 * buffers, net.device, what, advice)
        else:
            require(buffers, net.device, what, advice)
            require(buffers, torch.device("cpu"), f"{what} (the host copy)", advice)

    def wants(self, step: int) -> bool:
        return step % self.every == 0

    def observe(self, step: int, state, currents) -> None:
        """Take sample ``step // every`` from the state and the inputs its rates produce."""
        k = self._k
        self._k += 1
        rates = state.rates
        self.check_finite(step, rates)
        for a, r in enumerate(rates if self.bump else ()):
            m0, m1, phase = decode(r)
            self.bump["m0"][k, :, a], self.bump["m1"][k, :, a], self.bump["phase"][k, :, a] = m0, m1, phase
        for a, vectors in enumerate(self._overlap_vectors):
            self.overlaps[k, :, a] = rates[a] @ vectors
        for column, (i, _) in enumerate(self.stp_projections):
            stp = state.plasticity[i]
            self.stp_means["u"][k, :, column] = stp.u.mean(dim=1)
            self.stp_means["x"][k, :, column] = stp.x.mean(dim=1)
            if self.stp_traces:
                idx = self._sample_index[self.net.source_index(self.stp_projections[column][1])]
                self.stp_traces["u"][k, :, column, : len(idx)] = stp.u.index_select(1, idx)
                self.stp_traces["x"][k, :, column, : len(idx)] = stp.x.index_select(1, idx)
        values = {
            "rate": rates,
            "current_exc": currents.exc,
            "current_inh": currents.inh,
            "current_ext": currents.ext,
        }
        averaging = step >= self.average_start
        for name, per_pop in values.items():
            for a, x in enumerate(per_pop):
                self.means[name][k, :, a] = x.mean(dim=1)
                if averaging:
                    self.sums[name][a].add_(x)
            if name in self.traces:
                self.traces[name][k] = torch.cat(
                    [x.index_select(1, idx) for x, idx in zip(per_pop, self._sample_index)], dim=1
                )
        if averaging:
            self.n_averaged += 1

    def check_finite(self, step: int, rates, final: bool = False) -> None:
        """Stop a diverging run with where (time, population, batch element) and why.

        On the CPU every sample is checked as it is taken. On a device that would make the host wait for
        the device at every sample, so the verdicts are folded into a device tensor (the step of each
        population's and batch element's first bad sample) that is read every ``DEVICE_CHECK_EVERY``
        samples and at the end (``final``): the run stops a little later, naming the same first step."""
        if not defers_checks(self.net.device):
            check_finite(self.net, rates, step, self.max_rate, self.batch_labels)
            return
        peaks = torch.stack([r.abs().amax(dim=1) for r in rates])  # [population, batch]
        bad = ~torch.isfinite(peaks) | (peaks > self.max_rate)
        if self._first_bad is None:
            self._first_bad = torch.full(bad.shape, -1, dtype=torch.int64, device=bad.device)
        self._first_bad = torch.where(bad & (self._first_bad < 0), step, self._first_bad)
        if final or self._k % DEVICE_CHECK_EVERY == 0:
            first = self._first_bad.cpu()
            if bool((first >= 0).any()):
                when = int(first[first >= 0].min())
                a, b = (int(i) for i in torch.nonzero(first == when)[0])
                raise SimulationDiverged(
                    f"simulation diverged at t = {when * self.net.dt:g} ms in population "
                    f"{self.net.population_names[a]}, batch element {self.batch_labels[b]}: NaN, infinite rate "
                    f"or a rate above simulation.max_rate = {self.max_rate:g} (checked on the device every "
                    f"{DEVICE_CHECK_EVERY} samples). Reduce dt, weaken the couplings or check the external drive."
                )

    def averages(self) -> dict[str, np.ndarray]:
        """Per-neuron time averages ``[batch, neuron]`` (all populations concatenated)."""
        n = max(self.n_averaged, 1)
        return {v: torch.cat(self.sums[v], dim=1).div(n).cpu().numpy() for v in RECORDABLE}


#: Samples between reads of a device run's divergence verdicts (each read waits for the device).
DEVICE_CHECK_EVERY = 256


def defers_checks(device: torch.device) -> bool:
    """Whether divergence checks are read back in batches (off the CPU) rather than at every sample."""
    return device.type != "cpu"


def check_finite(network, rates, step: int, max_rate: float, batch_labels) -> None:
    """Raise :class:`SimulationDiverged` naming time, population and batch element of a bad rate."""
    for a, r in enumerate(rates):
        peak = r.abs().amax(dim=1)
        bad = ~torch.isfinite(peak) | (peak > max_rate)
        if bool(bad.any()):
            b = int(torch.nonzero(bad)[0])
            value = float(peak[b])
            why = "NaN" if np.isnan(value) else "infinite rate" if np.isinf(value) else (
                f"rate {value:.3g} above simulation.max_rate = {max_rate:g}"
            )
            raise SimulationDiverged(
                f"simulation diverged at t = {step * network.dt:g} ms in population "
                f"{network.population_names[a]}, batch element {batch_labels[b]}: {why}. "
                "Reduce dt, weaken the couplings or check the external drive."
            )
