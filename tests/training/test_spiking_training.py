"""Gradient training of recurrent spiking networks (einet.neurons.surrogate, trainable, eprop).

The central check is where e-prop is exact: without recurrent weights, the e-prop
gradients equal the surrogate-BPTT gradients of torch autograd to float64 rounding.
The training tests use one frozen Poisson input and a sum of sines as the target.
"""

from __future__ import annotations

import pytest
import torch

from einet.network.rsnn import RSNN, RSNNParams, RSNNState, rsnn_step
from einet.training.bptt import fit_bptt
from einet.training.spiking import SequenceObjective, bptt_gradients
from einet.neurons.alif import ALIFParams, ALIFState, alif_step
from einet.neurons.lif import LIFParams, LIFState, lif_step
from einet.neurons.surrogate import SURROGATES, Surrogate
from einet.training.eprop import eprop_gradients, random_feedback
from einet.neurons.surrogate import register_surrogate, spike

F64 = torch.float64


@pytest.fixture(autouse=True)
def one_thread():
    """The loops are many small operations: one thread is faster, and the timing less noisy."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def poisson_input(batch, T, n_in, rate_hz=50.0, dt=1.0, seed=0, dtype=F64):
    """Frozen Poisson spike trains (0/1 per step, probability rate * dt)."""
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(batch, T, n_in, generator=g, dtype=F64) < rate_hz * dt / 1000.0).to(dtype)


def sines(T, dt=1.0, dtype=F64):
    """``[T, 1]``: 5, 10 and 15 Hz with amplitudes 1, 0.5 and 0.3."""
    t = torch.arange(T, dtype=F64) * dt / 1000.0
    y = sum(a * torch.sin(2 * torch.pi * f * t + ph) for a, f, ph in ((1.0, 5, 0.0), (0.5, 10, 1.0), (0.3, 15, 2.0)))
    return y.to(dtype).unsqueeze(-1)


def random_task(batch=3, T=120, n_in=10, n_out=2, seed=1):
    g = torch.Generator().manual_seed(seed)
    return poisson_input(batch, T, n_in, seed=seed), torch.randn(batch, T, n_out, generator=g, dtype=F64)


# ------------------------------------------------------------------------ surrogate
def test_surrogate_forward_is_the_heaviside_step_exactly():
    x = torch.tensor([-20.0, -1.0, -1e-300, 0.0, 1e-300, 0.5, 30.0], dtype=F64)
    for name in SURROGATES.names():
        z = Surrogate(name, width=2.0, gamma=0.5)(x)
        assert torch.equal(z, torch.heaviside(x, torch.tensor(1.0, dtype=F64)))  # H(0) = 1, as v >= v_th
        assert z.dtype == F64


@pytest.mark.parametrize("name, expected", [
    # gamma/width * max(0, 1 - |x|/width), width 2, gamma 0.5: peak 0.25
    ("triangle", [0.0, 0.0, 0.125, 0.25, 0.1875, 0.0625, 0.0]),
    # gamma/width * (1 + |x|/width)^-2
    ("fast_sigmoid", [0.25 / 16, 0.25 / 4, 0.25 / 2.25, 0.25, 0.25 / 1.5625, 0.25 / 3.0625, 0.25 / 16]),
])
def test_surrogate_backward_is_the_analytic_pseudo_derivative(name, expected):
    x = torch.tensor([-6.0, -2.0, -1.0, 0.0, 0.5, 1.5, 6.0], dtype=F64, requires_grad=True)
    upstream = torch.linspace(-1.0, 2.0, 7, dtype=F64)  # the chain rule multiplies, it does not replace
    s = Surrogate(name, width=2.0, gamma=0.5)
    (s(x) * upstream).sum().backward()
    torch.testing.assert_close(x.grad, upstream * torch.tensor(expected, dtype=F64), rtol=1e-15, atol=0)
    torch.testing.assert_close(s.derivative(x.detach()), torch.tensor(expected, dtype=F64), rtol=1e-15, atol=0)


def test_fast_sigmoid_is_the_derivative_of_the_fast_sigmoid_and_aliases_agree():
    x = torch.linspace(-5, 5, 41, dtype=F64, requires_grad=True)
    w, g = 1.5, 0.7
    (g * x / (w + x.abs())).sum().backward()  # the function the surrogate claims to differentiate
    torch.testing.assert_close(Surrogate("fast_sigmoid", w, g).derivative(x.detach()), x.grad)
    assert SURROGATES.get("superspike") is SURROGATES.get("fast_sigmoid")
    assert SURROGATES.get("piecewise_linear") is SURROGATES.get("triangle")
    y = x.detach().clone().requires_grad_()
    spike(y, "superspike", width=w, gamma=g).sum().backward()
    torch.testing.assert_close(y.grad, x.grad)


def test_registering_a_surrogate_and_refusing_duplicates():
    name = "test_boxcar_training"
    if name not in SURROGATES:
        register_surrogate(name)(lambda x, width, gamma: gamma / width * (x.abs() < width / 2).to(x.dtype))
    x = torch.tensor([-1.0, 0.2], dtype=F64, requires_grad=True)
    Surrogate(name, width=1.0, gamma=2.0)(x).sum().backward()
    assert x.grad.tolist() == [0.0, 2.0]
    with pytest.raises(ValueError, match="already registered"):
        register_surrogate("triangle")(lambda x, w, g: x)


# ------------------------------------------------------------------------ the network
def test_membrane_follows_the_lif_and_alif_steps_and_a_spike_moves_it_by_its_weight():
    """Subthreshold, with no input, v decays exactly as lif_step's (and with adaptation as alif_step's);
    an input spike of weight w lands as a jump of w mV."""
    dt = 0.5
    p = RSNNParams(tau_m=15.0, v_rest=-70.0, v_th=-50.0, v_reset=-70.0, b=1.5, tau_w=100.0)
    net = RSNN(1, 3, 1, p, dt, seed=0)
    with torch.no_grad():
        net.w_rec.zero_()
        net.w_in.copy_(torch.tensor([[2.0], [0.0], [-3.0]], dtype=F64))
    v0 = torch.tensor([[-60.0, -55.0, -65.0]], dtype=F64)
    w0 = torch.tensor([[1.0, 0.0, 4.0]], dtype=F64)
    zeros = torch.zeros_like(v0)
    state = RSNNState(v0, w0, zeros, torch.zeros(1, 1, dtype=F64))
    lif = LIFState(v0, zeros, zeros)
    alif = ALIFState(v0, zeros, w0, zeros)
    lp = LIFParams(tau_m=15.0, v_rest=-70.0, v_th=-50.0, v_reset=-70.0)
    ap = ALIFParams(tau_m=15.0, v_rest=-70.0, v_th=-50.0, v_reset=-70.0, b=1.5, tau_w=100.0)
    no_input = torch.zeros(1, 1, dtype=F64)
    for _ in range(20):
        z, state = rsnn_step(no_input, state, net.weights(), p, dt)
        _, alif = alif_step(0.0, alif, ap, dt)
        assert z.sum() == 0
    torch.testing.assert_close(state.v, alif.v, rtol=1e-14, atol=1e-12)
    torch.testing.assert_close(state.w, alif.w, rtol=1e-14, atol=1e-12)
    lif_net = RSNN(1, 3, 1, RSNNParams(tau_m=15.0, v_rest=-70.0, v_th=-50.0, v_reset=-70.0), dt, seed=0)
    s = RSNNState(v0, zeros, zeros, torch.zeros(1, 1, dtype=F64))
    for _ in range(20):
        _, s = rsnn_step(no_input, s, lif_net.weights(), lif_net.params, dt)
        _, lif = lif_step(0.0, lif, lp, dt)
    torch.testing.assert_close(s.v, lif.v, rtol=1e-14, atol=1e-12)
    with torch.no_grad():
        lif_net.w_in.copy_(net.w_in)
    _, kicked = rsnn_step(torch.ones(1, 1, dtype=F64), s, lif_net.weights(), lif_net.params, dt)
    _, free = rsnn_step(no_input, s, lif_net.weights(), lif_net.params, dt)
    torch.testing.assert_close(kicked.v - free.v, torch.tensor([[2.0, 0.0, -3.0]], dtype=F64))


# ------------------------------------------------------------------------ e-prop against BPTT
EXACT_CASES = {
    "lif_subtract": RSNNParams(),
    "lif_hard_reset": RSNNParams(reset="hard"),
    "alif_fast_sigmoid": RSNNParams(b=3.0, surrogate=Surrogate("fast_sigmoid", width=5.0, gamma=0.5)),
    # [batch, 1] parameters: each of the 3 trials has its own neurons, one of them without adaptation
    "batched_params": RSNNParams(
        tau_m=torch.tensor([[15.0], [20.0], [30.0]], dtype=F64), b=torch.tensor([[0.0], [2.0], [4.0]], dtype=F64),
        tau_out=torch.tensor([[10.0], [20.0], [40.0]], dtype=F64),
        v_th=torch.tensor([[-50.0], [-52.0], [-48.0]], dtype=F64), reset="hard"),
}


@pytest.mark.parametrize("case", list(EXACT_CASES))
def test_eprop_equals_bptt_without_recurrent_weights(case):
    """W_rec = 0, B = W_out^T: no path from a neuron's spike to other neurons, so e-prop's
    factorisation is the exact surrogate gradient, for every weight and the rate regulariser."""
    x, y = random_task()
    net = RSNN(10, 15, 2, EXACT_CASES[case], seed=3, input_scale=30.0)
    with torch.no_grad():
        net.w_rec.zero_()
    bptt = bptt_gradients(net, x, y, rate_penalty=1e-3)
    eprop = eprop_gradients(net, x, y, feedback="symmetric", rate_penalty=1e-3)
    assert 5.0 < bptt.rate < 100.0  # neurons spike: the comparison is not vacuous
    assert bptt.loss == pytest.approx(eprop.loss, rel=1e-13) and bptt.task == pytest.approx(eprop.task, rel=1e-13)
    for name in ("w_in", "w_rec", "w_out", "b_out"):
        g_bptt, g_eprop = bptt.grads[name], eprop.grads[name]
        assert g_bptt.abs().max() > 1e-3
        torch.testing.assert_close(g_eprop, g_bptt, rtol=1e-10, atol=1e-13 * float(g_bptt.abs().max()))
    assert torch.all(bptt.grads["w_rec"].diagonal() == 0) and torch.all(eprop.grads["w_rec"].diagonal() == 0)


def labels_of(T, batch=3, n_out=2, seed=7):
    """Class labels ``[batch, T]``: -1 (no target) in the first third, a class per trial after."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, n_out, (batch, 1), generator=g).expand(batch, T).clone()
    labels[:, : T // 3] = -1
    return labels


@pytest.mark.parametrize("case", ["lif_subtract", "alif_fast_sigmoid"])
def test_cross_entropy_gradients_of_bptt_and_eprop_agree_where_eprop_is_exact(case):
    """The same exactness as for the MSE, with the cross-entropy of the readouts as logits: autograd
    through F.cross_entropy on one side, e-prop's hand-written softmax - one-hot signal on the other."""
    x, _ = random_task()
    labels = labels_of(x.shape[1])
    net = RSNN(10, 15, 2, EXACT_CASES[case], seed=3, input_scale=30.0)
    with torch.no_grad():
        net.w_rec.zero_()
    bptt = bptt_gradients(net, x, labels, loss="cross_entropy")
    eprop = eprop_gradients(net, x, labels, loss="cross_entropy")
    outputs = net(x).outputs.detach()
    labelled = labels >= 0
    reference = torch.nn.functional.cross_entropy(outputs[labelled], labels[labelled])  # mean over labelled steps
    assert bptt.task == pytest.approx(float(reference), rel=1e-12) and eprop.task == pytest.approx(bptt.task, rel=1e-12)
    right = (outputs.argmax(-1) == labels)[labelled].double().mean()
    assert bptt.metrics["accuracy"] == pytest.approx(float(right)) == eprop.metrics["accuracy"]
    for name in ("w_in", "w_out", "b_out"):
        assert bptt.grads[name].abs().max() > 1e-4
        torch.testing.assert_close(eprop.grads[name], bptt.grads[name], rtol=1e-10,
                                   atol=1e-12 * float(bptt.grads[name].abs().max()))


def test_cross_entropy_targets_are_checked():
    x, _ = random_task(batch=1, T=5)
    net = RSNN(10, 4, 2)
    with pytest.raises(ValueError, match="must be integer class labels"):
        bptt_gradients(net, x, torch.zeros(1, 5), loss="cross_entropy")
    with pytest.raises(ValueError, match=r"must be in \[0, n_out=2\) or -1 \(no target\), got 2"):
        bptt_gradients(net, x, torch.tensor([[0, 1, 2, 0, 1]]), loss="cross_entropy")
    with pytest.raises(ValueError, match="no labelled step"):
        eprop_gradients(net, x, -torch.ones(5, dtype=torch.long), loss="cross_entropy")


def test_a_spiking_network_learns_to_tell_two_input_patterns_apart_by_cross_entropy():
    """Two frozen Poisson patterns (3 trials each) -> class 0 or 1 over the last 40 of 60 steps:
    from chance (0.5) to every labelled step right; both BPTT and e-prop get there."""
    a, b = poisson_input(1, 60, 20, seed=1), poisson_input(1, 60, 20, seed=2)
    x = torch.cat([a.expand(3, -1, -1), b.expand(3, -1, -1)])
    labels = torch.tensor([0, 0, 0, 1, 1, 1]).unsqueeze(1).expand(6, 60).clone()
    labels[:, :20] = -1
    for gradients in ("bptt", "eprop"):
        net = RSNN(20, 30, 2, seed=0, input_scale=40.0, readout_scale=0.0)
        history = fit_bptt(net, SequenceObjective(x, labels, loss="cross_entropy", gradients=gradients),
                           iterations=30, learning_rate=0.05)
        assert history.accuracy[0] == 0.5  # a silent readout: equal logits, argmax picks class 0
        assert history.final_accuracy == 1.0, gradients
        assert history.final_cross_entropy < 0.3 * history.cross_entropy[0]


def test_one_sgd_step_is_the_gradient_times_the_step_size():
    """The loop hands the optimizer the gradient it computes: the first update of each optimizer is
    its textbook step from the gradient alone (no Dale's law here, so no clamp)."""
    x, y = random_task()
    for optimizer in ("sgd", "adam", "rmsprop", "adamw"):
        net = RSNN(10, 15, 2, seed=3, input_scale=30.0)
        before = {k: v.detach().clone() for k, v in net.named_parameters()}
        grads = bptt_gradients(net, x, y).grads
        history = fit_bptt(net, SequenceObjective(x, y), iterations=1, learning_rate=1e-3, optimizer=optimizer)
        assert history.learning_rate == [1e-3] and history.sign_violations == [0]
        step = net.w_in.detach() - before["w_in"]
        if optimizer == "sgd":
            torch.testing.assert_close(step, -1e-3 * grads["w_in"], rtol=0, atol=1e-13)  # rounding of w
        else:  # torch's defaults, first step from zero moments: Adam(W) m^ = g, v^ = g^2; RMSprop v = 0.01 g^2
            g, eps = grads["w_in"], 1e-8
            scale = {"adam": g.abs(), "adamw": g.abs(), "rmsprop": 0.1 * g.abs()}[optimizer]
            expected = -1e-3 * g / (scale + eps)
            if optimizer == "adamw":  # decoupled weight decay 0.01
                expected = expected - 1e-3 * 0.01 * before["w_in"]
            torch.testing.assert_close(step, expected, rtol=1e-9, atol=1e-13)


def test_eprop_with_recurrence_is_an_approximation_aligned_with_bptt():
    """With recurrent weights e-prop drops the paths through other neurons: the hidden gradients
    differ, but point the same way; the readout gradients stay exact."""
    x, y = random_task()
    net = RSNN(10, 15, 2, seed=3, input_scale=30.0, recurrent_scale=15.0)
    bptt = bptt_gradients(net, x, y)
    eprop = eprop_gradients(net, x, y)
    for name in ("w_in", "w_rec"):
        a, b = bptt.grads[name].flatten(), eprop.grads[name].flatten()
        assert (a - b).norm() > 1e-3 * a.norm()
        assert torch.nn.functional.cosine_similarity(a, b, dim=0) > 0.5
    for name in ("w_out", "b_out"):
        torch.testing.assert_close(eprop.grads[name], bptt.grads[name], rtol=1e-10, atol=1e-12)
    # an explicit matrix equal to W_out^T is the symmetric feedback; a random one is not
    explicit = eprop_gradients(net, x, y, feedback=net.w_out.detach().T.clone())
    torch.testing.assert_close(explicit.grads["w_in"], eprop.grads["w_in"], rtol=1e-12, atol=0)
    rand = eprop_gradients(net, x, y, feedback="random", seed=4)
    assert not torch.allclose(rand.grads["w_in"], eprop.grads["w_in"])
    assert torch.equal(random_feedback(net, 4), random_feedback(net, 4))


def test_truncation_cuts_credit_and_the_full_window_is_full_bptt():
    x, y = random_task()
    net = RSNN(10, 15, 2, seed=3, input_scale=30.0)
    full = bptt_gradients(net, x, y, rate_penalty=1e-3)
    whole = bptt_gradients(net, x, y, truncation=x.shape[1], rate_penalty=1e-3)
    cut = bptt_gradients(net, x, y, truncation=10, rate_penalty=1e-3)
    assert cut.loss == pytest.approx(full.loss, rel=1e-12)  # the forward pass is the same
    for name in full.grads:
        torch.testing.assert_close(whole.grads[name], full.grads[name], rtol=0, atol=0)
    assert not torch.allclose(cut.grads["w_in"], full.grads["w_in"])


# ------------------------------------------------------------------------ training
# One frozen Poisson input (40 channels at 50 Hz), 80 recurrent LIF neurons, 100 steps of 1 ms.
# The reference loss is the target's mean square, the MSE of a silent readout (0.416 here).
# The numbers quoted below were measured with these settings for network seeds 0-5.
T_TASK, N_IN, N_REC = 100, 40, 80
LOOP = dict(iterations=40, learning_rate=0.04, lr_gamma=0.94)  # a decaying step settles between spike patterns
RATES = dict(rate_target=10.0, rate_penalty=1e-3)


def train(net, x, y, gradients="bptt", loop=LOOP, **objective):
    """``fit_bptt`` on the fixed trials ``x`` -> ``y`` with the rate regulariser of ``RATES``."""
    return fit_bptt(net, SequenceObjective(x, y, gradients=gradients, **{**RATES, **objective}), **loop)


def task_tensors(dtype=torch.float32):
    return poisson_input(1, T_TASK, N_IN, dtype=dtype), sines(T_TASK, dtype=dtype)


def test_bptt_trains_a_recurrent_lif_network_to_a_sum_of_sines_deterministically():
    """From a silent readout (W_out = 0) the MSE falls by 7.6-10.0x in 40 epochs (this seed: 9.3x);
    5x leaves room for rounding differences between machines, which change spike patterns the
    way a different seed does.
    A trained readout alone gets about as far on this task; the hidden weights' share is the
    e-prop test below, where the readout is frozen."""
    x, y = task_tensors()
    net = RSNN(N_IN, N_REC, 1, seed=0, readout_scale=0.0, dtype=torch.float32)
    history = train(net, x, y)
    assert len(history.loss) == LOOP["iterations"]
    assert history.mse[0] == pytest.approx(float((y ** 2).mean()), rel=1e-5)
    assert history.mse[0] / history.final_mse > 5.0
    assert 2.0 < history.final_rate < 30.0  # the rate regulariser kept the network out of runaway firing
    # determinism: a fixed seed gives the same run, bit for bit
    a, b = (RSNN(N_IN, N_REC, 1, seed=0, dtype=torch.float32) for _ in range(2))
    ha, hb = (train(n, x, y, loop={**LOOP, "iterations": 3}) for n in (a, b))
    assert ha.loss == hb.loss and torch.equal(a.w_rec, b.w_rec) and torch.equal(a.w_in, b.w_in)


def test_eprop_trains_the_same_task():
    """As the BPTT test, with e-prop (symmetric feedback): 8.0-13.0x (this seed: 13.0x)."""
    x, y = task_tensors()
    net = RSNN(N_IN, N_REC, 1, seed=0, readout_scale=0.0, dtype=torch.float32)
    history = train(net, x, y, "eprop")
    assert history.mse[0] / history.final_mse > 5.0


def test_eprop_trains_the_hidden_weights_with_the_readout_frozen():
    """Only input and recurrent weights learn (readout fixed at +-0.1), so every gain is e-prop's
    learning signal reaching the hidden synapses: after 30 epochs the MSE is 25-33 % of the
    target's mean square (this seed: 31 %, 4.7x below its start; 2.4-8.7x over the seeds,
    as the frozen readout makes the starting loss vary)."""
    x, y = task_tensors()
    net = RSNN(N_IN, N_REC, 1, seed=0, dtype=torch.float32)
    with torch.no_grad():
        net.w_out.copy_(0.1 * (-1.0) ** torch.arange(N_REC, dtype=torch.float32))
    readout = net.w_out.detach().clone()
    history = train(net, x, y, "eprop", loop={**LOOP, "iterations": 30}, trainable=("input", "recurrent"))
    assert torch.equal(net.w_out, readout)
    assert history.final_mse < 0.4 * float((y ** 2).mean())
    assert history.mse[0] / history.final_mse > 2.0


def test_dales_law_holds_after_training():
    """E/I signs by clamping: no weight ends with the wrong sign, and the clamp was exercised
    (weights that crossed zero sit at exactly 0; random initial weights are never 0)."""
    x, y = poisson_input(2, 80, 12, seed=5, dtype=F64), sines(80)
    net = RSNN(12, 30, 1, n_exc=24, input_exc=12, seed=1)
    assert net.sign_violations() == 0
    off = ~torch.eye(30, dtype=torch.bool)
    assert torch.all(net.w_rec[:, :24][off[:, :24]] > 0) and torch.all(net.w_rec[:, 24:][off[:, 24:]] < 0)
    history = train(net, x, y, loop=dict(iterations=15, learning_rate=0.05))
    assert history.final_mse < 0.2 * history.mse[0]  # measured: 2.55 -> 0.17
    assert net.sign_violations() == 0
    assert torch.all(net.w_in >= 0)
    assert torch.all(net.w_rec[:, :24] >= 0) and torch.all(net.w_rec[:, 24:] <= 0)
    assert torch.all(net.w_out[:, :24] >= 0) and torch.all(net.w_out[:, 24:] <= 0)
    assert int((net.w_rec[off] == 0).sum() + (net.w_in == 0).sum()) > 50  # measured: 173 + 39
    assert torch.all(net.w_rec.diagonal() == 0)
    train(net, x, y, "eprop", loop=dict(iterations=5, learning_rate=0.01))
    assert net.sign_violations() == 0
    single = RSNN(12, 30, 1, n_exc=24, input_exc=12, dtype=torch.float32)  # the sign masks keep the dtype
    assert all(t.dtype == torch.float32 for t in single.state_dict().values())


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_training_runs_on_cuda_with_the_cpu_numbers():
    x, y = random_task()
    cpu = RSNN(10, 15, 2, RSNNParams(b=2.0), seed=3, input_scale=30.0)
    gpu = RSNN(10, 15, 2, RSNNParams(b=2.0), seed=3, input_scale=30.0, device="cuda")
    for fn in (bptt_gradients, eprop_gradients):
        a, b = fn(cpu, x, y, rate_penalty=1e-3), fn(gpu, x.cuda(), y.cuda(), rate_penalty=1e-3)
        assert a.rate == b.rate
        for name in a.grads:
            assert b.grads[name].device.type == "cuda"
            torch.testing.assert_close(b.grads[name].cpu(), a.grads[name], rtol=1e-9, atol=1e-12)
    history = fit_bptt(gpu, SequenceObjective(x.cuda(), y.cuda(), gradients="eprop", feedback="random"), iterations=3)
    assert len(history.loss) == 3 and gpu.w_in.device.type == "cuda"


# ------------------------------------------------------------------------ bad arguments
def test_bad_arguments_are_named_with_the_known_options():
    x, y = random_task(batch=1, T=5)
    net = RSNN(10, 4, 2)
    with pytest.raises(KeyError, match=r"unknown surrogate derivative 'sawtooth'; known: .*fast_sigmoid.*triangle"):
        Surrogate("sawtooth")
    with pytest.raises(ValueError, match=r"unknown trainable parameter\(s\) 'bias'; known: input, recurrent, readout"):
        SequenceObjective(x, y, trainable=("input", "bias"))
    with pytest.raises(ValueError, match=r"unknown trainable parameter\(s\) 'weights'; known: input"):
        SequenceObjective(x, y, gradients="eprop", trainable="weights")
    with pytest.raises(ValueError, match="trainable is empty"):
        bptt_gradients(net, x, y, trainable=())
    with pytest.raises(ValueError, match=r"unknown optimizer 'lbfgs'; known: adam, sgd, rmsprop, adamw"):
        fit_bptt(net, SequenceObjective(x, y), iterations=1, optimizer="lbfgs")
    with pytest.raises(ValueError, match=r"unknown loss 'hinge'; known: mse, cross_entropy"):
        SequenceObjective(x, y, loss="hinge")
    with pytest.raises(ValueError, match=r"unknown gradients 'rtrl'; known: bptt, eprop"):
        SequenceObjective(x, y, gradients="rtrl")
    with pytest.raises(ValueError, match="lr_gamma must be in"):
        fit_bptt(net, SequenceObjective(x, y), iterations=1, lr_gamma=1.5)
    with pytest.raises(ValueError, match=r"unknown feedback 'transpose'; known: symmetric, random"):
        fit_bptt(net, SequenceObjective(x, y, gradients="eprop", feedback="transpose"), iterations=1)
    with pytest.raises(ValueError, match=r"unknown reset 'soft'; known: subtract, hard"):
        RSNNParams(reset="soft")
    with pytest.raises(ValueError, match=r"targets must be \[batch=1, time=5, n_out=2\]"):
        fit_bptt(net, SequenceObjective(x, y[..., :1]), iterations=1)
    with pytest.raises(ValueError, match="truncation must be"):
        SequenceObjective(x, y, truncation=0)
    with pytest.raises(ValueError, match="width must be > 0"):
        Surrogate("triangle", width=0.0)
