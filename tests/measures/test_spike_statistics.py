"""ISI statistics on spike trains with known answers: Poisson, periodic, and a short window."""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from einet.measures import spike_statistics as st

Events = namedtuple("Events", "step batch neuron count")
DT = 0.1  # ms


def poisson_events(rate_hz: float, seconds: float, neurons: int, seed: int = 0) -> Events:
    """Independent Poisson trains: per neuron a Poisson count of uniformly placed spikes."""
    rng = np.random.default_rng(seed)
    counts = rng.poisson(rate_hz * seconds, neurons)
    neuron = np.repeat(np.arange(neurons), counts)
    step = np.floor(rng.uniform(0.0, seconds * 1000.0, counts.sum()) / DT).astype(np.int64)
    return Events(step, np.zeros_like(step), neuron, np.ones_like(step))


def test_cv2_is_one_for_poisson_and_zero_for_periodic_trains():
    poisson = poisson_events(10.0, 1000.0, 1)
    step = np.arange(1, 2001) * 500  # every 50 ms
    periodic = Events(step, np.zeros_like(step), np.ones_like(step), np.ones_like(step))
    both = Events(*(np.concatenate([a, b]) for a, b in zip(poisson, periodic)))
    cv2 = st.isi_cv2(both, 1, 3, DT)[0]
    assert abs(cv2[0] - 1.0) < 0.03 and cv2[1] == 0.0 and np.isnan(cv2[2])  # neuron 2 never fires
    assert abs(st.isi_statistics(both, 1, 3, DT)[1][0, 0] - 1.0) < 0.03


def test_a_short_window_biases_the_cv_low_and_not_the_cv2():
    """Poisson trains at 6 Hz seen for 0.8 s (the CUBA figure's old window): about 5 spikes per neuron.
    The CV of so few intervals reads far below 1; CV2, which compares neighbouring intervals, stays at 1
    (for Poisson spikes in a window, a / (a + b) of neighbouring intervals is uniform)."""
    short = poisson_events(6.0, 0.8, 20000)
    _, cv = st.isi_statistics(short, 1, 20000, DT)
    cv2 = st.isi_cv2(short, 1, 20000, DT)
    assert np.nanmean(cv) < 0.8
    assert abs(np.nanmean(cv2) - 1.0) < 0.03
