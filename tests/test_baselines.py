"""Interpolation baselines (exactness, linear precision) and codec round trips (level, alignment)."""

from __future__ import annotations

import numpy as np
import pytest

from naf_model.conventions import SAMPLE_RATE
from naf_model.evaluation import baselines, codecs


def grid_pairs(n_emitters: int, seed: int = 0) -> np.ndarray:
    """(P, 4) points like a data set's: a few emitters, each with listeners on a 0.5 m grid over 4 x 3 m."""
    rng = np.random.default_rng(seed)
    xs, ys = np.meshgrid(np.arange(0.3, 4.0, 0.5), np.arange(0.3, 3.0, 0.5))
    listeners = np.column_stack([xs.ravel(), ys.ravel()])
    emitters = listeners[rng.choice(len(listeners), n_emitters, replace=False)]
    return np.array([[*e, *l] for e in emitters for l in listeners if np.hypot(*(e - l)) > 0.25])


def affine_irs(points: np.ndarray) -> np.ndarray:
    """IR blocks (P, 4, 2, 16) that are an affine function of the 4-D position."""
    rng = np.random.default_rng(7)
    slope = rng.standard_normal((4, 4 * 2 * 16))
    offset = rng.standard_normal(4 * 2 * 16)
    return (points @ slope + offset).reshape(-1, 4, 2, 16)


@pytest.mark.parametrize("n_emitters", [1, 2, 5])
def test_both_methods_are_exact_at_training_pairs(n_emitters: int) -> None:
    train = grid_pairs(n_emitters)
    irs = np.random.default_rng(1).standard_normal((len(train), 4, 2, 32)).astype(np.float32)
    for method in (baselines.nearest_weights, baselines.linear_weights):
        w = method(train, train[::3])
        np.testing.assert_allclose(baselines.blend(irs, w), irs[::3], atol=1e-5)


def test_linear_is_exact_for_a_field_linear_in_position() -> None:
    """Barycentric weights reproduce affine IRs at held-out pairs inside the hull; nearest does not."""
    points = grid_pairs(6, seed=2)
    held = np.zeros(len(points), bool)
    held[np.random.default_rng(3).choice(len(points), len(points) // 10, replace=False)] = True
    train, test = points[~held], points[held]
    irs = affine_irs(points)
    w = baselines.linear_weights(train, test)
    inside = ~w.fallback
    assert inside.mean() > 0.7
    assert np.all(w.weights >= 0) and np.allclose(w.weights.sum(axis=1), 1.0)
    pred = baselines.blend(irs[~held].astype(np.float32), w)
    np.testing.assert_allclose(pred[inside], irs[held][inside], atol=1e-3)
    nearest = baselines.blend(irs[~held].astype(np.float32), baselines.nearest_weights(train, test))
    assert np.abs(nearest - irs[held]).mean() > 10 * np.abs(pred[inside] - irs[held][inside]).mean()


def test_linear_uses_the_hull_of_few_emitters_and_falls_back_outside() -> None:
    """Two emitters span a 3-D affine hull: linear works inside it; far queries take the nearest pair."""
    train = grid_pairs(2, seed=4)
    irs = affine_irs(train).astype(np.float32)
    mid = 0.5 * (train[0] + train[-1])
    far = train[0] + np.array([0.0, 0.0, 50.0, 50.0])
    w = baselines.linear_weights(train, np.stack([mid, far]))
    assert not w.fallback[0] and w.fallback[1]
    expected_mid = affine_irs(mid[None])[0]
    np.testing.assert_allclose(baselines.blend(irs, w)[0], expected_mid, atol=1e-3)
    assert w.indices[1, 0] == baselines.nearest_weights(train, far[None]).indices[0, 0]


def dense_weights(w: baselines.InterpolationWeights, n: int) -> np.ndarray:
    out = np.zeros((len(w.indices), n))
    np.put_along_axis(out, w.indices, w.weights, axis=1)
    return out


@pytest.mark.parametrize("n_emitters", [1, 6])
def test_linear_weights_of_a_grid_do_not_move_with_the_last_bits(n_emitters: int) -> None:
    """A grid is degenerate for Delaunay: 1e-13 m of noise on the training points (a different BLAS or CPU)
    must not pick other simplices (it moved weights by up to 1.0 before the coordinates were rounded)."""
    train = grid_pairs(n_emitters, seed=8)
    queries = np.random.default_rng(9).uniform(0.3, 2.8, (200, 4))
    if n_emitters == 1:  # queries in the plane of the one emitter's pairs, else all would fall back
        queries[:, :2] = train[0, :2]
    a = dense_weights(baselines.linear_weights(train, queries), len(train))
    for seed in range(3):
        noisy = train + np.random.default_rng(seed).normal(0.0, 1e-13, train.shape)
        b = dense_weights(baselines.linear_weights(noisy, queries), len(train))
        np.testing.assert_allclose(b, a, atol=1e-6)


def test_blend_with_only_the_used_rows() -> None:
    train = grid_pairs(3, seed=5)
    irs = np.random.default_rng(6).standard_normal((len(train), 4, 2, 8)).astype(np.float32)
    queries = train[:20] + 0.1
    w = baselines.linear_weights(train, queries)
    rows = w.used()
    np.testing.assert_allclose(baselines.blend(irs[rows], w, rows), baselines.blend(irs, w), atol=1e-6)


def synthetic_irs(m: int, n: int, seed: int) -> np.ndarray:
    """(m, n) decaying low-passed noise IRs with a sharp onset at a random delay, peaks varying over 40 dB."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / SAMPLE_RATE
    noise = rng.standard_normal((m, n))
    kernel = np.hanning(9)
    noise = np.apply_along_axis(lambda r: np.convolve(r, kernel / kernel.sum(), mode="same"), 1, noise)
    out = noise * np.exp(-6.9 * t / 0.3)
    for i, d in enumerate(rng.integers(20, 400, m)):
        out[i] = np.roll(out[i], d)
        out[i, :d] = 0
        out[i, d] = 4 * np.abs(out[i]).max()  # direct sound
    return (out * 10 ** rng.uniform(-2, 0, (m, 1))).astype(np.float32)


def energy(x: np.ndarray) -> np.ndarray:
    """Energy of each row, (M, N) -> (M,)."""
    return np.sum(x.astype(np.float64) ** 2, axis=1)


@pytest.mark.parametrize(
    ("codec", "per_ir_db"), [(codecs.AAC_LC, 1.5), (codecs.OPUS, 4.0)], ids=["aac", "opus"]
)
def test_codec_round_trip_keeps_level_and_alignment(codec: codecs.Codec, per_ir_db: float) -> None:
    """Levels survive (Opus at 6 kbit/s moves single IRs by up to ~3 dB) and the IRs stay aligned."""
    reason = codecs.missing_tools(codec)
    if reason is not None:
        pytest.skip(reason)
    x = synthetic_irs(24, 4000, seed=8)
    rt = codecs.round_trip(x, codec)
    assert rt.decoded.shape == x.shape and rt.n_signals == 24 and rt.gain_bytes == 96
    level_db = 10 * np.log10(energy(rt.decoded) / energy(x))
    assert abs(np.mean(level_db)) < 1.5 and np.all(np.abs(level_db) < per_ir_db), level_db
    # alignment: each decoded IR correlates best with its original at lag zero
    lags = [codecs.measure_delay(o, d) for d, o in zip(rt.decoded, x, strict=True)]
    assert np.all(np.abs(lags) <= 3), lags
    seconds = x.size / SAMPLE_RATE + 24 * codecs.GUARD_SAMPLES / SAMPLE_RATE
    kbps = 8 * rt.bitstream_bytes / seconds / 1000
    assert 0.3 * codec.kbps < kbps < 2.0 * codec.kbps, kbps


def test_measure_delay_finds_a_known_shift() -> None:
    x = np.random.default_rng(9).standard_normal(20000).astype(np.float32)
    assert codecs.measure_delay(x, np.concatenate([np.zeros(37, np.float32), x])) == 37
    assert codecs.measure_delay(x, x[11:]) == -11


def test_paper_weights_are_scipys_interpolators_with_silence_outside() -> None:
    from scipy.interpolate import LinearNDInterpolator, NearestNDInterpolator

    points = grid_pairs(5, seed=3)
    rng = np.random.default_rng(4)
    values = rng.standard_normal((len(points), 6))
    inside = points[rng.choice(len(points), 40)] + rng.normal(0, 0.1, (40, 4))
    outside = points.max(axis=0) + 1.0 + rng.uniform(0, 1, (5, 4))
    queries = np.concatenate([inside, outside])
    lin = baselines.paper_linear_weights(points, queries)
    expected = LinearNDInterpolator(points, values, fill_value=0.0, rescale=False)(queries)
    np.testing.assert_allclose(baselines.blend(values, lin), expected, atol=1e-5)
    assert np.all(lin.fallback[-5:]) and np.all(baselines.blend(values, lin)[-5:] == 0)
    near = baselines.paper_nearest_weights(points, queries)
    np.testing.assert_allclose(baselines.blend(values, near), NearestNDInterpolator(points, values)(queries), atol=1e-6)
    # the paper's coordinates: listener first, then emitter, through float32
    e, l_ = np.array([[1.1, 2.2]]), np.array([[3.3, 4.4]])
    np.testing.assert_array_equal(baselines.paper_points(e, l_), np.float32([[3.3, 4.4, 1.1, 2.2]]).astype(np.float64))


def test_paper_linear_weights_of_flat_training_points_are_silence() -> None:
    points = grid_pairs(1)  # one emitter: the points span a plane in 4-D, Qhull has no hull
    w = baselines.paper_linear_weights(points, points[:3])
    assert np.all(w.fallback) and np.all(w.weights == 0)


def test_paper_codecs_run_the_papers_command_lines(monkeypatch) -> None:
    """Each stereo IR is one file; every encode and decode has the paper's options, and nothing else does."""
    import soundfile as sf

    calls: list[list[str]] = []

    def fake_run(cmd, **kwargs):
        calls.append(list(cmd))
        if cmd[0] == "ffmpeg":
            inputs = [cmd[i + 1] for i, a in enumerate(cmd) if a == "-i"]
            outputs = [cmd[i + 6] for i, a in enumerate(cmd) if a == "-map"]
            assert len(inputs) == len(outputs)
        else:
            outputs = [cmd[2]]
        for out in outputs:
            if out.endswith(".wav"):
                sf.write(out, np.zeros((300, 2), np.float32), SAMPLE_RATE, subtype="FLOAT")
            else:
                with open(out, "wb") as f:
                    f.write(b"\0" * 100)
        return subprocess.CompletedProcess(cmd, 0, "", "")

    import subprocess

    monkeypatch.setattr(codecs.subprocess, "run", fake_run)
    monkeypatch.setattr(codecs, "missing_tools", lambda codec: None)
    irs = np.zeros((70, 2, 256), np.float32)
    rt = codecs.paper_round_trip(irs, codecs.PAPER_AAC)
    assert rt.decoded.shape == irs.shape and rt.storage_bytes == 70 * 100
    encodes = [c for c in calls if any(a.endswith(".m4a") for a in c) and c[c.index("-i") + 1].endswith(".wav")]
    decodes = [c for c in calls if c not in encodes]
    assert len(encodes) == len(decodes) == 2  # 64 + 6 files
    for cmd, options, suffix in ((encodes, ["-c:a", "aac", "-b:a", "24k"], ".m4a"),
                                 (decodes, ["-c:a", "pcm_f32le", "-ar", "22050"], ".wav")):  # fmt: skip
        for c in cmd:
            maps = [i for i, a in enumerate(c) if a == "-map"]
            for k, i in enumerate(maps):  # output k: its own input k, the paper's options, one file
                assert c[i + 1] == f"{k}:a" and c[i + 2 : i + 6] == options and c[i + 6].endswith(suffix)
            assert c.count("-c:a") == len(maps) and "-b:a" not in c[: c.index("-map")]
    n_files = sum(c.count("-map") for c in encodes)
    assert n_files == 70
    calls.clear()
    rt = codecs.paper_round_trip(irs[:3], codecs.PAPER_OPUS)
    enc = sorted(c for c in calls if c[0] == "opusenc")
    dec = sorted(c for c in calls if c[0] == "opusdec")
    assert len(enc) == len(dec) == 3
    for c in enc:
        assert c[1].endswith(".wav") and c[2].endswith(".opus")
        options = ["--bitrate", "6", "--music", "--comp", "10", "--discard-comments", "--discard-pictures"]
        assert c[3:] == [*options, "--cvbr"]
    for c in dec:
        assert c[1].endswith(".opus") and c[2].endswith(".wav") and c[3:] == ["--rate", "22050", "--float"]
    # the input files are the stereo IRs themselves, unscaled
    assert codecs.PAPER_AAC.kbps == 24 and codecs.PAPER_OPUS.kbps == 6


@pytest.mark.parametrize("codec", [codecs.PAPER_AAC, codecs.PAPER_OPUS], ids=["aac", "opus"])
def test_paper_codec_round_trip_keeps_stereo_files_aligned(codec: codecs.Codec) -> None:
    reason = codecs.missing_tools(codec)
    if reason is not None:
        pytest.skip(reason)
    mono = synthetic_irs(6, 4000, seed=5)
    x = np.stack([mono, 0.7 * np.roll(mono, 5, axis=1)], axis=1)  # ears: the right 3 dB lower, 5 samples later
    rt = codecs.paper_round_trip(x, codec)
    assert rt.decoded.shape == x.shape and abs(rt.delay_samples) <= 4 and rt.decoded_length >= 4000
    level_db = 10 * np.log10(energy(rt.decoded.reshape(6, -1)) / energy(x.reshape(6, -1)))
    assert np.all(np.abs(level_db) < 6), level_db  # per file; 6 kbit/s stereo moves single channels more
    assert rt.storage_bytes > 6 * 100  # six files, each with its container's headers
