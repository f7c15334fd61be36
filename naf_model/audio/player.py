"""The chain shared by the live engine and offline renders: music -> binaural convolution -> gain -> limiter.

`BinauralPlayer.render(out)` produces one block; it is what the sounddevice callback calls and what
`naf walk` calls in a loop, so a render hears exactly the crossfaded IR swaps the app plays. Controls
(`post_ir`, play/pause, volume, gain, seek, music, sources) may be used from any thread: each is one
reference or number assignment that the audio thread reads once per block, never a lock.

Several emitters: each source (`add_source`) has its own music, gain and convolver (its own IR), and
the block is the sum of their convolutions, then one output gain and one limiter. The sum is taken on
the sources' output spectra (`SpectrumMix`): one inverse FFT for all steady sources and one for all that
are crossfading, not one or two per source. The first source is created with the player (key `MAIN`);
`post_ir`/`set_music` without a key address it.

Nothing steps: volume and gain are ramped over one block on the output; play, pause, a seek and new
music ramp the *source* (the music entering the room) over one block, so a pause lets the room's
reverberation ring out naturally and a resume builds it up again, exactly as if the music were
`music * envelope` convolved with the IR. Once a paused room has rung out, blocks cost nothing.
"""

from __future__ import annotations

import numpy as np

from naf_model.audio.convolver import MAX_IR_SECONDS, IRPartitions, PartitionedConvolver, SpectrumMix
from naf_model.audio.limiter import SoftLimiter

MAIN = "emitter"
"""Key of the source every player starts with."""
PHASE_STEP = 7
"""Blocks between the tail cycles of successive sources: their long FFTs fall in different blocks (steps
0 and K-4 .. K-1 of each cycle, see `segments.LongSegment`; distinct for 4 sources at K = 32 and 64)."""


def emitter_feed(music: np.ndarray) -> np.ndarray:
    """(frames,) or (frames, 1|2) samples as the emitter's feed: a C-contiguous (frames, 2) float64 array.

    The emitter is one point source, so stereo music is downmixed to mono first; both columns then carry
    that same signal, one for each ear's IR.
    """
    arr = np.asarray(music, dtype=np.float64)
    arr = arr.reshape(len(arr), -1)
    assert arr.shape[1] in (1, 2), "music must be mono or stereo"
    mono = arr.mean(axis=1, keepdims=True)
    return np.ascontiguousarray(np.repeat(mono, 2, axis=1))


def _ramp_into(block: np.ndarray, ramp: np.ndarray, gains: np.ndarray, start: float, end: float) -> None:
    """Multiply `block` in place by a gain moving linearly from `start` to `end` over the block."""
    if start == end:
        if end != 1.0:
            block *= end
        return
    np.multiply(ramp, end - start, out=gains)
    gains += start
    np.multiply(block, gains, out=block)


class _Source:
    """One emitter of a player: its mono feed, read position, seeks, gain and convolver (audio thread state).

    The feed enters a mono-input convolver (the same signal reaches both ears' IRs), so each source costs
    one input FFT and its multiply-accumulate per block; its output goes into the player's mix.
    """

    def __init__(self, key: str, music: np.ndarray, player: BinauralPlayer, gain: float, number: int) -> None:
        b = player.block_size
        self.key = key
        self.convolver = PartitionedConvolver(b, 1, player.max_taps, player.crossfade_blocks,
                                              phase=PHASE_STEP * number)
        self._music = np.ascontiguousarray(emitter_feed(music)[:, :1])
        self._music_box = self._music
        self._pos = 0
        self._seek_box = (0, 0)  # (request number, frame)
        self._seek_done = 0
        self._in = np.zeros((b, 1))
        self._wet = np.zeros((b, 2))
        self._mix = SpectrumMix(b, player.crossfade_blocks)  # for a block whose gain ramps: its own samples
        self._source = 0.0  # music level entering the convolver at the end of the last block (0 or 1)
        self._level = 0.0  # this source's gain at the end of the last block
        self._quiet_frames = player.max_taps + 1  # silent-source frames; > max_taps: rung out
        self.gain = float(gain)
        self.retired = False  # removed: fades to silence, then the player lets go of it
        self.ended = False

    def set_music(self, music: np.ndarray) -> None:
        self._music_box = np.ascontiguousarray(emitter_feed(music)[:, :1])

    def seek(self, frame: int) -> None:
        self._seek_box = (self._seek_box[0] + 1, frame)

    @property
    def silent(self) -> bool:
        """Retired and faded out: nothing left to hear."""
        return self.retired and self._level == 0.0

    def render(self, player: BinauralPlayer, playing: bool, out: np.ndarray) -> None:
        """Add this source's wet block times its gain to the player's mix (a steady gain) or to `out`
        (block_size, 2) (a gain ramping within the block, which no spectrum sum can express)."""
        if self.silent:
            return
        seek = self._seek_box
        jump = self._music_box is not self._music or seek[0] != self._seek_done
        if jump and self._source == 0.0:  # the source is silent: jump now, unheard
            self._music = self._music_box
            self._pos = seek[1] % len(self._music) if seek[0] != self._seek_done else 0
            self._seek_done = seek[0]
            jump = False
        source = 1.0 if playing and not jump and not self.ended else 0.0
        if source == 0.0 and self._source == 0.0:
            if self._quiet_frames > self.convolver.max_taps:
                return  # rung out: the history is all zeros, nothing to compute
            self._in[:] = 0.0
            self._quiet_frames += player.block_size
        else:
            self._quiet_frames = 0
            ended = self._read_music(player)
            _ramp_into(self._in, player.ramp, player.gains, self._source, source)
            self._source = 0.0 if ended else source
        self.convolver.push(self._in)
        level = 0.0 if self.retired else self.gain
        if level == self._level:
            self.convolver.mix_into(player.mix, level)
        else:
            self.convolver.mix_into(self._mix)
            self._wet[:] = 0.0
            self._mix.add_to(self._wet)
            _ramp_into(self._wet, player.ramp, player.gains, self._level, level)
            out += self._wet
        self._level = level

    def _read_music(self, player: BinauralPlayer) -> bool:
        """Copy the next block of music into the input, looping; True when the music ended (not looping)."""
        music, b, pos, buf = self._music, player.block_size, self._pos, self._in
        n = len(music)
        filled = 0
        while filled < b:
            if pos >= n:
                if player.loop:
                    pos = 0
                    continue
                buf[filled:] = 0.0
                self.ended = True
                self._pos = 0
                return True
            take = min(b - filled, n - pos)
            buf[filled : filled + take] = music[pos : pos + take]
            filled += take
            pos += take
        self._pos = pos
        return False


class BinauralPlayer:
    """Plays `music` (frames, C) at `sample_rate` through the posted binaural IR, in blocks of `block_size`.

    The music is the emitter's signal: stereo music is downmixed to mono (one point source) and feeds
    both ears' IRs. `gain` is the session's calibration gain (see `levels`), `volume` the user's fader in
    [0, 1]; each source has its own `gain` too (`set_source_gain`). `peak` is the last block's output peak
    per channel (2,), for a level meter. max_ir_seconds: the longest IR accepted (default: the longest any
    scene asks for, `convolver.MAX_IR_SECONDS`); the cost per block follows the IR played (the limit adds
    only the tail segments' input FFTs).
    """

    def __init__(self, music: np.ndarray, sample_rate: int, block_size: int = 512,
                 max_ir_seconds: float = MAX_IR_SECONDS, crossfade_blocks: int = 1, gain: float = 1.0,
                 loop: bool = True, limiter_threshold: float = 0.9) -> None:
        self.sample_rate = int(sample_rate)
        self.block_size = int(block_size)
        self.max_taps = int(round(max_ir_seconds * sample_rate))
        self.crossfade_blocks = int(crossfade_blocks)
        self.limiter = SoftLimiter(sample_rate, block_size, limiter_threshold)
        self.ramp = ((np.arange(block_size) + 1.0) / block_size).reshape(-1, 1)
        self.gains = np.empty((block_size, 1))
        self._level = 0.0  # output gain at the end of the last block
        self.loop = loop
        self.gain = float(gain)
        self.volume = 1.0
        self.playing = False
        self.finished = False
        self.peak = np.zeros(2)
        self.mix = SpectrumMix(self.block_size, self.crossfade_blocks)
        self._added = 1  # sources ever added: each new one's tail cycle is shifted by PHASE_STEP blocks
        self._sources: tuple[_Source, ...] = (_Source(MAIN, music, self, 1.0, 0),)

    # ---- sources, any thread ----------------------------------------------------------------------------
    @property
    def keys(self) -> tuple[str, ...]:
        """Keys of the sources being played, in the order they were added."""
        return tuple(s.key for s in self._sources if not s.retired)

    def source(self, key: str = MAIN) -> _Source:
        for s in self._sources:
            if s.key == key and not s.retired:
                return s
        raise KeyError(f"no source {key!r}")

    def add_source(self, key: str, music: np.ndarray, gain: float = 1.0) -> None:
        """Add an emitter playing `music` (frames, C) through its own IR (silent until one is posted)."""
        if key in self.keys:
            raise KeyError(f"source {key!r} exists")
        kept = tuple(s for s in self._sources if not s.silent)
        self._sources = (*kept, _Source(key, music, self, gain, self._added))
        self._added += 1

    def remove_source(self, key: str) -> None:
        """Fade a source out over one block and stop computing it."""
        self.source(key).retired = True
        self._sources = tuple(s for s in self._sources if not s.silent)

    def set_source_gain(self, key: str, gain: float) -> None:
        """A source's own linear gain (ramped over one block)."""
        self.source(key).gain = float(gain)

    @property
    def convolver(self) -> PartitionedConvolver:
        """The first source's convolver."""
        return self._sources[0].convolver if self._sources else self.source().convolver

    @property
    def swaps(self) -> int:
        """IR swaps performed by every source's convolver."""
        return sum(s.convolver.swaps for s in self._sources)

    # ---- controls, any thread ---------------------------------------------------------------------------
    def post_ir(self, ir: np.ndarray | IRPartitions, source: str = MAIN) -> IRPartitions:
        """Swap `source`'s IR to `ir` (2, N) at this player's rate (or prepared); crossfaded in the next block."""
        return self.source(source).convolver.post(ir)

    def set_music(self, music: np.ndarray, source: str = MAIN) -> None:
        """Play `music` (frames, C) at this player's rate from its start (faded out and in)."""
        self.source(source).set_music(music)

    def seek(self, seconds: float) -> None:
        """Continue every source from `seconds` into its music (faded out and in)."""
        frame = int(max(0.0, seconds) * self.sample_rate)
        for s in self._sources:
            s.seek(frame)

    def play(self) -> None:
        self.finished = False
        for s in self._sources:
            s.ended = False
        self.playing = True

    def pause(self) -> None:
        self.playing = False

    @property
    def music(self) -> np.ndarray:
        """The first source's music (frames, 2) being played, or about to be after `set_music`."""
        mono = self._sources[0]._music_box
        return np.repeat(mono, 2, axis=1)

    @property
    def position_s(self) -> float:
        """Seconds into the first source's music of the next block."""
        return self._sources[0]._pos / self.sample_rate

    @property
    def music_seconds(self) -> float:
        return len(self._sources[0]._music) / self.sample_rate

    # ---- audio thread -----------------------------------------------------------------------------------
    def render(self, out: np.ndarray) -> np.ndarray:
        """Fill `out` (block_size, 2) float64 with the next block of output (the sum over sources)."""
        out[:] = 0.0
        playing = self.playing
        sources = self._sources
        for s in sources:
            s.render(self, playing, out)
        self.mix.add_to(out)
        if playing and sources and all(s.ended or s.retired for s in sources):
            self.playing = False
            self.finished = True
        level = self.gain * min(max(self.volume, 0.0), 1.0)
        _ramp_into(out, self.ramp, self.gains, self._level, level)
        self._level = level
        self.limiter.process(out)
        np.max(np.abs(out), axis=0, out=self.peak)
        return out
