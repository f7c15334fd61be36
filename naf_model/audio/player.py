"""The chain shared by the live engine and offline renders: music -> binaural convolution -> gain -> limiter.

`BinauralPlayer.render(out)` produces one block; it is what the sounddevice callback calls and what
`naf walk` calls in a loop, so a render hears exactly the crossfaded IR swaps the app plays. Controls
(`post_ir`, play/pause, volume, gain, seek, music) may be used from any thread: each is one reference or
number assignment that the audio thread reads once per block, never a lock.

Nothing steps: volume and gain are ramped over one block on the output; play, pause, a seek and new
music ramp the *source* (the music entering the room) over one block, so a pause lets the room's
reverberation ring out naturally and a resume builds it up again, exactly as if the music were
`music * envelope` convolved with the IR. Once a paused room has rung out, blocks cost nothing.
"""

from __future__ import annotations

import numpy as np

from naf_model.audio.convolver import IRPartitions, PartitionedConvolver
from naf_model.audio.limiter import SoftLimiter


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


class BinauralPlayer:
    """Plays `music` (frames, C) at `sample_rate` through the posted binaural IR, in blocks of `block_size`.

    The music is the emitter's signal: stereo music is downmixed to mono (one point source) and feeds
    both ears' IRs. `gain` is the session's calibration gain (see `levels`), `volume`
    the user's fader in [0, 1].
    """

    def __init__(self, music: np.ndarray, sample_rate: int, block_size: int = 512,
                 max_ir_seconds: float = 1.0, crossfade_blocks: int = 1, gain: float = 1.0,
                 loop: bool = True, limiter_threshold: float = 0.9) -> None:
        self.sample_rate = int(sample_rate)
        self.block_size = int(block_size)
        self.convolver = PartitionedConvolver(block_size, 2, int(round(max_ir_seconds * sample_rate)),
                                              crossfade_blocks)
        self.limiter = SoftLimiter(sample_rate, block_size, limiter_threshold)
        self._music = emitter_feed(music)
        self._music_box = self._music
        self._pos = 0
        self._seek_box = (0, 0)  # (request number, frame)
        self._seek_done = 0
        self._in = np.zeros((block_size, 2))
        self._ramp = ((np.arange(block_size) + 1.0) / block_size).reshape(-1, 1)
        self._gains = np.empty((block_size, 1))
        self._source = 0.0  # music level entering the convolver at the end of the last block (0 or 1)
        self._level = 0.0  # output gain at the end of the last block
        self._quiet_frames = self.convolver.max_taps + 1  # silent-source frames; > max_taps: rung out
        self.loop = loop
        self.gain = float(gain)
        self.volume = 1.0
        self.playing = False
        self.finished = False

    # ---- controls, any thread ---------------------------------------------------------------------------
    def post_ir(self, ir: np.ndarray | IRPartitions) -> IRPartitions:
        """Swap to `ir` (2, N) at this player's rate (or already prepared); crossfaded in the next block."""
        return self.convolver.post(ir)

    def set_music(self, music: np.ndarray) -> None:
        """Play `music` (frames, C) at this player's rate from its start (faded out and in)."""
        self._music_box = emitter_feed(music)

    def seek(self, seconds: float) -> None:
        """Continue from `seconds` into the music (faded out and in)."""
        frame = int(max(0.0, seconds) * self.sample_rate)
        self._seek_box = (self._seek_box[0] + 1, frame)

    def play(self) -> None:
        self.finished = False
        self.playing = True

    def pause(self) -> None:
        self.playing = False

    @property
    def music(self) -> np.ndarray:
        """The music (frames, 2) being played, or about to be after `set_music`."""
        return self._music_box

    @property
    def position_s(self) -> float:
        """Seconds into the music of the next block."""
        return self._pos / self.sample_rate

    @property
    def music_seconds(self) -> float:
        return len(self._music) / self.sample_rate

    # ---- audio thread -----------------------------------------------------------------------------------
    def render(self, out: np.ndarray) -> np.ndarray:
        """Fill `out` (block_size, 2) float64 with the next block of output and return it."""
        b = self.block_size
        seek = self._seek_box
        jump = self._music_box is not self._music or seek[0] != self._seek_done
        if jump and self._source == 0.0:  # the source is silent: jump now, unheard
            self._music = self._music_box
            self._pos = seek[1] % len(self._music) if seek[0] != self._seek_done else 0
            self._seek_done = seek[0]
            jump = False
        source = 1.0 if self.playing and not jump else 0.0
        if source == 0.0 and self._source == 0.0:
            if self._quiet_frames > self.convolver.max_taps:
                out[:] = 0.0  # rung out: the history is all zeros, nothing to compute
                return out
            self._in[:] = 0.0
            self._quiet_frames += b
        else:
            self._quiet_frames = 0
            ended = self._read_music(self._in)
            self._apply_ramp(self._in, self._source, source)
            self._source = 0.0 if ended else source
        self.convolver.process(self._in, out)
        level = self.gain * min(max(self.volume, 0.0), 1.0)
        self._apply_ramp(out, self._level, level)
        self._level = level
        return self.limiter.process(out)

    def _apply_ramp(self, block: np.ndarray, start: float, end: float) -> None:
        """Multiply `block` in place by a gain moving linearly from `start` to `end` over the block."""
        if start == end:
            if end != 1.0:
                block *= end
            return
        np.multiply(self._ramp, end - start, out=self._gains)
        self._gains += start
        np.multiply(block, self._gains, out=block)

    def _read_music(self, buf: np.ndarray) -> bool:
        """Copy the next block of music into `buf`, looping; True when the music ended (not looping)."""
        music, b, pos = self._music, self.block_size, self._pos
        n = len(music)
        filled = 0
        while filled < b:
            if pos >= n:
                if self.loop:
                    pos = 0
                    continue
                buf[filled:] = 0.0
                self.playing = False
                self.finished = True
                self._pos = 0
                return True
            take = min(b - filled, n - pos)
            buf[filled : filled + take] = music[pos : pos + take]
            filled += take
            pos += take
        self._pos = pos
        return False
