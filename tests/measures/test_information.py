"""Effective information of layers against exact references (einet.measures.information)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from einet.measures import information as info
from einet.measures.information import (
    SATURATION_MARGIN,
    OutOfRangeWarning,
    SaturationWarning,
    ei,
    ei_parts,
    ei_parts_matrix,
    max_entropy_samples,
    sensitivity,
    sensitivity_matrix,
    topology_of,
)

torch.set_num_threads(1)


def linear(weight, bias=None) -> nn.Linear:
    weight = torch.as_tensor(weight, dtype=torch.float32)
    layer = nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None)
    with torch.no_grad():
        layer.weight.copy_(weight)
        if bias is not None:
            layer.bias.copy_(torch.as_tensor(bias, dtype=torch.float32))
    return layer


def exact_mi(joint: np.ndarray) -> float:
    """MI in bits of a discrete joint distribution."""
    px, py = joint.sum(1, keepdims=True), joint.sum(0, keepdims=True)
    nz = joint > 0
    return float((joint[nz] * np.log2(joint[nz] / (px @ py)[nz])).sum())


def exact_sigmoid_ei(w: float, in_bins: int, out_bins: int) -> float:
    """Exact binned MI of y = sigmoid(w x), x ~ U(0, 1): interval lengths of the pre-images."""
    x_edges = np.linspace(0, 1, in_bins + 1)
    y_edges = np.linspace(0, 1, out_bins + 1)
    with np.errstate(divide="ignore"):
        pre = (np.log(y_edges) - np.log1p(-y_edges)) / w  # logit(edge) / w, +-inf at 0 and 1
    lo, hi = np.minimum(pre[:-1], pre[1:]), np.maximum(pre[:-1], pre[1:])
    joint = np.clip(
        np.minimum(x_edges[1:, None], hi[None, :]) - np.maximum(x_edges[:-1, None], lo[None, :]), 0, None
    )
    assert abs(joint.sum() - 1) < 1e-12
    return exact_mi(joint)


IDENTITY = dict(activation=nn.Identity(), in_range=(0, 1), out_range=(0, 1))


def test_identity_layer_gives_n_log2_b():
    n, b = 3, 8
    layer = linear(np.eye(n))
    kw = dict(IDENTITY, in_bins=b, out_bins=b, samples=100_000)
    assert ei_parts(layer, **kw) == pytest.approx(n * math.log2(b), abs=0.01)
    assert sensitivity(layer, **kw) == pytest.approx(n * math.log2(b), abs=0.01)


@pytest.mark.parametrize("mode", [dict(samples=5000), dict(threshold=0.05, min_samples=1024)])
@pytest.mark.parametrize("activation", [nn.Sigmoid(), nn.Tanh(), nn.Identity()])
def test_zero_weights_give_exactly_zero(mode, activation):
    layer = linear(np.zeros((3, 4)))
    kw = dict(activation=activation, in_range=(0, 1), out_range=(-1, 1), in_bins=8, out_bins=8, **mode)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no division-by-zero or convergence warnings either
        values = [
            ei(layer, **kw),
            ei(layer, bias_correction="miller_madow", **kw),
            ei_parts(layer, **kw),
            sensitivity(layer, **kw),
            info.degeneracy(layer, **kw),
            float(ei_parts_matrix(layer, **kw).abs().max()),
            float(sensitivity_matrix(layer, **kw).abs().max()),
        ]
    assert max(abs(v) for v in values) < 1e-9


def test_bounds_and_matrix_sum():
    torch.manual_seed(1)
    layer = nn.Linear(4, 3)
    with torch.no_grad():
        layer.weight.mul_(4)
    samples, b_in, b_out = 3000, 8, 4
    kw = dict(activation=nn.Sigmoid(), in_range=(0, 1), in_bins=b_in, out_bins=b_out, samples=samples, seed=3)
    value = ei(layer, **kw)
    assert 0 < value <= min(4 * math.log2(b_in), 3 * math.log2(b_out), math.log2(samples)) + 1e-9
    matrix = ei_parts_matrix(layer, **kw)
    assert matrix.shape == (4, 3)
    assert float(matrix.min()) >= 0
    assert float(matrix.max()) <= min(math.log2(b_in), math.log2(b_out)) + 1e-9
    assert float(matrix.sum()) == pytest.approx(ei_parts(layer, **kw), abs=1e-12)


def test_vector_ei_saturates_at_log2_samples():
    """Many fine inputs, few samples: every input vector unique, so EI = H(Y) <= log2 S."""
    torch.manual_seed(0)
    layer = nn.Linear(12, 12)
    with pytest.warns(SaturationWarning, match="set by the samples"):
        value = ei(layer, activation="sigmoid", in_range=(0, 1), in_bins=16, out_bins=64, samples=512)
    assert value <= math.log2(512) + 1e-9
    assert value > 8.5  # nearly all 512 outputs distinct too


@pytest.mark.parametrize("w", [0.5, 2.0, 8.0, -3.0])
def test_one_input_sigmoid_matches_exact_integral(w):
    b_in, b_out = 8, 32  # fine output bins, so that even w = 0.5 (y in 0.5..0.62) spans several
    layer = linear([[w]])
    kw = dict(activation=nn.Sigmoid(), in_range=(0, 1), in_bins=b_in, out_bins=b_out, samples=200_000)
    expected = exact_sigmoid_ei(w, b_in, b_out)
    assert ei(layer, **kw) == pytest.approx(expected, abs=0.01)
    assert ei_parts(layer, **kw) == pytest.approx(expected, abs=0.01)


def test_parts_matrix_equals_pairwise_numpy_reference():
    torch.manual_seed(2)
    layer = nn.Linear(3, 4)
    with torch.no_grad():
        layer.weight.mul_(3)
    b_in, b_out, samples = 6, 5, 4000
    kw = dict(activation=torch.tanh, in_range=(-1, 1), samples=samples, seed=7)
    matrix = ei_parts_matrix(layer, in_bins=b_in, out_bins=b_out, batch_size=999, **kw)  # several chunks
    x, y = (t.double().numpy() for t in max_entropy_samples(layer, **kw))
    reference = np.empty((3, 4))
    for i in range(3):
        for j in range(4):
            joint, _, _ = np.histogram2d(x[:, i], y[:, j], bins=[b_in, b_out], range=[(-1, 1), (-1, 1)])
            reference[i, j] = exact_mi(joint / joint.sum())
    np.testing.assert_allclose(matrix.numpy(), reference, atol=1e-9)


def test_sensitivity_of_diagonal_layer_is_sum_of_one_dimensional_values():
    weights = [0.5, 2.0, -3.0]
    layer = linear(np.diag(weights))
    b = 8
    kw = dict(activation=nn.Sigmoid(), in_range=(0, 1), in_bins=b, out_bins=b, samples=200_000)
    matrix = sensitivity_matrix(layer, **kw)
    expected = [exact_sigmoid_ei(w, b, b) for w in weights]
    np.testing.assert_allclose(torch.diagonal(matrix).numpy(), expected, atol=0.01)
    # off the diagonal an output sits at sigmoid(0): one bin, no information at all
    assert float((matrix - torch.diag(torch.diagonal(matrix))).abs().max()) < 1e-12
    assert sensitivity(layer, **kw) == pytest.approx(sum(expected), abs=0.03)


def test_convergence_mode_matches_long_run_and_doubles_twice():
    layer = linear([[3.0, -2.0], [1.0, 4.0]], bias=[0.5, -1.0])
    kw = dict(activation=nn.Sigmoid(), in_range=(0, 1), in_bins=8, out_bins=8)
    threshold, start = 0.02, 2**12
    est = ei_parts(layer, threshold=threshold, min_samples=start, return_info=True, **kw)
    assert est.converged and est.samples >= 4 * start
    long_run = ei_parts(layer, samples=2**21, **kw)
    assert abs(est.value - long_run) / long_run < threshold


def test_convergence_needs_two_calm_doublings_and_stops_at_max():
    values = iter([1.0, 1.0, 2.0, 2.0, 2.0, 9.0])
    est = info._estimate(lambda n: (next(values), 0), None, 0.01, 100, 10_000, "fake")
    assert (est.value, est.samples, est.converged) == (2.0, 1600, True)  # 1 agreement then a jump: went on

    flipping = iter([1.0, 2.0] * 10)
    with pytest.warns(UserWarning, match="not converged"):
        est = info._estimate(lambda n: (next(flipping), 0), None, 0.01, 100, 800, "fake")
    assert (est.samples, est.converged) == (800, False)


def test_drop_reports_count_and_clip_keeps_in_range_outputs():
    samples = 100_000
    doubling = linear([[2.0]])  # y = 2x > 1 for half the inputs
    kw = dict(activation="identity", in_range=(0, 1), out_range=(0, 1), in_bins=4, out_bins=4, samples=samples)
    with pytest.warns(OutOfRangeWarning, match="dropped"):
        est = ei(doubling, out_of_range="drop", return_info=True, **kw)
    sigma = math.sqrt(samples * 0.25)
    assert abs(est.dropped - samples / 2) < 5 * sigma
    with pytest.warns(OutOfRangeWarning):
        est = sensitivity(doubling, out_of_range="drop", return_info=True, **kw)
    assert abs(est.dropped - samples / 2) < 5 * sigma
    # kept half: x in (0, 0.5) -> y fills the 4 output bins, x in the 2 low input bins: 1 bit exactly
    assert est.value == pytest.approx(1.0, abs=0.01)

    layer = linear([[1.0, -2.0], [0.5, 3.0]])
    kw = dict(activation=nn.Sigmoid(), in_range=(0, 1), in_bins=8, out_bins=8, samples=20_000)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clipped = ei_parts(layer, out_of_range="clip", return_info=True, **kw)
        dropped = ei_parts(layer, out_of_range="drop", return_info=True, **kw)
    assert dropped.dropped == 0 and clipped.value == dropped.value


class Net(nn.Module):
    def __init__(self, last=F.relu):
        super().__init__()
        self.fc1, self.act1 = nn.Linear(4, 5), nn.Sigmoid()
        self.fc2, self.fc3, self.fc4, self.fc5 = nn.Linear(5, 3), nn.Linear(3, 3), nn.Linear(3, 2), nn.Linear(2, 2)
        self.last = last

    def forward(self, x):
        x = self.act1(self.fc1(x))  # module
        x = torch.tanh(self.fc2(x))  # torch function
        x = self.fc3(x).sigmoid()  # tensor method
        x = F.relu(self.fc4(x))  # functional
        return self.last(self.fc5(x))


def test_topology_sees_module_and_functional_activations():
    layers = topology_of(Net(), torch.zeros(1, 4), in_range=(0, 1), out_ranges={"fc4": (0, 4), "fc5": (0, 4)})
    assert [layer.name for layer in layers] == ["fc1", "fc2", "fc3", "fc4", "fc5"]
    assert [info.resolve_activation(layer.activation).name for layer in layers] == [
        "sigmoid", "tanh", "sigmoid", "relu", "relu"
    ]
    assert [layer.in_range for layer in layers] == [(0, 1), (0, 1), (-1, 1), (0, 1), (0, 4)]
    assert [layer.out_range for layer in layers] == [(0, 1), (-1, 1), (0, 1), (0, 4), (0, 4)]
    assert (layers[1].in_features, layers[1].out_features) == (5, 3)
    # a LayerInfo carries everything ei needs
    assert 0 < ei(layers[0], in_bins=4, out_bins=4, samples=2000) <= math.log2(2000)


def test_topology_errors_name_the_layer():
    with pytest.raises(ValueError, match="fc4"):
        topology_of(Net(), torch.zeros(1, 4), in_range=(0, 1))  # ReLU needs a range
    with pytest.raises(ValueError, match="fc5.*softplus"):
        topology_of(Net(last=F.softplus), torch.zeros(1, 4), in_range=(0, 1), out_ranges={"fc4": (0, 4)})
    with pytest.raises(ValueError, match="input range"):
        topology_of(Net(), torch.zeros(1, 4), out_ranges={"fc4": (0, 4), "fc5": (0, 4)})
    # an unknown elementwise function is replayed once its range is given
    layers = topology_of(
        Net(last=F.softplus), torch.zeros(1, 4), in_range=(0, 1), out_ranges={"fc4": (0, 4), "fc5": (0, 5)}
    )
    z = torch.linspace(-3, 3, 7)
    assert torch.equal(layers[-1].activation(z), F.softplus(z))


def test_activation_without_range_is_an_error():
    layer = linear([[1.0]])
    kw = dict(in_range=(0, 1), in_bins=4, out_bins=4, samples=100)
    for activation in (nn.ReLU(), nn.Identity(), lambda z: z**2):
        with pytest.raises(ValueError, match="out_range"):
            ei(layer, activation=activation, **kw)
    with pytest.raises(ValueError, match="exactly one"):
        ei(layer, activation="sigmoid", in_range=(0, 1), in_bins=4, out_bins=4, samples=100, threshold=0.1)


def test_miller_madow_reduces_bias_of_independent_pair():
    torch.manual_seed(0)
    layer = linear(np.ones((1, 2)))
    noise = lambda z: torch.rand_like(z)  # noqa: E731 - output independent of input: true MI 0
    kw = dict(activation=noise, in_range=(0, 1), out_range=(0, 1), in_bins=8, out_bins=8, samples=2000)
    plug_in = ei(layer, **kw)
    corrected = ei(layer, bias_correction="miller_madow", **kw)
    assert plug_in > 0.05
    assert 0 <= corrected < plug_in / 3


def test_same_seed_same_number():
    torch.manual_seed(4)
    layer = nn.Linear(5, 3)
    kw = dict(activation="tanh", in_range=(-1, 1), in_bins=8, out_bins=8, samples=3000)
    assert ei(layer, seed=1, **kw) == ei(layer, seed=1, **kw)
    assert torch.equal(sensitivity_matrix(layer, seed=1, **kw), sensitivity_matrix(layer, seed=1, **kw))
    assert ei_parts(layer, seed=1, **kw) != ei_parts(layer, seed=2, **kw)


# ---------------------------------------------------------------- ceilings and saturation


def integrated_sigmoid_ei(w: float, b: float, in_range, in_bins: int, out_bins: int, points: int = 2**22) -> float:
    """EI of y = sigmoid(w x + b) by numerical integration, independently of the estimator.

    The estimator's definition: x uniform over ``in_range`` (so its ``in_bins`` equal bins are equally likely,
    the maximum-entropy intervention), y binned into ``out_bins`` equal bins of (0, 1); EI = I(x bin; y bin).
    The joint distribution of the two bins is the integral over x of the indicator of each (x bin, y bin)
    cell, taken by the midpoint rule on ``points`` equal steps (a multiple of ``in_bins``, so no midpoint
    lies on an input edge); only the steps straddling one of the out_bins - 1 output edges are misassigned,
    an error of at most out_bins / points in probability.
    """
    lo, hi = in_range
    x = lo + (np.arange(points) + 0.5) * ((hi - lo) / points)
    y = 1.0 / (1.0 + np.exp(-(w * x + b)))
    x_bin = np.arange(points) // (points // in_bins)
    y_bin = np.clip(np.floor(y * out_bins).astype(np.int64), 0, out_bins - 1)
    joint = np.bincount(x_bin * out_bins + y_bin, minlength=in_bins * out_bins).reshape(in_bins, out_bins)
    return exact_mi(joint / points)


def test_the_integral_reference_agrees_with_the_closed_form():
    """The numerical integral reproduces the closed-form interval lengths (no bias, x on (0, 1))."""
    for w in (2.0, -3.0):
        assert integrated_sigmoid_ei(w, 0.0, (0, 1), 8, 32) == pytest.approx(exact_sigmoid_ei(w, 8, 32), abs=1e-4)


@pytest.mark.parametrize("bins", [8, 64])
@pytest.mark.parametrize("w, b", [(1.0, 0.3), (-4.0, 1.0)])
@pytest.mark.parametrize("correction", [None, "miller_madow"])
def test_one_input_sigmoid_with_bias_recovers_the_integral_at_8_and_64_bins(bins, w, b, correction):
    in_range = (-2.0, 2.0)  # the classifier's first-layer range
    layer = linear([[w]], bias=[b])
    est = ei(layer, activation=nn.Sigmoid(), in_range=in_range, in_bins=bins, out_bins=bins, samples=2**20,
             bias_correction=correction, return_info=True)
    expected = integrated_sigmoid_ei(w, b, in_range, bins, bins)
    assert 0.5 < expected < math.log2(bins) - SATURATION_MARGIN  # informative, below its bins' ceiling
    assert est.value == pytest.approx(expected, abs=0.01)
    assert not est.saturated and est.ceiling == pytest.approx(math.log2(bins), abs=1e-3)


IDENTITY_8 = dict(IDENTITY, in_bins=8, out_bins=8)


@pytest.mark.parametrize("correction, extra", [(None, 0.0), ("miller_madow", 1 / (2 * math.log(2)))])
def test_a_layer_whose_ei_exceeds_log2_samples_is_flagged_saturated(correction, extra):
    """16 identity units at 8 bins carry 48 bits; 1024 samples can show at most log2(1024) = 10 of them."""
    layer = linear(np.eye(16))
    est = ei(layer, samples=1024, bias_correction=correction, return_info=True, **IDENTITY_8)
    assert est.ceiling == pytest.approx(10 + extra * (1 - 1 / 1024), abs=1e-9)
    assert est.saturated and est.ceiling - SATURATION_MARGIN <= est.value <= est.ceiling + 1e-9
    assert est.samples == 1024 and est.limited_by == "samples"
    with pytest.warns(SaturationWarning, match="ceiling"):
        ei(layer, samples=1024, bias_correction=correction, **IDENTITY_8)
    # convergence mode: doubled to the cap, where the ceiling is log2(8192) = 13 bits and the flag stays
    capped = ei(layer, samples=1024, saturation_cap=8192, bias_correction=correction, return_info=True,
                **IDENTITY_8)
    assert capped.samples == 8192 and capped.saturated
    assert capped.ceiling == pytest.approx(13 + extra * (1 - 1 / 8192), abs=1e-9)
    assert capped.value > est.value + 2.9  # it follows the ceiling: not a measurement of the layer's 48 bits


def test_a_narrow_layer_with_plenty_of_samples_is_not_flagged_nor_resampled():
    layer = linear([[3.0, -2.0], [1.0, 4.0]], bias=[0.5, -1.0])
    kw = dict(activation=nn.Sigmoid(), in_range=(0, 1), in_bins=8, out_bins=8, samples=2**16,
              saturation_cap=2**20, bias_correction="miller_madow", return_info=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no SaturationWarning either
        found = {"ei": ei(layer, **kw), "ei_parts": ei_parts(layer, **kw), "sensitivity": sensitivity(layer, **kw)}
    for name, est in found.items():
        assert not est.saturated, name
        assert est.samples == 2**16, name  # nothing to raise
        assert est.value < est.ceiling - 1, name
    assert found["ei"].ceiling == pytest.approx(6 + 63 / (2 * 2**16 * math.log(2)))  # 2 x log2(8): the bins bind
    assert found["ei_parts"].ceiling == pytest.approx(4 * (3 + 7 / (2 * 2**16 * math.log(2))))  # 4 pairs, log2(8)
    # and it is a measurement: more samples leave it where it is
    assert found["ei"].value == pytest.approx(ei(layer, **dict(kw, samples=2**20, return_info=False)), abs=0.01)


def test_a_pair_at_its_bins_ceiling_is_flagged_but_not_resampled():
    """1 -> 1 identity at matching bins: exactly log2(8) bits, the bins' ceiling; more samples change nothing."""
    layer = linear([[1.0]])
    for measure in (ei, ei_parts, sensitivity):
        est = measure(layer, samples=4096, saturation_cap=2**20, return_info=True, **IDENTITY_8)
        assert est.value == pytest.approx(3.0, abs=0.01) and est.saturated and est.samples == 4096
        assert est.limited_by == "bins"


def test_saturation_cap_doubles_while_the_estimate_follows_its_ceiling():
    """A fake estimator that reads log2 n (its ceiling) up to 1600 samples, then settles."""
    def run(n):
        return min(math.log2(n), math.log2(1600) + 0.05 * math.log2(n / 1600)), 0

    def bound(n, dropped):
        return math.log2(n), True

    est = info._estimate(run, 100, None, 0, 0, "fake", bound=bound, saturation_cap=10**6)
    assert (est.samples, est.saturated) == (3200, False)  # 100 .. 1600 at the ceiling; 3200: 0.95 bit below
    est = info._estimate(run, 100, None, 0, 0, "fake", bound=bound, saturation_cap=800)
    assert (est.samples, est.saturated) == (800, True)  # the cap is reached: the flag stays
    est = info._estimate(run, 100, None, 0, 0, "fake", bound=bound, saturation_cap=None)
    assert (est.samples, est.saturated) == (100, True)  # no cap: flagged, not raised

    # still rising by more than the margin per doubling: saturated, even below the ceiling by more than it
    climbing = lambda n: (math.log2(n) - 0.05 * math.log2(n / 100) ** 2, 0)  # noqa: E731 - +0.95, 0.85, 0.75, 0.65
    est = info._estimate(climbing, 100, None, 0, 0, "fake", bound=bound, saturation_cap=1600)
    assert est.samples == 1600 and est.saturated and est.value < est.ceiling - SATURATION_MARGIN
    # the bins bind (by_samples False): never raised
    est = info._estimate(run, 100, None, 0, 0, "fake", bound=lambda n, d: (math.log2(n), False), saturation_cap=10**6)
    assert (est.samples, est.saturated) == (100, True)


# ---------------------------------------------------------------- compiled pair-count kernel


def _pair_kernel():
    from einet import kernels

    kernel = kernels.load("pair_counts")
    if kernel is None:
        pytest.skip("the pair_counts kernel cannot be built here")
    return kernel


@pytest.mark.parametrize(
    "n_in, n_out, n_samples, in_bins, out_bins, shared",
    [
        (1, 1, 1, 2, 2, True),
        (1, 30, 10_007, 64, 64, True),
        (3, 5, 4099, 2, 64, True),
        (4, 7, 65_537, 64, 2, False),
        (100, 3, 333, 5, 3, True),
        (2, 4, 0, 8, 8, True),
    ],
)
@pytest.mark.parametrize("key_dtype", [torch.int32, torch.int64])
def test_pair_count_kernel_equals_torch_path(n_in, n_out, n_samples, in_bins, out_bins, shared, key_dtype):
    from einet.measures import histogram as hist

    kernel = _pair_kernel()
    gen = torch.Generator().manual_seed(n_in * 1000 + n_samples)
    x_bins = torch.randint(0, in_bins, (n_in, n_samples), generator=gen, dtype=torch.int32)
    y_bins = torch.randint(0, out_bins, (1 if shared else n_in, n_out, n_samples), generator=gen, dtype=torch.int32)
    y_keys = hist.output_keys(y_bins, in_bins, out_bins, n_in).to(key_dtype)
    expected = hist._count_pairs_torch(x_bins, y_keys, in_bins, out_bins, batch_size=1000)
    got = kernel.pair_counts(x_bins, y_keys, None, in_bins, out_bins)
    assert got.dtype == expected.dtype and got.shape == (n_in, n_out, in_bins, out_bins)
    assert torch.equal(got, expected)
    assert torch.equal(hist.count_pairs(x_bins, y_keys, in_bins, out_bins), expected)  # the dispatching entry point
    valid = torch.rand(n_in, n_samples, generator=gen) < 0.7
    assert torch.equal(
        hist.pair_counts(x_bins, y_bins, in_bins, out_bins, valid),
        hist._count_pairs_torch(x_bins, hist.output_keys(y_bins, in_bins, out_bins, n_in), in_bins, out_bins, valid),
    )


@pytest.mark.parametrize(
    "n_in, n_out, n_samples, in_bins, out_bins, shared",
    [
        (1, 1, 1, 2, 2, True),
        (1, 30, 10_007, 64, 64, True),
        (3, 5, 4099, 2, 64, False),
        (17, 3, 333, 5, 3, True),
        (2, 4, 0, 8, 8, True),
    ],
)
@pytest.mark.parametrize("miller_madow", [False, True])
@pytest.mark.parametrize("masked", [False, True])
def test_fused_pair_information_equals_counts_then_mi(n_in, n_out, n_samples, in_bins, out_bins, shared,
                                                      miller_madow, masked, monkeypatch):
    """The kernel's information of each pair's table, against torch's counts and torch's float64 MI."""
    from einet.measures import histogram as hist

    kernel = _pair_kernel()
    gen = torch.Generator().manual_seed(n_in * 1000 + n_samples + out_bins)
    x_bins = torch.randint(0, in_bins, (n_in, n_samples), generator=gen, dtype=torch.int32)
    y_bins = torch.randint(0, out_bins, (1 if shared else n_in, n_out, n_samples), generator=gen, dtype=torch.int32)
    # a dependent output as well, so the information is not all near zero
    y_bins[:, 0] = (x_bins[: y_bins.shape[0]] * out_bins) // in_bins
    valid = torch.rand(n_in, n_samples, generator=gen) < 0.7 if masked else None
    keys = hist.output_keys(y_bins, in_bins, out_bins, n_in)
    expected = hist.mi_from_counts(hist._count_pairs_torch(x_bins, keys, in_bins, out_bins, valid), miller_madow)
    got = kernel.pair_information(x_bins, hist.output_keys(y_bins, in_bins, out_bins, 1), valid, in_bins, out_bins,
                                  miller_madow)
    assert got.dtype == torch.float64 and got.shape == (n_in, n_out)
    torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-15)
    torch.testing.assert_close(hist.pair_information(x_bins, y_bins, in_bins, out_bins, valid, miller_madow),
                               expected, rtol=1e-12, atol=1e-15)  # the dispatching entry point
    monkeypatch.setattr(hist, "_pair_kernel", lambda: None)  # the fallback, one input at a time
    assert torch.equal(hist.pair_information(x_bins, y_bins, in_bins, out_bins, valid, miller_madow), expected)


def test_pair_count_kernel_rejects_bins_out_of_range():
    from einet.measures import histogram as hist

    kernel = _pair_kernel()
    x_bins = torch.zeros(2, 100, dtype=torch.int32)
    y_keys = hist.output_keys(torch.zeros(1, 3, 100, dtype=torch.int32), 4, 4, 2)
    x_bad = x_bins.clone()
    x_bad[1, 50] = 4
    y_bad = y_keys.clone()
    y_bad[0, 2, 99] = -1
    for xb, yk in ((x_bad, y_keys), (x_bins, y_bad)):
        with pytest.raises(RuntimeError, match="outside"):
            kernel.pair_counts(xb, yk, None, 4, 4)
        with pytest.raises(RuntimeError, match="outside"):
            kernel.pair_information(xb, yk, None, 4, 4, False)


def test_estimators_same_with_and_without_kernel(monkeypatch):
    from einet.measures import histogram as hist

    _pair_kernel()
    torch.manual_seed(5)
    layer = nn.Linear(6, 4)
    kw = dict(activation="sigmoid", in_range=(0, 1), in_bins=16, out_bins=8, samples=5001, out_of_range="drop",
              out_range=(0.2, 0.8))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OutOfRangeWarning)
        with_kernel = (ei_parts_matrix(layer, **kw), sensitivity_matrix(layer, **kw))
        monkeypatch.setattr(hist, "_pair_kernel", lambda: None)
        without = (ei_parts_matrix(layer, **kw), sensitivity_matrix(layer, **kw))
    for a, b in zip(with_kernel, without):  # the fused kernel sums the cells in another order
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_bin_index_is_the_floor_of_the_scaled_value_clipped_to_the_edge_bins(dtype):
    """Clamping before the integer cast must give numpy's floor-then-clip on every value, edges included."""
    from einet.measures.histogram import bin_index

    lo, hi, bins = -0.5, 1.5, 7
    gen = torch.Generator().manual_seed(3)
    values = torch.cat([torch.rand(10_000, generator=gen, dtype=dtype) * 4 - 1.5,
                        torch.tensor([lo, hi, -1e-8 + lo, hi + 1e-7, -1e30, 1e30, 0.0], dtype=dtype)])
    got, inside = bin_index(values, lo, hi, bins)
    v = values.numpy()
    scaled = (v - v.dtype.type(lo)) * v.dtype.type(bins / (hi - lo))
    expected = np.clip(np.floor(scaled), 0, bins - 1).astype(np.int32)
    assert got.dtype == torch.int32
    np.testing.assert_array_equal(got.numpy(), expected)
    np.testing.assert_array_equal(inside.numpy(), (v >= lo) & (v <= hi))
    assert bin_index(values, lo, hi, bins, mask=False)[1] is None
