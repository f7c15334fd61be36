"""Offline binaural renders: music heard at one spot (`naf render`) or along a walk (`naf walk`).

Both run the live engine's own chain (`BinauralPlayer`: partitioned convolution, crossfaded IR swaps,
gain, soft limiter) block by block, so a walk sounds exactly as the app would play it, IRs of seconds
included (their tails crossfade too, see `naf_model.audio.segments`). The IRs of a render come from batched
calls to an `IRFunction` (see `ir_source`), `IR_CHUNK` positions at a time as the render reaches them, and
one call for the calibration IRs at the `calibration_spots` of the emitter (the rule the app uses too, see
`calibration`), so renders of one emitter share one gain, the app's, and their loudness differs exactly as
their IRs do.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from naf_model.audio.files import AudioClip
from naf_model.audio.levels import EXCERPT_FRAMES, db, peak_dbfs, rms_dbfs, session_gain
from naf_model.audio.player import BinauralPlayer
from naf_model.audio.resample import resample_ir
from naf_model.conventions import SAMPLE_RATE
from naf_model.rendering.calibration import CALIBRATION_HEADING_DEG, calibration_spots
from naf_model.rendering.ir_source import IRFunction
from naf_model.rendering.path import ListenerPath, PathError

UPDATE_INTERVAL_S = 1 / 30
"""How often a walk's IR is updated (~33 ms), also the walk video's frame period."""
MAX_WALK_SECONDS = 300.0
"""Longest walk (9,000 IR updates)."""
IR_CHUNK = 32
"""Walk positions whose IRs are asked for in one call, as the render reaches them: memory holds one chunk
(32 x 2 x 8 s x 22,050 float32 = 45 MB), not the whole walk's (9,000 3 s IRs in float64 were 9.5 GB)."""
MIN_WALK_SECONDS = 0.1
"""Shortest walk, as the shortest `--seconds`: a shorter path (times in ms by mistake) is a click, not a walk."""
_LOWEST_OUTPUT_RATE = 44_100
_RESAMPLER_MARGIN_S = 1.0


@dataclass(frozen=True, eq=False)
class Render:
    """samples: (frames, 2) float32 binaural audio at sample_rate; gain: the calibration gain (linear);
    times (K,), xy (K, 2), headings (K,): the listener at each IR update (K = 1 for a fixed spot)."""

    samples: np.ndarray
    sample_rate: int
    gain: float
    times: np.ndarray
    xy: np.ndarray
    headings: np.ndarray

    @property
    def seconds(self) -> float:
        return len(self.samples) / self.sample_rate

    def summary(self) -> str:
        """One line of levels: length, rate, peak, RMS, calibration gain."""
        return (f"{self.seconds:.1f} s at {self.sample_rate} Hz, peak {peak_dbfs(self.samples):.1f} dBFS, "
                f"RMS {rms_dbfs(self.samples):.1f} dBFS, {len(self.times)} IR(s), "
                f"calibration gain {db(self.gain):+.1f} dB")


def output_rate(music_rate: int) -> int:
    """The render's sample rate: the music's own if it is 44.1 or 48 kHz (or between), else 48 kHz."""
    return int(music_rate) if 44_100 <= music_rate <= 48_000 else 48_000


def music_seconds_needed(seconds: float) -> float:
    """Seconds of music a render of `seconds` reads (`load_audio(max_seconds=...)`): the render, or the
    calibration's excerpt if longer (`levels.EXCERPT_FRAMES` at the lowest output rate), and a margin for the
    resampler's filter, so that a short render of a long song decodes a few seconds, not the whole file."""
    return max(float(seconds), EXCERPT_FRAMES / _LOWEST_OUTPUT_RATE) + _RESAMPLER_MARGIN_S


def check_walk_length(path: ListenerPath) -> None:
    """PathError (one line) for a walk shorter than MIN_WALK_SECONDS or longer than MAX_WALK_SECONDS."""
    if path.duration > MAX_WALK_SECONDS:
        raise PathError(f"the walk lasts {path.duration:.0f} s, more than {MAX_WALK_SECONDS:.0f} s; "
                        "render it in parts")
    if path.duration < MIN_WALK_SECONDS:
        raise PathError(f"the walk lasts {1000 * path.duration:.3g} ms, less than {MIN_WALK_SECONDS:g} s; "
                        "path times are seconds: check the t column")


def require_free_path(scene, xy: np.ndarray, times: np.ndarray) -> None:
    """PositionError (one line, with the time) for the first listener position that is not free."""
    free = np.asarray(scene.is_free(xy[:, 0], xy[:, 1]), bool).reshape(-1)
    if not free.all():
        k = int(np.argmin(free))
        scene.require_free(xy[k], what=f"listener (at t = {times[k]:.2f} s of the walk)")


def render_pair(scene, irs: IRFunction, emitter: np.ndarray, listener: np.ndarray, heading: float,
                music: AudioClip, seconds: float, block_size: int = 512) -> Render:
    """`seconds` of `music` (looped) heard by a listener at `listener` facing `heading` degrees."""
    em = scene.require_free(emitter, what="emitter")
    li = scene.require_free(listener, what="listener")
    return _render(scene, irs, em, np.zeros(1), li[None], np.array([float(heading) % 360.0]), music,
                   seconds, block_size, progress=False)


def render_walk(scene, irs: IRFunction, emitter: np.ndarray, path: ListenerPath, music: AudioClip,
                block_size: int = 512, interval: float = UPDATE_INTERVAL_S, progress: bool = False) -> Render:
    """`music` (looped) heard along `path`, the IR updated every `interval` seconds with crossfaded swaps."""
    check_walk_length(path)
    em = scene.require_free(emitter, what="emitter")
    times, xy, headings = path.sample(interval)
    require_free_path(scene, xy, times)
    return _render(scene, irs, em, times, xy, headings, music, path.duration, block_size, progress)


def _render(scene, irs: IRFunction, emitter: np.ndarray, times: np.ndarray, xy: np.ndarray,
            headings: np.ndarray, music: AudioClip, seconds: float, block_size: int,
            progress: bool) -> Render:
    def ask(listeners: np.ndarray, toward: np.ndarray) -> np.ndarray:
        return np.asarray(irs(np.broadcast_to(emitter, listeners.shape), listeners, toward), np.float32)

    def path_chunk(k: int) -> np.ndarray:
        return ask(xy[k : k + IR_CHUNK], headings[k : k + IR_CHUNK])

    refs = calibration_spots(scene, emitter)
    chunk_start, chunk = 0, path_chunk(0)
    if len(refs):
        ref_irs = ask(refs, np.full(len(refs), CALIBRATION_HEADING_DEG))
    else:  # no free spot to calibrate at (a tiny scene): the loudest of the path's IRs sets the gain
        ref_irs = np.concatenate([chunk, *(path_chunk(k) for k in range(IR_CHUNK, len(xy), IR_CHUNK))])
    rate = output_rate(music.sample_rate)
    samples = music.at_rate(rate).samples
    gain = session_gain(samples, rate, ref_irs)
    player = BinauralPlayer(samples, rate, block_size, max_ir_seconds=chunk.shape[-1] / SAMPLE_RATE + 0.01,
                            gain=gain)
    player.play()
    n_blocks = -(-int(round(seconds * rate)) // block_size)
    out = np.zeros((n_blocks * block_size, 2))
    swap_frames = np.round(times * rate).astype(np.int64)
    posted = -1
    for i in tqdm(range(n_blocks), desc="rendering", unit="block", disable=not progress, leave=False):
        # the newest IR due by the start of this block, as the live engine would pick it up
        due = int(np.searchsorted(swap_frames, i * block_size, side="right")) - 1
        if due > posted:
            if due >= chunk_start + len(chunk):
                chunk_start = due // IR_CHUNK * IR_CHUNK
                chunk = path_chunk(chunk_start)
            player.post_ir(resample_ir(chunk[due - chunk_start], SAMPLE_RATE, rate))
            posted = due
        player.render(out[i * block_size : (i + 1) * block_size])
    return Render(out[: int(round(seconds * rate))].astype(np.float32), rate, gain, times, xy, headings)
