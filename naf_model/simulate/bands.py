"""The seven octave bands (125 Hz-8 kHz) of materials, pyroomacoustics' dampings and ray-traced energies.

Band values become values at any frequency by interpolating their logarithms linearly over log-frequency
between band centres (flat beyond the outer centres): reflection factors multiply, so their logs, like the
decay rates of the late tail, vary smoothly across the spectrum. The image-source and ray-traced parts use
the same rule, so they agree at every frequency and the spectrum has no steps at band edges.
"""

from __future__ import annotations

import numpy as np

N_BANDS = 7
BAND_CENTRES_HZ = 125.0 * 2.0 ** np.arange(N_BANDS)
SUBBANDS_PER_OCTAVE = 4
"""Resolution of the tail's band split: its decay is interpolated between octave bands at this spacing."""
TINY = 1e-30


def _octaves(freqs: np.ndarray) -> np.ndarray:
    """Octaves above 125 Hz, clipped to the band centres' range [0, 6]."""
    return np.log2(
        np.clip(np.asarray(freqs, dtype=np.float64), BAND_CENTRES_HZ[0], BAND_CENTRES_HZ[-1]) / 125.0
    )


def triangles(x: np.ndarray, step: float, count: int) -> np.ndarray:
    """Hat functions (len(x), count) of width `step` centred at 0, step, ...; each row sums to 1 on [0, 6]."""
    return np.maximum(0.0, 1.0 - np.abs(x[:, None] / step - np.arange(count)[None, :]))


def band_interpolation(freqs: np.ndarray) -> np.ndarray:
    """Weights (F, 7), rows summing to 1, for interpolating octave-band values at `freqs` (Hz)."""
    return triangles(_octaves(freqs), 1.0, N_BANDS)


def interpolate_log(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Band values (..., 7) > 0 -> (..., F) at the frequencies of `weights` (F, 7), log-interpolated."""
    return np.exp(np.log(np.maximum(values, TINY)) @ weights.T)


def subband_centres() -> np.ndarray:
    """Centre frequencies (S,) Hz of the tail's sub-bands, SUBBANDS_PER_OCTAVE per octave, 125 Hz to 8 kHz."""
    return 125.0 * 2.0 ** (np.arange(6 * SUBBANDS_PER_OCTAVE + 1) / SUBBANDS_PER_OCTAVE)


def subband_filters(freqs: np.ndarray) -> np.ndarray:
    """Zero-phase sub-band responses (S, F) at `freqs` (Hz); they sum to 1 at every frequency."""
    return triangles(_octaves(freqs), 1.0 / SUBBANDS_PER_OCTAVE, len(subband_centres())).T.copy()
