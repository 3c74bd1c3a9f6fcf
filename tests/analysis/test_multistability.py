"""Multistability map: initial bumps, region logic, and the supercritical Ben-Yishai ring."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from einet.measures.bump import decode
from einet.analysis.multistability import REGIONS, analyze, region_of
from einet.experiment import validate
from einet.errors import ConfigError, EinetError
from einet.fields import parse_section
from einet.network.rate import RateNetwork
from einet.config.model import ModelSpec
from einet.runs.rate import simulate


def one_population(**population) -> ModelSpec:
    raw = {"populations": {"R": {"size": 90, "type": "mixed", **population}}, "projections": {},
           "external": {"M0": 1.0, "J": {"R": 1.0}}}
    return parse_section(ModelSpec, raw, "model")


@pytest.mark.parametrize("phase_deg", [0.0, 37.0, 90.0, 271.5])
def test_initial_bump_decodes_to_its_parameters(phase_deg):
    net = RateNetwork([one_population(init_rate=2.0, init_modulation=0.6, init_phase=phase_deg)], 1.0,
                      dtype=torch.float64)
    m0, m1, phase = decode(net.initial_state().rates[0])
    assert math.isclose(float(m0), 2.0, rel_tol=1e-12)
    assert math.isclose(float(m1), 1.2, rel_tol=1e-12)
    wrapped = math.remainder(float(phase) - math.radians(phase_deg), 2 * math.pi)
    assert abs(wrapped) < 1e-12


def test_initial_modulation_beyond_one_is_refused():
    with pytest.raises(ConfigError, match="init_modulation"):
        one_population(init_rate=1.0, init_modulation=1.5)


def test_region_truth_table():
    from_uniform = np.array([False, False, True, True])
    from_bump = np.array([False, True, True, False])
    names = [REGIONS[i] for i in region_of(from_uniform, from_bump)]
    assert names == ["uniform", "bistable", "bump", "bump_from_uniform_only"]


def test_the_two_kinds_of_bistability_are_told_apart_by_the_uniform_states_rate():
    """A low uniform state beside a bump (a cue switches the bump on) against a high-rate, saturated one."""
    from_uniform, from_bump = np.array([False, False, True]), np.array([True, True, True])
    m0_uniform, m0_bump = np.array([0.05, 1.0, 0.5]), np.array([0.3, 0.6, 0.4])
    names = [REGIONS[i] for i in region_of(from_uniform, from_bump, m0_uniform, m0_bump)]
    assert names == ["bistable", "bistable_high", "bump"]


J1_VALUES = (1.0, 1.6, 2.4, 3.0)


def ben_yishai_experiment() -> dict:
    """tau dr/dt = -r + [1 + (1/N) sum_j (-1 + J1 cos) r_j]_+ with a little noise, from two starts.

    einet writes the coupling as J (1 + kappa cos) / N, so J = -1 and kappa = -J1.
    """
    return {
        "name": "ben_yishai_map",
        "model": {
            "populations": {"R": {"size": 128, "type": "mixed", "tau": 10.0, "transfer": {"threshold": 0.0},
                                  "init_rate": 0.5}},
            "projections": {"RR": {"source": "R", "target": "R", "J": -1.0, "connectivity": "all_to_all",
                                   "profile": "cosine", "kappa": -1.0}},
            "external": {"M0": 1.0, "J": {"R": 1.0}, "noise": {"R": 0.01}},
        },
        "simulation": {"dt": 1.0, "duration": 1500.0, "dtype": "float64", "device": "cpu",
                       "record": {"every": 10.0, "neurons": 0, "bump": True, "average_from": 1200.0}},
        "analysis": {"kind": "multistability"},
        "sweep": {"batch": {"model.projections.RR.kappa": [-j for j in J1_VALUES],
                            "start": {"path": "model.populations.R.init_modulation", "values": [0.0, 1.0]}}},
    }


def test_ben_yishai_ring_is_supercritical_uniform_below_two_bump_above_never_bistable():
    """The instability of the uniform state at J1 = 2 is a supercritical bifurcation: no hysteresis."""
    spec = validate(ben_yishai_experiment())
    ds = analyze(simulate(spec, progress=False), spec)
    regions = [REGIONS[int(r)] for r in ds.region.values]
    assert regions == ["uniform" if J1 < 2 else "bump" for J1 in J1_VALUES]
    uniform = ds.sel(kappa=[-j for j in J1_VALUES if j < 2])
    # the uniform fixed point I0 / (1 - J0) = 0.5 from both starts, up to the noise
    assert np.allclose(uniform.m0, 0.5, atol=0.01)


def test_the_map_needs_its_start_axis_and_bump_records():
    raw = ben_yishai_experiment()
    raw["sweep"]["batch"].pop("start")
    raw["simulation"]["duration"] = 50.0
    raw["simulation"]["record"]["average_from"] = 40.0
    spec = validate(raw)
    with pytest.raises(EinetError, match="start"):
        analyze(simulate(spec, progress=False), spec)
    raw["simulation"]["record"]["bump"] = False
    spec = validate(raw)
    with pytest.raises(EinetError, match="record.bump"):
        analyze(simulate(spec, progress=False), spec)
