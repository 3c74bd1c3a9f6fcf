"""Poisson sources and the single-neuron STDP experiment (einet.synapses.poisson, stdp_neuron, stdp_experiment).

Statistical checks use 4 standard errors (two-sided false-alarm probability about 6e-5 for a
normal estimate); each test says where its standard error comes from. Seeds are fixed, so a run
is reproducible, but the margins hold for other seeds too (they are not tuned to one draw).
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch

from conftest import two_population_model
from einet.experiment import validate
from einet.errors import ConfigError
from einet.plasticity.spiking import plasticity_initial, plasticity_step
from einet.plasticity.stdp import STDP
from einet.synapses.poisson import correlated_poisson, indicator_correlation, poisson_spikes, spike_probability
from einet.synapses.projection import DenseSynapses
from einet.plasticity.spiking import SynapseActivity
from einet.network.stdp_neuron import PerElementRule, expected_drift

F64 = torch.float64
Z = 4.0  # standard errors allowed by every statistical check


def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# ----------------------------------------------------------------- Poisson sources
@pytest.mark.parametrize("counts", [False, True])
def test_poisson_rate_matches_theory(counts):
    """Mean spikes per step: 1 - exp(-r dt) (0/1 form) or r dt (counts). The steps are independent, so the
    standard error of the mean of N values is sqrt(var / N), with the theoretical variance p(1-p) or r dt."""
    rates = torch.tensor([[5.0], [20.0], [40.0]], dtype=F64)  # [batch, 1]: a rate per batch element
    dt, steps, n = 1.0, 20000, 50
    spikes = poisson_spikes(rates, (steps, 3, n), dt, _generator(1), counts=counts, dtype=F64)
    assert spikes.dtype == F64 and spikes.shape == (steps, 3, n)
    for b, rate in enumerate(rates[:, 0].tolist()):
        x = spikes[:, b]
        if counts:
            mean, var = rate * dt / 1000.0, rate * dt / 1000.0
            assert float(x.var()) == pytest.approx(var, rel=0.05)  # Poisson: variance = mean
        else:
            mean = spike_probability(rate, dt)
            var = mean * (1.0 - mean)
            assert set(x.unique().tolist()) <= {0.0, 1.0}
        assert abs(float(x.mean()) - mean) < Z * math.sqrt(var / x.numel())


def test_poisson_draws_follow_the_generator():
    a = poisson_spikes(10.0, (100, 2, 30), 1.0, _generator(3))
    b = poisson_spikes(10.0, (100, 2, 30), 1.0, _generator(3))
    c = poisson_spikes(10.0, (100, 2, 30), 1.0, _generator(4))
    assert torch.equal(a, b) and not torch.equal(a, c)
    with pytest.raises(ValueError, match="rate"):
        poisson_spikes(-1.0, (2, 2), 1.0, _generator(0))


@pytest.mark.parametrize("counts", [True, False])
def test_correlated_group_has_the_rate_and_pairwise_count_correlation_of_theory(counts):
    """Multiple interaction process: each neuron at rate r, pairwise count correlation c exactly (counts) or
    (e^{c lambda} - 1)/(e^lambda - 1) (0/1 form), in any window. The batch elements are independent groups, so
    the spread of their pair-averaged correlations gives the standard error (t with 19 degrees of freedom:
    4 SE is a 0.08 % two-sided false alarm)."""
    rate, c, dt = 20.0, 0.2, 1.0
    groups, n, steps, window = 20, 20, 20000, 20
    spikes = correlated_poisson(rate, c, (steps, groups, n), dt, _generator(7), counts=counts, dtype=F64)
    lam = rate * dt / 1000.0
    expected_rate = lam if counts else spike_probability(rate, dt)
    per_step = spikes.mean(dim=(0, 2))  # per group
    assert abs(float(per_step.mean()) - expected_rate) < Z * float(per_step.std()) / math.sqrt(groups)
    windows = spikes.reshape(steps // window, window, groups, n).sum(1)  # [window, group, neuron] counts
    z = (windows - windows.mean(0)) / windows.std(0)
    corr = torch.einsum("wgi,wgj->gij", z, z) / (windows.shape[0] - 1)
    off = ~torch.eye(n, dtype=torch.bool)
    per_group = corr[:, off].mean(-1)
    expected = c if counts else indicator_correlation(rate, c, dt)
    assert abs(float(per_group.mean()) - expected) < Z * float(per_group.std()) / math.sqrt(groups)
    assert expected == pytest.approx(c, rel=0.01)  # at 20 Hz and 1 ms the 0/1 form is 0.8 % below c
    # different groups are independent: the correlation across batch elements vanishes
    across = (z[:, 0] * z[:, 1]).mean(0)
    assert abs(float(across.mean())) < Z / math.sqrt(windows.shape[0])


def test_correlation_extremes_and_tensor_correlations():
    """c = 1: every neuron of a group copies the mother (identical trains); c = 0: independent trains; a
    [batch, 1] tensor of correlations gives each group its own."""
    g = _generator(2)
    same = correlated_poisson(30.0, 1.0, (500, 2, 10), 1.0, g)
    assert torch.equal(same, same[..., :1].expand_as(same)) and same.sum() > 0
    mixed = correlated_poisson(30.0, torch.tensor([[0.0], [1.0]]), (4000, 2, 10), 1.0, g, counts=True)
    assert torch.equal(mixed[:, 1], mixed[:, 1, :1].expand(-1, 10))
    assert not torch.equal(mixed[:, 0], mixed[:, 0, :1].expand(-1, 10))
    with pytest.raises(ValueError, match="correlation"):
        correlated_poisson(10.0, 1.5, (2, 2), 1.0, g)


# ----------------------------------------------------------------- STDP drift and the per-element rule
def test_additive_stdp_drift_for_independent_poisson_trains_matches_theory():
    """<dw/dt> = r_pre r_post (A+ tau+ - A- tau-) in continuous time, with STDP's conventions (traces of
    amplitude 1, A- >= 0 with the sign applied by the rule). The stepped rule counts same-step pairs as causal,
    so at dt = 1 ms the exact expectation is expected_drift(..., dt) (tau +- dt/2 in effect), 14 % off the
    continuous value here (about 20 standard errors); the test checks that value, and that it tends to the
    continuous one as dt -> 0. Standard error: postsynaptic trains differ between batch elements (synapses of
    one element share theirs), so the spread of the 256 element means is used."""
    r_pre, r_post, a_plus, a_minus, tau_plus, tau_minus = 20.0, 20.0, 0.01, 0.015, 20.0, 20.0
    dt, steps, batch, n = 1.0, 8000, 256, 20
    rule = STDP(a_plus=a_plus, a_minus=a_minus, tau_pre=tau_plus, tau_post=tau_minus, w_min=-1e6, w_max=1e6)
    w = torch.zeros(batch, 1, n, dtype=F64)
    state = plasticity_initial(rule, w, batch, n, 1)
    g = _generator(11)
    with torch.inference_mode():
        for start in range(0, steps, 2000):
            pre = poisson_spikes(r_pre, (2000, batch, n), dt, g, dtype=F64)
            post = poisson_spikes(r_post, (2000, batch, 1), dt, g, dtype=F64)
            for s in range(2000):
                w, state = plasticity_step(rule, w, state, pre[s], post[s], DenseSynapses(), dt)
    seconds = steps * dt / 1000.0
    per_element = w.mean(dim=(1, 2)) / seconds
    theory = expected_drift(r_pre, r_post, a_plus, a_minus, tau_plus, tau_minus, dt=dt)
    continuous = expected_drift(r_pre, r_post, a_plus, a_minus, tau_plus, tau_minus)
    assert continuous == pytest.approx(r_pre * r_post * (a_plus * tau_plus - a_minus * tau_minus) / 1000.0)
    assert abs(theory - continuous) > 0.1 * abs(continuous)  # the discretisation matters at this dt ...
    assert abs(float(per_element.mean()) - theory) < Z * float(per_element.std()) / math.sqrt(batch)
    assert expected_drift(r_pre, r_post, a_plus, a_minus, tau_plus, tau_minus, dt=1e-3) == pytest.approx(
        continuous, rel=1e-3)  # ... and vanishes as dt -> 0


def test_per_element_rule_equals_each_rule_on_its_own_element():
    rules = [STDP(a_plus=0.1, a_minus=0.12, dependence=d) for d in ("additive", "multiplicative", "additive")]
    combined = PerElementRule(rules)
    g = _generator(5)
    w = torch.rand(3, 1, 8, generator=g, dtype=F64)
    a = SynapseActivity((torch.rand(3, 1, 8, generator=g) < 0.3).to(F64), torch.rand(3, 1, 8, generator=g, dtype=F64),
                        torch.ones(3, 1, 1, dtype=F64), torch.rand(3, 1, 1, dtype=F64), 0.0, 1.0)
    new, _ = combined.update(w, a, combined.initial(w))
    for i, rule in enumerate(rules):
        alone, _ = rule.update(w[i:i + 1], SynapseActivity(*(f[i:i + 1] for f in a[:4]), 0.0, 1.0), None)
        assert torch.equal(new[i:i + 1], alone)
    with pytest.raises(ValueError, match="time constants"):
        PerElementRule([STDP(tau_pre=10.0), STDP(tau_pre=20.0)])


# ----------------------------------------------------------------- the experiment
def stdp_experiment(**stdp) -> dict:
    """A small competition: 200 inputs (100 correlated, c = 0.1) with 5 mV synapses (the drive of Song et al.'s
    1000 inputs of 1 mV), learning fast (A+ = 5 % of w_max, A-/A+ = 1.2) for 12 s at dt = 1 ms."""
    section = {"n_inputs": 200, "n_correlated": 100, "rate": 10.0, "correlation": 0.1, "n_inhibitory": 40,
               "rate_inhibitory": 10.0, "w_inhibitory": -10.0, "w_max": 5.0, "w_init": [0.0, 1.0],
               "a_plus": 0.05, "a_minus": 0.06, "record_every": 500.0, "rate_bin": 1000.0}
    section.update(stdp)
    return {"name": "stdp_test", "model": None, "stdp": section, "analysis": {"kind": "stdp", "bins": 20},
            "simulation": {"dt": 1.0, "duration": 12000.0, "device": "cpu", "dtype": "float64", "seed": 3}}


@pytest.fixture(scope="module")
def competition():
    from einet.analysis import ANALYSES
    from einet.runs.stdp import simulate_stdp

    spec = validate(stdp_experiment())
    run = simulate_stdp(spec, progress=False)
    return run, ANALYSES.get("stdp")(run, spec)


def test_correlated_inputs_win_under_additive_stdp(competition):
    run, summary = competition
    final = summary.final_mean_weight.sel(dependence="additive")
    assert float(final.sel(group="correlated")) > 0.85
    assert float(final.sel(group="correlated")) - float(final.sel(group="independent")) > 0.4
    start = run.weight.isel(weight_time=0)
    assert abs(float(start.mean()) - 0.5) < 0.05  # both groups started uniform on [0, 1]
    # the multiplicative rule favours the correlated group too, but only by a shift of its single mode
    mult = summary.final_mean_weight.sel(dependence="multiplicative")
    assert 0 < float(mult.sel(group="correlated")) - float(mult.sel(group="independent")) < 0.4


def test_additive_weights_go_to_the_bounds_multiplicative_stay_unimodal(competition):
    run, summary = competition
    final = run.weight.isel(weight_time=-1)
    add, mult = final.sel(dependence="additive").values, final.sel(dependence="multiplicative").values
    # additive: both ends populated and most weights within 0.2 w_max of a bound (a U-shaped distribution)
    assert (add <= 0.2).mean() > 0.1 and (add >= 0.8).mean() > 0.3
    assert ((add <= 0.2) | (add >= 0.8)).mean() > 0.6
    # multiplicative: one interior mode, nothing at the bounds
    assert ((mult > 0.2) & (mult < 0.8)).mean() > 0.95
    assert float(summary.near_bounds.sel(dependence="multiplicative")) < 0.02
    assert float(summary.near_bounds.sel(dependence="additive")) > 0.4
    hist = summary.weight_histogram.sel(dependence="multiplicative").sum("group").values
    assert hist[0] == 0 and hist[-1] == 0


def test_weights_stay_in_bounds_and_the_records_are_consistent(competition):
    run, summary = competition
    w = run.weight.values
    assert np.isfinite(w).all() and w.min() >= 0.0 and w.max() <= 1.0
    assert (w[0] == 0.0).any() and (w[0] == 1.0).any()  # additive weights reached both bounds (clipped)
    assert run.weight.sizes["weight_time"] == 12000 // 500 + 1
    assert run.post_rate.sizes["rate_time"] == 12 and np.isfinite(run.post_rate.values).all()
    assert (summary.final_rate > 1.0).all() and (summary.final_rate < 100.0).all()
    hist = summary.weight_histogram.values  # [dependence, group, bin], fractions of each group
    np.testing.assert_allclose(hist.sum(-1), 1.0)
    # realised input rates: 100 inputs for 12 s; the correlated group's mean has the variance of
    # n lambda T (1 + (n - 1) c) counts, the independent group's that of n lambda T
    expected = 1000.0 * spike_probability(10.0, 1.0)
    for group, inflation in (("correlated", 1 + 99 * 0.1), ("independent", 1.0)):
        se = math.sqrt(100 * 10.0 * 12.0 * inflation) / (100 * 12.0)
        assert abs(summary.input_rate.sel(group=group).values - expected).max() < Z * se
    for name in ("weight", "post_rate", "input_rate"):
        assert run[name].attrs["units"] and run[name].attrs["long_name"]
    for name in summary.data_vars:
        assert summary[name].attrs["units"] and summary[name].attrs["long_name"]


BAD = [
    ({"n_correlated": 300}, "stdp.n_correlated"),
    ({"correlation": 1.5}, "stdp.correlation"),
    ({"dependences": ["additive", "hebbian"]}, "stdp.dependences"),
    ({"dependences": []}, "stdp.dependences"),
    ({"w_init": [0.5, 0.2]}, "stdp.w_init"),
    ({"w_inhibitory": 1.0}, "stdp.w_inhibitory"),
    ({"neuron": {"v_reset": -50.0}}, "stdp.neuron.v_reset"),
    ({"record_every": 0.5}, "stdp.record_every"),
    ({"rate_bin": 20000.0}, "stdp.rate_bin"),
    ({"rate": 80.0}, "stdp.rate"),
]


@pytest.mark.parametrize("change, key", BAD)
def test_bad_stdp_values_are_refused_before_compute(change, key):
    with pytest.raises(ConfigError) as err:
        validate(stdp_experiment(**change))
    assert err.value.path == key


@pytest.mark.parametrize("edit, key", [
    (lambda raw: raw["analysis"].update(kind="spiking"), "analysis.kind"),
    (lambda raw: raw.update(model=two_population_model()), "model"),
    (lambda raw: raw.update(sweep={"batch": {"stdp.correlation": [0.1, 0.2]}}), "sweep.batch"),
])
def test_an_stdp_section_fixes_the_experiment_kind(edit, key):
    raw = copy.deepcopy(stdp_experiment())
    edit(raw)
    with pytest.raises(ConfigError) as err:
        validate(raw)
    assert err.value.path == key
