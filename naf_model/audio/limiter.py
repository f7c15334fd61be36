"""The soft limiter at the end of the chain: loud passages are turned down smoothly, never clipped.

Per block (the whole block is known before it is played, so no look-ahead delay is needed) the gain
follows the block peak: it drops at once to what brings the peak to `threshold` and recovers with a
`release_s` time constant, and within a block it is ramped linearly so it never steps. A soft knee after
it maps anything still above `threshold` into (threshold, CEILING), so output never reaches full scale.
"""

from __future__ import annotations

import math

import numpy as np

CEILING = 0.999
"""No output sample reaches this (about -0.01 dBFS), so nothing clips even after rounding to 16 bits."""


def soft_clip(x: np.ndarray, threshold: float = 0.9, out: np.ndarray | None = None) -> np.ndarray:
    """Identity below `threshold`; above it a smooth knee, slope 1 at the threshold, that approaches CEILING.

    The knee is threshold + h * u / (1 + u) with h = CEILING - threshold and u the excess over the threshold
    in units of h: unlike tanh it never rounds to the ceiling, however loud the input.
    """
    if out is None:
        out = np.array(x, dtype=np.float64)
    elif out is not x:
        np.copyto(out, x)
    head = CEILING - threshold
    over = np.abs(out) > threshold
    if np.any(over):
        v = out[over]
        u = (np.abs(v) - threshold) / head
        out[over] = np.sign(v) * (threshold + head * u / (1.0 + u))
    return out


class SoftLimiter:
    """Streaming peak limiter for (block, C) float blocks, processed in place. Not thread-safe."""

    def __init__(self, sample_rate: float, block_size: int, threshold: float = 0.9,
                 release_s: float = 0.25) -> None:
        self.threshold = threshold
        self._release = math.exp(-block_size / (release_s * sample_rate))  # per block
        self._ramp = ((np.arange(block_size) + 1.0) / block_size).reshape(-1, 1)
        self._gains = np.empty((block_size, 1))
        self.gain = 1.0

    def process(self, block: np.ndarray) -> np.ndarray:
        """Limit `block` (block_size, C) in place and return it."""
        peak = float(np.max(np.abs(block))) if block.size else 0.0
        if not math.isfinite(peak):
            block[:] = 0.0  # a non-finite sample must never reach the speaker
            return block
        wanted = self.threshold / peak if peak > self.threshold else 1.0
        start = self.gain
        end = wanted if wanted < start else wanted + (start - wanted) * self._release
        end = min(end, 1.0)
        if start != 1.0 or end != 1.0:
            np.multiply(self._ramp, end - start, out=self._gains)
            self._gains += start
            np.multiply(block, self._gains, out=block)
        self.gain = end
        soft_clip(block, self.threshold, out=block)
        return block
