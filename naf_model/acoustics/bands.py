"""Octave bands: the one band rule of naf's measures (ILD per band, band readouts and metric maps)."""

from __future__ import annotations

import numpy as np

from naf_model.conventions import SAMPLE_RATE


def octave_mask(freqs: np.ndarray, fc: float) -> np.ndarray:
    """The octave band of centre `fc` Hz over `freqs` (F,) Hz: True on [fc / sqrt 2, fc * sqrt 2)."""
    return (freqs >= fc / np.sqrt(2)) & (freqs < fc * np.sqrt(2))


def octave_band(x: np.ndarray, fc: float, fs: int = SAMPLE_RATE) -> np.ndarray:
    """Waveforms (..., N) float64 restricted to the octave band `octave_mask(fc)` (zero-phase, by FFT: bins
    outside the band set to zero; `interaural.band_ild`'s band energies are these waveforms' energies, up to
    one factor)."""
    x = np.asarray(x, np.float64)
    spectrum = np.fft.rfft(x, axis=-1)
    spectrum *= octave_mask(np.fft.rfftfreq(x.shape[-1], 1.0 / fs), fc)
    return np.fft.irfft(spectrum, x.shape[-1], axis=-1)
