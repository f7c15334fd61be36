"""The ray histograms' smoothing (simulate/tail.py): an exact exponential decay passes unbiased, a lone late
ray hit does not stand out as an isolated bump, energy is kept and nothing moves before the first hit."""

from __future__ import annotations

import numpy as np

from naf_model.simulate.tail import smooth_histogram


def test_an_exponential_decay_passes_unchanged():
    bins = np.arange(150)
    h = np.zeros((7, 150))
    h[:, 10:] = np.exp(-0.03 * (bins[10:] - 10))[None] * np.arange(1, 8)[:, None]
    np.testing.assert_allclose(smooth_histogram(h)[:, 10:140], h[:, 10:140], rtol=0.02)


def test_a_lone_late_hit_is_spread_and_nothing_precedes_the_first_hit():
    rng = np.random.default_rng(0)
    bins = np.arange(150)
    decay = np.exp(-0.03 * (bins - 10)) * (bins >= 10)
    h = decay[None] * rng.uniform(0.5, 1.5, (7, 150))
    h[:, 100] += 30 * decay[100]  # one strong ray hit late in the tail: 15 dB above the decay
    smooth = smooth_histogram(h)
    assert np.all(smooth[:, :10] == 0)
    np.testing.assert_allclose(smooth.sum(1), h.sum(1))
    local = np.median(smooth[:, 90:111] / decay[90:111], axis=1)
    assert np.all(smooth[:, 100] / decay[100] < 2.0 * local)  # < 3 dB above its neighbourhood (was 15 dB)
