r"""A batched network of spiking neurons: populations, sparse delayed projections, receptors.

All populations share one registered neuron model (:data:`einet.neurons.NEURONS`)
and are integrated as a single ``[batch, neuron]`` group whose parameters are
per-neuron tensors, so a step costs the same few tensor operations whatever
the number of populations. The batch runs parameter sets side by side over one
connectivity (drawn once from the seed).

Synapses are exponential, current-based by default. Projections with the same
synaptic time constant :math:`\tau_r` share a receptor current
:math:`I_r` per neuron. A spike emitted at
step ``t`` by a projection with delay ``D`` steps (``delay = D dt``, at least
one step) is added to :math:`I_r` at the start of step ``t + D``; the network
then hands the neuron model the constant drive that has, over the step, the
same effect as the decaying currents. For the LIF and adaptive LIF (linear
membranes) this is exact:

.. math:: d_r = I_r \frac{\tau_r}{\tau_r - \tau_m}\left(e^{-dt/\tau_r} - e^{-dt/\tau_m}\right) \big/ \left(1 - e^{-dt/\tau_m}\right)

so the network integrates the published CUBA equations without discretisation
error; for the QIF the current is held over the step, as :func:`einet.neurons.qif.qif_step`
does with its own. The first receptor (the shortest time constant) is the model's own synaptic
current: its ``tau_syn`` is set to that receptor's, and its arrivals are the
``arriving`` of the model's step.

Conductance-based synapses (``synapse: conductance``, LIF and adaptive LIF
only) are receptors of their own, one per (time constant, reversal
potential): a conductance :math:`g_r` in units of the leak conductance that
jumps by the weight at each arrival and decays exactly with :math:`\tau_r`.
The model's step receives :math:`\sum_r g_r` and :math:`\sum_r g_r E_r` held
over the step (:func:`einet.neurons.lif.lif_step`: exact for constant
conductances, first-order otherwise), and the current receptors' equivalent
drive is then formed with the effective membrane time constant
:math:`\tau_m/(1 + \sum_r g_r)`. Such networks run in plain torch; the
compiled step serves current-based LIF networks only.

Spikes travel through one padded source-major table per delay: row ``j`` lists
the (receptor, target) entries of source ``j``, padded with a dummy target, so
propagating the spikes of a step is one gather and one scatter-add, with a cost
proportional to the number of spikes times the out-degree.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, NamedTuple

import torch

from einet.kernels import plain_torch
from einet.numeric import decay, filtered_step, steps
from einet.neurons.registry import NEURONS


@dataclass(frozen=True)
class Synapses:
    """The synapses of one projection: global source and target indices, receptor, delay in steps."""

    source: torch.Tensor
    target: torch.Tensor
    receptor: int
    delay: int


#: Elements of the temporary weights a dense propagation builds at once (64 MiB of float32).
DENSE_BLOCK_ELEMENTS = 1 << 24


class DenseSpikes(NamedTuple):
    """One step's spikes as the ``[batch, neuron]`` tensor the model returned (counts for the QIF): how a
    network off the CPU keeps its history, so that no step waits for the host to learn how many spikes
    there were (``nonzero`` would); the run collects them in chunks (:mod:`einet.network.spike_events`)."""

    spikes: torch.Tensor


class NetworkState(NamedTuple):
    """``neuron``: the model's state (its ``i_syn`` is receptor 0); ``currents``: ``[batch, receptor - 1, neuron]``
    [mV], the other current receptors;
    ``history``: the spikes of the last ``max_delay`` steps, oldest first, each as ``(batch index,
    neuron index, count or None)`` tensors (events, so a step finds the spikes it delivers without
    scanning the network) or, off the CPU, as :class:`DenseSpikes`; ``step``: steps done; ``conductances``: ``[batch, conductance receptor, neuron]``
    [g_L], None without conductance-based synapses."""

    neuron: Any
    currents: torch.Tensor
    history: tuple
    step: int
    conductances: torch.Tensor | None = None


class _Table(NamedTuple):
    """Synapses of one delay, source-major: a synapse's weight is its projection's weight in each batch element,
    so the table keeps the projection of each synapse and one weight per (element, projection): its size does
    not grow with the batch."""

    targets: torch.Tensor  # [N_s, width] int64 flat receptor*N + target, padded with R*N
    projection: torch.Tensor  # [N_s, width] int64 index into scales (0 in the padding)
    scales: torch.Tensor  # [batch, P] weight of each projection in each batch element
    targets32: torch.Tensor  # targets as int32, and
    projection16: torch.Tensor  # projection as int16, for the compiled step (half the bytes per synapse)


def draw_synapses(proj, n_source: int, n_target: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Local (source, target) indices of a projection spec, drawn with ``generator`` on the CPU."""
    if proj.connectivity == "fixed_probability":
        mask = torch.rand((n_target, n_source), generator=generator) < proj.p
        target, source = mask.nonzero(as_tuple=True)
        return source, target
    source = torch.randint(n_source, (n_target, proj.K), generator=generator)
    target = torch.arange(n_target).repeat_interleave(proj.K)
    return source.flatten(), target


class SpikingNetwork:
    """The network of a list of :class:`einet.config.spiking.SpikingSpec` (one per batch element).

    The elements must share structure (model, sizes, connectivity, delays,
    synaptic time constants); neuron parameters, drives and weights may differ.

    Parameters
    ----------
    elements : one spec per batch element
    dt : time step [ms]
    device, dtype : where and in which precision to integrate
    seed : seed of the connectivity and the initial potentials
    kernels : ``auto`` runs a LIF network whose parameters are shared by all neurons with the compiled
        kernel ``spiking_step`` on the CPU (one pass per step instead of ~30 tensor operations; the same
        numbers up to rounding), and a QIF network with the compiled ``qif_step``. The LIF step updates the
        state in place and reuses its spike and arrival
        tensors, so a state or spikes kept across steps must be cloned. ``torch`` always uses plain torch
    """

    def __init__(self, elements: list, dt: float, device=None, dtype=torch.float32, seed: int = 0,
                 kernels: str = "auto"):
        first = elements[0]
        self.dt, self.device, self.dtype, self.seed = float(dt), torch.device(device or "cpu"), dtype, seed
        self.batch_size = len(elements)
        self.model = NEURONS.get(first.neuron)
        self.model_name = first.neuron.lower()
        self.population_names = list(first.populations)
        self.sizes = [p.size for p in first.populations.values()]
        self.offsets = dict(zip(self.population_names, [0, *torch.tensor(self.sizes).cumsum(0).tolist()[:-1]]))
        self.n = sum(self.sizes)
        current = [p for p in first.projections.values() if p.synapse == "current"]
        self.receptor_taus = sorted({p.tau_syn for p in current}) or [1.0]
        # conductance receptors follow the current ones in the tables: index len(receptor_taus) + k
        self.conductance_receptors = sorted({(p.tau_syn, p.reversal) for p in first.projections.values()
                                             if p.synapse == "conductance"})
        self.n_receptors = len(self.receptor_taus) + len(self.conductance_receptors)
        if self.conductance_receptors and self.model_name not in ("lif", "alif"):
            raise ValueError(f"conductance-based synapses need a lif or alif network, not {self.model_name}")
        self.params = self._params(elements)
        self._drive_segments = self._drives(elements)
        self.drive = self._drive_segments[0][1]  # the drive of the first step (None: no drive)
        if len(self._drive_segments) == 1:
            self._drive_segments = None  # constant: no lookup per step
        generator = torch.Generator().manual_seed(int(seed))
        self.synapses = self._draw(first, generator)
        self.weights = {name: torch.tensor([e.projections[name].weight for e in elements], dtype=dtype)
                        for name in first.projections}
        self.max_delay = max([s.delay for s in self.synapses.values()], default=1)
        self.tables = self._tables()
        # receptor 0 is the model's own synaptic current (its tau_syn is set to that receptor's); the others are
        # kept here and handed to the model as the equivalent drive (module docstring)
        self.params = dataclasses.replace(self.params, tau_syn=self.receptor_taus[0])
        taus = torch.tensor(self.receptor_taus[1:], dtype=dtype, device=self.device).view(-1, 1)
        self.receptor_decay = decay(self.dt, taus)  # [R - 1, 1]
        if self.model_name in ("lif", "alif"):
            tau_m = torch.as_tensor(self.params.tau_m, dtype=dtype, device=self.device).expand(self.batch_size, self.n)
            tau_m = tau_m.unsqueeze(1)  # [B, 1, N]
            self.receptor_gain = filtered_step(self.dt, tau_m, taus) / (1.0 - decay(self.dt, tau_m))
        else:
            self.receptor_gain = torch.ones((1, len(taus), 1), dtype=dtype, device=self.device)
        self.receptor_taus_tensor = taus  # [R - 1, 1], for the gains under conductances
        g_taus = torch.tensor([t for t, _ in self.conductance_receptors], dtype=dtype, device=self.device)
        self.conductance_decay = decay(self.dt, g_taus.view(-1, 1))  # [G, 1]
        self.reversal = torch.tensor([e for _, e in self.conductance_receptors], dtype=dtype,
                                     device=self.device).view(-1, 1)  # [G, 1] mV
        self._fused = self._fused_constants() if kernels == "auto" else None
        self._plain_torch = kernels != "auto"  # also for a model's own compiled step
        self._buffers = None
        self.init_v = [(first.populations[n].init_v, self.offsets[n], s) for n, s in zip(self.population_names, self.sizes)]

    # ---------------------------------------------------------------- construction
    def _per_neuron(self, elements, value) -> torch.Tensor:
        rows = [torch.cat([torch.full((pop.size,), float(value(pop)), dtype=torch.float64)
                           for pop in e.populations.values()]) for e in elements]
        return torch.stack(rows).to(self.device, self.dtype)  # [B, N]

    def _drives(self, elements) -> list[tuple[int, torch.Tensor | None]]:
        """``(first step, [B, N] drive or None)`` for each stretch of time with a constant drive: a population's
        drive stops at ``drive_until`` (rounded to whole steps)."""
        def until(pop):
            return None if pop.drive_until is None else int(round(pop.drive_until / self.dt))

        starts = sorted({0} | {until(pop) for e in elements for pop in e.populations.values()
                               if pop.drive_until is not None and pop.drive != 0.0})
        segments = []
        for start in starts:
            drive = self._per_neuron(elements, lambda pop: pop.drive if until(pop) is None or start < until(pop)
                                     else 0.0)
            segments.append((start, drive if bool(drive.any()) else None))
        return segments

    def _drive_at(self, step: int) -> torch.Tensor | None:
        """The drive of step ``step``."""
        if self._drive_segments is None:
            return self.drive
        current = None
        for start, drive in self._drive_segments:
            if start > step:
                break
            current = drive
        return current

    def _params(self, elements):
        defaults = self.model.params()
        values = {}
        for f in dataclasses.fields(self.model.params):
            value = self._per_neuron(elements, lambda pop, k=f.name: pop.params.get(k, getattr(defaults, k)))
            # a value shared by every neuron stays a float: the model then computes its propagators once
            # per step on a scalar instead of on a [batch, neuron] tensor
            values[f.name] = float(value[0, 0]) if bool((value == value[0, 0]).all()) else value
        return self.model.params(**values)

    def _draw(self, spec, generator) -> dict[str, Synapses]:
        out = {}
        for name, proj in spec.projections.items():
            i_s, i_t = self.population_names.index(proj.source), self.population_names.index(proj.target)
            source, target = draw_synapses(proj, self.sizes[i_s], self.sizes[i_t], generator)
            if proj.synapse == "conductance":
                receptor = len(self.receptor_taus) + self.conductance_receptors.index((proj.tau_syn, proj.reversal))
            else:
                receptor = self.receptor_taus.index(proj.tau_syn)
            out[name] = Synapses(source + self.offsets[proj.source], target + self.offsets[proj.target],
                                 receptor, int(round(proj.delay / self.dt)))
        return out

    def _tables(self) -> dict[int, _Table]:
        """One padded source-major table per delay, weights per batch element only where they differ."""
        tables = {}
        n_flat = self.n_receptors * self.n
        for delay in sorted({s.delay for s in self.synapses.values()}):
            names = [k for k, s in self.synapses.items() if s.delay == delay]
            source = torch.cat([self.synapses[k].source for k in names])
            flat = torch.cat([self.synapses[k].target + self.synapses[k].receptor * self.n for k in names])
            which = torch.cat([torch.full_like(self.synapses[k].source, p) for p, k in enumerate(names)])
            order = torch.argsort(source, stable=True)
            source, flat, which = source[order], flat[order], which[order]
            counts = torch.bincount(source, minlength=self.n)
            width = max(int(counts.max()) if counts.numel() else 0, 1)
            start = torch.cumsum(counts, 0) - counts
            column = torch.arange(source.numel()) - start[source]
            targets = torch.full((self.n, width), n_flat, dtype=torch.int64)
            targets[source, column] = flat
            projection = torch.zeros((self.n, width), dtype=torch.int64)
            projection[source, column] = which
            scales = torch.stack([self.weights[k].reshape(-1).to(self.dtype) for k in names], dim=1)  # [B, P]
            if n_flat >= 2**31 or len(names) >= 2**15:
                raise ValueError(f"{self.n} neurons x {self.n_receptors} receptors or {len(names)} projections "
                                 "exceed the compiled step's int32 / int16 indices")
            tables[delay] = _Table(targets.to(self.device), projection.to(self.device), scales.to(self.device),
                                   targets.to(torch.int32).to(self.device), projection.to(torch.int16).to(self.device))
        return tables

    def _fused_constants(self):
        """The kernel and its scalar constants, when this network can use it (else None)."""
        scalars = all(not isinstance(getattr(self.params, f.name), torch.Tensor)
                      for f in dataclasses.fields(self.params))
        if self.model_name != "lif" or not scalars or self.device.type != "cpu" or self.conductance_receptors:
            return None
        from einet import kernels

        module = kernels.load("spiking_step")
        if module is None:
            return None
        p, dt, gain = self.params, self.dt, self.receptor_gain
        shared = gain.shape[1] == 1 and bool((gain == gain.flatten()[0]).all())
        shared_gain = float(gain.flatten()[0]) if shared else -1.0  # < 0: the kernel reads per-neuron gains
        return (module, shared_gain, decay(dt, p.tau_m), filtered_step(dt, p.tau_m, p.tau_syn), decay(dt, p.tau_syn),
                p.v_rest, p.v_th, p.v_reset, steps(p.t_ref, dt))

    def _fused_step(self, state: NetworkState, arrivals: bool = True):
        """The kernel's step. It updates the state's tensors in place (the network owns them), and its
        spikes and arrivals are buffers reused by the next step: copy what must outlive a step.

        Without ``arrivals`` the kernel adds the arriving spikes straight into the receptor currents
        instead of collecting them in the arrivals buffer first (the same sums, added in another order)
        and returns None for them: a step then touches only the network's state."""
        module, *constants = self._fused
        groups = [(state.history[-d], table) for d, table in self.tables.items() if state.step >= d]
        n = state.neuron
        if self._buffers is None or self._buffers[0].shape != n.v.shape:
            zeros = n.v.new_zeros((self.batch_size, len(self.receptor_taus), self.n))
            self._buffers, self._delivered = (torch.zeros_like(n.v), zeros), []
            self._spiked = (torch.zeros(0, dtype=torch.int64), torch.zeros(0, dtype=torch.int64))
        spikes, arrived = self._buffers
        drive = self.drive if self._drive_segments is None else self._drive_at(state.step)
        drive = drive if drive is not None else n.v.new_zeros(0)
        b, j = module.spiking_step(
            n.v, n.i_syn, n.refractory, state.currents, self.receptor_gain, self.receptor_decay.reshape(-1), drive,
            spikes, arrived, *self._spiked, [e[0] for e, _ in groups], [e[1] for e, _ in groups], [t.targets32 for _, t in groups],
            [t.projection16 for _, t in groups], [t.scales for _, t in groups], [c[0] for c in self._delivered],
            [c[1] for c in self._delivered], [c[2] for c in self._delivered], not arrivals, *constants)
        if arrivals:  # else the buffer was left alone: its entries of the last buffered step still await clearing
            self._delivered = [(e[0], e[1], t.targets32) for e, t in groups]  # the entries to clear next step
        self._spiked = (b, j)  # the entries of `spikes` to clear next step
        history = state.history[1:] + ((b, j, None),)
        return spikes, NetworkState(n, state.currents, history, state.step + 1), arrived if arrivals else None

    # ---------------------------------------------------------------- dynamics
    def initial_state(self) -> NetworkState:
        """Rest, or uniform potentials where a population sets ``init_v`` (drawn from the seed, the same for every
        batch element, so a batch differs only in its parameters); no currents, no spikes in flight; no
        conductances."""
        shape = (self.batch_size, self.n)
        neuron = self.model.initial(self.params, shape, dtype=self.dtype, device=self.device)
        generator = torch.Generator().manual_seed(int(self.seed) + 1)
        v = neuron.v.clone()
        for (low_high, offset, size) in self.init_v:
            if low_high:
                low, high = low_high
                u = torch.rand((1, size), generator=generator, dtype=torch.float64)  # the same for every element
                v[:, offset:offset + size] = (low + (high - low) * u).to(self.device, self.dtype)
        neuron = neuron._replace(v=v)
        currents = torch.zeros((self.batch_size, len(self.receptor_taus) - 1, self.n), dtype=self.dtype, device=self.device)
        conductances = None
        if self.conductance_receptors:
            conductances = torch.zeros((self.batch_size, len(self.conductance_receptors), self.n), dtype=self.dtype,
                                       device=self.device)
        if self.dense_history:
            silent = DenseSpikes(torch.zeros(shape, dtype=self.dtype, device=self.device))
            return NetworkState(neuron, currents, (silent,) * self.max_delay, 0, conductances)
        empty = torch.zeros(0, dtype=torch.int64, device=self.device)
        return NetworkState(neuron, currents, ((empty, empty, None),) * self.max_delay, 0, conductances)

    @property
    def dense_history(self) -> bool:
        """Off the CPU the history holds dense spike tensors (no host synchronisation per step)."""
        return self.device.type != "cpu"

    def propagate(self, events, table: _Table) -> torch.Tensor | None:
        """``[batch, receptor, neuron]`` summed weights of the spike ``events`` ``(b, j, count)``; None without spikes.
        :class:`DenseSpikes` go through every synapse, weighted by the spike (0, 1, or the QIF's count)."""
        if isinstance(events, DenseSpikes):
            return self._propagate_dense(events.spikes, table)
        b, j, count = events
        if j.numel() == 0:
            return None
        n_flat = self.n_receptors * self.n
        out = table.scales.new_zeros(self.batch_size * (n_flat + 1))
        w = table.scales[b.unsqueeze(-1), table.projection[j]]  # [events, width]; padding lands in the dummy slot
        if count is not None:  # the QIF may emit several spikes per step
            w = w * count.unsqueeze(-1)
        out.index_add_(0, (table.targets[j] + (b * (n_flat + 1)).unsqueeze(-1)).view(-1), w.reshape(-1))
        return out.view(self.batch_size, n_flat + 1)[:, :n_flat].view(self.batch_size, -1, self.n)

    def _propagate_dense(self, spikes: torch.Tensor, table: _Table) -> torch.Tensor:
        """Every synapse weighted by its source's spike, a block of sources at a time so the temporary
        ``[batch, sources, width]`` weights stay within :data:`DENSE_BLOCK_ELEMENTS`."""
        n_flat = self.n_receptors * self.n
        out = table.scales.new_zeros(self.batch_size * (n_flat + 1))
        offsets = (torch.arange(self.batch_size, device=spikes.device) * (n_flat + 1)).view(-1, 1, 1)
        width = table.projection.shape[1]
        block = max(1, DENSE_BLOCK_ELEMENTS // max(1, self.batch_size * width))
        for start in range(0, self.n, block):
            rows = slice(start, start + block)
            w = table.scales[:, table.projection[rows]] * spikes[:, rows].unsqueeze(-1)  # [batch, block, width]
            out.index_add_(0, (table.targets[rows].unsqueeze(0) + offsets).view(-1), w.reshape(-1))
        return out.view(self.batch_size, n_flat + 1)[:, :n_flat].view(self.batch_size, -1, self.n)

    def arriving(self, state: NetworkState) -> torch.Tensor | None:
        """What reaches the receptors at the start of the coming step (spikes sent ``delay`` steps before it)."""
        total = None
        for delay, table in self.tables.items():
            part = self.propagate(state.history[-delay], table)
            if part is not None:
                total = part if total is None else total + part
        return total

    def step(self, state: NetworkState, arrivals: bool = True) -> tuple[torch.Tensor, NetworkState, torch.Tensor | None]:
        """One step of ``dt``: returns the spikes ``[batch, neuron]``, the new state, and what arrived at the
        receptors at the start of the step (None: nothing, or not asked for with ``arrivals=False``, which
        lets the compiled step skip collecting them). The step's spike events are ``state.history[-1]``."""
        if self._fused is not None:
            return self._fused_step(state, arrivals)
        arrived = self.arriving(state)
        own = None if arrived is None else arrived[:, 0]
        currents = state.currents
        drive = self.drive if self._drive_segments is None else self._drive_at(state.step)
        n_current = len(self.receptor_taus)
        conductances, extra_args, gain = state.conductances, {}, self.receptor_gain
        if conductances is not None:  # held over the step, after this step's arrivals
            if arrived is not None:
                conductances = conductances + arrived[:, n_current:]
            g = conductances.sum(1)
            extra_args = {"conductance": (g, (conductances * self.reversal).sum(1))}
            if currents.shape[1]:
                gain = self._gain_under_conductance(1.0 + g)
        if currents.shape[1]:
            if arrived is not None:
                currents = currents + arrived[:, 1:n_current]
            extra = currents[:, 0] * gain[:, 0] if currents.shape[1] == 1 else (currents * gain).sum(1)
            drive = extra if drive is None else drive + extra
        with plain_torch(self._plain_torch):
            spikes, neuron = self.model.step(0.0 if drive is None else drive, state.neuron, self.params, self.dt, own,
                                             **extra_args)
        if self.dense_history:
            events = DenseSpikes(spikes)
        else:
            b, j = spikes.nonzero(as_tuple=True)
            events = (b, j, spikes[b, j] if self.model_name == "qif" else None)
        history = state.history[1:] + (events,)
        if currents.shape[1]:
            currents = currents * self.receptor_decay
        if conductances is not None:
            conductances = conductances * self.conductance_decay
        return spikes, NetworkState(neuron, currents, history, state.step + 1, conductances), arrived

    def _gain_under_conductance(self, k: torch.Tensor) -> torch.Tensor:
        """``[batch, receptor - 1, neuron]`` gains of the other current receptors with the effective membrane
        time constant ``tau_m / k`` of this step (the module docstring's formula with tau_eff for tau_m)."""
        tau_eff = (self.params.tau_m / k).unsqueeze(1)  # [B, 1, N]
        return filtered_step(self.dt, tau_eff, self.receptor_taus_tensor) / (1.0 - decay(self.dt, tau_eff))

    def population_of(self) -> list[str]:
        """The population name of every neuron."""
        return [name for name, size in zip(self.population_names, self.sizes) for _ in range(size)]
