"""Uniformly partitioned overlap-save FFT convolution with lock-free, crossfaded impulse-response swaps.

One `PartitionedConvolver` turns a mono or stereo input stream into a binaural (2-channel) output stream,
one fixed-size block at a time, with no latency beyond the block itself. The input spectra are kept in a
frequency-domain delay line (FDL) shared by every IR, so a newly posted IR is in steady state the moment it
is picked up: for the crossfade block(s) both the old and the new IR's partitions are run over the same FDL
and the two outputs are mixed with a raised-cosine ramp. Posting an IR (`post`) is one reference assignment;
the audio thread (`process`) compares that reference with the one it is playing and never waits on a lock.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass

import numpy as np

from naf_model.errors import AudioError


@dataclass(frozen=True, eq=False)
class IRPartitions:
    """A binaural IR cut into `block_size` pieces and transformed, ready for `PartitionedConvolver`.

    spectra: (P, 2, block_size + 1) complex128, the rfft of each zero-padded piece, stored in reverse
    partition order (index 0 is the IR's tail) so the convolver multiplies it with one contiguous FDL slice.
    n_taps: the IR length in samples.
    """

    spectra: np.ndarray
    block_size: int
    n_taps: int

    @property
    def n_partitions(self) -> int:
        return self.spectra.shape[0]


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
    """Partition and transform a binaural IR (2, N) for a convolver of this `block_size` (any thread).

    This is the expensive half of a swap (one FFT per partition), so it runs in the caller's thread, never
    in the audio callback. Raises AudioError for an empty, non-finite or too long (> `max_taps`) IR.
    """
    arr = check_ir(ir)
    n_taps = arr.shape[1]
    if max_taps is not None and n_taps > max_taps:
        raise AudioError(f"impulse response has {n_taps} samples, more than the engine's limit "
                         f"of {max_taps}; "
                         "shorten it or raise max_ir_seconds; the last good IR is kept")
    n_parts = -(-n_taps // block_size)
    padded = np.zeros((n_parts, 2, 2 * block_size))
    pieces = np.zeros((2, n_parts * block_size))
    pieces[:, :n_taps] = arr
    padded[:, :, :block_size] = pieces.reshape(2, n_parts, block_size).transpose(1, 0, 2)
    spectra = np.fft.rfft(padded, axis=-1)[::-1].copy()
    return IRPartitions(spectra=spectra, block_size=block_size, n_taps=n_taps)


def crossfade_ramp(n: int) -> np.ndarray:
    """Raised-cosine weights (n,) rising from ~0 to ~1: the new IR's share of each crossfade sample.

    Its slope is zero at both ends, so the mix joins both steady states without a kink.
    """
    return 0.5 - 0.5 * np.cos(np.pi * (np.arange(n) + 0.5) / n)


class PartitionedConvolver:
    """Streaming binaural convolution of (block_size, C) input blocks, C = 1 or 2, into (block_size, 2).

    A mono input feeds both ears; a stereo input is convolved channel-wise (left with the left-ear IR,
    right with the right-ear IR). `post` may be called from any thread at any time; `process` must be
    called from one thread only (the audio thread) and allocates nothing larger than one block spectrum.
    """

    def __init__(self, block_size: int, in_channels: int = 2, max_taps: int = 48_000,
                 crossfade_blocks: int = 1) -> None:
        if block_size < 16 or in_channels not in (1, 2) or max_taps < 1 or crossfade_blocks < 1:
            raise ValueError("block_size >= 16, in_channels in (1, 2), max_taps >= 1, crossfade_blocks >= 1")
        self.block_size = block_size
        self.in_channels = in_channels
        self.max_taps = max_taps
        self.crossfade_blocks = crossfade_blocks
        n_bins = block_size + 1
        self._max_parts = -(-max_taps // block_size)
        p = self._max_parts
        # Every input spectrum is written twice, at slot s and s + P, so the last P spectra are always
        # the contiguous slice fdl[s + 1 : s + P + 1] (oldest first), whatever the ring position.
        self._fdl = np.zeros((2 * p, in_channels, n_bins), np.complex128)
        self._slot = 0
        self._time = np.zeros((in_channels, 2 * block_size))  # previous block + current block
        self._spec = np.zeros((in_channels, n_bins), np.complex128)
        self._products = np.zeros((p, 2, n_bins), np.complex128)
        self._acc = np.zeros((2, n_bins), np.complex128)
        self._frame = np.zeros((2, 2 * block_size))
        self._wet_old = np.zeros((block_size, 2))
        self._ramp = crossfade_ramp(block_size * crossfade_blocks).reshape(crossfade_blocks, block_size, 1)
        self._mailbox: IRPartitions | None = None
        self._current: IRPartitions | None = None
        self._fading_from: IRPartitions | None = None
        self._fading = False
        self._fade_step = 0
        # The posting side keeps the last few IRs alive so that their memory is normally freed there,
        # not in the audio thread when it lets go of them.
        self._keepalive: collections.deque[IRPartitions] = collections.deque(maxlen=4)
        self.swaps = 0

    # ---- any thread -------------------------------------------------------------------------------------
    def prepare(self, ir: np.ndarray) -> IRPartitions:
        """`prepare_ir` for this convolver's block size and tap limit."""
        return prepare_ir(ir, self.block_size, self.max_taps)

    def post(self, ir: IRPartitions | np.ndarray) -> IRPartitions:
        """Make `ir` the next IR to play; the newest post wins. Lock-free: one reference assignment."""
        parts = ir if isinstance(ir, IRPartitions) else self.prepare(ir)
        if parts.block_size != self.block_size or parts.n_taps > self.max_taps:
            raise AudioError("impulse response was prepared for another engine; prepare it with this one")
        self._keepalive.append(parts)
        self._mailbox = parts
        return parts

    @property
    def current(self) -> IRPartitions | None:
        """The IR the audio thread is playing (or fading to)."""
        return self._current

    # ---- audio thread -----------------------------------------------------------------------------------
    def process(self, block: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Convolve one input block (block_size, C) into `out` (block_size, 2) and return `out`.

        With no IR posted yet the output is silence. When a newer IR has been posted, this block starts a
        crossfade of `crossfade_blocks` blocks from the old IR's output to the new one's.
        """
        self._push_input(block)
        if not self._fading:
            latest = self._mailbox
            if latest is not self._current:
                self._fading_from = self._current
                self._current = latest
                self._fading = True
                self._fade_step = 0
                self.swaps += 1
        if self._current is None:
            out[:] = 0.0
            return out
        self._filter(self._current, out)
        if self._fading:
            ramp = self._ramp[self._fade_step]
            old = self._fading_from
            if old is None:  # the first IR fades in from silence
                np.multiply(out, ramp, out=out)
            else:
                self._filter(old, self._wet_old)
                # out = old + ramp * (new - old), in place on preallocated buffers
                np.subtract(out, self._wet_old, out=out)
                np.multiply(out, ramp, out=out)
                np.add(out, self._wet_old, out=out)
            self._fade_step += 1
            if self._fade_step >= self.crossfade_blocks:
                self._fading = False
                self._fading_from = None
        return out

    def _push_input(self, block: np.ndarray) -> None:
        b = self.block_size
        t = self._time
        t[:, :b] = t[:, b:]
        t[:, b:] = block.T
        spec = np.fft.rfft(t, axis=-1, out=self._spec)
        p = self._max_parts
        self._slot = (self._slot + 1) % p
        self._fdl[self._slot] = spec
        self._fdl[self._slot + p] = spec

    def _filter(self, parts: IRPartitions, out: np.ndarray) -> None:
        """out (block_size, 2) = the last block of (input * IR), from the FDL."""
        n = parts.n_partitions
        end = self._slot + self._max_parts + 1
        history = self._fdl[end - n : end]  # (n, C, bins), oldest first, matching the reversed spectra
        products = self._products[:n]
        np.multiply(history, parts.spectra, out=products)
        np.sum(products, axis=0, out=self._acc)
        np.fft.irfft(self._acc, n=2 * self.block_size, axis=-1, out=self._frame)
        out[:] = self._frame[:, self.block_size :].T
