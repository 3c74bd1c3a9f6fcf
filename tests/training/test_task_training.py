"""Gradient training of rate networks on tasks (issue 6): trainable quantities, BPTT, Dale's law, resume."""


import numpy as np
import pytest
import torch

from einet.config.experiment import TaskSpec
from einet.config.training import TrainingSpec
from einet.experiment import validate
from einet.errors import ConfigError
from einet.fields import parse_section
from einet.training.bptt import fit_bptt
from einet.training.task_training import AngleObjective, DecisionObjective, TaskModel, TaskTrials, run_trials
from einet.training import rate_parameters as trainable
from einet.network.rate import RateNetwork
from einet.config.model import ModelSpec


def ring_model(kappa=0.3, size=48, noise=0.1, connectivity="all_to_all"):
    extra = {"K": 12.0} if connectivity == "sparse" else {}
    profile = {"profile": "cosine", "kappa": kappa} if connectivity == "all_to_all" else {}
    return parse_section(ModelSpec, {
        "populations": {
            "E": {"size": size, "type": "exc", "tau": 10.0,
                  "transfer": {"name": "sigmoid", "threshold": 1.0, "gain": 5.0, "r_max": 1.0}},
            "I": {"size": size // 4, "type": "inh", "tau": 0.0, "transfer": "threshold_linear"}},
        "projections": {
            "EE": {"source": "E", "target": "E", "J": 10.0, "connectivity": connectivity, **profile, **extra},
            "IE": {"source": "E", "target": "I", "J": 1.0, "connectivity": connectivity, **extra},
            "EI": {"source": "I", "target": "E", "J": -10.0, "connectivity": connectivity, **extra}},
        "external": {"M0": 1.0, "J": {"E": 0.5, "I": 0.0}, "noise": {"E": noise}}}, "model")


def low_rank_model(kind="mixed", size=40, strength=2.0):
    return parse_section(ModelSpec, {
        "populations": {"R": {"size": size, "type": kind, "tau": 10.0, "init_rate": 0.5,
                              "transfer": {"name": "sigmoid", "threshold": 0.5, "gain": 1.0, "r_max": 1.0}}},
        "projections": {"RR": {"source": "R", "target": "R", "J": 1.0, "connectivity": "all_to_all",
                               "low_rank": strength}},
        "low_rank": {"rank": 2, "mean": [1.0, 1.0, 0.5, 0.5], "cov": [[0.05, 0, 0, 0], [0, 0.05, 0, 0],
                                                                    [0, 0, 0.05, 0], [0, 0, 0, 0.05]]},
        "external": {"M0": 1.0, "J": {"R": 0.2}, "noise": {"R": 0.05}}}, "model")


ODR_TASK = {"kind": "odr", "population": "E", "strength": 1.0, "footprint": 30.0,
            "epochs": {"fixation": 20.0, "cue": 40.0, "delay": 60.0}}


def trajectory(network, steps=30, stimulus_scale=0.5):
    """Rates of every population after each step, with a fixed stimulus on population 0."""
    torch.manual_seed(5)
    stim = stimulus_scale * torch.rand(network.batch_size, network.sizes[0], dtype=network.dtype)
    state = network.initial_state()
    out = []
    for _ in range(steps):
        state, _ = network.step(state, (stim,) + (None,) * (len(network.sizes) - 1))
        out.append(torch.cat([r.detach() for r in state.rates], dim=1))
    return torch.stack(out)


@pytest.mark.parametrize("model, names", [
    (ring_model(), ["EE.weights", "IE.weights", "EI.J", "E.drive"]),
    (ring_model(connectivity="sparse"), ["EE.weights", "EI.weights", "IE.J"]),
    (low_rank_model("mixed"), ["R.m", "R.n"]),
    (low_rank_model("exc"), ["R.m"]),
    (low_rank_model("mixed"), ["RR.weights"]),
])
def test_trainable_network_starts_as_built(model, names):
    """Before any update, the differentiable operators reproduce the built network's run exactly (float64)."""
    built = RateNetwork([model] * 3, dt=1.0, dtype=torch.float64, seed=3, kernels="torch")
    trained = RateNetwork([model] * 3, dt=1.0, dtype=torch.float64, seed=3, kernels="torch")
    made = trainable.make_trainable(trained, names)
    assert sorted(made) == sorted(names)
    assert len(list(trained.parameters())) == len(names)
    expected, got = trajectory(built), trajectory(trained)
    torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-12)


def test_rectified_low_rank_equals_its_dense_formula():
    """Under Dale's law trained low-rank weights are J [1 + s m_i.n_j]_+ / N (an independent numpy computation)."""
    model = low_rank_model("exc", size=30, strength=3.0)
    network = RateNetwork([model], dt=1.0, dtype=torch.float64, seed=1, kernels="torch")
    made = trainable.make_trainable(network, ["R.m", "R.n"])
    with torch.no_grad():
        made["R.m"].mul_(-2.0)  # make some of 1 + s m.n negative
    m, n = made["R.m"].detach().numpy(), made["R.n"].detach().numpy()
    dense = np.maximum(1.0 + 3.0 * m @ n.T, 0.0) / 30
    assert (1.0 + 3.0 * m @ n.T < 0).any()
    x = torch.rand(1, 30, dtype=torch.float64)
    proj = network._projs[0]
    got = proj.operator.apply(x, proj.coefficient).detach()
    np.testing.assert_allclose(got.numpy(), x.numpy() @ dense.T, rtol=1e-12)
    assert trainable.sign_violations(network) == 0


def test_gradient_matches_finite_differences():
    """BPTT's gradient of the ODR loss with respect to J_EE equals a central finite difference (float64).

    The noise (seeded, the same in every run) breaks the ring's symmetry; without it the decoded angle
    equals the cue whatever J_EE is, and the gradient would vanish."""
    model = ring_model(noise=0.3)
    task_spec = parse_section(TaskSpec, ODR_TASK, "task")

    def loss_and_grad(J):
        network = RateNetwork([model] * 4, dt=2.0, dtype=torch.float64, seed=0, kernels="torch")
        tm = TaskModel(network, ["EE.J"])
        with torch.no_grad():
            tm.trained["EE.J"].fill_(J)
        objective = AngleObjective(task_spec, 0, network.population_names, network.sizes, 2.0, torch.float64, "cpu")
        task, targets = objective.draw(4, torch.Generator().manual_seed(2))
        loss, _ = run_trials(tm, objective, task, targets)
        return loss, float(tm.trained["EE.J"].grad)

    _, grad = loss_and_grad(10.0)
    h = 1e-5
    numeric = (loss_and_grad(10.0 + h)[0] - loss_and_grad(10.0 - h)[0]) / (2 * h)
    assert grad == pytest.approx(numeric, rel=1e-5, abs=1e-9)
    assert abs(grad) > 1e-6


def test_truncation_covering_the_trial_is_full_bptt_and_shorter_changes_it():
    model = ring_model(noise=0.3)
    task_spec = parse_section(TaskSpec, ODR_TASK, "task")
    grads = {}
    for k in (0, 1000, 5):
        network = RateNetwork([model] * 4, dt=2.0, dtype=torch.float64, seed=0, kernels="torch")
        tm = TaskModel(network, ["EE.weights"])
        objective = AngleObjective(task_spec, 0, network.population_names, network.sizes, 2.0, torch.float64, "cpu")
        task, targets = objective.draw(4, torch.Generator().manual_seed(2))
        run_trials(tm, objective, task, targets, truncation=k)
        grads[k] = tm.trained["EE.weights"].grad.clone()
    assert float(grads[0].abs().max()) > 1e-6
    torch.testing.assert_close(grads[1000], grads[0], rtol=1e-12, atol=0)
    assert not torch.allclose(grads[5], grads[0])


def cfg(**overrides):
    raw = {"parameters": ["EE.weights"], "learning_rate": 0.003, "iterations": 6, "trials": 8}
    raw.update(overrides)
    return parse_section(TrainingSpec, {"kind": "task", **raw}, "training")


def train(tm, objective, spec, generator, **options) -> dict[str, list]:
    """The history rows of ``fit_bptt`` on fresh trials, with the loop settings of a training section."""
    trials = TaskTrials(objective, generator, trials=spec.trials, truncation=spec.truncation,
                        rate_penalty=spec.rate_penalty)
    return fit_bptt(tm, trials, iterations=spec.iterations, optimizer=spec.optimizer,
                    learning_rate=spec.learning_rate, lr_step_every=spec.step_every, lr_gamma=spec.gamma,
                    grad_clip=spec.grad_clip, checkpoint_every=spec.checkpoint_every, **options).rows


def test_dale_holds_after_every_update_with_a_large_step():
    model = ring_model()
    network = RateNetwork([model] * 8, dt=2.0, seed=0, kernels="torch")
    tm = TaskModel(network, ["EE.weights", "IE.weights", "EI.weights", "EE.J", "EI.J"])
    objective = AngleObjective(parse_section(TaskSpec, ODR_TASK, "task"), 0, network.population_names, network.sizes,
                               2.0, torch.float32, "cpu")
    rows = train(tm, objective, cfg(parameters=list(tm.trained), learning_rate=0.5, iterations=8),
                 torch.Generator().manual_seed(0))
    assert rows["sign_violations"] == [0] * 8
    for name, param in tm.trained.items():
        if name.endswith("weights"):
            assert float(param.detach().min()) >= 0.0
    assert float(tm.trained["EE.J"].detach()) >= 0.0 and float(tm.trained["EI.J"].detach()) <= 0.0


def test_odr_training_lowers_the_angle_loss():
    """A sub-critical ring (no persistent bump) learns to hold the cue's angle through the delay."""
    model = ring_model(kappa=0.3, size=64)
    task_spec = parse_section(TaskSpec, {**ODR_TASK, "epochs": {"fixation": 40.0, "cue": 100.0, "delay": 300.0}},
                              "task")
    network = RateNetwork([model] * 12, dt=2.0, seed=0, kernels="torch")
    tm = TaskModel(network, ["EE.weights"])
    objective = AngleObjective(task_spec, 0, network.population_names, network.sizes, 2.0, torch.float32, "cpu")
    rows = train(tm, objective, cfg(iterations=60, trials=12), torch.Generator().manual_seed(0))
    first, last = np.mean(rows["loss"][:5]), np.mean(rows["loss"][-5:])
    assert first > 0.5  # untrained: the angle is lost early in the delay
    assert last < 0.35 * first
    assert np.mean(rows["angle_error"][-5:]) < 45.0  # chance is 90 deg


def _fresh_odr_model():
    """The small ring trained by the resume tests, rebuilt identically each time (as a restarted job does)."""
    network = RateNetwork([ring_model()] * 8, dt=2.0, seed=0, kernels="torch")
    tm = TaskModel(network, ["EE.weights"])
    task_spec = parse_section(TaskSpec, ODR_TASK, "task")
    return tm, AngleObjective(task_spec, 0, network.population_names, network.sizes, 2.0, torch.float32, "cpu")


def _killed_at_draw(objective, n: int) -> None:
    """Make ``objective`` raise as a killed job would, when it draws its ``n``-th batch."""
    draws, original = {"n": 0}, objective.draw

    def draw(*args):
        draws["n"] += 1
        if draws["n"] == n:
            raise KeyboardInterrupt("killed")
        return original(*args)

    objective.draw = draw


def test_resume_equals_uninterrupted(tmp_path):
    spec = cfg(checkpoint_every=3)
    tm, objective = _fresh_odr_model()
    rows = train(tm, objective, spec, torch.Generator().manual_seed(0))
    reference = tm.trained["EE.weights"].detach().clone()

    tm, objective = _fresh_odr_model()
    _killed_at_draw(objective, 5)
    with pytest.raises(KeyboardInterrupt):
        train(tm, objective, spec, torch.Generator().manual_seed(0), checkpoint=tmp_path / "c.ckpt",
              checkpoint_tag="t")
    tm, objective = _fresh_odr_model()
    resumed = train(tm, objective, spec, torch.Generator().manual_seed(0), checkpoint=tmp_path / "c.ckpt",
                    checkpoint_tag="t")
    assert torch.equal(tm.trained["EE.weights"].detach(), reference)
    assert resumed["loss"] == rows["loss"]


@pytest.mark.parametrize("damage", ["truncate", "flip", "checksum_missing"])
def test_a_damaged_checkpoint_is_ignored_and_training_resumes_from_the_previous_one(tmp_path, damage, caplog):
    """Killed at iteration 8 of 9 with checkpoints at 3 and 6: the newest (6) is damaged, so the run resumes
    from 3, warns, and still ends with the uninterrupted run's numbers."""
    spec = cfg(checkpoint_every=3, iterations=9)
    tm, objective = _fresh_odr_model()
    rows = train(tm, objective, spec, torch.Generator().manual_seed(0))
    reference = tm.trained["EE.weights"].detach().clone()
    ckpt = tmp_path / "c.ckpt"
    tm, objective = _fresh_odr_model()
    _killed_at_draw(objective, 8)
    with pytest.raises(KeyboardInterrupt):
        train(tm, objective, spec, torch.Generator().manual_seed(0), checkpoint=ckpt, checkpoint_tag="t")
    assert torch.load(ckpt, weights_only=True)["iteration"] == 6
    data = ckpt.read_bytes()
    if damage == "truncate":
        ckpt.write_bytes(data[: len(data) // 2])
    elif damage == "flip":
        ckpt.write_bytes(data[:100] + bytes([data[100] ^ 1]) + data[101:])
    else:
        (tmp_path / "c.ckpt.sha256").unlink()
    tm, objective = _fresh_odr_model()
    with caplog.at_level("WARNING", logger="einet"):
        resumed = train(tm, objective, spec, torch.Generator().manual_seed(0), checkpoint=ckpt, checkpoint_tag="t")
    assert "ignoring the damaged checkpoint" in caplog.text and "resuming from the previous checkpoint" in caplog.text
    assert torch.equal(tm.trained["EE.weights"].detach(), reference)
    assert resumed["loss"] == rows["loss"]


def test_decision_objective_targets_follow_the_conditions():
    task_spec = parse_section(TaskSpec, {"kind": "dual", "population": "R", "epochs": {
        "fixation": 10.0, "sample": 10.0, "delay": 40.0, "distractor": 10.0, "test": 10.0, "response": 20.0}}, "task")
    objective = DecisionObjective(task_spec, 0, ["R"], [20], 1.0, torch.float32, "cpu")
    task, targets = objective.draw(2, torch.Generator())
    cond = task.conditions()
    assert task.batch_size == 24 and len(set(zip(cond["task"], cond["sample"], cond["test"]))) == 12
    for i in range(24):
        assert bool(targets["go_mask"][i]) == (cond["task"][i] != "DPA")
        assert float(targets["go"][i]) == (1.0 if cond["task"][i] == "Go" else 0.0)
        paired = (cond["sample"][i], cond["test"][i]) in (("A", "C"), ("B", "D"))
        assert float(targets["paired"][i]) == float(paired)
    assert min(targets["dpa_window"]) > max(targets["go_window"])


def experiment(**training):
    raw = {"name": "t", "model": {
        "populations": {"E": {"size": 16, "type": "exc"}, "I": {"size": 4, "type": "inh"}},
        "projections": {"EE": {"source": "E", "target": "E", "J": 1.0, "connectivity": "all_to_all"},
                        "EI": {"source": "I", "target": "E", "J": -1.0, "connectivity": "all_to_all"}}},
        "task": {"kind": "odr", "population": "E"}, "analysis": {"kind": "task_training"},
        "training": {"kind": "task", "parameters": ["EE.weights"], **training}}
    return raw


def test_config_errors_name_the_key():
    validate(experiment())
    with pytest.raises(ConfigError, match=r"training\.parameters\[0\].*EX\.weights"):
        validate(experiment(parameters=["EX.weights"]))
    with pytest.raises(ConfigError, match="task.kind"):
        validate(experiment(loss="decision"))
    raw = experiment()
    raw["analysis"]["kind"] = "ring"
    with pytest.raises(ConfigError, match="analysis.kind"):
        validate(raw)
    raw = experiment()
    raw["training"]["dataset"] = "iris"
    with pytest.raises(ConfigError, match="training.dataset"):
        validate(raw)
    network = RateNetwork([ring_model()], dt=1.0, seed=0, kernels="torch")
    with pytest.raises(ConfigError, match="all_to_all low-rank"):
        trainable.make_trainable(network, ["E.m"])


def test_model_file_rebuilds_the_trained_network(tmp_path):
    """models/<job>.pt holds tensors and the config only, and rebuilds a network that runs as the trained one."""
    import yaml

    from einet import stages
    from einet.runs.task_training import build_task_model, load_task_model
    from einet.config.sweep import load_yaml

    raw = experiment(iterations=2, trials=4, learning_rate=0.05, test_cues=4)
    raw["task"]["epochs"] = {"fixation": 10.0, "cue": 20.0, "delay": 30.0}
    raw["simulation"] = {"dt": 2.0, "dtype": "float64", "device": "cpu"}
    (tmp_path / "exp.yaml").write_text(yaml.safe_dump(raw))
    [job] = stages.expand(tmp_path / "exp.yaml", None, None, tmp_path / "configs")
    nc, pt = stages.train(job, tmp_path / "trained.nc", tmp_path / "model.pt", progress=False)
    payload = torch.load(pt, weights_only=True)
    assert payload["kind"] == "rate_task" and set(payload["state_dict"]) == {"network.EE__weights"}
    loaded, spec = load_task_model(pt, batch=4)
    untrained, _ = build_task_model(validate(load_yaml(job)), 4, torch.device("cpu"))
    trained = payload["state_dict"]["network.EE__weights"]
    assert not torch.equal(trained, untrained.trained["EE.weights"].detach())  # training changed the weights
    torch.testing.assert_close(loaded.trained["EE.weights"].detach(), trained, rtol=0, atol=0)
    untrained.load_state_dict(payload["state_dict"])
    torch.testing.assert_close(trajectory(loaded.network), trajectory(untrained.network), rtol=0, atol=0)


def _shipped_trained(name: str):
    """A shipped trained-task experiment at its quick scale."""
    from pathlib import Path

    from einet.config.sweep import apply_scale, load_yaml

    path = Path(__file__).resolve().parents[2] / "config" / "experiments" / f"{name}.yaml"
    raw = apply_scale(load_yaml(path), "quick")
    raw.pop("scales", None)
    return validate(raw)


def test_the_evaluations_keep_the_state_the_first_stimulus_meets():
    """Baseline check of the trained tasks (issue 15): fixation_persistence is m1/m0 of the cued ring, and
    fixation_overlap the overlaps with the sample pattern A and distractor pattern Go, of the very state the
    cue (the sample) meets, recomputed here by stepping the same untrained network through fixation. The
    untrained ODR ring (kappa 0.3, below the bump's onset) holds no bump then (below the ring analysis's
    bump threshold 0.25); the untrained dual network (the old rank-two flip-flop) has fallen to one
    sample's state, which the record shows (the trained networks' values are in the figures)."""
    from einet.measures.bump import decode
    from einet.runs.task_training import _evaluate, _evaluation_model, build_task_model

    for name, first in (("trained_odr", "cue"), ("trained_dual", "sample")):
        spec = _shipped_trained(name)
        model, _ = build_task_model(spec, spec.training.trials, torch.device("cpu"))
        record = _evaluate(spec, model, torch.device("cpu"))
        copy, objective = _evaluation_model(spec, model, torch.device("cpu"))
        if name == "trained_odr":
            task = objective.task([360.0 * i / spec.training.test_cues for i in range(spec.training.test_cues)],
                                  delay=max(spec.training.test_delays))
        else:
            task = objective.task(1)
        net = copy.network
        state = net.initial_state()
        with torch.no_grad():
            for step in range(int(round(task.schedule[first].start / net.dt))):
                state, _ = net.step(state, task.stimulus(step, net.dt))
        rates = state.rates[objective.population].double()
        if name == "trained_odr":
            m0, m1, _ = decode(rates)
            np.testing.assert_allclose(record["fixation_persistence"], (m1 / m0).numpy(), rtol=1e-5)
            assert record["fixation_persistence"].max() < 0.25
        else:
            directions = torch.stack([task.pattern("A"), task.pattern("Go")], dim=1)
            expected = (rates @ directions / rates.shape[1]).numpy()
            np.testing.assert_allclose(record["fixation_overlap"], expected, rtol=1e-5, atol=1e-7)
            assert abs(record["fixation_overlap"][:, 0]).min() > 0.2  # a sample's state before any sample
