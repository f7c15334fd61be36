"""Non-uniformly partitioned overlap-save FFT convolution with lock-free, crossfaded impulse-response swaps.

One `PartitionedConvolver` turns a mono or stereo input stream into a binaural (2-channel) output stream,
one fixed-size block at a time, with no latency beyond the block itself. The IR's head (its first 64 blocks)
is cut into block-size partitions whose input spectra sit in a frequency-domain delay line (FDL) shared by
every IR, so a newly posted IR is in steady state the moment it is picked up: for the crossfade block(s) both
the old and the new IR's partitions run over the same FDL and the two outputs are mixed with a raised-cosine
ramp. The rest of a long IR (a reverberant room's seconds) is convolved in segments of ever larger partitions,
each with its own FDL, computed a cycle ahead and spread over the blocks of the cycle (`segments`), so the
cost per block grows with the number of partitions (86 for an 8 s IR at 48 kHz in 512-frame blocks), not
with the IR's length in blocks (750), and no block computes a whole long FFT. Posting an IR (`post`) is one
reference assignment; the audio thread (`process`) compares that reference with the one it is playing and
never waits on a lock.

Cost per block, which the audio callback pays for every emitter: one input FFT, one multiply-accumulate over
the head's partitions (`np.vecdot`, a BLAS dot per ear and bin, no temporaries), one step of each tail
segment, and the head's inverse FFT, which `SpectrumMix` shares among all the convolvers of a player.
Everything is single precision (float32 samples, complex64 spectra; numpy >= 2 transforms float32 in single
precision): half the bytes read per block, and the output still equals the exact convolution to about 1e-6
of its peak, far below audibility or 16-bit output.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass

import numpy as np
import scipy.fft

from naf_model.audio.segments import LongSegment, SegmentLayout, crossfade_ramp, plan_segments, segment_spectra
from naf_model.audio.segments import settle_blocks as tail_settle_blocks
from naf_model.errors import AudioError

MAX_IR_SECONDS = 8.0
"""`naf_model.simulate.ir_length.MAX_IR_SECONDS`, written out so that the DSP package loads no simulator (a
test holds them equal): the engine's default limit, so that any IR a scene needs plays."""
__all__ = ["MAX_IR_SECONDS", "IRPartitions", "PartitionedConvolver", "SpectrumMix", "check_ir", "crossfade_ramp",
           "prepare_ir"]


@dataclass(frozen=True, eq=False)
class IRPartitions:
    """A binaural IR cut into partitions and transformed, ready for `PartitionedConvolver`.

    spectra: (2, block_size + 1, P) complex64, the head: per ear and frequency bin the *conjugated* rfft of
    each zero-padded block-size piece, in reverse partition order (the last index is the IR's first piece):
    laid out so that one `np.vecdot` (which conjugates its first argument) against the contiguous FDL slice is
    the whole multiply-accumulate. segments: per tail segment of `layout`, its pieces the same way
    ((2, L + 1, n) complex64), or None where the IR ends before the segment. n_taps: the IR length in samples.
    """

    spectra: np.ndarray
    block_size: int
    n_taps: int
    segments: tuple[np.ndarray | None, ...] = ()
    layout: tuple[SegmentLayout, ...] = ()

    @property
    def n_partitions(self) -> int:
        """Partitions in all: the head's and the segments'."""
        return self.spectra.shape[-1] + sum(s.shape[-1] for s in self.segments if s is not None)


def check_ir(ir: np.ndarray) -> np.ndarray:
    """A binaural IR as a (2, N) float64 array, or AudioError saying what is wrong with it.

    Accepts (2, N) or (N, 2) arrays (N > 2) and a mono (N,) IR, which is used for both ears.
    """
    arr = np.asarray(ir)
    if arr.dtype.kind not in "fiu":
        raise AudioError(f"impulse response must be real numbers, got dtype {arr.dtype}; "
                         "the last good IR is kept")
    arr = arr.astype(np.float64, copy=False)
    if arr.ndim == 1:
        arr = np.stack([arr, arr])
    elif arr.ndim == 2 and arr.shape[0] != 2 and arr.shape[1] == 2:
        arr = arr.T
    if arr.ndim != 2 or arr.shape[0] != 2:
        raise AudioError(f"impulse response must have shape (2, N) (left, right ear), got {np.shape(ir)}; "
                         "the last good IR is kept")
    if arr.shape[1] == 0:
        raise AudioError("impulse response is empty (0 samples); the last good IR is kept")
    if not np.all(np.isfinite(arr)):
        raise AudioError("impulse response contains NaN or infinite samples; the last good IR is kept")
    return arr


def prepare_ir(ir: np.ndarray, block_size: int, max_taps: int | None = None) -> IRPartitions:
    """Partition and transform a binaural IR (2, N) for a convolver of this `block_size` and `max_taps`
    (default: the IR's length), in any thread.

    This is the expensive half of a swap (one FFT per partition), so it runs in the caller's thread, never
    in the audio callback. Raises AudioError for an empty, non-finite or too long (> `max_taps`) IR.
    """
    arr = check_ir(ir)
    n_taps = arr.shape[1]
    if max_taps is not None and n_taps > max_taps:
        raise AudioError(f"impulse response has {n_taps} samples, more than the engine's limit "
                         f"of {max_taps}; "
                         "shorten it or raise max_ir_seconds; the last good IR is kept")
    head_parts, layout = plan_segments(block_size, n_taps if max_taps is None else max_taps)
    head = arr[:, : head_parts * block_size]
    n_parts = -(-head.shape[1] // block_size)
    padded = np.zeros((2, n_parts, 2 * block_size), np.float32)
    pieces = np.zeros((2, n_parts * block_size), np.float32)
    pieces[:, : head.shape[1]] = head
    padded[:, :, :block_size] = pieces.reshape(2, n_parts, block_size)
    spectra = scipy.fft.rfft(padded, axis=-1)  # (2, P, bins) complex64: single precision kept
    spectra = np.ascontiguousarray(np.conj(spectra[:, ::-1].transpose(0, 2, 1)))
    tails = tuple(segment_spectra(arr, seg) for seg in layout)
    return IRPartitions(spectra=spectra, block_size=block_size, n_taps=n_taps, segments=tails, layout=layout)


def with_new_head(parts: IRPartitions, head: np.ndarray) -> IRPartitions:
    """`parts` with its head partitions made from `head` (2, >= the head's taps) and its tail segments kept as
    they are (the same arrays): what a caller posts when only the IR's first taps must follow a moving marker
    at once, the tail being taken by the engine only once per cycle anyway. Costs the head's FFTs alone."""
    n_parts = parts.spectra.shape[-1]
    taps = n_parts * parts.block_size
    fresh = prepare_ir(np.asarray(head)[:, :taps], parts.block_size)
    if fresh.spectra.shape != parts.spectra.shape:
        raise AudioError(f"a new head needs {taps} taps, got {np.shape(head)[-1]}; prepare the whole IR instead")
    return IRPartitions(spectra=fresh.spectra, block_size=parts.block_size, n_taps=parts.n_taps,
                        segments=parts.segments, layout=parts.layout)


class SpectrumMix:
    """One block's output spectra summed over convolvers, turned into samples with the fewest inverse FFTs.

    Convolution and the sum over sources are linear and a constant gain is a constant in both domains, so
    every convolver that is not crossfading adds its output spectrum into `steady`, and one in crossfade
    step k adds its old IR's spectrum into `steady` and (new - old) into the fade sum of step k; `add_to`
    then runs one inverse FFT for `steady` and one per fade step in use, each fade scaled by its ramp in
    time, however many sources there are; samples already in time (the tail segments') are summed as they
    are (`add_samples`). Audio thread only; allocates nothing.
    """

    def __init__(self, block_size: int, crossfade_blocks: int = 1) -> None:
        n_bins = block_size + 1
        self.block_size = block_size
        self._steady = np.zeros((2, n_bins), np.complex64)
        self._fades = np.zeros((crossfade_blocks, 2, n_bins), np.complex64)
        ramp = crossfade_ramp(block_size * crossfade_blocks).reshape(crossfade_blocks, block_size, 1)
        self._ramp = ramp.astype(np.float32)
        self._steady_used = False
        self._fades_used = [False] * crossfade_blocks
        self._frame = np.zeros((2, 2 * block_size), np.float32)
        self._wet = np.zeros((block_size, 2), np.float32)
        self._samples = np.zeros((2, block_size), np.float32)
        self._scaled = np.zeros((2, block_size), np.float32)
        self._samples_used = False

    def add(self, spectrum: np.ndarray, gain: float, fade_step: int | None = None) -> None:
        """Add `gain` x `spectrum` (2, bins) to the steady sum or to fade step `fade_step`'s; scales `spectrum`
        in place (it is the caller's scratch)."""
        if fade_step is None:
            acc, used = self._steady, self._steady_used
            self._steady_used = True
        else:
            acc, used = self._fades[fade_step], self._fades_used[fade_step]
            self._fades_used[fade_step] = True
        if gain != 1.0:
            np.multiply(spectrum, gain, out=spectrum)
        if used:
            np.add(acc, spectrum, out=acc)
        else:  # the first contribution of this block replaces the last block's sum: nothing to clear
            np.copyto(acc, spectrum)

    def add_samples(self, samples: np.ndarray, gain: float) -> None:
        """Add `gain` x `samples` (2, block_size), output already in time (a tail segment's), to the mix."""
        if self._samples_used:
            np.multiply(samples, gain, out=self._scaled)
            np.add(self._samples, self._scaled, out=self._samples)
        else:
            np.multiply(samples, gain, out=self._samples)
            self._samples_used = True

    def add_to(self, out: np.ndarray) -> np.ndarray:
        """Add the mixed block (block_size, 2) to `out`, start an empty mix for the next block, return `out`."""
        b = self.block_size
        if self._steady_used:
            np.fft.irfft(self._steady, n=2 * b, axis=-1, out=self._frame)
            np.add(out, self._frame[:, b:].T, out=out)
            self._steady_used = False
        for k, used in enumerate(self._fades_used):
            if used:
                np.fft.irfft(self._fades[k], n=2 * b, axis=-1, out=self._frame)
                np.multiply(self._frame[:, b:].T, self._ramp[k], out=self._wet)
                np.add(out, self._wet, out=out)
                self._fades_used[k] = False
        if self._samples_used:
            np.add(out, self._samples.T, out=out)
            self._samples_used = False
        return out


class PartitionedConvolver:
    """Streaming binaural convolution of (block_size, C) input blocks, C = 1 or 2, into (block_size, 2).

    A mono input feeds both ears; a stereo input is convolved channel-wise (left with the left-ear IR,
    right with the right-ear IR). `post` may be called from any thread at any time; `process` (or `push`
    then `mix_into`, which lets several convolvers share one `SpectrumMix`) must be called from one thread
    only (the audio thread) and allocates nothing. Single precision throughout (complex64 spectra):
    the output is the exact convolution to about 1e-6 of its peak, and each block reads half the bytes.

    max_taps: the longest IR accepted (default: `MAX_IR_SECONDS` at 48 kHz); IRs past the head (up to 64 blocks) use the
    tail segments (`segments`), whose part of a swap lands later (see `settle_blocks`). phase: shifts the
    segments' cycles (a player gives its sources different phases, so their long FFTs fall in different
    blocks).
    """

    def __init__(self, block_size: int, in_channels: int = 2, max_taps: int = int(MAX_IR_SECONDS * 48_000),
                 crossfade_blocks: int = 1, phase: int = 0) -> None:
        if block_size < 16 or in_channels not in (1, 2) or max_taps < 1 or crossfade_blocks < 1:
            raise ValueError("block_size >= 16, in_channels in (1, 2), max_taps >= 1, crossfade_blocks >= 1")
        self.block_size = block_size
        self.in_channels = in_channels
        self.max_taps = max_taps
        self.crossfade_blocks = crossfade_blocks
        n_bins = block_size + 1
        self._max_parts, self.layout = plan_segments(block_size, max_taps)
        p = self._max_parts
        # Every input spectrum is written twice, at slot s and s + P, so the last P spectra are always
        # the contiguous slice fdl[..., s + 1 : s + P + 1] (oldest first), whatever the ring position;
        # partitions are the last axis so that each (channel, bin) history is one contiguous vector.
        self._fdl = np.zeros((in_channels, n_bins, 2 * p), np.complex64)
        self._slot = 0
        self._time = np.zeros((in_channels, 2 * block_size), np.float32)  # previous block + current block
        self._spec = np.zeros((in_channels, n_bins), np.complex64)
        self._new = np.zeros((2, n_bins), np.complex64)  # output spectrum of the IR playing (fading to)
        self._old = np.zeros((2, n_bins), np.complex64)  # output spectrum of the IR fading out
        self._mix = SpectrumMix(block_size, crossfade_blocks)
        self._tail = tuple(LongSegment(seg, k, block_size, in_channels, phase)
                           for k, seg in enumerate(self.layout))
        # The tail's input history: the last `_span` samples, written twice like the FDL (contiguous windows).
        self._span = 2 * max((seg.partition for seg in self.layout), default=0)
        self._history = np.zeros((in_channels, 2 * self._span), np.float32)
        self._written = 0
        # Input frames since the last non-zero one; past `_silence_needed` the tail's pending output is zero
        # for any IR, so it takes a new IR at once (a source that starts playing, or resumes after a pause).
        self._silent = 1 << 62
        self._silence_needed = self.layout[-1].end + self._span if self.layout else 0
        self._count = -1  # blocks pushed, minus one: the index of the block being processed
        self._mailbox: IRPartitions | None = None
        self._current: IRPartitions | None = None
        self._fading_from: IRPartitions | None = None
        self._fading = False
        self._fade_step = 0
        # IRs the audio thread lets go of wait here until the next post drops them, so that their memory is
        # freed in the posting thread, never in the audio thread (deque appends are atomic).
        self._retired: collections.deque[IRPartitions] = collections.deque()
        self.swaps = 0

    @property
    def settle_blocks(self) -> int:
        """Blocks after a post by which the output is the new IR's alone (the head's crossfade, or the tail's
        wait, computation and crossfade, whichever is longer)."""
        return max(self.crossfade_blocks, tail_settle_blocks(self.block_size, self.layout))

    # ---- any thread -------------------------------------------------------------------------------------
    def prepare(self, ir: np.ndarray) -> IRPartitions:
        """`prepare_ir` for this convolver's block size and tap limit."""
        return prepare_ir(ir, self.block_size, self.max_taps)

    def post(self, ir: IRPartitions | np.ndarray) -> IRPartitions:
        """Make `ir` the next IR to play; the newest post wins. Lock-free: one reference assignment."""
        parts = ir if isinstance(ir, IRPartitions) else self.prepare(ir)
        if parts.block_size != self.block_size or parts.n_taps > self.max_taps or parts.layout != self.layout:
            raise AudioError("impulse response was prepared for another engine; prepare it with this one")
        self._mailbox = parts
        try:  # drop what the audio thread let go of, here rather than there
            while True:
                self._retired.popleft()
        except IndexError:
            pass
        return parts

    @property
    def current(self) -> IRPartitions | None:
        """The IR the audio thread is playing (or fading to)."""
        return self._current

    # ---- audio thread -----------------------------------------------------------------------------------
    def process(self, block: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Convolve one input block (block_size, C) into `out` (block_size, 2) and return `out`.

        With no IR posted yet the output is silence. When a newer IR has been posted, this block starts a
        crossfade of `crossfade_blocks` blocks from the old IR's output to the new one's (the tail follows,
        see `segments`).
        """
        self.push(block)
        out[:] = 0.0
        self.mix_into(self._mix)
        return self._mix.add_to(out)

    def push(self, block: np.ndarray) -> None:
        """Take in one input block (block_size, C), step the crossfade (a newer posted IR starts one here)
        and do this block's share of the tail segments' work."""
        b = self.block_size
        self._count += 1
        t = self._time
        t[:, :b] = t[:, b:]
        t[:, b:] = block.T
        spec = np.fft.rfft(t, axis=-1, out=self._spec)
        p = self._max_parts
        self._slot = (self._slot + 1) % p
        self._fdl[:, :, self._slot] = spec
        self._fdl[:, :, self._slot + p] = spec
        if self._fading:
            self._fade_step += 1
            if self._fade_step >= self.crossfade_blocks:
                self._fading = False
                if self._fading_from is not None:
                    self._retired.append(self._fading_from)
                self._fading_from = None
        if not self._fading:
            latest = self._mailbox
            if latest is not self._current:
                self._fading_from = self._current
                self._current = latest
                self._fading = True
                self._fade_step = 0
                self.swaps += 1
        if self._tail:
            self._step_tail(block)

    def _step_tail(self, block: np.ndarray) -> None:
        """Each tail segment's step for this block (its FFT window ends before this block), then this block
        into the history."""
        span, w, b = self._span, self._written, self.block_size
        silent = self._silent >= self._silence_needed
        for seg in self._tail:
            window = self._history[:, w + span - 2 * seg.layout.partition : w + span]
            seg.step(self._count, window, self._current, self._retired.append, silent)
        self._silent = self._silent + b if not block.any() else 0
        self._history[:, w : w + b] = block.T
        self._history[:, w + span : w + span + b] = block.T
        self._written = (w + b) % span

    def mix_into(self, mix: SpectrumMix, gain: float = 1.0) -> None:
        """Add `gain` x this block's output (after `push`) to `mix`: while crossfading, the old IR's output
        as steady and (new - old) under the ramp of this fade step (the first IR fades in from silence); the
        tail segments' samples as they are (their crossfades are in them)."""
        current = self._current
        if current is None or gain == 0.0:
            return
        for seg in self._tail:
            if not seg.quiet:
                mix.add_samples(seg.block(self._count, self.block_size), gain)
        new = self._filter(current, self._new)
        if not self._fading:
            mix.add(new, gain)
            return
        old = self._fading_from
        if old is not None:
            old_spec = self._filter(old, self._old)
            np.subtract(new, old_spec, out=new)
            mix.add(old_spec, gain)
        mix.add(new, gain, self._fade_step)

    def _filter(self, parts: IRPartitions, out: np.ndarray) -> np.ndarray:
        """out (2, bins) = the spectrum of the last two blocks of (input * the IR's head), from the FDL;
        returns `out`.

        One BLAS dot product per (ear, bin) over the partitions, no temporary: the multiply-accumulate
        that is most of the engine's cost.
        """
        n = parts.spectra.shape[-1]
        end = self._slot + self._max_parts + 1
        history = self._fdl[:, :, end - n : end]  # (C, bins, n), oldest first, matching the reversed spectra
        return np.vecdot(parts.spectra, history, out=out)
