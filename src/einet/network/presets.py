"""Ready-made model descriptions (raw config mappings) for common networks."""

from __future__ import annotations


def balanced_ei(
    n_exc: int,
    n_inh: int,
    K: float,
    *,
    J: tuple[float, float, float, float] = (0.5, -0.75, 0.5, -0.5),
    drive: tuple[float, float] = (1.0, 0.5),
    M0: float = 1.0,
    tau: tuple[float, float] = (20.0, 10.0),
    threshold: float = 1.0,
) -> dict:
    """A sparse E/I network with couplings J/sqrt(K) and drive sqrt(K) M0 J_A0.

    ``J`` is (J_EE, J_EI, J_IE, J_II), target first. The defaults are half of
    NeuroFlame's balanced-network couplings: the balanced limit is the same,
    m = -J^-1 J_0 M0 = (1, 2) M0, and the state is a stable fixed point rather
    than rate chaos, so time averages can be compared with static mean-field
    theory.
    """
    j_ee, j_ei, j_ie, j_ii = J
    transfer = {"name": "threshold_linear", "threshold": threshold}
    return {
        "K": K,
        "populations": {
            "E": {"size": n_exc, "type": "exc", "tau": tau[0], "transfer": dict(transfer)},
            "I": {"size": n_inh, "type": "inh", "tau": tau[1], "transfer": dict(transfer)},
        },
        "projections": {
            "EE": {"source": "E", "target": "E", "J": j_ee},
            "EI": {"source": "I", "target": "E", "J": j_ei},
            "IE": {"source": "E", "target": "I", "J": j_ie},
            "II": {"source": "I", "target": "I", "J": j_ii},
        },
        "external": {"M0": M0, "J": {"E": drive[0], "I": drive[1]}},
    }
