"""The multi-source player: each emitter its own music, gain and IR; the block is the sum of their
convolutions; a removed emitter fades out and stops costing anything."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal

from naf_model.audio import MAIN, BinauralPlayer
from naf_model.audio.convolver import crossfade_ramp

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
    # 1e-5, not 1e-9: the engine computes in single precision (complex64 spectra); the error measured is
    # below 1e-7 at a peak of ~0.45, so a wrong IR, gain or sum (errors of the signal's own size) still fails
    assert np.allclose(out[B:], expected[B:], rtol=0, atol=1e-5)
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


def _fade_weight(n: int, start_block: int, fade_blocks: int) -> np.ndarray:
    """(n,) share of the IR posted before `start_block`: 0 before it, the engine's ramp, then 1."""
    w = np.zeros(n)
    start = start_block * B
    ramp = crossfade_ramp(fade_blocks * B)
    w[start : start + len(ramp)] = ramp[: n - start]
    w[start + len(ramp) :] = 1.0
    return w


@pytest.mark.parametrize(("n_sources", "fade_blocks"), [(2, 1), (4, 1), (4, 3)])
def test_sources_mix_as_the_sum_of_np_convolve_across_ir_swaps(n_sources: int, fade_blocks: int):
    """Every source swaps its IR (some in the same block, some a block apart so that fades of different
    steps overlap), one source changes its gain while it swaps: the mix stays the sum of each source's
    np.convolve with the crossfaded IRs, to 1e-5."""
    rng = np.random.default_rng(n_sources)
    n = 40
    music = [0.1 * rng.standard_normal((B * n, 1 + k % 2)) for k in range(n_sources)]
    irs = [[rng.standard_normal((2, 900)) * np.exp(-np.arange(900) / 200) * 0.05 for _ in range(3)]
           for _ in range(n_sources)]
    gains = [1.0, 0.5, 0.8, 1.3][:n_sources]
    keys = [MAIN] + [f"emitter {k + 1}" for k in range(1, n_sources)]
    player = BinauralPlayer(music[0], RATE, B, max_ir_seconds=0.1, crossfade_blocks=fade_blocks)
    for key, m, g in zip(keys[1:], music[1:], gains[1:], strict=True):
        player.add_source(key, m, gain=g)
    swaps = [(0, 10 + k % 2, 25) for k in range(n_sources)]  # block in which each IR is posted
    player.play()
    out = np.zeros((n * B, 2))
    for i in range(n):
        for key, ir_set, at in zip(keys, irs, swaps, strict=True):
            if i in at:
                player.post_ir(ir_set[at.index(i)], key)
        if i == 10:
            player.set_source_gain(keys[1], 0.25)
        player.render(out[i * B : (i + 1) * B])

    env = np.ones(n * B)
    env[:B] = (np.arange(B) + 1.0) / B  # play() fades each source's music in over the first block
    gain_1 = np.full(n * B, gains[1])
    gain_1[10 * B : 11 * B] = gains[1] + (0.25 - gains[1]) * (np.arange(B) + 1.0) / B
    gain_1[11 * B :] = 0.25
    expected, held = np.zeros((n * B, 2)), np.zeros((n * B, 2))  # held: had no IR been swapped
    for k, (m, ir_set, at) in enumerate(zip(music, irs, swaps, strict=True)):
        feed = m.mean(axis=1) * env
        weights = [_fade_weight(n * B, s, fade_blocks) for s in at] + [np.zeros(n * B)]
        gain = gain_1 if k == 1 else gains[k]
        for j, ir in enumerate(ir_set):
            share = weights[j] - weights[j + 1]
            for ear in range(2):
                wet = gain * np.convolve(feed, ir[ear])[: n * B]
                expected[:, ear] += share * wet
                if j == 0:
                    held[:, ear] += weights[0] * wet
    assert 0.05 < np.abs(out).max() < 0.9  # below the limiter: the chain is linear
    assert np.allclose(out[B:], expected[B:], rtol=0, atol=1e-5)  # block 0 also ramps the gains in
    assert np.abs(out[12 * B :] - held[12 * B :]).max() > 1e-2  # the test can fail: the swaps are heard
    assert player.swaps == 3 * n_sources
