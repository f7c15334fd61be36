"""Live binaural playback: a sounddevice (PortAudio) output stream around `naf_model.audio.BinauralPlayer`.

Threads: the PortAudio thread runs `callback` only; every other method is for the app's threads. `set_ir`
does the heavy part of a swap (checking, resampling 22,050 Hz -> device rate, partitioning, FFTs) in the
calling thread and then posts the result with one reference assignment, so the callback never waits on a
lock, never allocates more than a block spectrum, never touches torch, Qt or the disk, and never raises:
a failing block plays silence and is counted. A bad IR raises AudioError and the last good IR keeps playing.
Without a sound card `start()` raises AudioError with a one-line reason and everything else still works
(IRs, transport and `callback` itself, which tests and the benchmark drive directly).

Render-ahead (`lookahead_blocks` > 0, what the app uses with a sound card; `render_ahead.RenderAhead`): a
render thread keeps a few blocks ready and the callback only copies the next one out, heard
`lookahead_blocks` blocks later (3 blocks of 512 frames at 48 kHz: 32 ms). A callback that finds the ring
empty plays silence and counts a ring underrun. With 0 the callback renders itself (tests that compare
outputs with a reference chain use it: nothing then depends on thread timing). Health: `health.AudioStats`.

Several emitters are sources of the player (`add_source`), each with its own clip, gain and IR. Recording
(`start_recording`/`stop_recording`) makes the callback append a copy of each output block (a few KB) to a
deque; the app's thread joins them when the recording stops, so the callback never writes a file.
"""

from __future__ import annotations

import collections
import threading
import time
from pathlib import Path

import numpy as np

from naf_app.audio.health import AudioStats, Timings
from naf_app.audio.render_ahead import RenderAhead
from naf_model.audio import (
    DEFAULT_MUSIC,
    MAIN,
    MAX_IR_SECONDS,
    AudioClip,
    BinauralPlayer,
    check_ir,
    load_audio,
    resample_ir,
    session_gain,
)
from naf_model.audio.convolver import IRPartitions, with_new_head
from naf_model.conventions import SAMPLE_RATE
from naf_model.errors import AudioError

TAIL_REFRESH_S = 0.25
"""A source's IR tail (past the engine's head) is prepared again at most this often while its IR keeps changing;
between, posts renew the head only (`LiveAudio.set_ir`)."""
RESAMPLE_MARGIN = 1024
"""Input samples resampled past the head's end, so that the head's last taps equal the whole IR's resampling
(soxr HQ: 64 samples left differences of 3e-5 of the peak, 256 of 4e-8, 1024 none)."""


class LiveAudio:
    """The app's audio engine: music through the field's IR for the listener's spot, to the sound card.

    music: the clip to play (default: the bundled loop); block_size: frames per callback (256-1024);
    sample_rate: the rate used until `start()` learns the device's own; max_ir_seconds: longest IR accepted
    (default: the longest a scene asks for, 8 s);
    latency: PortAudio's suggested output latency ('low', 'high' or seconds); lookahead_blocks: blocks a
    render thread keeps ready for the callback (0: the callback renders itself; see the module's docstring);
    tail_refresh_s: how long a source's last whole IR lends its tail to head-only updates (`set_ir`; 0: every
    post whole).
    """

    def __init__(self, music: AudioClip | None = None, block_size: int = 512, sample_rate: int = 48_000,
                 device: int | str | None = None, max_ir_seconds: float = MAX_IR_SECONDS, crossfade_blocks: int = 1,
                 latency: str | float = "high", lookahead_blocks: int = 0,
                 tail_refresh_s: float = TAIL_REFRESH_S) -> None:
        if not 256 <= block_size <= 1024:
            raise AudioError(f"block size {block_size} is outside 256-1024 frames; pick one in that range")
        if not 0 <= lookahead_blocks <= 16:
            raise AudioError(f"lookahead of {lookahead_blocks} blocks is outside 0-16; pick one in that range")
        self.lookahead_blocks = int(lookahead_blocks)
        self.tail_refresh_s = float(tail_refresh_s)
        self.block_size = block_size
        self.device = device
        self.latency = latency
        self._max_ir_seconds = max_ir_seconds
        self._crossfade_blocks = crossfade_blocks
        self._clips: dict[str, AudioClip] = {MAIN: music if music is not None else load_audio(DEFAULT_MUSIC)}
        self._source_gains: dict[str, float] = {MAIN: 1.0}
        self._control = threading.Lock()  # serialises app-side calls; the callback never takes it
        self._last_irs: dict[str, tuple[np.ndarray, float]] = {}
        self._whole: dict[str, tuple[float, IRPartitions]] = {}  # per source: when its last whole IR was prepared
        self._recording: collections.deque[np.ndarray] | None = None
        self._stream = None
        self._player = self._new_player(sample_rate)
        self._out = np.zeros((block_size, 2))
        self._callback_times = Timings()
        self._render_times = Timings()
        self._underruns = 0
        self._late = 0
        self._errors = 0
        self._ahead = RenderAhead(self.lookahead_blocks, block_size, lambda: self._render_block(self._player))

    # ---- stream -----------------------------------------------------------------------------------------
    @property
    def sample_rate(self) -> int:
        return self._player.sample_rate

    @property
    def running(self) -> bool:
        return self._stream is not None

    def start(self) -> None:
        """Open the output stream at the device's own rate and start playing blocks; AudioError if not."""
        with self._control:
            if self._stream is not None:
                return
            try:
                import sounddevice as sd
            except OSError as exc:
                raise AudioError(f"no audio: the PortAudio library is missing ({_one_line(exc)}); "
                                 "install libportaudio2 - everything else works without sound") from None
            try:
                info = sd.query_devices(self.device, "output")
                rate = int(round(info["default_samplerate"]))
                if rate != self._player.sample_rate:
                    self._stop_rendering()  # blocks rendered at the old rate are dropped
                    self._player = self._new_player(rate, like=self._player)
                self.start_rendering()
                stream = sd.OutputStream(samplerate=rate, blocksize=self.block_size, channels=2,
                                         dtype="float32", callback=self.callback, device=self.device,
                                         latency=self.latency)
                stream.start()
            except (sd.PortAudioError, ValueError) as exc:
                self._stop_rendering()  # nothing will take its blocks
                raise AudioError(f"no audio output device ({_one_line(exc)}); "
                                 "everything else works without sound") from None
            self._stream = stream

    def close(self) -> None:
        """Stop and close the stream and the render thread (the engine stays usable and can be started
        again)."""
        with self._control:
            stream, self._stream = self._stream, None
        if stream is not None:
            stream.stop()
            stream.close()
        with self._control:
            self._stop_rendering()

    def wait_ready(self, timeout_s: float = 5.0) -> bool:
        """Wait until the render thread has a block ready for the next callback (always True without
        render-ahead); for drivers that call `callback` faster than real time, as tests do."""
        end = time.perf_counter() + timeout_s
        while self.lookahead_blocks and not self._ahead.ready():
            if time.perf_counter() > end or not self._ahead.running:
                return False
            time.sleep(0.0005)
        return True

    def __enter__(self) -> LiveAudio:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- content ----------------------------------------------------------------------------------------
    def set_ir(self, ir: np.ndarray, sample_rate: float = SAMPLE_RATE, source: str = MAIN) -> None:
        """Play `source` through `ir` (2, N) at `sample_rate` from the next block on, crossfaded; any app
        thread. AudioError (one line) for an empty, NaN or too long IR; the last good IR keeps playing.

        An IR longer than the engine's head, posted within `tail_refresh_s` of the last whole one of its source
        and as long, updates the head only (`convolver.with_new_head`: the first taps resampled and transformed,
        the tail segments of that last whole IR kept): the engine's tail takes a new IR once per cycle
        (0.34-0.68 s at 48 kHz) anyway, and a dragged marker of a long room then costs the head's work, not the
        whole IR's resampling and FFTs (2.7 s IRs: ~5 ms each)."""
        arr = check_ir(ir)
        with self._control:
            player = self._player
            convolver = player.source(source).convolver
            rate, now = player.sample_rate, time.monotonic()
            whole = self._whole.get(source)
            n_taps = int(round(arr.shape[1] * player.sample_rate / sample_rate))
            if whole is not None and now - whole[0] < self.tail_refresh_s and whole[1].n_taps == n_taps \
                    and whole[1].segments:
                head_taps = whole[1].spectra.shape[-1] * convolver.block_size
                need = int(np.ceil(head_taps * sample_rate / rate)) + RESAMPLE_MARGIN
                parts = with_new_head(whole[1], resample_ir(arr[:, :need], sample_rate, rate))
            else:
                parts = convolver.prepare(resample_ir(arr, sample_rate, rate))
                self._whole[source] = (now, parts)
            player.post_ir(parts, source)
            self._last_irs[source] = (arr, float(sample_rate))

    @property
    def current_ir(self) -> np.ndarray | None:
        """The last good IR posted to the first source (2, N) float64 at the rate it was given, or None."""
        return self.current_irs.get(MAIN)

    @property
    def current_irs(self) -> dict[str, np.ndarray]:
        """The last good IR of each source (2, N) float64 at the rate it was given."""
        return {key: value[0] for key, value in dict(self._last_irs).items()}

    # ---- sources (any app thread) -----------------------------------------------------------------------
    @property
    def sources(self) -> tuple[str, ...]:
        return self._player.keys

    def add_source(self, key: str, music: AudioClip | None = None, gain: float = 1.0) -> None:
        """A new emitter playing `music` (default: the first source's clip), silent until its first IR."""
        with self._control:
            clip = music if music is not None else self._clips[MAIN]
            self._player.add_source(key, clip.at_rate(self._player.sample_rate).samples, gain)
            self._clips[key], self._source_gains[key] = clip, float(gain)

    def remove_source(self, key: str) -> None:
        """Fade an emitter out and forget it (the first source stays)."""
        if key == MAIN:
            raise AudioError("the first emitter cannot be removed")
        with self._control:
            self._player.remove_source(key)
            self._clips.pop(key, None)
            self._source_gains.pop(key, None)
            self._last_irs.pop(key, None)
            self._whole.pop(key, None)

    def set_source_gain(self, key: str, gain: float) -> None:
        """An emitter's own linear gain (ramped over one block)."""
        with self._control:
            self._player.set_source_gain(key, gain)
            self._source_gains[key] = float(gain)

    def source_gain(self, key: str) -> float:
        return self._source_gains[key]

    def music_of(self, key: str = MAIN) -> AudioClip:
        """The clip an emitter plays, at its own rate."""
        return self._clips[key]

    def calibrate(self, reference_irs: np.ndarray, sample_rate: float = SAMPLE_RATE) -> float:
        """Fix the session gain from reference IRs (B, 2, N) (`naf_model.audio.session_gain`); returns it."""
        with self._control:
            player = self._player
            gain = session_gain(player.music, player.sample_rate, reference_irs, sample_rate)
            player.gain = gain
        return gain

    def set_music(self, music: AudioClip | str | Path, source: str = MAIN) -> None:
        """Play another clip or audio file from its start; AudioError (one line) keeps the current music."""
        clip = music if isinstance(music, AudioClip) else load_audio(music)
        with self._control:
            self._player.set_music(clip.at_rate(self._player.sample_rate).samples, source)
            self._clips[source] = clip

    # ---- transport (any thread) -------------------------------------------------------------------------
    def play(self) -> None:
        self._player.play()

    def pause(self) -> None:
        self._player.pause()

    @property
    def playing(self) -> bool:
        return self._player.playing

    @property
    def volume(self) -> float:
        return self._player.volume

    @volume.setter
    def volume(self, value: float) -> None:
        self._player.volume = min(max(float(value), 0.0), 1.0)

    @property
    def loop(self) -> bool:
        return self._player.loop

    @loop.setter
    def loop(self, value: bool) -> None:
        self._player.loop = bool(value)

    @property
    def gain(self) -> float:
        """The session calibration gain (linear)."""
        return self._player.gain

    @property
    def position_s(self) -> float:
        return self._player.position_s

    def seek(self, seconds: float) -> None:
        self._player.seek(seconds)

    # ---- metering and recording -------------------------------------------------------------------------
    @property
    def peak(self) -> np.ndarray:
        """Peak (2,) of the last output block, linear full scale (a level meter reads it)."""
        return self._player.peak.copy()

    @property
    def recording(self) -> bool:
        return self._recording is not None

    def start_recording(self) -> None:
        """From the next callback on, keep a copy of every output block."""
        self._recording = collections.deque()

    def stop_recording(self) -> np.ndarray:
        """Stop keeping blocks and return them joined: (frames, 2) float32 at `sample_rate`, exactly as played."""
        blocks, self._recording = self._recording, None
        if not blocks:
            return np.zeros((0, 2), np.float32)
        return np.concatenate(list(blocks), axis=0)

    # ---- health -----------------------------------------------------------------------------------------
    def stats(self) -> AudioStats:
        """Counts and callback times so far (cheap; for a status bar or a test)."""
        times, cpu = self._callback_times.kept_ms()
        render, render_cpu = self._render_times.kept_ms()
        return AudioStats(self._callback_times.count, self._underruns, self._late,
                          self._errors + self._ahead.errors, self._player.swaps, float(times.mean()),
                          float(np.percentile(times, 99)), float(times.max()),
                          float(np.percentile(cpu, 99)), float(cpu.max()),
                          self.lookahead_blocks, self._ahead.underruns, float(render.mean()),
                          float(np.percentile(render, 99)), float(np.percentile(render_cpu, 99)))

    @property
    def renders(self) -> int:
        """Blocks rendered so far (by the render thread, or by the callback without render-ahead)."""
        return self._render_times.count

    def render_times_since(self, renders: int) -> tuple[np.ndarray, np.ndarray]:
        """Wall and thread-CPU seconds of each block rendered since `renders` was read (the last ~8,000 at
        most), for a benchmark that times one stretch."""
        return self._render_times.since(renders)

    @property
    def ring_underruns(self) -> int:
        """Callbacks that found no rendered block (render-ahead only): each played a block of silence."""
        return self._ahead.underruns

    # ---- audio thread -----------------------------------------------------------------------------------
    def callback(self, outdata: np.ndarray, frames: int, time_info: object, status: object) -> None:
        """PortAudio's output callback: one block of the player into `outdata` (frames, 2) float32."""
        t0, c0 = time.perf_counter(), time.thread_time()
        player = self._player
        try:
            if getattr(status, "output_underflow", False):
                self._underruns += 1
            if frames != self.block_size:
                outdata.fill(0.0)
                self._errors += 1
            else:
                if not self.lookahead_blocks:
                    outdata[:] = self._render_block(player)
                elif not self._ahead.take(outdata):  # the render thread is behind: an audible gap, counted
                    outdata.fill(0.0)
                recording = self._recording
                if recording is not None:
                    recording.append(outdata.copy())
        except Exception:  # the audio thread must never raise: play silence, count it
            outdata.fill(0.0)
            self._errors += 1
        elapsed = time.perf_counter() - t0
        self._callback_times.record(elapsed, time.thread_time() - c0)
        if elapsed * player.sample_rate > frames:
            self._late += 1

    # ---- render thread ----------------------------------------------------------------------------------
    def _render_block(self, player: BinauralPlayer) -> np.ndarray:
        """One block of the player (into self._out), timed for `stats`."""
        t0, c0 = time.perf_counter(), time.thread_time()
        block = player.render(self._out)
        self._render_times.record(time.perf_counter() - t0, time.thread_time() - c0)
        return block

    def start_rendering(self) -> None:
        """Start the render thread (`start()` does; a driver without a stream, such as a null sink, calls it
        itself); nothing without render-ahead or when it runs already."""
        if self.lookahead_blocks:
            self._ahead.start(self.block_size / self._player.sample_rate / 4)

    def _stop_rendering(self) -> None:
        """Stop the render thread and drop what it rendered (the next start renders afresh)."""
        self._ahead.stop()

    # ---- internals --------------------------------------------------------------------------------------
    def _new_player(self, rate: int, like: BinauralPlayer | None = None) -> BinauralPlayer:
        player = BinauralPlayer(self._clips[MAIN].at_rate(rate).samples, rate, self.block_size,
                                self._max_ir_seconds, self._crossfade_blocks)
        for key, clip in self._clips.items():
            if key != MAIN:
                player.add_source(key, clip.at_rate(rate).samples, self._source_gains[key])
        if like is not None:
            player.gain, player.volume, player.loop = like.gain, like.volume, like.loop
            player.playing = like.playing
        for key, (ir, ir_rate) in self._last_irs.items():
            player.post_ir(resample_ir(ir, ir_rate, rate), key)
        return player


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
