r"""The one-step map of a sampled subnetwork of an einet rate network.

Effective information needs a map from a state we can intervene on to a
state we can bin. For a ``RateNetwork`` that map is one integration step,

.. math::

    r_i(t + dt) = d_i\, r_i(t) + (1 - d_i)\, \Phi_i\Big(\sum_j W_{ij} r_j(t) + h_i\Big),
    \qquad d_i = e^{-dt/\tau_i},

the network's exact exponential-Euler step (``d = 0`` for an instantaneous
population); for small ``dt/tau`` it is ``r + dt/tau (-r + Phi(W r + h))``.

Tractability: networks have thousands of neurons, and every pairwise
measure costs ``n_in * n_out`` histograms, so a few ``neurons`` per
population are sampled (evenly spaced indices, as the recorder traces them)
and every other neuron is clamped at its ``rest`` rate. The clamped neurons
and the external drive become a constant bias, so the map of the sampled
neurons is exact for "everything else at rest", not an approximation.

The weights come from the network itself (``RateNetwork.currents``), so
every connectivity, profile, low-rank structure and Dale sign is what the
simulation uses. Noise is left out (EI measures the deterministic
mechanism; noise is not an intervention). Projections with short-term
plasticity or synaptic filtering are refused: their state is more than the
rates, so a map of rates alone would be wrong.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Mapping, Sequence

import torch

from einet.config.model import ModelSpec

__all__ = ["RateMap", "rate_map", "sample_indices", "default_range", "BOUNDED_TRANSFERS"]

#: Transfers with output in [0, r_max]: their range is known without looking at the network's state.
BOUNDED_TRANSFERS = ("sigmoid", "erf")


def sample_indices(size: int, neurons: int) -> torch.Tensor:
    """``neurons`` evenly spaced indices in ``range(size)`` (all of them if ``neurons >= size``)."""
    if neurons >= size:
        return torch.arange(size)
    return torch.unique(torch.linspace(0, size - 1, neurons).round().long())


def default_range(transfer, rest_mean: float, scale: float, population: str) -> tuple[float, float]:
    """The interval rates of a population are drawn from and binned over.

    Bounded transfers (sigmoid, erf) use their whole output range
    ``[0, r_max]``: every reachable rate, and the step maps it into itself
    (a convex mix of two values in it), so nothing is clipped. Threshold-linear
    and Brunel-Hakim rates have no upper bound, so the range is
    ``[0, scale * mean rest rate]``: rates cannot be negative, and a uniform
    draw over it has the rest (stationary) mean at its centre for
    ``scale = 2``, so interventions probe the regime the network lives in
    rather than an arbitrary one. Outputs beyond it land in the top bin.
    """
    if transfer.name in BOUNDED_TRANSFERS:
        return 0.0, float(transfer.r_max)
    if not rest_mean > 0:
        raise ValueError(
            f"population {population!r}: {transfer.name} rates are unbounded and the mean rest rate is "
            f"{rest_mean:g}; give its range explicitly (ranges={{{population!r}: (lo, hi)}})"
        )
    return 0.0, float(scale * rest_mean)


@dataclass(frozen=True)
class RateMap:
    """The one-step map of the sampled neurons (state vector ``[S, n]``, populations in order)."""

    populations: tuple[str, ...]
    slices: dict[str, slice]  # each population's place in the state vector
    indices: dict[str, torch.Tensor]  # sampled neuron indices within each population
    weight: torch.Tensor  # [n, n], W among sampled neurons
    bias: torch.Tensor  # [n], drive plus input from clamped neurons at rest
    decay: torch.Tensor  # [n]
    transfers: tuple  # (slice, fn, threshold, gain, r_max) per population
    rest: torch.Tensor  # [n]
    low: torch.Tensor  # [n], range of each sampled neuron
    high: torch.Tensor  # [n]

    @property
    def size(self) -> int:
        return int(self.weight.shape[0])

    def step(self, x: torch.Tensor) -> torch.Tensor:
        """One exponential-Euler step of ``x`` ``[S, n]``."""
        pre = torch.addmm(self.bias, x, self.weight.T)
        phi = torch.cat([fn(pre[:, sl], th, g, rm) for sl, fn, th, g, rm in self.transfers], dim=1)
        return self.decay * x + (1.0 - self.decay) * phi

    def unroll(self, x: torch.Tensor, steps: int) -> torch.Tensor:
        """``steps`` steps of the map (``steps = 1`` is ``step``)."""
        if steps < 1:
            raise ValueError(f"steps must be >= 1, got {steps}")
        for _ in range(steps):
            x = self.step(x)
        return x

    def positions(self, populations: Sequence[str]) -> torch.Tensor:
        """State-vector positions of the given populations' sampled neurons."""
        unknown = [p for p in populations if p not in self.slices]
        if unknown:
            raise KeyError(f"unknown population {unknown[0]!r}; known: {', '.join(self.populations)}")
        return torch.cat([torch.arange(self.slices[p].start, self.slices[p].stop) for p in populations])

    def restricted(self, sources: Sequence[str], targets: Sequence[str], steps: int = 1):
        """The map from the sources' sampled rates to the targets' after ``steps`` steps.

        Every other sampled neuron starts at rest (and then evolves with the
        subnetwork); neurons outside the sample stay clamped at rest.
        """
        src, tgt = self.positions(sources), self.positions(targets)

        def fn(x: torch.Tensor) -> torch.Tensor:
            state = self.rest.expand(x.shape[0], self.size).clone()
            state[:, src] = x.to(state.dtype)
            return self.unroll(state, steps)[:, tgt]

        return fn, src, tgt


def _rest_vector(rest, sizes: Mapping[str, int]) -> dict[str, torch.Tensor]:
    """Per-population rest rates from a float, a {population: float} mapping or a per-neuron vector."""
    total = sum(sizes.values())
    if isinstance(rest, Mapping):
        return {p: torch.full((n,), float(rest.get(p, 0.0)), dtype=torch.float64) for p, n in sizes.items()}
    values = torch.as_tensor(rest, dtype=torch.float64).flatten()
    if values.numel() == 1:
        values = values.expand(total)
    if values.numel() != total:
        raise ValueError(f"rest has {values.numel()} values; expected 1 or one per neuron ({total})")
    out, start = {}, 0
    for p, n in sizes.items():
        out[p] = values[start : start + n].clone()
        start += n
    return out


def _check_supported(model: ModelSpec) -> None:
    for name, proj in model.projections.items():
        if proj.stp is not None or proj.tau_syn > 0:
            raise ValueError(
                f"projection {name!r} has short-term plasticity or synaptic filtering: its state is more than "
                "the rates, so the one-step map of rates is not defined"
            )


def rate_map(
    model: ModelSpec,
    dt: float,
    *,
    seed: int = 0,
    neurons: int = 32,
    rest=0.0,
    ranges: Mapping[str, tuple[float, float]] | None = None,
    range_scale: float = 2.0,
) -> RateMap:
    """The clamped one-step map of ``neurons`` sampled neurons per population of ``model``.

    Parameters
    ----------
    model : ModelSpec
        One batch element's model (see ``einet.config.sweep.batch_elements``).
    dt : float
        Time step [ms], as in ``simulation.dt``.
    seed : int
        ``simulation.seed``: the network is rebuilt with the run's connectivity.
    neurons : int
        Sampled neurons per population (evenly spaced indices).
    rest : float, {population: float} or per-neuron vector
        Rates of the clamped neurons, and of the sampled ones when not perturbed;
        a run's time-averaged rates put the map at the network's operating point.
    ranges : {population: (lo, hi)}, optional
        Overrides ``default_range`` per population.
    range_scale : float
        Upper end of unbounded rates as a multiple of the mean rest rate.
    """
    from einet.network.rate import RateNetwork
    from einet.neurons.transfer import TRANSFERS

    _check_supported(model)
    quiet = dataclasses.replace(model, external=dataclasses.replace(model.external, noise={}))
    names = list(model.populations)
    sizes = {p: model.populations[p].size for p in names}
    rest_by_pop = _rest_vector(rest, sizes)
    idx = {p: sample_indices(sizes[p], neurons) for p in names}
    width = max(len(i) for i in idx.values())
    net = RateNetwork([quiet] * width, dt, device="cpu", dtype=torch.float64, seed=seed, kernels="torch")
    state = net.initial_state()

    def inputs(rates: dict[str, torch.Tensor]) -> list[torch.Tensor]:
        full = tuple(rates.get(p, torch.zeros(width, sizes[p], dtype=torch.float64)) for p in names)
        with torch.no_grad():
            cur, _ = net.currents(state._replace(rates=full))
        return [cur.total(a) for a in range(len(names))]

    drive = inputs({})  # no rates: external drive only
    slices, start = {}, 0
    for p in names:
        slices[p] = slice(start, start + len(idx[p]))
        start += len(idx[p])
    n = start
    weight = torch.zeros(n, n, dtype=torch.float64)
    for b, src in enumerate(names):
        k = len(idx[src])
        onehot = torch.zeros(width, sizes[src], dtype=torch.float64)
        onehot[torch.arange(k), idx[src]] = 1.0
        response = inputs({src: onehot})
        for a, tgt in enumerate(names):
            block = (response[a][:k] - drive[a][:k])[:, idx[tgt]]  # [k sources, targets]
            weight[slices[tgt], slices[src]] = block.T
    rest_sampled = torch.cat([rest_by_pop[p][idx[p]] for p in names])
    at_rest = inputs({p: rest_by_pop[p].expand(width, sizes[p]) for p in names})
    bias = torch.cat([at_rest[a][0, idx[p]] for a, p in enumerate(names)]) - weight @ rest_sampled

    decay, low, high, transfers = [], [], [], []
    ranges = dict(ranges or {})
    unknown = sorted(set(ranges) - set(names))
    if unknown:
        raise KeyError(f"ranges: unknown population {unknown[0]!r}; known: {', '.join(names)}")
    for p in names:
        pop = model.populations[p]
        k = len(idx[p])
        decay.append(torch.full((k,), math.exp(-dt / pop.tau) if pop.tau > 0 else 0.0, dtype=torch.float64))
        lo, hi = ranges.get(p) or default_range(pop.transfer, float(rest_by_pop[p].mean()), range_scale, p)
        if not hi > lo:
            raise ValueError(f"ranges[{p!r}] must satisfy lo < hi, got ({lo}, {hi})")
        low.append(torch.full((k,), float(lo), dtype=torch.float64))
        high.append(torch.full((k,), float(hi), dtype=torch.float64))
        t = pop.transfer
        scalars = [torch.tensor(v, dtype=torch.float64) for v in (t.threshold, t.gain, t.r_max)]
        transfers.append((slices[p], TRANSFERS.get(t.name), *scalars))
    return RateMap(
        tuple(names), slices, idx, weight, bias, torch.cat(decay), tuple(transfers), rest_sampled,
        torch.cat(low), torch.cat(high),
    )
