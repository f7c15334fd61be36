"""Shared by the simulation and obstacle tests: what they measure in simulated binaural IRs."""

from __future__ import annotations

import numpy as np
from pyroomacoustics.experimental import measure_rt60
from scipy.signal import butter, sosfiltfilt

from naf_model.conventions import SAMPLE_RATE

FS = SAMPLE_RATE


def energy(x: np.ndarray, t0: float, t1: float) -> float:
    """Energy of x (..., N) between t0 and t1 seconds, summed over leading axes."""
    return float(np.sum(np.asarray(x, dtype=np.float64)[..., max(0, round(t0 * FS)) : round(t1 * FS)] ** 2))


def band_t60s(irs: np.ndarray, band_hz: float) -> list[float]:
    """T60 in seconds (from a 30 dB decay) of orientation 0 in the 1/3-octave band around `band_hz`, for every
    listener and ear of `irs` (L, 4, 2, N): the band where the simulation uses exactly that octave's
    absorption (a full-octave filter also picks up the neighbouring bands' decays)."""
    k = 2 ** (1 / 6)
    sos = butter(4, [band_hz / k, band_hz * k], btype="band", fs=FS, output="sos")
    return [
        measure_rt60(sosfiltfilt(sos, irs[i, 0, ear].astype(np.float64)), fs=FS, decay_db=30)
        for i in range(len(irs))
        for ear in range(2)
    ]
