"""Energy measures of binaural waveforms: levels, 50 ms window energies and the direct-to-reverberant ratio."""

from __future__ import annotations

import numpy as np

from naf_model.acoustics.decay import first_onset
from naf_model.conventions import SAMPLE_RATE

WINDOW_S = 0.050
"""The window of `window_energies` (and of the listening metrics' envelope)."""
DIRECT_BEFORE_S, DIRECT_AFTER_S = 0.001, 0.0025
"""DRR's direct sound: from this long before the earlier ear's onset to this long after it."""


def ratio_db(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """10 log10(a / b) with both floored at 1e-30 (silence gives a large finite number)."""
    return 10 * np.log10(np.maximum(a, 1e-30) / np.maximum(b, 1e-30))


def level_db(x: np.ndarray) -> np.ndarray:
    """10 log10 of the energy of both ears of (B, 2, N) -> (B,), floored at -300 dB."""
    energy = np.square(np.asarray(x, np.float64)).sum(axis=(-1, -2))
    return 10 * np.log10(np.maximum(energy, 1e-30))


def window_energies(x: np.ndarray, fs: int = SAMPLE_RATE) -> np.ndarray:
    """Energy in consecutive 50 ms windows from time zero, (..., N) -> (..., N // window); a partial last
    window is dropped."""
    w = int(round(WINDOW_S * fs))
    n = x.shape[-1] // w
    return np.square(np.asarray(x, np.float64)[..., : n * w]).reshape(x.shape[:-1] + (n, w)).sum(-1)


def energy_after(x: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Energy (B,) of both ears of (B, 2, N) from sample start (B,) on."""
    idx = np.arange(x.shape[-1])
    return (np.square(np.asarray(x, np.float64)).sum(1) * (idx >= start[:, None])).sum(-1)


def drr(x: np.ndarray, fs: int = SAMPLE_RATE) -> np.ndarray:
    """Direct-to-reverberant ratio (B,) dB of (B, 2, N), both ears: onset - 1 ms .. onset + 2.5 ms vs after."""
    onset = first_onset(x)
    a = np.maximum(onset - int(round(DIRECT_BEFORE_S * fs)), 0)
    b = onset + int(round(DIRECT_AFTER_S * fs))
    power = np.square(np.asarray(x, np.float64)).sum(1)
    idx = np.arange(x.shape[-1])
    direct = (power * ((idx >= a[:, None]) & (idx < b[:, None]))).sum(-1)
    return ratio_db(direct, (power * (idx >= b[:, None])).sum(-1))
