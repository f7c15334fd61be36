"""The live engine: a 60 s session of IR swaps through the real callback, PortAudio on a null ALSA device,
no sound card, and bad input that must leave the last good IR playing."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import sounddevice as sd

from naf_app.audio import LiveAudio
from naf_app.audio.session import drive_callbacks
from naf_model.audio import (
    DEFAULT_MUSIC,
    MAX_IR_SECONDS,
    AudioClip,
    BinauralPlayer,
    check_ir,
    load_audio,
    resample_ir,
)
from naf_model.conventions import SAMPLE_RATE
from naf_model.errors import AudioError


def binaural_ir(seconds: float, seed: int, distance_m: float, t60_s: float = 0.5) -> np.ndarray:
    """A room-like binaural IR at 22,050 Hz (2, N): 1/r direct sound with an interaural delay and level
    difference, then an exponentially decaying diffuse tail whose level does not depend on distance."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    delay = int(distance_m / 343.0 * SAMPLE_RATE)
    ir = rng.standard_normal((2, n)) * np.exp(-6.9 * t / t60_s) * 0.02 * (np.arange(n) > delay)
    ir[0, delay] += 1.0 / (4 * np.pi * distance_m)
    ir[1, delay + 9] += 0.6 / (4 * np.pi * distance_m)
    return ir


def room_irs() -> list[np.ndarray]:
    """Ten IRs from 0.3 m to 5.7 m: calibrated on the farthest, the near ones are ~25 dB louder and hit the
    limiter."""
    return [binaural_ir(0.7, k, distance_m=0.3 + 0.6 * k) for k in range(10)]


def due_blocks(n_blocks: int, block_size: int, rate: int, every_s: float) -> list[int]:
    """The blocks before which `drive_callbacks` posts an IR: the first block at or after each multiple of
    `every_s` seconds of audio."""
    due, next_swap = [], 0.0
    for i in range(n_blocks):
        if i * block_size / rate >= next_swap:
            due.append(i)
            next_swap += every_s
    return due


def test_sixty_second_session_with_a_swap_every_33_ms() -> None:
    """5,625 real callbacks (48 kHz, 512 frames) while another thread checks, resamples and posts a new IR
    every 33 ms of audio, concurrently with the callbacks that follow (the driver only waits for a post to
    finish when the next one is due, as a 30 Hz worker would). Which posts the callback picks up depends on
    thread timing, so this checks only what holds for every interleaving; how long callbacks take is
    scripts/bench_audio.py's business."""
    live = LiveAudio(load_audio(DEFAULT_MUSIC), block_size=512, sample_rate=48_000)
    irs = room_irs()
    live.calibrate(irs[-1])
    live.set_ir(irs[0])
    live.play()
    n_blocks = 60 * 48_000 // 512
    levels = {"peak": 0.0, "finite": True}

    def check(_i: int, out: np.ndarray, _wall: float, _cpu: float) -> None:
        levels["peak"] = max(levels["peak"], float(np.max(np.abs(out))))
        levels["finite"] = levels["finite"] and bool(np.all(np.isfinite(out)))

    posted = drive_callbacks(live, n_blocks, irs, 0.033, check)
    stats = live.stats()
    assert levels["finite"] and 0.0 < levels["peak"] < 1.0
    assert stats.callbacks == n_blocks and stats.underruns == 0 and stats.errors == 0
    assert posted == len(due_blocks(n_blocks, 512, 48_000, 0.033)) == 1818
    assert 1 <= stats.swaps <= posted + 1, stats  # a post not picked up before the next one is skipped


def test_swaps_on_a_simulated_clock_play_exactly_the_reference_chain() -> None:
    """With the audio clock waiting for each post (`sync_posts`), every IR is in place for the block after
    it is due: the live engine's output (worker thread, resampling, lock-free posts, real callback) equals
    the same chain run by hand in one thread, every swap is taken, and the limiter keeps the peak below 1."""
    music = load_audio(DEFAULT_MUSIC)
    live = LiveAudio(music, block_size=512, sample_rate=48_000, tail_refresh_s=0.0)  # every post whole, as below
    irs = room_irs()
    gain = live.calibrate(irs[-1])
    live.play()
    n_blocks = 10 * 48_000 // 512
    played = np.zeros((n_blocks, 512, 2), np.float32)

    def record(i: int, out: np.ndarray, _wall: float, _cpu: float) -> None:
        played[i] = out

    posted = drive_callbacks(live, n_blocks, irs, 0.033, record, sync_posts=True)
    due = due_blocks(n_blocks, 512, 48_000, 0.033)
    assert posted == len(due) and live.stats().swaps == posted and live.stats().errors == 0

    player = BinauralPlayer(music.at_rate(48_000).samples, 48_000, 512, gain=gain)
    player.play()
    expected = np.zeros_like(played)
    out = np.zeros((512, 2))
    for i in range(n_blocks):
        if i in due:
            player.post_ir(resample_ir(check_ir(irs[due.index(i) % len(irs)]), SAMPLE_RATE, 48_000))
        expected[i] = player.render(out)
    np.testing.assert_array_equal(played, expected)
    assert np.all(np.isfinite(played)) and 0.5 < np.abs(played).max() < 1.0


def test_render_ahead_plays_the_same_blocks_and_counts_a_ring_underrun() -> None:
    """With a render thread three blocks ahead, the callback only copies: it plays exactly the blocks the
    render-free engine plays (same IR, same music), each callback takes a rendered block, and a callback
    that finds the ring empty (render thread stopped) plays silence, counts a ring underrun and never
    raises."""
    music = load_audio(DEFAULT_MUSIC)
    ir = binaural_ir(0.5, 3, 1.5)
    outputs = []
    for lookahead in (0, 3):
        live = LiveAudio(music, block_size=512, sample_rate=48_000, lookahead_blocks=lookahead)
        live.set_ir(ir)  # posted before play: both engines render every block through it
        live.play()
        live.start_rendering()  # what start() does before it opens a stream
        out = np.zeros((512, 2), np.float32)
        blocks = []
        for _ in range(200):
            assert live.wait_ready(10.0)
            live.callback(out, 512, None, sd.CallbackFlags())
            blocks.append(out.copy())
        stats = live.stats()
        assert stats.lookahead_blocks == lookahead and stats.ring_underruns == 0 and stats.errors == 0
        assert stats.callbacks == 200 and live.renders >= 200  # every block played was rendered and counted
        outputs.append(np.concatenate(blocks))
        live.close()
    np.testing.assert_array_equal(outputs[1], outputs[0])
    assert np.abs(outputs[0]).max() > 0.01
    # closed: the render thread is gone and its blocks dropped; the callback still answers
    live.callback(out, 512, None, sd.CallbackFlags())
    assert not np.any(out) and live.stats().ring_underruns == 1 and live.stats().errors == 0
    assert not live.wait_ready(0.05)
    with pytest.raises(AudioError, match="lookahead"):
        LiveAudio(music, lookahead_blocks=17)


def test_bad_input_keeps_the_last_good_ir_playing(tmp_path) -> None:
    live = LiveAudio(AudioClip(np.full((4096, 1), 0.1, np.float32), 48_000), block_size=256)
    live.set_ir(binaural_ir(0.2, 1, 1.0))
    live.play()
    out = np.zeros((256, 2), np.float32)
    for _ in range(20):
        live.callback(out, 256, None, sd.CallbackFlags())
    good = live._player.convolver.current
    for bad, words in [(np.zeros((2, 0)), "empty"), (np.full((2, 500), np.nan), "NaN"),
                       (np.zeros((2, int((MAX_IR_SECONDS + 1) * SAMPLE_RATE))), "limit")]:
        with pytest.raises(AudioError, match=words) as info:
            live.set_ir(bad)
        assert "\n" not in str(info.value)
    (tmp_path / "six.wav").write_bytes(b"")
    with pytest.raises(AudioError, match="cannot read"):
        live.set_music(tmp_path / "six.wav")
    live.callback(out, 256, None, sd.CallbackFlags())
    assert live._player.convolver.current is good and np.all(np.isfinite(out)) and np.any(out != 0)
    assert live.stats().errors == 0


_PLAY_SCRIPT = textwrap.dedent("""
    import os, time, numpy as np
    from naf_app.audio import LiveAudio
    from naf_model.errors import AudioError
    # built at 48 kHz: start() rebuilds it at the device's rate
    live = LiveAudio(block_size=512, lookahead_blocks=int(os.environ.get("LOOKAHEAD", "0")))
    live.set_ir(np.ones((2, 100)) * 0.01)
    try:
        live.start()
    except AudioError as exc:
        print("AUDIOERROR", exc)
        live.play()  # everything else keeps working without a card
        out = np.zeros((512, 2), np.float32)
        live.callback(out, 512, None, None)
        print("OFFLINE", live.stats().callbacks, bool(np.any(out != 0)))
        raise SystemExit(0)
    live.play()
    time.sleep(0.5)
    live.close()
    s = live.stats()
    print("PLAYED", live.sample_rate, s.callbacks, s.underruns, s.errors, s.swaps, live.position_s,
          s.lookahead_blocks)
""")


def run_with_alsa_config(tmp_path, config: str, lookahead: int = 0) -> str:
    """Run the play script in a fresh process whose ALSA library reads only `config`."""
    conf = tmp_path / "asound.conf"
    conf.write_text(config)
    env = dict(os.environ, ALSA_CONFIG_PATH=str(conf), LOOKAHEAD=str(lookahead))
    done = subprocess.run([sys.executable, "-c", _PLAY_SCRIPT], env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.mark.parametrize("lookahead", [0, 3])
def test_portaudio_plays_through_a_null_alsa_device(tmp_path, lookahead) -> None:
    """Rendering in the callback and rendering ahead (the app's default with a card) both play."""
    out = run_with_alsa_config(tmp_path, "pcm.!default { type null }\nctl.!default { type null }\n", lookahead)
    words = out.split("PLAYED", 1)[1].split()
    rate, callbacks, _underruns, errors, swaps = (int(w) for w in words[:5])
    assert int(words[6]) == lookahead
    assert rate == 44_100  # the null device's own rate: music and IR were resampled to it
    assert callbacks > 10 and errors == 0 and swaps >= 1
    assert float(words[5]) > 0  # the music advanced through real callbacks


def test_no_sound_card_is_one_line_and_nothing_else_breaks(tmp_path) -> None:
    out = run_with_alsa_config(tmp_path, "pcm.!default { type hw card 9 }\n")  # a card that is not there
    line = out.split("AUDIOERROR", 1)[1].splitlines()[0]
    assert "no audio output device" in line
    assert out.split("OFFLINE", 1)[1].split() == ["1", "True"]
