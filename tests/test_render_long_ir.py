"""`naf render` / `naf walk` with IRs of seconds: a walk through 3 s IRs whose tails differ at every spot
plays every update crossfaded (no click) and stays the exact convolution where the listener stands still."""

from __future__ import annotations

import numpy as np
import scipy.signal

from naf_model.audio import AudioClip, resample_ir
from naf_model.conventions import SAMPLE_RATE, SPEED_OF_SOUND
from naf_model.rendering.path import ListenerPath
from naf_model.rendering.render import IR_CHUNK, render_pair, render_walk
from naf_model.scene.examples import shoebox_scene

IR_SECONDS = 3.0


def reverberant(emitters: np.ndarray, listeners: np.ndarray, headings: np.ndarray) -> np.ndarray:
    """(B, 2, 3 s) IRs: the direct sound at distance / c with 1/(4 pi r) amplitude, then from 10 ms a
    diffuse tail (T60 2.5 s) whose fine structure is drawn afresh for every spot (seeded by the position)."""
    n = int(IR_SECONDS * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    decay = 10 ** (-3 * t / 2.5) * (t > 0.01) * 0.004
    out = np.zeros((len(listeners), 2, n), np.float32)
    for b, (e, li) in enumerate(zip(emitters, listeners, strict=True)):
        d = float(np.hypot(*(e - li)))
        seed = int(round(li[0] * 1000)) * 100_003 + int(round(li[1] * 1000))
        out[b] = np.random.default_rng(seed).standard_normal((2, n)) * decay
        out[b, :, int(round(d / SPEED_OF_SOUND * SAMPLE_RATE))] += 1 / (4 * np.pi * d)
    return out


def test_a_walk_through_3s_irs_crossfades_every_update_without_clicks() -> None:
    """A 220 Hz sine heard standing 3.5 s (longer than the IR: the output is a steady sine), then walking
    2 s: every 33 ms update changes the direct sound's delay and the whole tail. Through crossfades the
    output stays a sine whose amplitude and phase drift, so its second difference stays within that of a
    sine at the output's peak, (2 sin(pi f / fs))^2 x peak, doubled for the drift; a swap without a fade
    steps by a sizeable part of the peak."""
    scene = shoebox_scene()
    emitter = np.array([0.6, 2.5])
    rate, freq = 44_100, 220.0
    path = ListenerPath(np.array([0.0, 3.5, 5.5]), np.array([[1.0, 2.0], [1.0, 2.0], [4.6, 2.0]]))
    sine = 0.5 * np.sin(2 * np.pi * freq * np.arange(int(6 * rate)) / rate)
    music = AudioClip(sine[:, None].astype(np.float32), rate)
    walk = render_walk(scene, reverberant, emitter, path, music)
    y = walk.samples.astype(np.float64)
    assert walk.sample_rate == rate and y.shape == (int(5.5 * rate), 2) and np.all(np.isfinite(y))
    assert np.max(np.abs(y)) < 0.9  # below the limiter's knee: its gain changes play no part here

    # standing still, long after the start: the exact convolution with the spot's IR (times the gain)
    ir = resample_ir(reverberant(emitter[None], np.array([[1.0, 2.0]]), np.zeros(1))[0], SAMPLE_RATE, rate)
    still = slice(int(3.1 * rate), int(3.4 * rate))
    ref = np.stack([scipy.signal.fftconvolve(sine, ir[ear])[: len(y)] for ear in range(2)], 1) * walk.gain
    assert np.max(np.abs(y[still] - ref[still])) < 1e-4 * np.max(np.abs(ref[still]))

    moving = slice(int(3.3 * rate), len(y))
    curvature = np.abs(np.diff(y[moving], n=2, axis=0)).max()
    sine_curvature = (2 * np.sin(np.pi * freq / rate)) ** 2 * np.abs(y[moving]).max()
    assert curvature <= 2 * sine_curvature
    # the test can fail: a switch without a fade (to a fixed spot's output at a block boundary) clicks
    later = render_pair(scene, reverberant, emitter, np.array([1.2, 2.0]), 0.0, music, 5.5)
    b = int(3.6 * rate) // 512 * 512
    cut = np.concatenate([y[b - 2 : b], later.samples[b : b + 2].astype(np.float64)])
    assert np.abs(np.diff(cut, n=2, axis=0)).max() > 4 * sine_curvature


def test_a_walk_asks_for_its_irs_a_chunk_at_a_time_and_plays_each_once() -> None:
    """A walk's IRs are computed IR_CHUNK positions at a time as the render reaches them (a 300 s walk through
    3 s IRs once held 9.5 GB of them), and every position of the path is asked for exactly once."""
    scene = shoebox_scene()
    emitter = np.array([0.6, 2.5])
    asked: list[np.ndarray] = []

    def recording(emitters: np.ndarray, listeners: np.ndarray, headings: np.ndarray) -> np.ndarray:
        asked.append(np.array(listeners))
        return reverberant(emitters, listeners, headings)[:, :, :2205]

    path = ListenerPath(np.array([0.0, 3.0]), np.array([[1.0, 2.0], [4.6, 2.0]]))
    walk = render_walk(scene, recording, emitter, path, AudioClip(np.full((44_100, 1), 0.1, np.float32), 44_100))
    assert max(len(a) for a in asked) <= IR_CHUNK < len(walk.xy)
    calibration = len(asked[1])  # the first call is the walk's first chunk, the second the calibration spots
    played = np.concatenate([asked[0], *asked[2:]])
    assert calibration > 0 and np.array_equal(played, walk.xy)
