"""The tail of a non-uniformly partitioned convolution: segments of large partitions, each computed one cycle
ahead of when it is heard and spread over that cycle's blocks, so no block pays for a whole long FFT.

A convolver of block size B convolves the IR's head (up to 64 blocks: 0.68 s at 48 kHz in 512-frame blocks)
in partitions of B, every block (`convolver.PartitionedConvolver`), and the rest in segments of larger
partitions L (half the head, then up to GROWTH times longer per level, at most `MAX_PARTITION` samples). A
segment of partition L starts at tap 2 L: the output it adds to the period [t, t + L) needs input up to
t - L only, so the period's whole computation (one FFT of the last 2 L input samples into the segment's own
frequency-domain delay line, the multiply-accumulate over its partitions, one inverse FFT per ear) can run
during the K = L / B blocks before t, a fixed piece per block (`LongSegment.step`). The cost per output
sample of a segment is about its number of partitions, not its length in blocks: an 8 s IR at 48 kHz in
512-frame blocks is 64 head partitions and 22 of 16,384 samples instead of 750 of 512.

Swaps: a segment takes the convolver's current IR when a cycle starts and, when that differs from the IR of
its previous cycle, computes both over the same history and crossfades the period with a raised cosine of L
samples. The IR's part from tap 2 L on therefore starts changing between L and 2 L after the head (whose fade
starts with the next block) and plays the new IR alone within 3 L: a reverberant tail changes late and
smoothly, never with a step. Audio thread only; nothing here allocates after construction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.fft

GROWTH = 8
"""Each tail level's partitions are up to this many times longer than the previous level's."""
MAX_PARTITION = 16_384
"""Longest tail partition, samples: its FFTs (32,768 points) are the largest single steps of a block."""
HEAD_BLOCKS = 64
"""Most block-size partitions in the head (fewer where MAX_PARTITION caps the first tail partition, which the
head's length is twice of): a 512-frame head holds 0.68 s at 48 kHz in one multiply-accumulate per block.
96 blocks (1 s) measured as fast for 0.7-1 s IRs and slower for 3-6 s ones (scripts/bench_convolver.py)."""


@dataclass(frozen=True)
class SegmentLayout:
    """One tail segment: `count` partitions of `partition` samples from tap `start` (= 2 x partition, which
    `LongSegment`'s cycle assumes)."""

    partition: int
    start: int
    count: int

    @property
    def end(self) -> int:
        return self.start + self.count * self.partition


def plan_segments(block_size: int, max_taps: int) -> tuple[int, tuple[SegmentLayout, ...]]:
    """(head partitions, tail segments) covering `max_taps` taps for blocks of `block_size` frames.

    The first tail partition is half the head (at most MAX_PARTITION, at least 8 blocks); IRs no longer than
    the head have no tail (the uniform convolver). Each further level's partition is up to GROWTH times the
    last (whole multiples of it, at most MAX_PARTITION) and starts at twice its length; the last level takes
    every remaining tap.
    """
    part = max(8, min(HEAD_BLOCKS // 2, MAX_PARTITION // block_size)) * block_size
    head_taps = 2 * part  # a segment starts at exactly twice its partition: `LongSegment`'s timing assumes it
    if max_taps <= head_taps:
        return -(-max_taps // block_size), ()
    levels = []
    start = head_taps
    while True:
        grow = min(GROWTH, MAX_PARTITION // part)
        end = 2 * part * grow
        if grow <= 1 or max_taps <= end:
            levels.append(SegmentLayout(part, start, -(-(max_taps - start) // part)))
            return head_taps // block_size, tuple(levels)
        levels.append(SegmentLayout(part, start, (end - start) // part))
        part, start = part * grow, end


def segment_spectra(ir: np.ndarray, layout: SegmentLayout) -> np.ndarray | None:
    """The conjugated rffts (2, L + 1, n) complex64 of the IR's (2, N) pieces in `layout`, last index the
    segment's first piece (the layout `LongSegment` multiplies against its delay line), or None when the IR
    ends before the segment starts."""
    part = layout.partition
    n = min(-(-(ir.shape[1] - layout.start) // part), layout.count) if ir.shape[1] > layout.start else 0
    if n == 0:
        return None
    pieces = np.zeros((2, n, 2 * part), np.float32)
    taps = ir[:, layout.start : layout.start + n * part]
    flat = np.zeros((2, n * part), np.float32)
    flat[:, : taps.shape[1]] = taps
    pieces[:, :, :part] = flat.reshape(2, n, part)
    spectra = scipy.fft.rfft(pieces, axis=-1)  # complex64; 10x numpy's time for (2, 7, 32,768) float32
    return np.ascontiguousarray(np.conj(spectra[:, ::-1].transpose(0, 2, 1)))


def crossfade_ramp(n: int) -> np.ndarray:
    """Raised-cosine weights (n,) rising from ~0 to ~1: the new IR's share of each crossfade sample.

    Its slope is zero at both ends, so the mix joins both steady states without a kink.
    """
    return 0.5 - 0.5 * np.cos(np.pi * (np.arange(n) + 0.5) / n)


class LongSegment:
    """One tail segment of one convolver: its delay line of input spectra, the output period being heard
    (`ready`, (2, L)) and the one being computed (`_next`), stepped once per block by `step`.

    Steps of a cycle of K blocks: 0 the input FFT, 1 .. K-5 the new spectrum into the delay line and the
    multiply-accumulate, a slice of the frequency bins each, K-4 .. K-1 one inverse FFT each (ear 0 and 1,
    the new IR's and, while fading, the old IR's). `phase` shifts the cycle so that the sources of one
    player do their FFTs in different blocks.
    """

    def __init__(self, layout: SegmentLayout, index: int, block_size: int, in_channels: int,
                 phase: int) -> None:
        part = layout.partition
        self.layout = layout
        self.index = index
        self.blocks = part // block_size
        assert self.blocks >= 8 and part % block_size == 0, "a segment needs >= 8 whole blocks per partition"
        self.phase = phase % self.blocks
        n_bins, n = part + 1, layout.count
        self._fdl = np.zeros((in_channels, n_bins, 2 * n), np.complex64)  # written twice, as the head's
        self._slot = 0
        self._spec = np.zeros((in_channels, n_bins), np.complex64)
        self._acc = np.zeros((2, 2, n_bins), np.complex64)  # [new IR, old IR] x ear x bin
        self._frame = np.zeros(2 * part, np.float32)
        self._tmp = np.zeros(part, np.float32)
        self.ready = np.zeros((2, part), np.float32)
        self._next = np.zeros((2, part), np.float32)
        self._ramp = crossfade_ramp(part).astype(np.float32)
        edges = np.linspace(0, n_bins, self.blocks - 4).round().astype(int)
        self._chunks = list(zip(edges[:-1], edges[1:], strict=True))
        self._ir = None  # the IR of this cycle (an IRPartitions) and of the last one
        self._last = None
        self._new: np.ndarray | None = None  # their spectra for this segment (None: the IR ends before it)
        self._old: np.ndarray | None = None
        self._fading = False
        self.quiet = True  # `ready` is all zeros (no IR reached this segment): nothing to add
        self._next_quiet = True

    def step(self, count: int, window: np.ndarray, current, retire: Callable[[object], None],
             silent: bool = False) -> None:
        """Do block `count`'s share of the cycle. window: the last 2 L input samples (C, 2 L) before this
        block; current: the convolver's IR now (IRPartitions or None); `retire` takes references let go;
        silent: every input this segment's pending periods depend on is zero, so a new IR is taken at once,
        without a fade (both IRs' outputs are zero there: nothing to fade, and nothing is computed twice)."""
        if silent and current is not self._ir:
            dropped = (self._last, self._ir)
            self._last = self._ir = current
            self._fading = False
            self._new = None if current is None else current.segments[self.index]
            self._old = None
            self._next_quiet = self._new is None
            self._acc.fill(0.0)  # what this cycle's earlier steps summed (or skipped) is zero in silence
            for k, ir in enumerate(dropped):
                if ir is not None and ir is not current and ir not in dropped[:k]:
                    retire(ir)
        s = (count + self.phase) % self.blocks
        if s == 0:
            self.ready, self._next = self._next, self.ready
            self.quiet = self._next_quiet
            # scipy's: numpy's single-precision rfft of 32,768 points took 3x as long (0.49 vs 0.17 ms)
            self._spec = scipy.fft.rfft(window, axis=-1)
            dropped = self._last
            self._last, self._ir = self._ir, current
            self._fading = self._last is not self._ir
            self._new = None if current is None else current.segments[self.index]
            self._old = self._last.segments[self.index] if self._fading and self._last is not None else None
            self._next_quiet = self._new is None and self._old is None
            if dropped is not None and dropped is not self._last and dropped is not self._ir:
                retire(dropped)  # after the views into it are let go: its memory is freed by the poster
            self._slot = (self._slot + 1) % self.layout.count
        elif s < self.blocks - 4:
            lo, hi = self._chunks[s - 1]
            n = self.layout.count  # the new spectrum enters the delay line bin slice by bin slice: a strided
            self._fdl[:, lo:hi, self._slot] = self._spec[:, lo:hi]  # write of all bins at once costs as
            self._fdl[:, lo:hi, self._slot + n] = self._spec[:, lo:hi]  # much as the FFT
            self._mac(self._new, self._acc[0], lo, hi)
            if self._fading:
                self._mac(self._old, self._acc[1], lo, hi)
        else:
            ear, old = divmod(s - (self.blocks - 4), 2)
            self._inverse(ear, old == 1)

    def _mac(self, spectra: np.ndarray | None, acc: np.ndarray, lo: int, hi: int) -> None:
        """acc[:, lo:hi] = this cycle's output spectrum (2 ears) of bins lo..hi for the IR pieces `spectra`
        (nothing for None: `_inverse` then reads no spectrum)."""
        if spectra is None:
            return
        n = spectra.shape[-1]
        end = self._slot + self.layout.count + 1
        np.vecdot(spectra[:, lo:hi], self._fdl[:, lo:hi, end - n : end], out=acc[:, lo:hi])

    def _inverse(self, ear: int, old: bool) -> None:
        """The period's samples of one ear into `_next`: the new IR's (first step), then, while fading, mixed
        from the old IR's under the raised cosine (second step)."""
        part = self.layout.partition
        out = self._next[ear]
        if not old:
            if self._new is None:
                out.fill(0.0)
            else:
                np.fft.irfft(self._acc[0, ear], n=2 * part, out=self._frame)
                np.copyto(out, self._frame[part:])
            return
        if not self._fading:
            return
        if self._old is None:  # fading in from no tail
            np.multiply(out, self._ramp, out=out)
            return
        np.fft.irfft(self._acc[1, ear], n=2 * part, out=self._frame)
        before = self._frame[part:]
        np.subtract(out, before, out=self._tmp)
        np.multiply(self._tmp, self._ramp, out=self._tmp)
        np.add(before, self._tmp, out=out)

    def block(self, count: int, block_size: int) -> np.ndarray:
        """This block's samples (2, block_size) of the period being heard."""
        i = (count + self.phase) % self.blocks
        return self.ready[:, i * block_size : (i + 1) * block_size]


def settle_blocks(block_size: int, segments: tuple[SegmentLayout, ...]) -> int:
    """Blocks after a post by which every segment plays the new IR alone: a cycle's wait, one to compute it,
    one to fade (3 L / B for the longest partition L)."""
    return max((3 * s.partition // block_size for s in segments), default=0)
