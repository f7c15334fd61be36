"""The multi-source player: each emitter its own music, gain and IR; the block is the sum of their
convolutions; a removed emitter fades out and stops costing anything."""

from __future__ import annotations

import numpy as np
import scipy.signal

from naf_model.audio import MAIN, BinauralPlayer

RATE, B = 22_050, 256


def test_two_sources_mix_as_the_sum_of_their_convolutions():
    rng = np.random.default_rng(0)
    music = [0.1 * rng.standard_normal((B * 40, 1)), 0.1 * rng.standard_normal((B * 40, 2))]
    irs = [rng.standard_normal((2, 900)) * np.exp(-np.arange(900) / 200) * 0.1 for _ in range(2)]
    player = BinauralPlayer(music[0], RATE, B, max_ir_seconds=0.1)
    player.add_source("emitter 2", music[1], gain=0.5)
    player.post_ir(irs[0])
    player.post_ir(irs[1], "emitter 2")
    player.play()
    n = 30
    out = np.concatenate([player.render(np.zeros((B, 2))).copy() for _ in range(n)])
    env = np.ones(n * B)
    env[:B] = (np.arange(B) + 1.0) / B
    expected = np.zeros((n * B, 2))
    for m, ir, gain in zip(music, irs, (1.0, 0.5), strict=True):
        feed = m.mean(axis=1)[: n * B] * env
        for ear in range(2):
            expected[:, ear] += gain * scipy.signal.fftconvolve(feed, ir[ear])[: n * B]
    assert np.abs(out).max() < 0.9
    assert np.allclose(out[B:], expected[B:], atol=1e-9)
    assert np.allclose(player.peak, np.abs(out[-B:]).max(axis=0))
    assert player.keys == (MAIN, "emitter 2") and player.swaps == 2


def test_a_removed_source_fades_out_and_is_dropped():
    rng = np.random.default_rng(1)
    player = BinauralPlayer(np.zeros((B * 8, 1)), RATE, B, max_ir_seconds=0.05)
    player.add_source("emitter 2", 0.1 * rng.standard_normal((B * 8, 1)))
    player.post_ir(np.ones((2, 1)), "emitter 2")
    player.play()
    loud = player.render(np.zeros((B, 2))).copy()
    assert np.abs(loud).max() > 0
    player.remove_source("emitter 2")
    fade = player.render(np.zeros((B, 2))).copy()
    assert np.abs(fade[-1]).max() < np.abs(fade[0]).max() + 1e-12 and np.allclose(fade[-1], 0.0)
    assert np.allclose(player.render(np.zeros((B, 2))), 0.0)
    player.add_source("emitter 3", np.zeros((B, 1)))
    assert player.keys == (MAIN, "emitter 3") and len(player._sources) == 2
