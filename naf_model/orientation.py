"""The one rule for headings between the trained orientations (0, 90, 180, 270 degrees): blend the two
neighbouring orientations linearly in angle, wrapping at 360. The field blends its network's outputs by it,
the simulator's IR source blends waveforms by it."""

from __future__ import annotations

import numpy as np

from naf_model.conventions import ORIENTATIONS_DEG


def neighbouring_orientations(headings: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Headings (B,) degrees -> lower and upper orientation indices (B,) int64 and the upper one's weight
    (B,) in [0, 1): a heading's value is (1 - weight) x lower's + weight x upper's."""
    step = 360.0 / len(ORIENTATIONS_DEG)
    h = np.mod(np.asarray(headings, np.float64), 360.0) / step
    lower = np.floor(h).astype(np.int64) % len(ORIENTATIONS_DEG)
    weight = h - np.floor(h)
    return lower, (lower + 1) % len(ORIENTATIONS_DEG), weight


def blend_orientations(per_orientation: np.ndarray, headings: np.ndarray) -> np.ndarray:
    """Values at arbitrary headings from values at the 4 training orientations: (B, 4, ...), (B,) -> (B, ...)
    float32 (e.g. binaural IRs (B, 4, 2, N) -> (B, 2, N))."""
    lower, upper, weight = neighbouring_orientations(headings)
    rows = np.arange(len(lower))
    w = weight.reshape((-1,) + (1,) * (per_orientation.ndim - 2))
    return ((1.0 - w) * per_orientation[rows, lower] + w * per_orientation[rows, upper]).astype(np.float32)
