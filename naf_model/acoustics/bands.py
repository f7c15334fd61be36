"""Octave bands of naf's measures: `octave_band` (band readouts and metric maps) through the smooth bands of
`naf_model.audio.bands`, and the plain mask of the ILD's band energies (`octave_mask`: whole-IR energies of two
ears, where a band's ringing does not matter)."""

from __future__ import annotations

import numpy as np

from naf_model.audio.bands import OCTAVE_CENTRES_HZ, band_filter, band_weights
from naf_model.conventions import SAMPLE_RATE


def octave_mask(freqs: np.ndarray, fc: float) -> np.ndarray:
    """The octave band of centre `fc` Hz over `freqs` (F,) Hz: True on [fc / sqrt 2, fc * sqrt 2) (the ILD's)."""
    return (freqs >= fc / np.sqrt(2)) & (freqs < fc * np.sqrt(2))


def octave_band(x: np.ndarray, fc: float, fs: int = SAMPLE_RATE) -> np.ndarray:
    """Waveforms (..., N) float64 restricted to the octave band of centre `fc` (one of OCTAVE_CENTRES_HZ): its
    smooth band of `audio.bands.band_weights`, falling off beyond 125 Hz and 8 kHz too (zero-phase, by a padded
    FFT, so the IR's loud start does not wrap onto its tail)."""
    if fc not in OCTAVE_CENTRES_HZ:
        raise ValueError(f"no octave band at {fc} Hz; use one of {OCTAVE_CENTRES_HZ}")
    band = OCTAVE_CENTRES_HZ.index(fc)
    return band_filter(x, lambda f: band_weights(f, open_ends=False)[band : band + 1], fs)[..., 0, :]
