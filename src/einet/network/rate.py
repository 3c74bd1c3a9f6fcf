"""The rate network: batched state, exact exponential-Euler steps.

.. math::

    \\tau_A \\frac{dr_i}{dt} = -r_i + \\Phi_A\\Big(\\sum_{B} J_{AB} \\sum_j S^{AB}_{ij} h^{AB}_j
        + \\sqrt{K}\\, M_0 J_{A0} + \\sigma_A \\xi_i\\Big)

integrated as :math:`r \\leftarrow r e^{-dt/\\tau} + \\Phi(\\cdot)(1 - e^{-dt/\\tau})`,
which is exact for a constant input, so fixed points do not depend on dt
(``tau = 0`` gives an instantaneous population, since the decay is then 0).
With ``tau_syn > 0`` a projection low-pass filters its input the same way.

State tensors are ``[batch, neuron]`` per population. Every batch element
shares the connectivity; couplings, drives, noise, time constants and
transfer parameters may differ across the batch (see
:data:`einet.config.sweep.BATCHABLE`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import NamedTuple, Sequence

import torch

from einet.fields import to_dict
from einet.config.sweep import BATCHABLE
from einet.errors import ConfigError
from einet.synapses import connectivity
from einet.numeric import ring_angles
from einet.network.memory import check_fits
from einet.config.model import ModelSpec, check_dale
from einet import kernels as compiled
from einet.synapses.stp import PER_MS, STPParams, STPState, stp_initial, stp_step, transmitted
from einet.neurons.transfer import TRANSFERS


class RateState(NamedTuple):
    """Rates per population ``[batch, N_A]``; synaptic currents and STP state per projection."""

    rates: tuple[torch.Tensor, ...]
    synapses: tuple[torch.Tensor | None, ...]
    plasticity: tuple[STPState | None, ...]


class Currents(NamedTuple):
    """Input per population ``[batch, N_A]``, split by origin (for balance analyses)."""

    exc: tuple[torch.Tensor, ...]
    inh: tuple[torch.Tensor, ...]
    ext: tuple[torch.Tensor, ...]

    def total(self, a: int) -> torch.Tensor:
        return self.exc[a] + self.inh[a] + self.ext[a]


@dataclass
class _Population:
    name: str
    size: int
    type: str
    transfer: object
    transfer_name: str
    threshold: torch.Tensor  # [batch, 1]
    gain: torch.Tensor
    r_max: torch.Tensor
    decay: torch.Tensor  # exp(-dt/tau), [batch, 1]
    drive: torch.Tensor  # constant external input, [batch, 1]
    noise: torch.Tensor  # per-step noise amplitude, [batch, 1]
    init_rate: torch.Tensor  # [batch, 1]
    init_modulation: torch.Tensor  # [batch, 1]
    init_phase: torch.Tensor  # [batch, 1], rad

    def initial_rates(self, batch_size: int) -> torch.Tensor:
        """init_rate (1 + init_modulation cos(theta - init_phase)) on the population's ring."""
        theta = ring_angles(self.size, dtype=self.init_rate.dtype).to(self.init_rate.device)
        bump = 1.0 + self.init_modulation * torch.cos(theta - self.init_phase)
        return (self.init_rate * bump).expand(batch_size, self.size).clone()


@dataclass
class _Projection:
    name: str
    source: int
    target: int
    sign: str  # exc, inh or mixed: where the projection's input is counted
    operator: object
    J: torch.Tensor  # [batch, 1]
    coefficient: torch.Tensor | None  # [batch, 1]: kappa (cosine) or low-rank strength, all-to-all
    syn_decay: float | None
    stp: STPParams | None = None


class RateNetwork(torch.nn.Module):
    """A batch of rate networks that share one connectivity.

    Parameters
    ----------
    specs : ModelSpec or sequence of ModelSpec
        One spec per batch element; they may differ only in batchable values.
    dt : float
        Time step [ms].
    device, dtype
        Where and in what precision to simulate.
    seed : int
        Seeds connectivity (drawn on the CPU) and noise.
    kernels : {"auto", "torch"}
        ``auto``: on the CPU, sparse projections multiply a batch with einet's
        pattern kernel (see :class:`~einet.synapses.connectivity.SparseOperator`)
        and the STP and threshold-linear updates run fused
        (:mod:`einet.kernels`, ``rate_step``) when they can be built;
        ``torch``: plain torch.
    """

    def __init__(
        self,
        specs: ModelSpec | Sequence[ModelSpec],
        dt: float,
        *,
        device: str | torch.device = "cpu",
        dtype: torch.dtype = torch.float32,
        seed: int = 0,
        kernels: str = "auto",
    ):
        super().__init__()
        self.kernels = kernels
        specs = [specs] if isinstance(specs, ModelSpec) else list(specs)
        if not specs:
            raise ValueError("at least one ModelSpec is needed")
        _check_shared_structure(specs)
        self.spec = specs[0]
        self.batch_size = len(specs)
        self.dt = float(dt)
        self.device = torch.device(device)
        self.dtype = dtype
        self.seed = int(seed)
        check_fits(self.spec, self.batch_size, dtype, self.device, kernels)
        self.population_names = list(self.spec.populations)
        self._index = {name: a for a, name in enumerate(self.population_names)}
        self._pops = [self._build_population(name, specs) for name in self.population_names]
        generator = torch.Generator().manual_seed(self.seed)
        self.low_rank_vectors = connectivity.network_low_rank_vectors(self.spec, self.seed)
        self._projs = [self._build_projection(name, specs, generator) for name in self.spec.projections]
        self._noise_generator = torch.Generator(device=self.device).manual_seed(self.seed + 1)
        self._has_noise = any(bool((p.noise > 0).any()) for p in self._pops)

    # ------------------------------------------------------------- building
    def _column(self, values) -> torch.Tensor:
        return torch.tensor(values, dtype=self.dtype, device=self.device).reshape(-1, 1)

    def _build_population(self, name: str, specs: Sequence[ModelSpec]) -> _Population:
        pops = [s.populations[name] for s in specs]
        p0 = pops[0]
        ext_scale = [math.sqrt(s.external_K) if s.external_K is not None else 1.0 for s in specs]
        drive = [k * s.external.M0 * s.external.J.get(name, 0.0) for k, s in zip(ext_scale, specs)]
        noise = [
            s.external.noise.get(name, 0.0) * (math.sqrt(p.tau / self.dt) if p.tau > 0 else 1.0)
            for s, p in zip(specs, pops)
        ]
        return _Population(
            name=name,
            size=p0.size,
            type=p0.type,
            transfer=TRANSFERS.get(p0.transfer.name),
            transfer_name=p0.transfer.name,
            threshold=self._column([p.transfer.threshold for p in pops]),
            gain=self._column([p.transfer.gain for p in pops]),
            r_max=self._column([p.transfer.r_max for p in pops]),
            decay=self._column([math.exp(-self.dt / p.tau) if p.tau > 0 else 0.0 for p in pops]),
            drive=self._column(drive),
            noise=self._column(noise),
            init_rate=self._column([p.init_rate for p in pops]),
            init_modulation=self._column([p.init_modulation for p in pops]),
            init_phase=self._column([math.radians(p.init_phase) for p in pops]),
        )

    def _build_projection(self, name: str, specs: Sequence[ModelSpec], generator) -> _Projection:
        projs = [s.projections[name] for s in specs]
        p0 = projs[0]
        source, target = self._index[p0.source], self._index[p0.target]
        n_t, n_s = self._pops[target].size, self._pops[source].size
        if p0.connectivity == "sparse":
            op, coefficient = self._sparse_operator(name, projs, n_t, n_s, generator), None
        else:
            op, coefficient = self._all_to_all_operator(name, projs, n_t, n_s)
        source_type = self.spec.populations[p0.source].type
        for i, p in enumerate(projs):  # Dale's law, re-checked on every batch element
            check_dale(source_type, p.J, f"batch element {i}: model.projections.{name}.J", p0.source)
        return _Projection(
            name=name,
            source=source,
            target=target,
            sign=source_type,
            operator=op,
            J=self._column([p.J for p in projs]),
            coefficient=coefficient,
            syn_decay=math.exp(-self.dt / p0.tau_syn) if p0.tau_syn > 0 else None,
            stp=STPParams(
                U=self._column([p.stp.U for p in projs]),
                tau_fac=self._column([p.stp.tau_fac for p in projs]),
                tau_rec=self._column([p.stp.tau_rec for p in projs]),
            )
            if p0.stp is not None
            else None,
        )

    def _sparse_operator(self, name, projs, n_t, n_s, generator):
        p0 = projs[0]
        for key in ("kappa", "low_rank"):  # they shape the sampled synapses: shared by the whole batch
            for p in projs:
                if getattr(p, key) != getattr(p0, key):
                    raise ConfigError(
                        f"model.projections.{name}.{key}", getattr(p, key),
                        f"{getattr(p0, key)} as in batch element 0: the {key} of a sparse projection "
                        "shapes its connectivity, so it can only vary along a grid axis",
                    )
        vectors = self._vectors(p0)
        op = connectivity.sparse(
            p0, n_t, n_s, self.spec.in_degree(p0), generator, self.dtype, self.device, self.kernels, vectors
        )
        if vectors is not None and self.spec.populations[p0.source].type != "mixed":
            negative = float((op.matrix.values() < 0).double().mean())
            if negative > 0:
                raise ConfigError(
                    f"model.projections.{name}.low_rank", p0.low_rank,
                    f"a strength that keeps every weight's sign (Dale's law); {negative:.1%} of the "
                    "synapses change sign: reduce it or the spread of model.low_rank",
                )
        return op

    def _all_to_all_operator(self, name, projs, n_t, n_s):
        """The operator and its per-batch coefficient (kappa or low-rank strength, else None)."""
        p0 = projs[0]
        # a batch may mix strength 0 with others: build the low-rank factors if any element needs them
        shape = next((p for p in projs if p.low_rank != 0), p0)
        vectors = self._vectors(shape)
        op = connectivity.all_to_all(shape, n_t, n_s, self.dtype, self.device, vectors)
        if p0.profile == "cosine":
            return op, self._column([p.kappa for p in projs])
        if vectors is None:
            return op, None
        if self.spec.populations[p0.source].type != "mixed":  # Dale: 1 + s m_i.n_j >= 0 for every pair
            connectivity.check_low_rank_signs(name, vectors, [p.low_rank for p in projs])
        return op, self._column([p.low_rank for p in projs])

    def _vectors(self, proj):
        """(m of the target, n of the source) for a low-rank projection, else None."""
        if proj.low_rank == 0:
            return None
        return self.low_rank_vectors[proj.target][0], self.low_rank_vectors[proj.source][1]

    # ------------------------------------------------------------- accessors
    @property
    def sizes(self) -> list[int]:
        return [p.size for p in self._pops]

    @property
    def population_types(self) -> list[str]:
        return [p.type for p in self._pops]

    def projection_operator(self, name: str):
        """The structure operator of a projection (for analyses and tests)."""
        for proj in self._projs:
            if proj.name == name:
                return proj.operator
        raise KeyError(f"unknown projection {name!r}; known: {', '.join(p.name for p in self._projs)}")

    def weight_bytes(self) -> int:
        return sum(p.operator.nbytes() for p in self._projs)

    # ------------------------------------------------------------- dynamics
    def initial_state(self) -> RateState:
        rates = tuple(p.initial_rates(self.batch_size) for p in self._pops)
        synapses = tuple(
            torch.zeros(self.batch_size, self._pops[p.target].size, dtype=self.dtype, device=self.device)
            if p.syn_decay is not None
            else None
            for p in self._projs
        )
        plasticity = tuple(
            stp_initial(p.stp, self._pops[p.source].size) if p.stp is not None else None for p in self._projs
        )
        return RateState(rates, synapses, plasticity)

    @property
    def projection_names(self) -> list[str]:
        return [p.name for p in self._projs]

    def source_index(self, name: str) -> int:
        """Index of the source population of projection ``name``."""
        for proj in self._projs:
            if proj.name == name:
                return proj.source
        raise KeyError(f"unknown projection {name!r}; known: {', '.join(p.name for p in self._projs)}")

    def has_stp(self, name: str) -> bool:
        return any(p.name == name and p.stp is not None for p in self._projs)

    def currents(self, state: RateState, stimulus=None, carried=None) -> tuple[Currents, tuple[torch.Tensor | None, ...]]:
        """Inputs produced by the current rates (plus ``stimulus``), and the advanced synaptic currents.

        ``carried`` optionally gives, per projection, what its synapses transmit
        now when that was computed already (``u x r`` under STP; see :meth:`step`).
        """
        exc: list[torch.Tensor | None] = [None] * len(self._pops)
        inh: list[torch.Tensor | None] = [None] * len(self._pops)

        def add(into: list, a: int, value: torch.Tensor) -> None:  # out of place: drives may be kept as state
            into[a] = value if into[a] is None else into[a] + value

        new_syn = []
        for i, (proj, syn, stp) in enumerate(zip(self._projs, state.synapses, state.plasticity)):
            if carried is not None and carried[i] is not None:
                presynaptic = carried[i]
            else:
                presynaptic = state.rates[proj.source] if stp is None else transmitted(state.rates[proj.source], stp)
            drive = connectivity.apply_scaled(proj.operator, presynaptic, proj.coefficient, proj.J)
            if proj.syn_decay is not None:
                drive = syn * proj.syn_decay + drive * (1.0 - proj.syn_decay)
                new_syn.append(drive)
            else:
                new_syn.append(None)
            if proj.sign == "mixed":  # positive net input counts as excitation, negative as inhibition
                positive = drive.clamp(min=0.0)
                add(exc, proj.target, positive)
                add(inh, proj.target, drive - positive)
            else:
                add(exc if proj.sign == "exc" else inh, proj.target, drive)
        for a, pop in enumerate(self._pops):
            for into in (exc, inh):
                if into[a] is None:
                    into[a] = torch.zeros(self.batch_size, pop.size, dtype=self.dtype, device=self.device)
        ext = []
        for a, pop in enumerate(self._pops):
            e = pop.drive.expand(self.batch_size, pop.size)
            if self._has_noise:
                xi = torch.randn(
                    self.batch_size, pop.size, generator=self._noise_generator, dtype=self.dtype, device=self.device
                )
                e = e + pop.noise * xi
            if stimulus is not None and stimulus[a] is not None:
                e = e + stimulus[a]
            ext.append(e)
        return Currents(tuple(exc), tuple(inh), tuple(ext)), tuple(new_syn)

    def step(self, state: RateState, stimulus=None) -> tuple[RateState, Currents]:
        """Advance by one dt; returns the new state and the inputs used for it.

        ``stimulus`` is None or one entry per population (None, or a tensor
        broadcastable to ``[batch, N_A]``) added to the external input during
        this step: how tasks deliver time-varying input, one step at a time.
        """
        if stimulus is not None and len(stimulus) != len(self._pops):
            raise ValueError(f"stimulus needs one entry per population ({', '.join(self.population_names)})")
        fused = self._fused_kernels(state)
        carried, plasticity = self._advance_plasticity(state, fused)
        cur, synapses = self.currents(state, stimulus, carried)
        rates = tuple(self._leaky_update(a, pop, state.rates[a], cur, fused) for a, pop in enumerate(self._pops))
        return RateState(rates, synapses, plasticity), cur

    def _fused_kernels(self, state: RateState):
        """The compiled per-neuron updates, when they may be used for this step (else None)."""
        if self.kernels != "auto" or self.device.type != "cpu":
            return None
        if torch.is_grad_enabled() and (any(r.requires_grad for r in state.rates)
                                        or next(self.parameters(), None) is not None):
            return None  # autograd needs the torch path (see einet.training.rate_parameters)
        return compiled.load("rate_step")

    def _advance_plasticity(self, state: RateState, fused) -> tuple[list, tuple]:
        """Per projection: what its synapses transmit now (None: the rates) and its STP state after dt."""
        carried, advanced = [], []
        for proj, stp in zip(self._projs, state.plasticity):
            if stp is None:
                carried.append(None)
                advanced.append(None)
                continue
            rate = state.rates[proj.source]
            if fused is not None:
                p = proj.stp
                now, u, x = fused.stp_advance(rate.contiguous(), stp.u, stp.x, p.U.view(-1), p.tau_fac.view(-1),
                                              p.tau_rec.view(-1), self.dt, PER_MS)
                carried.append(now)
                advanced.append(STPState(u, x))
            else:
                carried.append(transmitted(rate, stp))
                advanced.append(stp_step(rate, stp, proj.stp, self.dt))
        return carried, tuple(advanced)

    def _leaky_update(self, a: int, pop: _Population, rate: torch.Tensor, cur: Currents, fused) -> torch.Tensor:
        """r + (1 - exp(-dt/tau)) (Phi(input) - r), written as r d + Phi (1 - d)."""
        if fused is not None and pop.transfer_name == "threshold_linear":
            ext = cur.ext[a]
            ext = ext[:, :1].contiguous() if ext.stride(1) == 0 else ext.contiguous()
            return fused.leaky_threshold_linear(rate.contiguous(), cur.exc[a].contiguous(), cur.inh[a].contiguous(),
                                                ext, pop.threshold.view(-1), pop.gain.view(-1), pop.decay.view(-1))
        target = pop.transfer(cur.total(a), pop.threshold, pop.gain, pop.r_max)
        return rate * pop.decay + target * (1.0 - pop.decay)

    def forward(self, state: RateState, stimulus=None) -> tuple[RateState, Currents]:
        return self.step(state, stimulus)


def _structure(spec: ModelSpec) -> dict:
    """The spec with every batchable value blanked out: what batch elements must share."""
    flat = {}

    def walk(node, path):
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, f"{path}.{k}")
        else:
            flat[path] = node

    walk(to_dict(spec), "model")
    return {k: v for k, v in flat.items() if not any(re.fullmatch(p, k) for p in BATCHABLE)}


def _check_shared_structure(specs: Sequence[ModelSpec]) -> None:
    ref = _structure(specs[0])
    for i, spec in enumerate(specs[1:], start=1):
        other = _structure(spec)
        for key in sorted(set(ref) | set(other)):
            if ref.get(key) != other.get(key):
                raise ConfigError(
                    key,
                    other.get(key),
                    f"{ref.get(key)!r} as in batch element 0: batch elements share the connectivity, "
                    "so only batchable parameters may differ",
                )
