"""Given late parts for the late-part tests: band-shaped noise with a known decay per band, and the ears'
coherence per band."""

from __future__ import annotations

import numpy as np

from naf_model.audio.late import band_weights, diffuse_coherence

FS = 22_050
T60 = np.array([2.0, 1.8, 1.5, 1.2, 1.0, 0.8, 0.6])
"""A given decay per band (125 Hz-8 kHz), slower at low frequencies as in a room."""
LEVEL_DB = np.array([0.0, -2.0, -3.0, -5.0, -8.0, -10.0, -14.0])


def given_ir(seed: int, seconds: float = 2.2, t60: np.ndarray = T60, level_db: np.ndarray = LEVEL_DB) -> np.ndarray:
    """A binaural IR (2, N) of independent noises per ear and quarter-octave sub-band, whose level and T60
    vary smoothly across the spectrum through `level_db` and `t60` (s) at the octave centres (log-interpolated,
    as the simulator's tail does), each sub-band decaying exponentially."""
    n = int(seconds * FS)
    t = np.arange(n) / FS
    rng = np.random.default_rng(seed)
    spectra = np.fft.rfft(rng.standard_normal((2, 25, n)), axis=-1)
    noises = np.fft.irfft(spectra * band_weights(np.fft.rfftfreq(n, 1.0 / FS), 4), n, axis=-1)  # (2, 25, n)
    octave = np.arange(25) / 4
    level = np.interp(octave, np.arange(7), level_db)
    t60_sub = np.exp(np.interp(octave, np.arange(7), np.log(t60)))
    gains = 10 ** (level[:, None] / 20) * 10 ** (-3 * t[None] / t60_sub[:, None])
    return (noises * gains).sum(axis=1)


def band_coherence(x: np.ndarray, band: int) -> tuple[float, float]:
    """(measured, target): the ears' coherence in one band of (2, N), weighted by the band's power response,
    and `diffuse_coherence` averaged with the same weights."""
    spectra = np.fft.rfft(x, axis=-1)
    freqs = np.fft.rfftfreq(x.shape[-1], 1.0 / FS)
    w = band_weights(freqs)[band] ** 2
    left, right = spectra
    cross = np.real((w * left * np.conj(right)).sum())
    measured = cross / np.sqrt((w * np.abs(left) ** 2).sum() * (w * np.abs(right) ** 2).sum())
    return float(measured), float((w * diffuse_coherence(freqs)).sum() / w.sum())
