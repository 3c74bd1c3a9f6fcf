"""The recorder against the same quantities computed by hand from a stepped network."""

from __future__ import annotations

import numpy as np
import torch

from conftest import experiment
from einet.experiment import validate
from einet.network.presets import balanced_ei
from einet.runs.recorder import sample_indices
from einet.runs.rate import build_network, simulate


def test_sample_indices_are_even_and_bounded():
    assert sample_indices(10, 3) == [0, 4, 9]  # round(4.5) = 4: Python rounds half to even
    assert sample_indices(4, 10) == [0, 1, 2, 3]
    assert sample_indices(5, 0) == []


def test_records_match_a_hand_stepped_run():
    raw = experiment(balanced_ei(60, 40, 10.0), sweep={"batch": {"model.external.M0": [1.0, 2.0]}})
    raw["simulation"].update(duration=20.0, record={"every": 1.5, "neurons": 4, "average_from": 9.0,
                                                     "variables": ["rate", "current_inh"]})
    spec = validate(raw)
    ds = simulate(spec, progress=False)

    net = build_network(spec)  # same seed: same connectivity, no noise
    state = net.initial_state()
    every = 3  # 1.5 ms / 0.5 ms
    rates, inh, sums, n_avg = [], [], [np.zeros((2, 100)) for _ in range(3)], 0
    with torch.inference_mode():
        for step in range(40):
            new_state, cur = net.step(state)
            if step % every == 0:
                r = torch.cat(state.rates, dim=1).numpy()
                rates.append(r)
                inh.append(torch.cat(cur.inh, dim=1).numpy())
                if step >= 18:
                    n_avg += 1
                    sums[0] += r
                    sums[1] += torch.cat(cur.exc, dim=1).numpy()
                    sums[2] += torch.cat(cur.ext, dim=1).numpy()
            state = new_state
    rates, inh = np.stack(rates), np.stack(inh)  # [time, batch, neuron]
    np.testing.assert_allclose(ds.time, np.arange(len(rates)) * 1.5)
    np.testing.assert_allclose(ds.rate_mean.sel(population="E").transpose("time", "M0"), rates[:, :, :60].mean(-1))
    np.testing.assert_allclose(ds.rate_mean.sel(population="I").transpose("time", "M0"), rates[:, :, 60:].mean(-1))
    sampled = ds.sample_neuron.values
    np.testing.assert_array_equal(sampled, [0, 20, 39, 59, 60, 73, 86, 99])
    np.testing.assert_allclose(ds.rate_trace.transpose("time", "M0", "sample"), rates[:, :, sampled])
    np.testing.assert_allclose(ds.current_inh_trace.transpose("time", "M0", "sample"), inh[:, :, sampled])
    assert "current_exc_trace" not in ds  # only the chosen variables are traced
    assert ds.attrs["averaged_samples"] == n_avg
    for var, total in zip(("rate", "current_exc", "current_ext"), sums):
        np.testing.assert_allclose(ds[f"{var}_avg"], total / n_avg, rtol=1e-6)
    assert list(ds.neuron_population.values[58:62]) == ["E", "E", "I", "I"]
