"""EI of recurrent rate networks: exact references for maps whose information is known."""

from __future__ import annotations

import math

import pytest
import torch

from conftest import experiment, two_population_model
from einet.measures import information
from einet.measures.map_information import map_measures
from einet.network.rate_map import rate_map, sample_indices
from einet.analysis.recurrent_ei import measure, population_measures, projection_measures
from einet.experiment import validate

BINS, SAMPLES = 8, 4096


def _model(**changes):
    """The foundation two-population network, edited per test."""
    raw = experiment(two_population_model("all_to_all"))
    for path, value in changes.items():
        node = raw["model"]
        *parents, last = path.split(".")
        for part in parents:
            node = node[part]
        node[last] = value
    return validate(raw).model


def _zero_weights(**changes):
    changes.update({f"projections.{p}.J": 0.0 for p in ("EE", "EI", "IE", "II")})
    return _model(**changes)


def test_uncoupled_instantaneous_network_carries_no_information():
    # tau = 0 and no weights: the next state is Phi(drive), whatever the current one
    model = _zero_weights(**{"populations.E.tau": 0.0, "populations.I.tau": 0.0})
    rmap = rate_map(model, 0.5, neurons=6, rest=1.0)
    for sources, targets in ((["E"], ["I"]), (["I"], ["E"]), (["E", "I"], ["E"]), (["E", "I"], ["I"])):
        m = measure(rmap, sources, targets, bins=BINS, samples=SAMPLES)
        assert (m.ei, m.ei_parts, m.sensitivity) == (0.0, 0.0, 0.0)


def test_cross_projection_without_weights_gives_zero_even_with_a_leak():
    model = _zero_weights()
    rmap = rate_map(model, 0.5, neurons=6, rest=1.0)
    for source, target in (("E", "I"), ("I", "E")):
        for steps in (1, 5):
            m = projection_measures(rmap, source, target, steps=steps, bins=BINS, samples=SAMPLES)
            assert (m.ei, m.ei_parts, m.sensitivity) == (0.0, 0.0, 0.0)


def test_frozen_network_is_the_identity_and_gives_n_log2_bins():
    # tau so long that exp(-dt/tau) rounds to 1: the one-step map is the identity on the sampled rates
    n = 5
    model = _model(**{"populations.E.tau": 1e12, "populations.I.tau": 1e12})
    rmap = rate_map(model, 0.5, neurons=n, rest=1.0, ranges={"E": (0.0, 2.0), "I": (0.0, 2.0)})
    m = population_measures(rmap, "E", bins=BINS, samples=1 << 15, bias_correction="miller_madow")
    # MI(x_i; x_i) = H(uniform bin) = log2(b) up to sampling; the other 45 pairs are independent (MI 0,
    # plug-in bias 45 (b-1)^2 / (2 S ln 2) = 0.05 bit, which Miller-Madow removes)
    diag = torch.diagonal(m.parts_matrix[:n, :n])
    assert torch.allclose(diag, torch.full((n,), math.log2(BINS), dtype=diag.dtype), atol=2e-3)
    assert m.ei_parts == pytest.approx(n * math.log2(BINS), abs=0.01)
    assert m.sensitivity == pytest.approx(n * math.log2(BINS), abs=0.01)  # the I inputs reach E not at all
    assert 0 <= m.ei_parts <= (2 * n) * n * math.log2(BINS)


def _linear_map():
    """An excitatory-only network with threshold 0 and non-negative rates: exactly linear, y = M x."""
    raw = experiment({
        "populations": {"E": {"size": 4, "type": "exc", "tau": 10.0, "transfer": {"name": "threshold_linear"}}},
        "projections": {"EE": {"source": "E", "target": "E", "J": 0.8, "connectivity": "all_to_all"}},
    })
    spec = validate(raw)
    rmap = rate_map(spec.model, 2.0, neurons=4, rest=0.0, ranges={"E": (0.0, 1.0)})
    d = math.exp(-2.0 / 10.0)
    M = d * torch.eye(4, dtype=torch.float64) + (1 - d) * torch.full((4, 4), 0.8 / 4, dtype=torch.float64)
    return rmap, M


def test_network_weights_and_step_are_the_documented_linear_map():
    rmap, M = _linear_map()
    x = torch.rand(10, 4, dtype=torch.float64)
    torch.testing.assert_close(rmap.step(x), x @ M.T)


@pytest.mark.parametrize("steps", [1, 3])
def test_unrolled_linear_map_equals_the_one_layer_map_of_the_composed_matrix(steps):
    rmap, M = _linear_map()
    composed = torch.linalg.matrix_power(M, steps)
    settings = dict(activation="identity", in_range=(0.0, 1.0), out_range=(0.0, 1.0), in_bins=BINS,
                    out_bins=BINS, samples=SAMPLES, seed=3)
    m = measure(rmap, ["E"], ["E"], steps=steps, bins=BINS, samples=SAMPLES, seed=3)
    # information.py is the independent reference: a single linear layer, estimated its own way
    assert m.ei_parts == pytest.approx(information.ei_parts(composed.float(), **settings), abs=1e-3)
    assert m.ei == pytest.approx(information.ei(composed.float(), **settings), abs=1e-3)
    assert m.sensitivity == pytest.approx(information.sensitivity(composed.float(), rest=0.0, **settings), abs=1e-3)


def test_one_unrolled_step_is_the_one_step_map():
    model = _model()
    rmap = rate_map(model, 0.5, neurons=4, rest={"E": 3.0, "I": 2.0})
    x = torch.rand(7, rmap.size, dtype=torch.float64) * 4
    torch.testing.assert_close(rmap.unroll(x, 1), rmap.step(x))
    a = projection_measures(rmap, "I", "E", steps=1, bins=BINS, samples=2048)
    b = map_measures(lambda z: rmap.restricted(["I"], ["E"], 1)[0](z), 4, in_range=(0.0, 4.0),
                     out_range=(0.0, 6.0), in_bins=BINS, out_bins=BINS, samples=2048, rest=rmap.rest[4:])
    assert a.ei_parts == b.ei_parts and a.sensitivity == b.sensitivity


def test_weights_match_the_dense_connectivity_of_the_network():
    from einet.network.rate import RateNetwork

    model = _model(**{"populations.E.size": 30, "populations.I.size": 30})
    rmap = rate_map(model, 0.5, neurons=30, rest=1.0)
    net = RateNetwork(model, 0.5, dtype=torch.float64)
    dense = net.projection_operator("EI").to_dense()  # the structure S of I -> E
    torch.testing.assert_close(rmap.weight[:30, 30:], -1.5 * dense)


def test_measures_obey_bounds_and_degeneracy_identity():
    spec = validate(experiment(two_population_model("sparse", K=10.0)))
    rmap = rate_map(spec.model, 0.5, neurons=6, rest={"E": 3.0, "I": 2.0})
    for sources, targets in ((["E"], ["E"]), (["I"], ["E"]), (["E", "I"], ["I"])):
        for steps in (1, 4):
            m = measure(rmap, sources, targets, steps=steps, bins=BINS, samples=2048)
            n_in, n_out = m.parts_matrix.shape
            assert 0 <= m.ei <= min(n_out * math.log2(BINS), math.log2(2048)) + 1e-9
            assert 0 <= m.ei_parts <= n_in * n_out * math.log2(BINS)
            assert m.degeneracy == pytest.approx(m.sensitivity - m.ei_parts)


def test_sampling_and_unsupported_models_are_explicit():
    assert sample_indices(10, 20).tolist() == list(range(10))
    assert sample_indices(100, 5).tolist() == [0, 25, 50, 74, 99]
    with pytest.raises(ValueError, match="give its range"):
        rate_map(_model(), 0.5, neurons=3, rest=0.0)  # threshold-linear rates at rest 0: no default range
    raw = experiment(two_population_model("all_to_all"))
    raw["model"]["projections"]["EE"]["tau_syn"] = 5.0
    with pytest.raises(ValueError, match="EE"):
        rate_map(validate(raw).model, 0.5, neurons=3, rest=1.0)


def test_recurrent_ei_analysis_from_config_to_figure(tmp_path):
    import numpy as np
    import yaml

    from einet import io
    from einet.cli import main
    from einet.network.presets import balanced_ei

    raw = {
        "name": "tiny_ei",
        "model": balanced_ei(200, 200, 10),
        "simulation": {"dt": 0.5, "duration": 60.0, "device": "cpu",
                       "record": {"every": 2.0, "neurons": 2, "average_from": 30.0}},
        "analysis": {"kind": "recurrent_ei", "ei": {"neurons": 4, "steps": [1, 3], "samples": 512}},
        "figures": ["recurrent_ei"],
        "sweep": {"grid": {"model.K": [10, 40]}},
    }
    exp = tmp_path / "tiny_ei.yaml"
    exp.write_text(yaml.safe_dump(raw, sort_keys=False))
    assert main(["-q", "expand", str(exp), "--out", str(tmp_path / "configs")]) == 0
    analyses = []
    for K in (10, 40):
        run = tmp_path / f"run{K}.nc"
        assert main(["-q", "simulate", str(tmp_path / "configs" / f"K~{K}.yaml"), "--out", str(run)]) == 0
        analyses.append(tmp_path / f"analysis{K}.nc")
        assert main(["-q", "analyze", str(run), "--out", str(analyses[-1])]) == 0
    assert main(["-q", "collect", *map(str, analyses), "--out", str(tmp_path / "summary.nc")]) == 0
    ds = io.read_dataset(tmp_path / "summary.nc")
    assert ds.ei_parts_projection.dims == ("K", "projection", "steps")
    assert list(ds.projection.values) == ["EE", "EI", "IE", "II"] and list(ds.steps.values) == [1, 3]
    np.testing.assert_allclose(ds.degeneracy_projection, ds.sensitivity_projection - ds.ei_parts_projection)
    assert np.all(ds.ei_parts_projection >= 0) and np.all(ds.ei_parts_projection <= 4 * 4 * 3)
    for name in list(ds.data_vars) + list(ds.coords):
        assert ds[name].attrs.get("long_name"), name
        assert bool(ds[name].attrs.get("units")) == (ds[name].dtype.kind not in "UO"), name  # none on strings
    pdf = tmp_path / "recurrent_ei.pdf"
    assert main(["-q", "figure", "recurrent_ei", str(tmp_path / "summary.nc"), "--pdf", str(pdf)]) == 0
    assert pdf.stat().st_size > 5_000


def test_the_recurrent_ei_progress_bar_follows_the_quiet_option(tmp_path, capfd, caplog):
    """-q silences every bar, the analyses' too (this one once wrote to stderr whatever the option said)."""
    import yaml

    from einet.cli import main
    from einet.network.presets import balanced_ei

    raw = {
        "name": "tiny_ei",
        "model": balanced_ei(100, 100, 10),
        "simulation": {"dt": 0.5, "duration": 40.0, "device": "cpu",
                       "record": {"every": 2.0, "neurons": 2, "average_from": 20.0}},
        "analysis": {"kind": "recurrent_ei", "ei": {"neurons": 2, "steps": [1], "samples": 256}},
    }
    config, run = tmp_path / "job.yaml", tmp_path / "run.nc"
    config.write_text(yaml.safe_dump(raw, sort_keys=False))
    assert main(["-q", "simulate", str(config), "--out", str(run)]) == 0
    capfd.readouterr()
    assert main(["-q", "analyze", str(run), "--out", str(tmp_path / "quiet.nc")]) == 0
    assert "recurrent EI" not in capfd.readouterr().err
    with caplog.at_level("INFO", logger="einet.progress"):
        assert main(["analyze", str(run), "--out", str(tmp_path / "shown.nc")]) == 0
    assert "recurrent EI: 100% (6/6 map)" in capfd.readouterr().err + caplog.text  # 4 projections, 2 populations
