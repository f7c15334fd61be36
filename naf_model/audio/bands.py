"""Octave band filters (numpy only): smooth, power-complementary bands 125 Hz-8 kHz, zero-phase by a padded FFT.

The one band rule of naf: the late part's envelopes and synthesis (`audio.late`) and the band measures
(`acoustics.bands.octave_band`: band readouts and metric maps) filter through these bands. A brick-wall band
rings for the whole IR and spreads the onset's energy over the tail (a 1 kHz band of a 1 s decay levels off at
about -27 dB), so a band T60 measured through one reads far too long (a 5 x 4 x 3 m plaster room simulated for
4 s, 2 kHz: 11.5 s through a brick-wall band, 2.3 s through this one, Eyring 2.25 s). Narrow flanks keep
neighbouring bands' decays apart.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

OCTAVE_CENTRES_HZ = (125, 250, 500, 1000, 2000, 4000, 8000)
SPLIT_MARGIN = 4096
"""Samples of zero padding of the band filters (0.19 s at 22,050 Hz): far more than the bands ring (the
narrowest flank, the 125 Hz band's upper one, is 61 Hz wide: tens of ms), so a filtered IR's loud start does not
wrap onto its end."""


def band_weights(freqs: np.ndarray, per_octave: int = 1, open_ends: bool = True) -> np.ndarray:
    """(7, F) zero-phase band responses over `freqs` (F,) Hz, power complementary (their squares sum to 1):
    each band is flat to a quarter octave from its centre; across each octave-band edge fc * sqrt 2 the lower
    band falls as cos and the upper rises as sin of a quarter turn over half an octave in log-frequency (half
    power at the edge). With `open_ends` the outer bands stay at 1 below 125 Hz and above 8 kHz, so the bands
    share out the whole spectrum; without, they fall off beyond their outer edges like the others. With
    `per_octave` k: (6 k + 1, F) bands of the same form k to an octave (the late synthesis' sub-bands)."""
    f = np.maximum(np.asarray(freqs, np.float64), 1e-9)
    if open_ends:
        f = np.clip(f, OCTAVE_CENTRES_HZ[0], OCTAVE_CENTRES_HZ[-1])
    octaves = np.log2(f / OCTAVE_CENTRES_HZ[0])
    centres = np.arange(6 * per_octave + 1)
    distance = np.abs(octaves[None, :] * per_octave - centres[:, None])  # in band spacings from each centre
    flank = np.clip((distance - 0.25) / 0.5, 0.0, 1.0)
    return np.cos(0.5 * np.pi * flank)


def band_filter(x: np.ndarray, weights_of: Callable[[np.ndarray], np.ndarray], fs: int) -> np.ndarray:
    """x (..., N) through zero-phase responses `weights_of(freqs)` (B, F), by a padded FFT: (..., B, N)."""
    x = np.asarray(x, np.float64)
    n = x.shape[-1]
    n_fft = 1 << int(np.ceil(np.log2(n + SPLIT_MARGIN)))
    spectrum = np.fft.rfft(x, n_fft, axis=-1)[..., None, :]
    return np.fft.irfft(spectrum * weights_of(np.fft.rfftfreq(n_fft, 1.0 / fs)), n_fft, axis=-1)[..., :n]


def band_split(x: np.ndarray, fs: int) -> np.ndarray:
    """Waveforms (..., N) filtered by the 7 `band_weights` (zero-phase, by FFT), (..., 7, N); the bands'
    energies add up to the input's for a smooth spectrum."""
    return band_filter(x, band_weights, fs)
