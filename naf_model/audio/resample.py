"""Sample-rate conversion (soxr, high quality) for music streams and impulse responses."""

from __future__ import annotations

import numpy as np
import soxr


def resample(x: np.ndarray, from_rate: float, to_rate: float, axis: int = 0) -> np.ndarray:
    """Band-limited resampling of `x` along `axis` (time) from `from_rate` to `to_rate` Hz, float64.

    Samples keep their values (interpolation), so this suits signals such as music. Output length is
    round(n * to_rate / from_rate).
    """
    arr = np.asarray(x, dtype=np.float64)
    if from_rate == to_rate or arr.shape[axis] == 0:
        return arr.copy()
    moved = np.moveaxis(arr, axis, 0)
    flat = moved.reshape(moved.shape[0], -1)
    out = soxr.resample(np.ascontiguousarray(flat), float(from_rate), float(to_rate), quality="HQ")
    out = out.reshape((out.shape[0],) + moved.shape[1:])
    return np.moveaxis(out, 0, axis)


def resample_ir(ir: np.ndarray, from_rate: float, to_rate: float) -> np.ndarray:
    """An impulse response (..., N) at `from_rate` as the same filter at `to_rate`: (..., N') float64.

    Besides interpolating, the taps are scaled by from_rate / to_rate: a discrete convolution sums
    to_rate / from_rate times more taps, so without it every frequency would gain that factor.
    """
    return resample(ir, from_rate, to_rate, axis=-1) * (from_rate / to_rate)
