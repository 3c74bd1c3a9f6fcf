"""Population mean-field theory for rate networks with quenched Gaussian input.

Neuron ``i`` of population ``A`` receives ``h_i = mu_A + sigma_A * z_i`` with
``z_i ~ N(0, 1)`` frozen across neurons, where::

    mu_A      = sum_B C[A, B] * m_B + ext[A]
    sigma_A^2 = sum_B V[A, B] * q_B + noise_var[A]

``m_B`` is the population mean rate and ``q_B`` the population mean of the
squared rate.  For sparse projections with in-degree ``K`` and weights
``J / sqrt(K)``: ``C = J * sqrt(K)`` and ``V = J**2 * (1 - K / N_source)``; for
all-to-all coupling ``J / N``: ``C = J`` and ``V = 0``.  The self-consistent
state solves ``m_A = E_z[Phi_A(h)]`` and ``q_A = E_z[Phi_A(h)**2]``.

The theory is the reference the simulations are checked against, so the
Gaussian averages are computed in closed form where one exists and otherwise
with a quadrature that is accurate to ~1e-14 even for transfer functions with
kinks (where plain Gauss-Hermite quadrature stalls at ~1e-3).

This module only needs numpy and scipy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np
from numpy.polynomial.legendre import leggauss
from scipy import optimize, special

from einet.config.model import TRANSFER_NAMES

__all__ = [
    "TRANSFER_FUNCTIONS",
    "MeanFieldSolution",
    "balanced_limit",
    "fraction_active",
    "gaussian_moments",
    "solve_mean_field",
    "transfer_function",
]

#: the transfer functions the theory knows: the same table of names as the rate neurons' (one list, in config)
TRANSFER_FUNCTIONS = tuple(sorted(TRANSFER_NAMES))
_TRANSFER_KEYS = frozenset({"name", "threshold", "gain", "r_max"})
_SQRT2PI = np.sqrt(2.0 * np.pi)

# Solvers are looked up through this name so tests can force the fallback path.
_root = optimize.root


# --------------------------------------------------------------------------
# transfer functions
# --------------------------------------------------------------------------


def _check_name(name: str) -> str:
    key = str(name).lower()
    if key not in TRANSFER_FUNCTIONS:
        raise ValueError(
            f"unknown transfer function {name!r}; known: {', '.join(TRANSFER_FUNCTIONS)}"
        )
    return key


def transfer_function(name: str, x, *, threshold=0.0, gain=1.0, r_max=1.0) -> np.ndarray:
    """Evaluate transfer function ``name`` at input ``x``.

    The theory's float64 NumPy form of :mod:`einet.neurons.transfer` (whose torch form the
    networks step with); a contract test holds the two to rounding for every name.
    ``r_max`` only matters for ``sigmoid`` and ``erf``.
    """
    key = _check_name(name)
    x = np.asarray(x, dtype=float)
    u = np.asarray(gain, dtype=float) * (x - np.asarray(threshold, dtype=float))
    if key == "threshold_linear":
        return np.maximum(u, 0.0)
    if key == "sigmoid":
        return np.asarray(r_max, dtype=float) * special.expit(u)
    if key == "erf":
        return np.asarray(r_max, dtype=float) * special.ndtr(u)
    # brunel_hakim: 0 | u^2 | sqrt(4u - 3), continuous with continuous slope
    return np.where(
        u <= 0.0,
        0.0,
        np.where(u <= 1.0, u * u, np.sqrt(np.maximum(4.0 * u - 3.0, 1.0))),
    )


def _breakpoints(key: str, threshold, gain) -> list:
    """Inputs where the transfer function is not smooth (or changes fastest).

    Quadrature panels are graded towards these points, which is what makes the
    quadrature converge fast for kinked functions and steep sigmoids.
    """
    if key == "brunel_hakim":
        return [threshold, threshold + 1.0 / gain]
    return [threshold]


# --------------------------------------------------------------------------
# Gaussian averages
# --------------------------------------------------------------------------

_Z_MAX = 9.0  # N(0,1) mass beyond +-9 is ~2e-19: negligible at double precision
_GRADING_DEPTH = 12
_GL_ORDER = 12


def _graded_rule() -> tuple[np.ndarray, np.ndarray]:
    """Composite Gauss-Legendre rule on [0, 1], panels graded to both ends.

    Panels shrink geometrically (by 2, down to 2**-12) towards the ends, so a
    segment whose end sits at a kink or near a complex singularity of the
    integrand is still integrated to ~1e-14.
    """
    h = 0.5 ** np.arange(_GRADING_DEPTH, 0, -1)
    edges = np.concatenate([[0.0], h, 1.0 - h[::-1][1:], [1.0]])
    t, w = leggauss(_GL_ORDER)
    lo, hi = edges[:-1, None], edges[1:, None]
    nodes = 0.5 * (lo + hi) + 0.5 * (hi - lo) * t
    weights = 0.5 * (hi - lo) * w
    return nodes.ravel(), weights.ravel()


_S_NODES, _S_WEIGHTS = _graded_rule()


def _quadrature_moments(key, mu, sigma, threshold, gain, r_max, chunk=2048):
    """E[Phi(mu + sigma z)] and E[Phi^2] by graded piecewise Gauss-Legendre.

    All arguments are 1-d arrays of equal length with ``sigma > 0``.  The
    z-axis [-9, 9] is cut at the transfer function's breakpoints and each piece
    is integrated with the graded rule; work is chunked to bound memory.
    """
    n = mu.size
    mean = np.empty(n)
    second = np.empty(n)
    for start in range(0, n, chunk):
        sl = slice(start, start + chunk)
        m, s, th, g, r = mu[sl], sigma[sl], threshold[sl], gain[sl], r_max[sl]
        bps = np.stack([(b - m) / s for b in _breakpoints(key, th, g)], axis=1)
        bps = np.sort(np.clip(bps, -_Z_MAX, _Z_MAX), axis=1)
        col = np.full((m.size, 1), _Z_MAX)
        edges = np.concatenate([-col, bps, col], axis=1)  # (n, nseg + 1)
        a, length = edges[:, :-1, None], np.diff(edges, axis=1)[:, :, None]
        z = a + length * _S_NODES  # (n, nseg, nodes)
        w = length * _S_WEIGHTS * np.exp(-0.5 * z * z) / _SQRT2PI
        f = transfer_function(
            key,
            m[:, None, None] + s[:, None, None] * z,
            threshold=th[:, None, None],
            gain=g[:, None, None],
            r_max=r[:, None, None],
        )
        mean[sl] = np.sum(w * f, axis=(1, 2))
        second[sl] = np.sum(w * f * f, axis=(1, 2))
    return mean, second


def gaussian_moments(
    transfer: str, mu, sigma, *, threshold=0.0, gain=1.0, r_max=1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and second moment of ``Phi(mu + sigma z)`` for ``z ~ N(0, 1)``.

    These are the population averages ``m`` and ``q`` of the mean-field
    equations.  Closed forms are used for ``threshold_linear`` (both moments)
    and ``erf`` (mean by the probit-normal identity, second moment through
    Owen's T function), since they are exact and cheap; ``sigmoid`` and
    ``brunel_hakim`` use a graded piecewise Gauss-Legendre rule cut at the
    kinks.  ``sigma = 0`` is handled exactly as ``Phi(mu)`` and ``Phi(mu)**2``.

    Parameters
    ----------
    transfer : str
        One of ``TRANSFER_FUNCTIONS``.
    mu, sigma : array_like
        Mean and standard deviation (``>= 0``) of the input; broadcast together
        with ``threshold``, ``gain`` (``> 0``) and ``r_max``.

    Returns
    -------
    mean, second_moment : ndarray (numpy scalars for scalar input)

    Raises
    ------
    ValueError
        For an unknown transfer name, negative ``sigma``, non-positive gain or
        non-finite input.
    """
    key = _check_name(transfer)
    mu, sigma, th, g, r = np.broadcast_arrays(
        *(np.asarray(v, dtype=float) for v in (mu, sigma, threshold, gain, r_max))
    )
    shape = mu.shape
    mu, sigma, th, g, r = (np.array(v, dtype=float).ravel() for v in (mu, sigma, th, g, r))
    for name, v in (("mu", mu), ("sigma", sigma), ("threshold", th), ("gain", g), ("r_max", r)):
        if not np.all(np.isfinite(v)):
            raise ValueError(f"{name} must be finite, got {v[~np.isfinite(v)][0]!r}")
    if np.any(sigma < 0):
        raise ValueError(f"sigma must be >= 0, got {sigma[sigma < 0][0]!r}")
    if np.any(g <= 0):
        raise ValueError(f"gain must be > 0, got {g[g <= 0][0]!r}")

    mean = np.empty_like(mu)
    second = np.empty_like(mu)

    # sigma == 0: no averaging, and no division by sigma below.
    det = sigma == 0
    if np.any(det):
        f = transfer_function(key, mu[det], threshold=th[det], gain=g[det], r_max=r[det])
        mean[det] = f
        second[det] = f * f

    st = ~det
    if np.any(st):
        m, s, t_, gg, rr = mu[st], sigma[st], th[st], g[st], r[st]
        if key == "threshold_linear":
            d = m - t_
            a = d / s
            cdf = special.ndtr(a)
            ac = np.clip(a, -60.0, 60.0)  # pdf is 0 beyond; avoids a*a overflow
            pdf = np.exp(-0.5 * ac * ac) / _SQRT2PI
            mean[st] = gg * (d * cdf + s * pdf)
            second[st] = gg * gg * ((d * d + s * s) * cdf + d * s * pdf)
        elif key == "erf":
            b = gg * s
            h = gg * (m - t_) / np.sqrt(1.0 + b * b)
            cdf = special.ndtr(h)
            mean[st] = rr * cdf
            # E[Phi_N(a + b z)^2] = P(X1 < a + bz, X2 < a + bz) is a bivariate
            # normal cdf at (h, h) with correlation b^2 / (1 + b^2), which is
            # Phi_N(h) - 2 T(h, 1 / sqrt(1 + 2 b^2)) (Owen 1956).
            t_owen = special.owens_t(h, 1.0 / np.sqrt(1.0 + 2.0 * b * b))
            second[st] = rr * rr * np.clip(cdf - 2.0 * t_owen, 0.0, cdf)
        else:
            mean[st], second[st] = _quadrature_moments(key, m, s, t_, gg, rr)
        # guard against rounding: 0 <= E[Phi]^2 <= E[Phi^2]
        second[st] = np.maximum(second[st], mean[st] ** 2)

    return mean.reshape(shape)[()], second.reshape(shape)[()]


def fraction_active(mu, sigma, threshold) -> np.ndarray:
    """Fraction of neurons whose input ``mu + sigma z`` exceeds ``threshold``.

    This is ``Phi_N((mu - threshold) / sigma)``; for ``sigma = 0`` all neurons
    receive the same input, so it is a step (1 if ``mu > threshold`` else 0).
    For threshold-linear units it is the fraction with a non-zero rate.
    """
    mu, sigma, th = np.broadcast_arrays(
        *(np.asarray(v, dtype=float) for v in (mu, sigma, threshold))
    )
    if np.any(sigma < 0):
        raise ValueError("sigma must be >= 0")
    d = mu - th
    safe = np.where(sigma > 0, sigma, 1.0)
    out = np.where(sigma > 0, special.ndtr(d / safe), (d > 0).astype(float))
    return out[()]


# --------------------------------------------------------------------------
# balanced limit
# --------------------------------------------------------------------------


def balanced_limit(C, ext) -> np.ndarray:
    """Rates of the large-K balanced state, solving ``C m + ext = 0``.

    With ``C, ext ~ sqrt(K)`` the mean input stays O(1) only if the leading
    order cancels, which fixes the rates independently of the transfer
    function; finite-K solutions approach it as ``1 / sqrt(K)``.

    Raises
    ------
    ValueError
        If ``C`` is singular (no unique balanced state) or a population would
        need a negative rate (no balanced state with all populations active).
    """
    C = np.atleast_2d(np.asarray(C, dtype=float))
    ext = np.atleast_1d(np.asarray(ext, dtype=float))
    P = ext.size
    if C.shape != (P, P):
        raise ValueError(f"C must have shape ({P}, {P}) to match ext, got {C.shape}")
    if not (np.all(np.isfinite(C)) and np.all(np.isfinite(ext))):
        raise ValueError("C and ext must be finite")
    cond = np.linalg.cond(C)
    if not np.isfinite(cond) or cond > 1e12:
        raise ValueError(
            f"coupling matrix C is singular (condition number {cond:.3g}): "
            "C m + ext = 0 has no unique balanced solution"
        )
    m = np.linalg.solve(C, -ext)
    tiny = 1e-12 * max(1.0, float(np.max(np.abs(m))))
    neg = np.flatnonzero(m < -tiny)
    if neg.size:
        which = ", ".join(f"population {i} (m = {m[i]:.6g})" for i in neg)
        raise ValueError(
            f"no balanced state with all populations active: C m + ext = 0 "
            f"requires a negative rate for {which}"
        )
    return np.maximum(m, 0.0)


# --------------------------------------------------------------------------
# self-consistent solution
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class MeanFieldSolution:
    """Self-consistent population statistics.

    Attributes
    ----------
    m, q : ndarray
        Mean rate and mean squared rate per population.
    mu, sigma : ndarray
        Mean and standard deviation of the input at the solution.
    residual : float
        Max over the 2P equations of ``|x - G(x)| / max(1, |G(x)|)``, where
        ``x = (m, q)`` and ``G`` gives the Gaussian averages E[Phi], E[Phi^2]
        (absolute below 1, relative above, so large rates are not penalised).
    converged : bool
        Whether ``residual <= 10 * tol`` (always True for a returned solution).
    method : str
        Which stage produced it ("hybr", "pseudo-transient", "lm",
        "fixed-point"; see ``solve_mean_field``), for diagnosing hard cases.
    """

    m: np.ndarray
    q: np.ndarray
    mu: np.ndarray
    sigma: np.ndarray
    residual: float
    converged: bool
    method: str = "hybr"


def _parse_transfers(transfers: Sequence[Mapping], P: int):
    if len(transfers) != P:
        raise ValueError(f"need one transfer dict per population ({P}), got {len(transfers)}")
    names, th, g, r = [], [], [], []
    for i, t in enumerate(transfers):
        if not isinstance(t, Mapping) or "name" not in t:
            raise ValueError(f"transfers[{i}] must be a dict with a 'name' key, got {t!r}")
        unknown = set(t) - _TRANSFER_KEYS
        if unknown:
            raise ValueError(
                f"transfers[{i}] has unknown keys {sorted(unknown)}; "
                f"allowed: {sorted(_TRANSFER_KEYS)}"
            )
        names.append(_check_name(t["name"]))
        th.append(float(t.get("threshold", 0.0)))
        g.append(float(t.get("gain", 1.0)))
        r.append(float(t.get("r_max", 1.0)))
        if not g[-1] > 0:
            raise ValueError(f"transfers[{i}]: gain must be > 0, got {g[-1]!r}")
    return names, np.array(th), np.array(g), np.array(r)


def _make_map(C, V, ext, noise_var, names, th, g, r) -> Callable:
    """Return ``G(m, q) -> (m', q', mu, sigma)``, the mean-field update."""
    groups: dict[str, np.ndarray] = {}
    for i, n in enumerate(names):
        groups.setdefault(n, []).append(i)
    groups = {k: np.array(v) for k, v in groups.items()}

    def G(m, q):
        mu = C @ m + ext
        # q can go transiently negative inside a Newton step; clip the variance
        var = np.maximum(V @ q + noise_var, 0.0)
        sigma = np.sqrt(var)
        m_new = np.empty_like(mu)
        q_new = np.empty_like(mu)
        for name, idx in groups.items():
            m_new[idx], q_new[idx] = gaussian_moments(
                name, mu[idx], sigma[idx], threshold=th[idx], gain=g[idx], r_max=r[idx]
            )
        return m_new, q_new, mu, sigma

    return G


def _scaled_residual(x, gx) -> float:
    return float(np.max(np.abs(x - gx) / np.maximum(1.0, np.abs(gx))))


def _jacobian(F, x):
    """Central-difference Jacobian; P is small, so 4P evaluations are cheap."""
    n = x.size
    J = np.empty((n, n))
    for j in range(n):
        h = 1e-6 * max(1.0, abs(x[j]))
        e = np.zeros(n)
        e[j] = h
        J[:, j] = (F(x + e) - F(x - e)) / (2.0 * h)
    return J


def _solve_linear(A, b):
    try:
        out = np.linalg.solve(A, b)
        if np.all(np.isfinite(out)):
            return out
    except np.linalg.LinAlgError:
        pass
    return np.linalg.lstsq(A, b, rcond=None)[0]


def _newton(F, x, tol, max_iter):
    """Newton's method with backtracking on ``|F|``; polishes a near solution."""
    fx = F(x)
    for _ in range(max_iter):
        norm = np.linalg.norm(fx)
        if not np.isfinite(norm) or _scaled_residual(x, x - fx) < 0.1 * tol:
            break
        dx = _solve_linear(_jacobian(F, x), -fx)
        lam = 1.0
        while lam > 1e-10:
            x_try = x + lam * dx
            f_try = F(x_try)
            if np.all(np.isfinite(f_try)) and np.linalg.norm(f_try) < (1 - 1e-4 * lam) * norm:
                break
            lam *= 0.5
        else:
            break
        x, fx = x_try, f_try
    return x


def _pseudo_transient(F, x, tol, max_iter, project):
    """Pseudo-transient continuation towards a stable state of dx/dt = -F(x).

    ``-F(x) = G(x) - x`` is a relaxation dynamics of the rates, so implicit
    Euler steps ``(I/dt + F'(x)) dx = -F(x)`` follow it stably however stiff
    the coupling is.  ``dt`` doubles after each accepted step and is cut when
    a step would move the state by more than 20 % (or blow up ``|F|``), so
    the iteration tracks the relaxation while far away and becomes Newton's
    method near the solution.
    Iterates are projected back onto the set the dynamics cannot leave
    (``m >= 0``, ``q >= m**2``).  Unlike Newton from a poor guess it is not
    thrown to a far-off point; it fails only where the dynamics do not settle.
    """
    n = x.size
    x = project(x)
    fx = F(x)
    norm = np.linalg.norm(fx)
    J = _jacobian(F, x)
    dt, dt_min = 0.01, 1e-10
    for _ in range(max_iter):
        if not np.isfinite(norm) or _scaled_residual(x, x - fx) < 0.1 * tol:
            break
        dx = _solve_linear(np.eye(n) / dt + J, -fx)
        x_new = project(x + dx)
        step = np.max(np.abs(x_new - x)) / max(1.0, np.max(np.abs(x)))
        f_new = F(x_new) if step <= 0.2 else fx
        norm_new = np.linalg.norm(f_new)
        if step > 0.2 or not np.isfinite(norm_new) or norm_new > 2.0 * norm:
            # too long a step for the linearisation: retry closer to the ODE
            dt *= 0.25
            if dt < dt_min:
                break
            continue
        dt = min(2.0 * dt, 1e15)
        x, fx, norm = x_new, f_new, norm_new
        J = _jacobian(F, x)
    return x


def _fixed_point(Gx, res, x, tol, max_iter):
    """Damped iteration ``x <- x + a (G(x) - x)`` with adaptive damping ``a``.

    Slow (the damping must scale like 1/coupling) but only needs the map to be
    contracting after damping; the last resort when the Newton-type solvers
    fail.
    """
    a = 0.5
    r = res(x)
    for _ in range(max_iter):
        if r <= tol or a < 1e-14:
            break
        x_try = x + a * (Gx(x) - x)
        r_try = res(x_try)
        if np.isfinite(r_try) and r_try < r:
            x, r = x_try, r_try
            a = min(1.0, 1.5 * a)
        else:
            a *= 0.5
    return x


def solve_mean_field(
    C,
    V,
    ext,
    transfers: Sequence[Mapping],
    noise_var=None,
    *,
    tol: float = 1e-12,
    max_iter: int = 20_000,
) -> MeanFieldSolution:
    """Solve the mean-field equations for the population statistics (m, q).

    Strongly coupled balanced networks (``C`` entries of order 10-100) make
    plain fixed-point iteration diverge or crawl, so Newton-type solvers are
    used on the 2P equations ``x = G(x)``, ``x = (m, q)``, in this order,
    each followed by a Newton polish, until one reaches the tolerance:

    1. ``scipy.optimize.root`` (``hybr``) from each starting guess: the
       balanced limit clipped to >= 0, rates 0.1, rates 1;
    2. pseudo-transient continuation (implicit relaxation of
       ``dx/dt = G(x) - x``, see ``_pseudo_transient``) from each guess,
       which finds the dynamically stable state where ``hybr`` gets lost;
    3. ``scipy.optimize.root`` (``lm``) from each guess;
    4. damped fixed-point iteration with adaptive damping.

    Parameters
    ----------
    C, V : array_like, shape (P, P)
        Mean and variance coupling coefficients (``V >= 0``).
    ext : array_like, shape (P,)
        External mean input.
    transfers : list of dict
        Per population, e.g. ``{"name": "threshold_linear", "threshold": 1.0,
        "gain": 1.0, "r_max": 1.0}``; omitted keys default to threshold 0,
        gain 1, r_max 1.  Other keys are rejected (typo guard).
    noise_var : array_like, shape (P,), optional
        Extra input variance (default 0).
    tol : float
        Target for the residual ``max |x - G(x)| / max(1, |G(x)|)``; a
        solution is accepted at ``10 * tol``.
    max_iter : int
        Iteration cap of the fixed-point fallback (and of the pseudo-transient
        stage, at most 500 steps per guess).

    Returns
    -------
    MeanFieldSolution

    Raises
    ------
    RuntimeError
        If no solver reaches ``residual <= 10 * tol``; the message gives the
        best residual found.  Besides hard numerics this happens when there is
        no finite solution (threshold-linear units with too strong excitation).
    """
    ext = np.atleast_1d(np.asarray(ext, dtype=float))
    P = ext.size
    C = np.asarray(C, dtype=float)
    V = np.asarray(V, dtype=float)
    C = np.broadcast_to(C, (P, P)) if C.ndim == 0 else np.atleast_2d(C)
    V = np.broadcast_to(V, (P, P)) if V.ndim == 0 else np.atleast_2d(V)
    if C.shape != (P, P) or V.shape != (P, P):
        raise ValueError(f"C and V must have shape ({P}, {P}), got {C.shape} and {V.shape}")
    if np.any(V < 0):
        raise ValueError("V must be >= 0 (it multiplies variances)")
    if noise_var is None:
        noise_var = np.zeros(P)
    noise_var = np.broadcast_to(np.asarray(noise_var, dtype=float), (P,))
    if np.any(noise_var < 0):
        raise ValueError("noise_var must be >= 0")
    for name, arr in (("C", C), ("V", V), ("ext", ext), ("noise_var", noise_var)):
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} must be finite")
    names, th, g, r = _parse_transfers(transfers, P)
    G = _make_map(C, V, ext, noise_var, names, th, g, r)

    def Gx(x):
        m_new, q_new, _, _ = G(x[:P], x[P:])
        return np.concatenate([m_new, q_new])

    def F(x):
        with np.errstate(over="ignore", invalid="ignore"):
            return x - Gx(x)

    def res(x):
        if not np.all(np.isfinite(x)):
            return np.inf
        fx = F(x)
        return _scaled_residual(x, x - fx) if np.all(np.isfinite(fx)) else np.inf

    starts = []
    try:
        starts.append(np.linalg.solve(C, -ext).clip(0.0, None))
    except np.linalg.LinAlgError:
        pass
    starts += [np.full(P, 0.1), np.ones(P)]
    starts = [np.concatenate([m0, m0**2 + 1e-3]) for m0 in starts if np.all(np.isfinite(m0))]

    target = 10.0 * tol
    best_x, best_r, method = None, np.inf, ""

    def accept(x, how) -> bool:
        """Polish ``x`` with Newton if needed, keep the best point, report success."""
        nonlocal best_x, best_r, method
        rx = res(x)
        if np.isfinite(rx) and rx > target:
            polished = _newton(F, x, tol, 50)
            rp = res(polished)
            if rp < rx:
                x, rx = polished, rp
        if rx < best_r:
            best_x, best_r, method = x, rx, how
        return rx <= target

    def via_root(how):
        def run(x0):
            opts = {"xtol": 1e-15} if how == "hybr" else {"xtol": 1e-15, "ftol": 1e-15}
            try:
                with np.errstate(all="ignore"):
                    return np.asarray(_root(F, x0, method=how, options=opts).x, dtype=float)
            except (ValueError, FloatingPointError, np.linalg.LinAlgError):
                return None

        return run

    def project(x):
        m = np.maximum(x[:P], 0.0)
        return np.concatenate([m, np.maximum(x[P:], m * m)])

    def via_ptc(x0):
        with np.errstate(all="ignore"):
            return _pseudo_transient(F, x0, tol, min(500, max_iter), project)

    done = False
    stages = (("hybr", via_root("hybr")), ("pseudo-transient", via_ptc), ("lm", via_root("lm")))
    for how, run in stages:
        for x0 in starts:
            x = run(x0)
            if x is not None and accept(x, how):
                done = True
                break
        if done:
            break
    if not done:
        start = best_x if best_x is not None and np.isfinite(best_r) else starts[-1]
        with np.errstate(all="ignore"):
            x = _fixed_point(Gx, res, start, 0.1 * tol, max_iter)
        done = accept(x, "fixed-point")

    if not done:
        raise RuntimeError(
            f"mean-field equations did not converge: best residual {best_r:.3g} "
            f"> {target:.3g} (tol={tol:g}); there may be no finite stable state "
            "(e.g. runaway excitation with an unbounded transfer function)"
        )
    m, q = best_x[:P].copy(), best_x[P:].copy()
    _, _, mu, sigma = G(m, q)
    return MeanFieldSolution(
        m=m,
        q=q,
        mu=mu,
        sigma=sigma,
        residual=best_r,
        converged=True,
        method=method,
    )
