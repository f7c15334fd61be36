"""Offline renders: heading blends, listener paths, walks through the live chain, `naf render`, `naf walk`."""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest
import soundfile as sf

from naf_model.audio import AudioClip, resample_ir, rms_dbfs
from naf_model.cli import main
from naf_model.conventions import SAMPLE_RATE, SPEED_OF_SOUND
from naf_model.errors import PositionError
from naf_model.rendering.calibration import CALIBRATION_MIN_DISTANCE_M, calibration_spots, reference_irs
from naf_model.rendering.ir_source import blend_orientations
from naf_model.rendering.path import ListenerPath, PathError, line_path, load_path
from naf_model.rendering.render import render_pair, render_walk
from naf_model.scene.examples import shoebox_scene, two_room_scene


def free_field(emitters: np.ndarray, listeners: np.ndarray, headings: np.ndarray) -> np.ndarray:
    """An anechoic binaural IR source, (B, 2, 2205): the direct sound at distance / c with 1/(4 pi r)
    amplitude, the far ear 0.6 ms later and 6 dB softer when the emitter is fully to one side."""
    out = np.zeros((len(listeners), 2, 2205), np.float32)
    for b, (e, li, h) in enumerate(zip(emitters, listeners, headings, strict=True)):
        d = float(np.hypot(*(e - li)))
        side = np.sin(np.arctan2(e[1] - li[1], e[0] - li[0]) - np.deg2rad(h))  # +1: emitter on the left
        for ear, sign in ((0, 1.0), (1, -1.0)):
            delay = d / SPEED_OF_SOUND - sign * side * 0.0003
            level = 10 ** (-3 * (1 - sign * side) / 20)
            out[b, ear, int(round(delay * SAMPLE_RATE))] = level / (4 * np.pi * d)
    return out


def noise(seconds: float, rate: int = 44_100) -> AudioClip:
    return AudioClip(np.random.default_rng(0).uniform(-0.5, 0.5, (int(seconds * rate), 1)).astype(np.float32),
                     rate)


def test_heading_blend_is_linear_between_neighbouring_orientations() -> None:
    irs4 = np.arange(4, dtype=np.float64)[None, :, None, None] * np.ones((3, 4, 2, 5))
    got = blend_orientations(irs4, np.array([0.0, 45.0, 315.0]))
    assert np.allclose(got[:, 0, 0], [0.0, 0.5, 1.5])  # 315 deg: halfway between 270 (3) and 360 = 0 (0)
    assert np.allclose(blend_orientations(irs4, np.array([360.0, -90.0, 180.0]))[:, 1, 0], [0, 3, 2])


def test_paths_from_files_and_lines(tmp_path) -> None:
    (tmp_path / "walk.csv").write_text("t,x,y\n0,1,1\n1,2,1\n2,2,3\n")
    path = load_path(tmp_path / "walk.csv")
    times, xy, headings = path.sample(0.25)
    assert np.allclose(times, np.arange(9) * 0.25) and np.allclose(xy[2], [1.5, 1.0])
    assert np.allclose(headings[:4], 0.0) and np.allclose(headings[5:], 90.0)  # faces where it walks
    (tmp_path / "turn.json").write_text(json.dumps({"points": [
        {"t": 0, "x": 1, "y": 1, "heading": 350}, {"t": 1, "x": 1, "y": 1, "heading": 10}]}))
    _, _, turning = load_path(tmp_path / "turn.json").sample(0.5)
    assert np.allclose(turning, [350.0, 0.0, 10.0])  # the short way round
    assert line_path(0, 0, 3, 4, 2.0).duration == 2.0
    (tmp_path / "back.csv").write_text("t,x,y\n0,1,1\n0,2,1\n")
    (tmp_path / "bad.json").write_text('[{"t": 0, "x": 1}]')
    for name, words in [("back.csv", "increase"), ("bad.json", "missing column"), ("none.csv", "not exist")]:
        with pytest.raises(PathError, match=words) as info:
            load_path(tmp_path / name)
        assert "\n" not in str(info.value)


def test_walk_follows_the_ir_levels_and_never_clicks() -> None:
    """Walking away from the emitter in free field, the level falls as 1/r and the side the emitter is on
    is louder; the crossfaded swaps every 33 ms add no jump beyond a fixed render at the loudest spot."""
    scene = shoebox_scene()
    emitter = np.array([0.6, 2.5])
    sine = 0.5 * np.sin(2 * np.pi * 220 * np.arange(88_200) / 44_100)
    music = AudioClip(sine[:, None].astype(np.float32), 44_100)
    walk = render_walk(scene, free_field, emitter, line_path(1.0, 2.0, 4.6, 2.0, 2.0), music)
    assert walk.sample_rate == 44_100 and walk.samples.shape == (88_200, 2) and len(walk.times) == 61
    assert np.all(np.isfinite(walk.samples)) and np.max(np.abs(walk.samples)) < 1.0
    first = render_pair(scene, free_field, emitter, np.array([1.0, 2.0]), 0.0, music, 0.5)
    steady = np.max(np.abs(np.diff(first.samples[4410:], axis=0)))
    assert np.max(np.abs(np.diff(walk.samples, axis=0))) <= steady
    assert walk.gain == first.gain  # one emitter, one calibration

    tone = render_walk(scene, free_field, emitter, line_path(1.0, 2.0, 4.6, 2.0, 2.0), noise(2.0))
    seg = 4410  # 0.1 s

    def distance(k: int) -> float:  # from the emitter to the listener in the middle of segment k
        return float(np.hypot(1.0 + 1.8 * (k + 0.5) * 0.1 - emitter[0], 2.0 - emitter[1]))

    def level(k: int, ear: slice | int = slice(None)) -> float:
        return rms_dbfs(tone.samples[k * seg : (k + 1) * seg, ear])

    for k in range(4, 20, 3):  # 1/r: -6 dB per doubling of the distance, as the IRs say
        assert abs(level(k) - level(2) - 20 * np.log10(distance(2) / distance(k))) < 1.0
        assert level(k, 0) > level(k, 1)  # walking east, the emitter (north-west) is on the left


def test_calibration_spots_are_the_nearest_free_grid_points_a_head_away() -> None:
    scene = two_room_scene()
    emitter = np.array([1.0, 1.5])
    spots = calibration_spots(scene, emitter)
    dist = np.hypot(*(spots - emitter).T)
    assert spots.shape == (16, 2) and scene.is_free(spots[:, 0], spots[:, 1]).all()
    assert np.all(np.diff(dist) >= 0) and dist.min() >= CALIBRATION_MIN_DISTANCE_M
    chosen = {tuple(p) for p in spots}
    unused = np.array([p for p in scene.sample_grid(0.5) if tuple(p) not in chosen])
    far_enough = unused[np.hypot(*(unused - emitter).T) >= CALIBRATION_MIN_DISTANCE_M]
    assert np.hypot(*(far_enough - emitter).T).min() >= dist.max() - 1e-9  # none left out is nearer
    assert np.hypot(*(unused - emitter).T).min() < CALIBRATION_MIN_DISTANCE_M  # the closer ones are left out


def test_the_app_and_the_renders_give_an_emitter_one_gain() -> None:
    """The app's worker calibrates its engine on `reference_irs` (the field's IRs there); `naf render` batches
    the same spots with its listener. With the same IRs, music and rate both gains are equal, and stereo
    music is measured as the mono feed the player actually plays, not channel by channel."""
    from naf_app.audio import LiveAudio
    from naf_model.audio import calibration_gain

    scene = two_room_scene()
    emitter = np.array([1.0, 1.5])
    rng = np.random.default_rng(3)
    left = rng.uniform(-0.5, 0.5, 96_000)
    music = AudioClip(np.c_[left, -0.8 * left + 0.2 * rng.uniform(-0.5, 0.5, 96_000)].astype(np.float32), 48_000)
    live = LiveAudio(music, block_size=512, sample_rate=48_000)
    app_gain = live.calibrate(reference_irs(scene, free_field, emitter))
    rendered = render_pair(scene, free_field, emitter, np.array([3.4, 0.5]), 30.0, music, 0.5)
    assert rendered.sample_rate == 48_000
    assert rendered.gain == pytest.approx(app_gain, rel=1e-9) and live.gain == app_gain
    loudest = free_field(emitter[None], calibration_spots(scene, emitter)[:1], np.zeros(1))
    stereo_rule = calibration_gain(music.samples, resample_ir(loudest[0], SAMPLE_RATE, 48_000))
    assert abs(20 * np.log10(app_gain / stereo_rule)) > 3  # anti-correlated channels: the downmix is quieter


def test_positions_outside_free_space_are_one_line_errors() -> None:
    scene = two_room_scene()
    with pytest.raises(PositionError, match="listener"):
        render_pair(scene, free_field, np.array([1.0, 1.5]), np.array([9.0, 9.0]), 0.0, noise(0.5), 0.5)
    with pytest.raises(PositionError, match="t = 0.4") as info:  # the straight line runs into the wall
        render_walk(scene, free_field, np.array([1.0, 1.5]), line_path(1.0, 0.5, 3.0, 0.5, 1.0), noise(1.0))
    assert "\n" not in str(info.value)
    with pytest.raises(PathError):
        ListenerPath(np.array([0.0]), np.array([[1.0, 1.0]]))


@pytest.fixture(scope="module")
def two_rooms(tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("scene")
    (folder / "scene.json").write_text(json.dumps(two_room_scene().to_dict()))
    return str(folder / "scene.json")


def test_naf_render_with_simulated_irs(two_rooms, tmp_path, capsys) -> None:
    """Same emitter, one listener in its room and one behind the wall: one gain, the far one quieter (by ~1-2 dB
    only: in these small rooms the reverberant field, not the direct sound, dominates; IR energy over the four
    orientations 1.9 dB with the KEMAR ears, 2.3 dB with the spherical head; this music at heading 30 degrees
    through KEMAR 0.9 dB)."""
    levels = {}
    for name, listener in [("near", ["1.5", "2.2"]), ("far", ["3.4", "0.5"])]:
        out = tmp_path / f"{name}.wav"
        assert main(["render", "--scene", two_rooms, "--emitter", "0.6", "1.0", "--listener", *listener,
                     "--heading", "30", "--seconds", "2", "-o", str(out), "--source", "sim"]) == 0
        data, rate = sf.read(out)
        assert rate == 44_100 and data.shape == (88_200, 2)
        assert np.all(np.isfinite(data)) and np.max(np.abs(data)) < 1.0
        levels[name] = rms_dbfs(data)
        assert "calibration gain" in capsys.readouterr().out
    assert -40 < levels["far"] < levels["near"] - 0.5 and levels["near"] < -10


def test_naf_walk_writes_audio_and_video(two_rooms, tmp_path, capsys, monkeypatch) -> None:
    wav, mp4 = tmp_path / "walk.wav", tmp_path / "walk.mp4"
    args = ["walk", "--scene", two_rooms, "--emitter", "0.6", "1.0", "--line", "1.0", "1.5", "3.0", "1.5",
            "--seconds", "0.6", "-o", str(wav), "--video", str(mp4), "--source", "sim"]
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed")
    assert main(args) == 0
    data, rate = sf.read(wav)
    assert data.shape == (int(0.6 * rate), 2) and np.max(np.abs(data)) < 1.0 and rms_dbfs(data) > -45
    probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_type,width,height",
                            "-of", "csv=p=0", str(mp4)], capture_output=True, text=True, check=True)
    assert sorted(probe.stdout.split()) == ["audio", "video,800,600"]
    capsys.readouterr()
    monkeypatch.setenv("PATH", str(tmp_path))  # no ffmpeg: the WAV is still written, with a warning
    wav.unlink()
    mp4.unlink()
    assert main([*args[:-7], "0.1", *args[-6:]]) == 0  # a shorter walk: fewer IRs to simulate
    assert wav.exists() and not mp4.exists()
    assert "ffmpeg is not installed" in capsys.readouterr().err


def test_cli_errors_are_one_line(two_rooms, capsys) -> None:
    assert main(["render", "--scene", two_rooms, "--emitter", "0.6", "1.0", "--listener", "2.0", "0.5",
                 "-o", "x.wav"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("naf: error: listener at") and "\n" not in err
    assert main(["walk", "--scene", two_rooms, "--emitter", "0.6", "1.0", "--line", "1", "1", "1.5", "1",
                 "-o", "x.wav"]) == 2
    assert "--line needs --seconds" in capsys.readouterr().err


def test_a_short_render_of_a_long_song_decodes_only_its_start_and_sounds_the_same(tmp_path) -> None:
    """`naf render --seconds 2` of a long file once decoded all of it (2.8 GB for 20 minutes); it reads what
    the render and the calibration's excerpt use, and the render is sample for sample the same."""
    from naf_model.audio import load_audio
    from naf_model.rendering.render import music_seconds_needed

    rng = np.random.default_rng(3)
    song = 0.3 * rng.standard_normal((32_000 * 40, 2)) * np.linspace(0.1, 1.0, 32_000 * 40)[:, None]
    sf.write(tmp_path / "song.wav", song.astype(np.float32), 32_000, subtype="FLOAT")  # resampled to 48 kHz
    whole = load_audio(tmp_path / "song.wav")
    start = load_audio(tmp_path / "song.wav", max_seconds=music_seconds_needed(2.0))
    assert whole.seconds == 40.0 and start.seconds < 12.0
    scene, emitter, listener = two_room_scene(), np.array([1.0, 1.5]), np.array([1.6, 2.4])
    a = render_pair(scene, free_field, emitter, listener, 20.0, whole, 2.0)
    b = render_pair(scene, free_field, emitter, listener, 20.0, start, 2.0)
    assert a.gain == b.gain and np.array_equal(a.samples, b.samples)


def test_a_walk_of_a_few_milliseconds_is_refused() -> None:
    with pytest.raises(PathError, match="less than 0.1 s; path times are seconds") as info:
        render_walk(two_room_scene(), free_field, np.array([1.0, 1.5]), line_path(1.0, 1.0, 1.5, 1.0, 0.001),
                    noise(1.0))
    assert "\n" not in str(info.value)
