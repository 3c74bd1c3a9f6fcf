r"""Make chosen quantities of a :class:`~einet.network.rate.RateNetwork` trainable by gradient descent.

The rate network keeps its connectivity in fixed operators (sparse patterns,
low-rank factors, FFT kernels) so that simulation is cheap. Training swaps the
operators of the chosen projections for differentiable ones, initialised to
exactly the weights the network was built with, and registers their tensors as
``torch.nn.Parameter`` s of the network. Everything else stays as built, so a
network with nothing trainable and one whose parameters were never updated
give the same numbers.

Names (checked before anything is built; :func:`parameter_names` lists them):

==========================  ================================================================
``<projection>.weights``    the projection's structure matrix :math:`S` (all-to-all: dense;
                            sparse: its synapses only, absent ones stay absent)
``<projection>.J``          the projection's coupling :math:`J` (one value shared by the batch)
``<population>.m``,         the population's low-rank vectors (``model.low_rank``): every
``<population>.n``          all-to-all low-rank projection into (m) or out of (n) it uses them
``<population>.drive``      the constant external input of every neuron (one value per neuron)
==========================  ================================================================

Dale's law
----------
The sign of a projection's input is carried by :math:`J` (positive from ``exc``,
negative from ``inh`` sources), the structure is non-negative. Two mechanisms
keep it so:

* **clamping** — after every optimizer step, :func:`enforce_dale` sets trained
  structure weights below 0 and couplings of the wrong sign to 0 (as the
  layered networks do, :meth:`einet.network.layered.LayeredNetwork.enforce_dale`);
* **rectification** — a low-rank structure :math:`1 + s\, m_i \cdot n_j` cannot
  be clamped entry by entry, so from a Dale population it is used as
  :math:`[1 + s\, m_i \cdot n_j]_+` (a dense matrix per step; fine for the few
  hundred neurons a trained network has), and never changes sign.

:func:`sign_violations` counts what remains of the wrong sign (0 after either).
"""

from __future__ import annotations

import re

import torch

from einet.errors import ConfigError
from einet.numeric import dale_project

__all__ = ["parameter_names", "make_trainable", "enforce_dale", "sign_violations"]

_SUFFIXES = {"projection": ("weights", "J"), "population": ("m", "n", "drive")}


def parameter_names(network) -> list[str]:
    """Every name :func:`make_trainable` accepts for ``network``."""
    names = [f"{p}.{s}" for p in network.projection_names for s in _SUFFIXES["projection"]]
    names += [f"{p}.{s}" for p in network.population_names for s in _SUFFIXES["population"]]
    return names


def _key(name: str) -> str:
    """A parameter name usable as an attribute (``E->E.J`` -> ``E_to_E__J``)."""
    return re.sub(r"\W", "_", name.replace("->", "_to_").replace(".", "__"))


class TrainableDense:
    """``y = x (unit W)^T`` with a dense structure ``W`` (times a fixed 0/1 ``mask`` for sparse projections).

    ``W`` is kept in units of the projection's largest initial weight ``unit``
    (1/N or 1/sqrt(K)), so its entries are of order 1 in every projection and
    one step size suits them all.
    """

    def __init__(self, weights: torch.nn.Parameter, mask: torch.Tensor | None, unit: float):
        self.weights, self.mask, self.unit = weights, mask, unit
        self.shape = tuple(weights.shape)

    def matrix(self) -> torch.Tensor:
        w = self.weights * self.unit
        return w if self.mask is None else w * self.mask

    def apply(self, x: torch.Tensor, coefficient=None) -> torch.Tensor:
        return x @ self.matrix().t()

    def to_dense(self, coefficient=None) -> torch.Tensor:
        return self.matrix().detach()

    def nbytes(self) -> int:
        return self.weights.numel() * self.weights.element_size()


class TrainableLowRank:
    """``(1 + s m n^T) / N_s`` from trainable vectors; rectified when the source obeys Dale's law."""

    def __init__(self, m: torch.Tensor, n: torch.Tensor, rectify: bool):
        self.m, self.n, self.rectify = m, n, rectify  # [N_target, R], [N_source, R]
        self.shape = (m.shape[0], n.shape[0])

    def matrix(self, strength) -> torch.Tensor:
        return (1.0 + strength * (self.m @ self.n.t())) / self.shape[1]

    def apply(self, x: torch.Tensor, coefficient=None) -> torch.Tensor:
        if self.rectify:  # one strength for the whole batch (checked when made trainable)
            return x @ self.matrix(coefficient[:1]).clamp(min=0.0).t()
        n_s = self.shape[1]
        return x.mean(dim=1, keepdim=True) + coefficient * ((x @ self.n) / n_s) @ self.m.t()

    def to_dense(self, coefficient: float = 1.0) -> torch.Tensor:
        w = self.matrix(coefficient).detach()
        return w.clamp(min=0.0) if self.rectify else w

    def nbytes(self) -> int:
        return (self.m.numel() + self.n.numel()) * self.m.element_size()


def _dense(proj) -> torch.Tensor:
    """The structure matrix of a built projection, with its per-batch coefficient (kappa, strength) of element 0."""
    op = proj.operator
    if proj.coefficient is not None:
        return op.to_dense(float(proj.coefficient[0]))
    return op.to_dense()


def _mask(op) -> torch.Tensor | None:
    """1 where a sparse projection has a synapse (None for all-to-all): training keeps the pattern."""
    matrix = getattr(op, "matrix", None)
    if matrix is None:
        return None
    ones = torch.ones_like(matrix.values())
    return torch.sparse_csr_tensor(matrix.crow_indices(), matrix.col_indices(), ones, size=matrix.shape,
                                   check_invariants=True).to_dense()


def _check_names(network, names) -> None:
    known = parameter_names(network)
    for i, name in enumerate(names):
        if name not in known:
            raise ConfigError(f"training.parameters[{i}]", name,
                              f"one of {', '.join(known)}")
    if len(set(names)) != len(names):
        raise ConfigError("training.parameters", list(names), "distinct names")


def make_trainable(network, names) -> dict[str, torch.nn.Parameter]:
    """Register the named quantities of ``network`` as parameters (in place); returns them by name.

    Raises :class:`~einet.errors.ConfigError` naming the entry for an unknown
    name, a low-rank vector no all-to-all low-rank projection uses, or a Dale
    low-rank projection whose strength varies across the batch.
    """
    _check_names(network, names)
    projs = {p.name: p for p in network._projs}
    pops = {p.name: (a, p) for a, p in enumerate(network._pops)}
    made: dict[str, torch.nn.Parameter] = {}

    def register(name: str, value: torch.Tensor) -> torch.nn.Parameter:
        param = torch.nn.Parameter(value.detach().clone())
        network.register_parameter(_key(name), param)
        made[name] = param
        return param

    vectors = {}
    for name in names:
        owner, what = name.rsplit(".", 1)
        if what in ("m", "n"):
            end = "target" if what == "m" else "source"
            users = [p for p in network.spec.projections.values()
                     if p.low_rank != 0 and p.connectivity == "all_to_all" and getattr(p, end) == owner]
            if not users:
                raise ConfigError(f"training.parameters[{list(names).index(name)}]", name,
                                  f"a vector of a population with an all_to_all low-rank projection "
                                  f"{'into' if what == 'm' else 'out of'} it")
            m, n = network.low_rank_vectors[owner]
            vectors[name] = register(name, (m if what == "m" else n).to(network.dtype).to(network.device))
        elif what == "drive":
            a, pop = pops[owner]
            pop.drive = register(name, pop.drive[:1].expand(1, pop.size))
        elif what == "J":
            proj = projs[owner]
            proj.J = register(name, proj.J[:1])
        else:
            proj = projs[owner]
            dense = _dense(proj)
            unit = float(dense.abs().max()) or 1.0
            proj.operator = TrainableDense(register(name, dense / unit), _mask(proj.operator), unit)
            proj.coefficient = None  # kappa or the low-rank strength is folded into the dense weights
    for proj in network._projs:  # low-rank projections whose vectors are trained
        spec = network.spec.projections[proj.name]
        m_name = f"{spec.target}.m"
        n_name = f"{spec.source}.n"
        if spec.low_rank == 0 or spec.connectivity != "all_to_all" or not ({m_name, n_name} & set(vectors)):
            continue
        if isinstance(proj.operator, TrainableDense):
            raise ConfigError("training.parameters", list(names),
                              f"either {proj.name}.weights or the low-rank vectors of {proj.name}, not both")
        rectify = network.spec.populations[spec.source].type != "mixed"
        if rectify and not bool((proj.coefficient == proj.coefficient[:1]).all()):
            raise ConfigError(f"model.projections.{proj.name}.low_rank", spec.low_rank,
                              "one value for the whole batch when its low-rank vectors are trained under Dale's law")
        m = vectors.get(m_name, network.low_rank_vectors[spec.target][0].to(network.dtype).to(network.device))
        n = vectors.get(n_name, network.low_rank_vectors[spec.source][1].to(network.dtype).to(network.device))
        proj.operator = TrainableLowRank(m, n, rectify)
    return made


def _structures(network):
    """(projection, structure parameter or None, J parameter or None) of every trained projection."""
    for proj in network._projs:
        weights = proj.operator.weights if isinstance(proj.operator, TrainableDense) else None
        J = proj.J if isinstance(proj.J, torch.nn.Parameter) else None
        if weights is not None or J is not None:
            yield proj, weights, J


@torch.no_grad()
def enforce_dale(network) -> None:
    """Clamp trained structures to >= 0 and trained couplings to their source's sign (after each step)."""
    for proj, weights, J in _structures(network):
        if proj.sign == "mixed":
            continue
        if weights is not None:
            weights.copy_(dale_project(weights, 1.0))  # structures are >= 0; J carries the sign
        if J is not None:
            J.copy_(dale_project(J, 1.0 if proj.sign == "exc" else -1.0))


@torch.no_grad()
def sign_violations(network) -> int:
    """Effective weights of the wrong sign for their source population, over all trained projections."""
    count = 0
    for proj in network._projs:
        if proj.sign == "mixed" or not isinstance(proj.operator, (TrainableDense, TrainableLowRank)):
            continue
        coefficient = proj.coefficient[0].item() if proj.coefficient is not None else 1.0
        w = proj.operator.to_dense(coefficient) * proj.J[:1].reshape(())
        count += int((w < 0).sum()) if proj.sign == "exc" else int((w > 0).sum())
    return count
