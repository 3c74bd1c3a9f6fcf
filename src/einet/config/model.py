"""The validated description of a network: populations, projections, external input.

These frozen dataclasses are the one model description that the YAML files,
the Python API and the netCDF provenance share. They hold plain floats in ms;
nothing here imports torch, so configs can be checked and expanded cheaply.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, Optional

from einet.fields import finite, non_negative, option, positive
from einet.errors import ConfigError

TransferName = Literal["threshold_linear", "sigmoid", "erf", "brunel_hakim"]
TRANSFER_NAMES: tuple[str, ...] = TransferName.__args__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class TransferSpec:
    """Transfer function Phi from input to rate; all share one parameter set."""

    name: TransferName = option(
        "threshold_linear",
        doc="threshold_linear: gain*max(x-threshold, 0); sigmoid: r_max/(1+exp(-gain*(x-threshold))); "
        "erf: r_max*(1+erf(gain*(x-threshold)/sqrt(2)))/2; brunel_hakim: with u = gain*(x-threshold), "
        "0 (u<=0), u^2 (0<u<=1), sqrt(4u-3) (u>1)",
    )
    threshold: float = option(0.0, doc="input at which the rate starts to rise", check=finite)
    gain: float = option(1.0, doc="slope factor applied to (input - threshold)", check=positive)
    r_max: float = option(1.0, doc="saturation rate of sigmoid and erf (unused otherwise)", check=positive)

    @staticmethod
    def _shorthand(value):
        return {"name": value} if isinstance(value, str) else value


@dataclass(frozen=True)
class PopulationSpec:
    """A group of neurons sharing a type, time constant and transfer function."""

    size: int = option(doc="number of neurons", check=positive)
    type: Literal["exc", "inh", "mixed"] = option(
        doc="exc or inh: under Dale's law it fixes the sign of every outgoing weight; mixed: no Dale's law "
        "(textbook models such as the one-population Ben-Yishai ring), outgoing input counts as excitatory "
        "where positive and inhibitory where negative"
    )
    tau: float = option(
        10.0, doc="rate time constant; 0 makes the population instantaneous", unit="ms", check=non_negative
    )
    transfer: TransferSpec = option(factory=TransferSpec, doc="transfer function (a name or a mapping)")
    init_rate: float = option(0.0, doc="rate of every neuron at t = 0 (its mean over the ring)", check=non_negative)
    init_modulation: float = option(
        0.0,
        doc="start from a bump: the rate at t = 0 is init_rate (1 + init_modulation cos(theta - init_phase)) "
        "on the population's ring; 0 is the uniform state, 1 a bump that touches zero",
        check=lambda v: None if -1.0 <= v <= 1.0 else "a number in [-1, 1] (rates must stay >= 0)",
    )
    init_phase: float = option(0.0, doc="where the initial bump is centred", unit="degree", check=finite)


@dataclass(frozen=True)
class STPSpec:
    """Short-term plasticity of a projection (see :mod:`einet.synapses.stp`); rates read as Hz."""

    U: float = option(0.05, doc="baseline release probability", check=lambda v: None if 0 < v <= 1 else "0 < U <= 1")
    tau_fac: float = option(1000.0, doc="facilitation time constant", unit="ms", check=positive)
    tau_rec: float = option(200.0, doc="recovery (depression) time constant", unit="ms", check=positive)


@dataclass(frozen=True)
class ProjectionSpec:
    """Connections from a source population onto a target population.

    Weights are J/N_source (all_to_all) or J/sqrt(K) (sparse, each pair
    connected with probability K/N_source, times the profile).
    """

    source: str = option(doc="name of the presynaptic population")
    target: str = option(doc="name of the postsynaptic population")
    J: float = option(
        doc="coupling strength; its sign must match the source type (>= 0 exc, <= 0 inh)", check=finite
    )
    connectivity: Literal["all_to_all", "sparse"] = option("sparse", doc="all_to_all or sparse")
    K: Optional[float] = option(
        None, doc="mean in-degree of a sparse projection (default: model.K)", check=positive
    )
    profile: Literal["uniform", "cosine", "von_mises", "gaussian"] = option(
        "uniform",
        doc="connection probability (sparse) or weight (all_to_all) times f(theta_i - theta_j), neurons "
        "evenly spaced on a ring, f with mean 1: cosine 1 + kappa*cos; von_mises exp(concentration*cos)/I0; "
        "gaussian: wrapped Gaussian of the given width",
    )
    kappa: float = option(
        0.0,
        doc="modulation depth of the cosine profile; |kappa| <= 1 keeps every weight (all_to_all) or "
        "probability (sparse) non-negative; only all_to_all projections from mixed populations may exceed it",
        check=finite,
    )
    concentration: Optional[float] = option(
        None, doc="concentration of the von_mises profile", check=positive
    )
    width: Optional[float] = option(None, doc="standard deviation of the gaussian profile", unit="rad",
                                    check=lambda w: None if w >= 1e-6 else "a width >= 1e-6 rad")
    low_rank: float = option(
        0.0,
        doc="kappa of a low-rank structure: weights (all_to_all) or synaptic values (sparse) times "
        "1 + kappa * sum_k m_i^k n_j^k, with the vectors of model.low_rank",
        check=finite,
    )
    tau_syn: float = option(
        0.0, doc="synaptic current time constant; 0 for instantaneous synapses", unit="ms", check=non_negative
    )
    stp: Optional[STPSpec] = option(None, doc="short-term plasticity (Tsodyks-Markram); null for none")


@dataclass(frozen=True)
class ExternalSpec:
    """Constant feed-forward drive sqrt(K)*M0*J_A (or M0*J_A without K), plus white noise."""

    M0: float = option(1.0, doc="overall strength of the external drive", check=finite)
    K: Optional[float] = option(
        None,
        doc="in-degree that scales the drive by sqrt(K) (default: model.K; no scaling if both unset)",
        check=positive,
    )
    J: dict[str, float] = option(
        factory=dict, doc="per-population drive J_A0 (missing populations get 0)"
    )
    noise: dict[str, float] = option(
        factory=dict,
        doc="per-population white-noise amplitude sigma; each step adds sigma*sqrt(tau/dt)*xi to the "
        "input so that rate fluctuations do not depend on dt",
    )


def _square(rows) -> str | None:
    n = len(rows)
    return None if all(len(r) == n for r in rows) else "a square matrix (a list of equally long rows)"


@dataclass(frozen=True)
class LowRankSpec:
    """Per-neuron vectors m^k (as a target) and n^k (as a source), k = 1..rank, drawn i.i.d. per neuron."""

    rank: int = option(1, doc="number of (m, n) vector pairs", check=positive)
    mean: list[float] = option(factory=list, doc="means of (m^1..m^R, n^1..n^R); default all 0")
    cov: list[list[float]] = option(
        factory=list, doc="2R x 2R covariance of (m^1..m^R, n^1..n^R); default the identity", check=_square
    )
    file: Optional[str] = option(
        None,
        doc="vectors given explicitly instead of drawn: an .npz file with arrays m_<population> and "
        "n_<population> of shape [size, rank] for every population (relative paths from the working "
        "directory); mean and cov are then unused",
    )
    zero_mean: bool = option(
        False,
        doc="subtract from each drawn vector its mean over the population's neurons, so that every m^k and "
        "n^k is orthogonal to the uniform direction: the low-rank term then has zero row and column sums, "
        "uniform activity has zero overlap with every m^k at any size (an i.i.d. draw leaves means of "
        "order 1/sqrt(N), which bias the uniform state along m^k), and the uniform mode is the one of the "
        "J/N term alone; needs mean all 0 and no file",
    )

    def _check(self, path: str) -> None:
        import numpy as np

        if self.file is not None and (self.mean or self.cov):
            raise ConfigError(f"{path}.file", self.file, "no mean or cov beside a file of given vectors")
        size = 2 * self.rank
        if self.mean and len(self.mean) != size:
            raise ConfigError(f"{path}.mean", self.mean, f"{size} numbers (m^1..m^R, n^1..n^R)")
        if self.cov:
            cov = np.asarray(self.cov, dtype=float)
            if cov.shape != (size, size) or not np.allclose(cov, cov.T):
                raise ConfigError(f"{path}.cov", self.cov, f"a symmetric {size} x {size} matrix")
            if np.linalg.eigvalsh(cov).min() < -1e-12:
                raise ConfigError(f"{path}.cov", self.cov, "a positive semi-definite covariance")
        if self.zero_mean and self.file is not None:
            raise ConfigError(f"{path}.zero_mean", True, "false beside a file of given vectors (centre them in the file)")
        if self.zero_mean and any(self.mean):
            raise ConfigError(f"{path}.zero_mean", True, f"false with nonzero means {self.mean}")


@dataclass(frozen=True)
class ModelSpec:
    """A whole rate network."""

    K: Optional[float] = option(
        None, doc="default mean in-degree of sparse projections and of the external drive", check=positive
    )
    populations: dict[str, PopulationSpec] = option(factory=dict, doc="populations by name")
    projections: dict[str, ProjectionSpec] = option(factory=dict, doc="projections by name")
    external: ExternalSpec = option(factory=ExternalSpec, doc="external input")
    low_rank: Optional[LowRankSpec] = option(
        None, doc="vectors of low-rank structure, used by projections with low_rank != 0"
    )

    def _check(self, path: str) -> None:
        base = f"{path}." if path else ""
        if not self.populations:
            raise ConfigError(f"{base}populations", {}, "at least one population")
        for name, proj in self.projections.items():
            ppath = f"{base}projections.{name}"
            for end in ("source", "target"):
                pop = getattr(proj, end)
                if pop not in self.populations:
                    raise ConfigError(
                        f"{ppath}.{end}", pop, f"one of the populations {', '.join(self.populations)}"
                    )
            check_dale(self.populations[proj.source].type, proj.J, f"{ppath}.J", proj.source)
            for key, profile in (("concentration", "von_mises"), ("width", "gaussian")):
                if (getattr(proj, key) is None) == (proj.profile == profile):
                    expected = f"a value for the {profile} profile" if proj.profile == profile else (
                        f"no {key} unless profile is {profile}")
                    raise ConfigError(f"{ppath}.{key}", getattr(proj, key), expected)
            n_source = self.populations[proj.source].size
            if proj.connectivity == "sparse":
                K = self.in_degree(proj)
                if K is None:
                    raise ConfigError(f"{ppath}.K", None, "a mean in-degree (or set model.K)")
                if K > n_source:
                    raise ConfigError(
                        f"{ppath}.K" if proj.K is not None else f"{base}K",
                        K,
                        f"at most the size of source population {proj.source} ({n_source})",
                    )
                peak = profile_peak(proj)
                if K / n_source * peak > 1:
                    key = {"cosine": "kappa", "von_mises": "concentration", "gaussian": "width"}[proj.profile]
                    raise ConfigError(
                        f"{ppath}.{key}",
                        getattr(proj, key),
                        f"a profile whose peak ({peak:.3g}) times K/N ({K / n_source:.3g}) stays <= 1, "
                        "so that connection probabilities stay <= 1",
                    )
            elif proj.K is not None:
                raise ConfigError(f"{ppath}.K", proj.K, "no K for an all_to_all projection (it scales by 1/N)")
            mixed_weights = proj.connectivity == "all_to_all" and self.populations[proj.source].type == "mixed"
            if abs(proj.kappa) > 1 and not mixed_weights:
                raise ConfigError(
                    f"{ppath}.kappa", proj.kappa,
                    "|kappa| <= 1 (weights or probabilities of either sign need an all_to_all projection "
                    "from a population of type mixed)",
                )
            if proj.low_rank != 0 and (self.low_rank is None or proj.profile != "uniform"):
                raise ConfigError(
                    f"{ppath}.low_rank", proj.low_rank,
                    "0 unless model.low_rank defines the vectors and the profile is uniform",
                )
            if proj.profile != "cosine" and proj.kappa != 0:
                raise ConfigError(f"{ppath}.kappa", proj.kappa, "0 unless profile is cosine")
        if self.low_rank is not None and self.low_rank.file is not None:
            check_low_rank_file(self.low_rank, {n: p.size for n, p in self.populations.items()},
                                f"{base}low_rank.file")
        for section in ("J", "noise"):
            for pop, value in getattr(self.external, section).items():
                if pop not in self.populations:
                    raise ConfigError(
                        f"{base}external.{section}.{pop}", value, f"one of the populations {', '.join(self.populations)}"
                    )
        for pop, value in self.external.noise.items():
            if value < 0:
                raise ConfigError(f"{base}external.noise.{pop}", value, "a number >= 0")

    def in_degree(self, proj: ProjectionSpec) -> Optional[float]:
        """The mean in-degree of a sparse projection, falling back to ``model.K``."""
        return proj.K if proj.K is not None else self.K

    @property
    def external_K(self) -> Optional[float]:
        return self.external.K if self.external.K is not None else self.K

    @property
    def size(self) -> int:
        return sum(p.size for p in self.populations.values())


def profile_peak(proj: ProjectionSpec) -> float:
    """The maximum of a projection's ring profile (see :mod:`einet.synapses.profiles`; 1 for uniform)."""
    if proj.profile == "cosine":
        return 1.0 + abs(proj.kappa)
    if proj.profile == "von_mises":
        return 1.0 / _bessel_i0e(proj.concentration)  # exp(c) / I0(c), without overflowing exp(c)
    if proj.profile == "gaussian":
        w = proj.width
        return math.sqrt(2 * math.pi) / w * sum(math.exp(-((2 * math.pi * k) ** 2) / (2 * w * w)) for k in range(-4, 5))
    return 1.0


def _bessel_i0e(x: float) -> float:
    """The scaled modified Bessel function exp(-x) I0(x) (scipy is imported here only, to keep configs light)."""
    from scipy.special import i0e

    return float(i0e(x))


def check_dale(source_type: str, J: float, path: str, source: str) -> None:
    """Dale's law: an excitatory source never inhibits, an inhibitory one never excites (mixed: no rule)."""
    if source_type == "exc" and J < 0:
        raise ConfigError(path, J, f"J >= 0 because source population {source} is exc (Dale's law)")
    if source_type == "inh" and J > 0:
        raise ConfigError(path, J, f"J <= 0 because source population {source} is inh (Dale's law)")


def check_low_rank_file(spec: LowRankSpec, sizes: dict[str, int], where: str) -> dict:
    """Read a file of given low-rank vectors and check it has [size, rank] arrays m_A and n_A for
    every population A; returns the arrays by name."""
    import numpy as np

    import zipfile

    try:
        data = np.load(spec.file, allow_pickle=False)
        if not isinstance(data, np.lib.npyio.NpzFile):  # a .npy holds one array, not named vectors
            raise ValueError(f"a single array of shape {getattr(data, 'shape', '?')}, not an archive of named arrays")
        with data:
            arrays = {key: np.asarray(data[key], dtype=float) for key in data.files}
    except (OSError, ValueError, EOFError, KeyError, TypeError, zipfile.BadZipFile) as err:
        reason = " ".join(str(err).split()) or type(err).__name__
        raise ConfigError(where, spec.file, f"a readable .npz file of arrays m_<population>, n_<population> "
                          f"({reason})") from None
    for pop, size in sizes.items():
        for kind in ("m", "n"):
            key = f"{kind}_{pop}"
            if key not in arrays:
                raise ConfigError(where, spec.file, f"an array {key} (has {', '.join(sorted(arrays)) or 'none'})")
            if arrays[key].shape != (size, spec.rank) or not np.isfinite(arrays[key]).all():
                raise ConfigError(where, spec.file,
                                  f"{key} of shape ({size}, {spec.rank}) with finite values, got {arrays[key].shape}")
    return arrays
