"""The DSP core of naf_model.audio: convolution exactness, click-free swaps, limiter, levels, files."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import scipy.signal
import soundfile as sf
from audio_helpers import stream
from hypothesis import given, settings
from hypothesis import strategies as st

from naf_model.audio import (
    BinauralPlayer,
    PartitionedConvolver,
    SoftLimiter,
    calibration_gain,
    load_audio,
    resample_ir,
    rms_dbfs,
    write_audio,
)
from naf_model.errors import AudioError

RATE = 48_000


def room_ir(n: int, seed: int, delay: int = 20, decay_s: float = 0.08, ild: float = 0.7,
            rate: int = RATE) -> np.ndarray:
    """A binaural IR (2, n) like a room's: silence, a direct click, then exponentially decaying noise."""
    rng = np.random.default_rng(seed)
    delay = min(delay, n - 1)
    t = np.arange(n) / rate
    ir = rng.standard_normal((2, n)) * np.exp(-t / decay_s) * 0.05 * (np.arange(n) > delay)
    ir[:, delay] += (1.0, ild)
    return ir


def settled(conv: PartitionedConvolver, ir: np.ndarray) -> PartitionedConvolver:
    """Post `ir` and let its fade-in from silence pass on silent blocks (silence convolved is silence)."""
    conv.post(ir)
    for _ in range(conv.crossfade_blocks):
        conv.process(np.zeros((conv.block_size, conv.in_channels)), np.zeros((conv.block_size, 2)))
    return conv


@settings(max_examples=40, deadline=None)
@given(block=st.integers(16, 1024), n_taps=st.integers(1, 3000), n_in=st.integers(1, 5000),
       channels=st.sampled_from([1, 2]), seed=st.integers(0, 2**31))
def test_output_equals_fftconvolve(block: int, n_taps: int, n_in: int, channels: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n_in, channels))
    ir = rng.standard_normal((2, n_taps))
    conv = settled(PartitionedConvolver(block, channels, max_taps=n_taps), ir)
    out = stream(conv, np.concatenate([x, np.zeros((n_taps, channels))]))
    ref = np.stack([scipy.signal.fftconvolve(x[:, min(ear, channels - 1)], ir[ear]) for ear in range(2)], 1)
    got = out[: len(ref)]
    assert np.max(np.abs(got - ref)) <= 1e-5 * np.max(np.abs(ref))
    assert np.max(np.abs(out[len(ref) :]), initial=0.0) <= 1e-5 * np.max(np.abs(ref))


@pytest.mark.parametrize(("block", "freq"), [(256, 440.0), (512, 440.0), (1024, 110.0), (512, 2500.0)])
def test_swap_has_no_jump_beyond_steady_state(block: int, freq: float) -> None:
    n_taps = 4000
    ir_a, ir_b = room_ir(n_taps, 1, delay=30, ild=0.9), 0.5 * room_ir(n_taps, 2, delay=400, ild=1.6)
    swap_block = 12  # long after both IRs are full of sine: both outputs are in steady state there
    x = np.sin(2 * np.pi * freq * np.arange(24 * block) / RATE)[:, None]

    steady = [stream(settled(PartitionedConvolver(block, 1, n_taps), ir), x) for ir in (ir_a, ir_b)]
    conv = settled(PartitionedConvolver(block, 1, n_taps), ir_a)
    b = block
    out = np.zeros((len(x), 2))
    for i in range(len(x) // b):
        if i == swap_block:
            conv.post(ir_b)
        conv.process(x[i * b : (i + 1) * b], out[i * b : (i + 1) * b])

    region = slice(swap_block * b - b, swap_block * b + 2 * b)  # one block either side of the crossfade
    limit = max(np.max(np.abs(np.diff(s[region], axis=0))) for s in steady)
    assert np.max(np.abs(np.diff(out[region], axis=0))) <= limit
    assert np.allclose(out[: swap_block * b], steady[0][: swap_block * b])
    assert np.allclose(out[(swap_block + 1) * b :], steady[1][(swap_block + 1) * b :])
    # the test can fail: cutting from one output to the other without the crossfade jumps far beyond it
    cut = np.concatenate([steady[0][: swap_block * b], steady[1][swap_block * b :]])
    assert np.max(np.abs(np.diff(cut[region], axis=0))) > 1.5 * limit
    assert conv.swaps == 2


def test_latest_post_wins_and_longer_crossfade() -> None:
    conv = PartitionedConvolver(64, 2, max_taps=500, crossfade_blocks=3)
    irs = [room_ir(300 + 50 * k, k) for k in range(3)]
    settled(conv, irs[0])
    for ir in irs[1:]:
        conv.post(ir)  # two posts before the next block: only the newest plays
    x = np.random.default_rng(0).standard_normal((64 * 20, 2))
    out = stream(conv, x)
    ref = stream(settled(PartitionedConvolver(64, 2, 500), irs[2]), x)
    assert conv.swaps == 2
    assert np.allclose(out[3 * 64 :], ref[3 * 64 :])  # after 3 blocks of crossfade: the newest IR only
    assert not np.allclose(out[: 2 * 64], ref[: 2 * 64])


@pytest.mark.parametrize(("ir", "words"), [
    (np.zeros((2, 0)), "empty"), (np.full((2, 100), np.nan), "NaN"), (np.zeros((3, 100)), "shape"),
    (np.zeros((2, 5000)), "limit"),
])
def test_bad_ir_is_one_line_error_and_keeps_last_good(ir: np.ndarray, words: str) -> None:
    conv = settled(PartitionedConvolver(128, 2, max_taps=4000), room_ir(1000, 0))
    good = conv.current
    with pytest.raises(AudioError, match=words) as info:
        conv.post(ir)
    assert "\n" not in str(info.value)
    conv.process(np.ones((128, 2)), np.zeros((128, 2)))
    assert conv.current is good and conv.swaps == 1


def test_resampled_ir_keeps_its_frequency_response() -> None:
    ir22 = room_ir(11_025, 3, delay=40, rate=22_050)
    ir48 = resample_ir(ir22, 22_050, 48_000)
    assert abs(ir48.shape[1] - round(ir22.shape[1] * 48_000 / 22_050)) <= 1

    def band_db(ir: np.ndarray, rate: int, lo: float, hi: float) -> np.ndarray:
        spec = np.abs(np.fft.rfft(ir, n=1 << 16)) ** 2
        f = np.fft.rfftfreq(1 << 16, 1 / rate)
        return 10 * np.log10(spec[:, (f >= lo) & (f < hi)].mean(axis=-1))

    for lo, hi in [(100, 200), (1000, 2000), (4000, 8000)]:
        assert np.allclose(band_db(ir48, 48_000, lo, hi), band_db(ir22, 22_050, lo, hi), atol=0.1)
    plain = np.fft.rfft(resample_ir(ir22, 22_050, 48_000) * 48_000 / 22_050, n=1 << 16)  # without the scaling
    assert np.allclose(np.abs(plain[:, 100]) / np.abs(np.fft.rfft(ir48, n=1 << 16)[:, 100]), 48_000 / 22_050)


def test_limiter_never_reaches_full_scale_and_leaves_quiet_audio_alone() -> None:
    rng = np.random.default_rng(1)
    lim = SoftLimiter(RATE, 256)
    quiet = rng.uniform(-0.8, 0.8, (256, 2))
    assert np.array_equal(lim.process(quiet.copy()), quiet)
    loud = rng.standard_normal((40 * 256, 2)) * 5.0
    out = np.concatenate([lim.process(loud[i : i + 256].copy()) for i in range(0, len(loud), 256)])
    assert np.max(np.abs(out)) < 1.0
    assert np.max(np.abs(np.diff(out, axis=0))) < 2.0  # gain ramps, no sign of hard steps beyond the signal
    assert lim.process(np.full((256, 2), np.nan)).max() == 0.0


def test_calibration_sets_level_and_keeps_relative_loudness() -> None:
    rng = np.random.default_rng(4)
    music = rng.standard_normal((RATE * 2, 2)) * 0.1
    ir = room_ir(6000, 5)
    gain = calibration_gain(music, np.stack([ir, 0.5 * ir]))
    levels = []
    for k in (1.0, 0.5):
        wet = np.stack([scipy.signal.fftconvolve(music[:, e], k * ir[e]) for e in range(2)], 1) * gain
        levels.append(rms_dbfs(wet))
    assert abs(levels[0] - (-20.0)) < 0.1
    assert abs(levels[0] - levels[1] - 6.02) < 0.1  # half the IR, 6 dB softer: as the IRs say
    assert calibration_gain(music * 10**-1.5, ir) == pytest.approx(gain * 10**1.5)  # quiet music: +30 dB
    with pytest.raises(AudioError, match="more than \\+40 dB; give louder music") as info:  # all but silence
        calibration_gain(music * 1e-3, ir)
    assert "\n" not in str(info.value)


def test_player_is_music_times_a_ramped_envelope_convolved() -> None:
    """Play, pause, resume, volume and seek: the output is exactly conv(music * source envelope, IR) * volume
    envelope, both envelopes made of one-block linear ramps, so no transport action can click."""
    b, n_music = 256, RATE // 2
    music = 0.3 * np.sin(2 * np.pi * 330 * np.arange(n_music) / RATE)[:, None]  # loops three times
    ir = room_ir(2000, 7)
    player = BinauralPlayer(music, RATE, b, max_ir_seconds=0.1)
    player.post_ir(ir)
    player.play()
    up, down = (np.arange(b) + 1.0) / b, 1.0 - (np.arange(b) + 1.0) / b
    source, volume, blocks, pos = [], [], [], 0
    for i in range(300):
        if i == 100:
            player.pause()
        if i == 110:
            player.play()
        if i == 150:
            player.volume = 0.3
        if i == 200:
            player.seek(0.1)
        blocks.append(player.render(np.zeros((b, 2))).copy())
        if i == 201:
            pos = int(0.1 * RATE)
        chunk = music[np.arange(pos, pos + b) % n_music, 0]
        env = {0: up, 100: down, 110: up, 200: down, 201: up}.get(i, np.ones(b))
        if 100 < i < 110:
            env = np.zeros(b)
        else:
            pos += b
        source.append(chunk * env)
        volume.append({150: 1.0 - 0.7 * up}.get(i, np.full(b, 0.3 if i > 150 else 1.0)))
    out, src, vol = np.concatenate(blocks), np.concatenate(source), np.concatenate(volume)
    expected = np.stack([scipy.signal.fftconvolve(src, ir[e])[: len(src)] * vol for e in range(2)], 1)
    # block 0 also fades the first IR in; 1e-5 (was 1e-9 in float64): the engine is single precision,
    # measured error below 3e-7 at a peak of ~0.6, far below any envelope or ramp mistake
    assert np.allclose(out[b:], expected[b:], rtol=0, atol=1e-5)
    assert 0 <= player.position_s < 0.5


def test_player_without_loop_rings_out_then_stops() -> None:
    player = BinauralPlayer(np.ones((1000, 1)) * 0.1, RATE, 256, max_ir_seconds=0.05, loop=False)
    player.post_ir(room_ir(2000, 8))
    player.play()
    outs = [player.render(np.zeros((256, 2))).copy() for _ in range(40)]
    assert player.finished and not player.playing and player.position_s == 0
    tail = [rms_dbfs(o) for o in outs[4:11]]  # the music ended in block 3: the room rings on
    assert all(level > -80 for level in tail) and tail[-1] < tail[0] - 10
    # 1000 + 2000 taps: rung out in 12 blocks, to single-precision round-off (1e-12 was float64's)
    assert np.max(np.abs(np.concatenate(outs[12:]))) < 1e-6 * np.max(np.abs(np.concatenate(outs[:12])))
    assert np.all(np.concatenate(outs[16:]) == 0)  # then the player stops computing


def test_audio_files_load_convert_and_refuse_bad_input(tmp_path) -> None:
    x = np.sin(np.linspace(0, 200, 11_025))[:, None] * 0.5
    mono = write_audio(tmp_path / "mono.wav", x, 11_025)
    clip = load_audio(mono)
    assert clip.channels == 1 and clip.sample_rate == 11_025 and abs(clip.seconds - 1.0) < 1e-9
    up = clip.at_rate(48_000)
    assert up.samples.shape == (48_000, 1) and up.samples.dtype == np.float32
    sf.write(tmp_path / "six.flac", np.zeros((100, 6)), 48_000)
    sf.write(tmp_path / "empty.wav", np.zeros((0, 2)), 48_000)
    (tmp_path / "junk.ogg").write_bytes(b"not audio at all" * 10)
    sf.write(tmp_path / "one.wav", np.full((1, 2), 0.9), 44_100)  # looped: a DC offset at -0.1 dBFS
    sf.write(tmp_path / "hz1.wav", np.zeros((50, 2)), 1)  # resampled to 48 kHz: gigabytes
    sf.write(tmp_path / "mhz4.wav", np.zeros((50, 2)), 4_000_000)  # resampled to 48 kHz: nearly silence
    (tmp_path / "folder.wav").mkdir()
    for name, words in [("six.flac", "6 channels"), ("empty.wav", "no samples"), ("junk.ogg", "cannot read"),
                        ("missing.wav", "does not exist"), ("one.wav", "1 sample.*at least 0.1 s"),
                        ("hz1.wav", "sample rate is 1 Hz"), ("mhz4.wav", "sample rate is 4,000,000 Hz"),
                        ("folder.wav", "is a folder")]:
        with pytest.raises(AudioError, match=words) as info:
            load_audio(tmp_path / name)
        assert "\n" not in str(info.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.wav", "folder.wav", "hz1.wav", "junk.ogg",
                                                          "mhz4.wav", "mono.wav", "one.wav", "six.flac"]
    assert load_audio(mono, max_seconds=0.25).samples.shape == (2757, 1)  # only the start is decoded


def test_the_dsp_package_imports_no_model_simulator_scene_or_plotting() -> None:
    """naf_model.audio is what the audio thread runs: importing all of it loads numpy-level DSP only."""
    code = ("import sys, naf_model.audio, naf_model.audio.files, naf_model.audio.levels; "
            "print(' '.join(sorted(sys.modules)))")
    loaded = set(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                                text=True).stdout.split())
    heavy = ("torch", "matplotlib", "pyroomacoustics", "naf_model.field", "naf_model.simulate",
             "naf_model.scene", "naf_model.rendering", "naf_model.networks", "naf_model.training",
             "naf_model.checkpoint", "naf_model.data", "naf_model.evaluation", "naf_model.analysis", "PyQt6")
    assert not {m for m in loaded if m.split(".")[0] in heavy or m.startswith(heavy)}
