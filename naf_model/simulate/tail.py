"""Diffuse late tail from the ray tracer's octave-band energy histograms, one decorrelated noise per ear.

Built like pyroomacoustics' hybrid RIR (`simulation/rt.py::compute_rt_rir`): a Poisson train of +-1
impulses whose density grows as 4 pi c^3 t^2 / V (capped), normalised to unit energy per histogram bin,
band-split, each band weighted by the square root of its histogram energy (interpolated between bin
centres) and by air absorption exp(-0.5 m_b c t). Histogram energies are on the image sources' scale
(amplitude 1 at 1 m), so early and late parts add up consistently; each bin's energy is reproduced exactly
(pyroomacoustics' own version runs ~0.9 dB hot: impulses landing on one sample add up in its output but
count once in its power estimate). Instead of pyroomacoustics' seven
near-brick-wall bands, the split uses quarter-octave sub-bands whose envelopes interpolate the octave
envelopes geometrically (`bands.interpolate_log`): decay rates then change smoothly across the spectrum and
each octave's centre decays exactly as its histogram says.
The ears share a common component per sub-band with the diffuse-field coherence max(0, sinc(2 a k)) of two
points 2 a apart, so they are coherent at low frequencies and independent above about 1 kHz.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from naf_model.conventions import SAMPLE_RATE, SPEED_OF_SOUND
from naf_model.simulate.bands import band_interpolation, interpolate_log, subband_centres, subband_filters

MAX_ECHO_RATE = 10_000.0
"""Impulses per second at which the train's density stops growing (pyroomacoustics' default)."""
MARGIN = 2048
"""Samples of zero padding so the zero-phase band filters do not wrap the tail's end onto its start."""
SMOOTHING_KERNEL = np.array([1.0, 2.0, 3.0, 2.0, 1.0]) / 9.0
"""Triangular smoothing of the histograms over 5 bins (20 ms): a few large specular ray hits otherwise make
the envelope of poorly reached (occluded) listeners jump by 5-10 dB from one 4 ms bin to the next."""


@lru_cache(maxsize=8)
def subband_responses(n_fft: int) -> np.ndarray:
    """Zero-phase sub-band filters (S, n_fft // 2 + 1) on the rfft grid; they sum to 1 at every frequency."""
    return subband_filters(np.fft.rfftfreq(n_fft, 1.0 / SAMPLE_RATE))


def echo_times(t0: float, t_end: float, volume: float, rng: np.random.Generator) -> np.ndarray:
    """Times (s) of a Poisson process on [t0, t_end), rate min(4 pi c^3 t^2 / V, MAX_ECHO_RATE), and t0."""
    k = 4 * np.pi * SPEED_OF_SOUND**3 / volume
    t_sat = np.sqrt(MAX_ECHO_RATE / k)
    y_sat = k * t_sat**3 / 3

    def cumulative(t: float) -> float:
        return k * min(t, t_sat) ** 3 / 3 + MAX_ECHO_RATE * max(0.0, t - t_sat)

    start, total = cumulative(t0), cumulative(t_end) - cumulative(t0)
    n_draw = int(total + 6 * np.sqrt(total) + 16)
    y = start + np.cumsum(rng.exponential(size=n_draw))
    y = y[y < start + total]
    times = np.where(y <= y_sat, np.cbrt(3 * y / k), t_sat + (y - y_sat) / MAX_ECHO_RATE)
    return np.concatenate([[t0], times])


def unit_energy_train(
    t0: float, n_samples: int, bin_samples: int, volume: float, rng: np.random.Generator
) -> np.ndarray:
    """A +-1 impulse train (n_samples,) scaled to unit energy per histogram bin (2-bin moving average)."""
    times = echo_times(t0, n_samples / SAMPLE_RATE, volume, rng)
    index = np.minimum((times * SAMPLE_RATE).astype(np.int64), n_samples - 1)
    signs = rng.choice(np.array([-1.0, 1.0]), size=index.shape[0])
    train = np.bincount(index, weights=signs, minlength=n_samples)
    window = 2 * bin_samples
    padded = np.concatenate([np.zeros(window // 2 + 1), train**2, np.zeros(window)])
    csum = np.cumsum(padded)
    power = (csum[window + 1 : window + 1 + n_samples] - csum[1 : 1 + n_samples]) / 2
    scale = np.where(power > 1e-10, 1.0 / np.sqrt(np.where(power > 1e-10, power, 1.0)), 0.0)
    return train * scale


def smooth_histogram(histogram: np.ndarray) -> np.ndarray:
    """Histogram (7, B) smoothed in time with SMOOTHING_KERNEL, keeping each band's total energy and nothing
    before the first bin any ray reached (smoothing never moves sound earlier than the rays found it)."""
    reached = np.flatnonzero(histogram.sum(axis=0) > 0)
    if len(reached) == 0:
        return histogram
    pad = len(SMOOTHING_KERNEL) // 2
    ends = np.zeros((len(histogram), pad)), histogram[:, -1:].repeat(pad, axis=1)  # silence, then hold
    padded = np.concatenate([ends[0], histogram, ends[1]], axis=1)
    smooth = sum(w * padded[:, k : k + histogram.shape[1]] for k, w in enumerate(SMOOTHING_KERNEL))
    smooth[:, : reached[0]] = 0.0
    total, kept = histogram.sum(axis=1, keepdims=True), smooth.sum(axis=1, keepdims=True)
    return smooth * np.where(kept > 0, total / np.where(kept > 0, kept, 1.0), 0.0)


def band_envelopes(histogram: np.ndarray, bin_samples: int, n_samples: int) -> np.ndarray:
    """Square root of the band energies (7, B) interpolated linearly between bin centres, (7, n_samples)."""
    centres = (np.arange(histogram.shape[1]) + 0.5) * bin_samples
    t = np.arange(n_samples)
    return np.sqrt(np.maximum(np.stack([np.interp(t, centres, h) for h in histogram]), 0.0))


def render_tail(
    histogram: np.ndarray,
    bin_seconds: float,
    t0: float,
    volume: float,
    air_absorption: np.ndarray,
    n_samples: int,
    head_radius: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Late part for the two ears, (2, n_samples) float64, from one listener's histogram (7, B) of energies.

    t0: seconds, where the impulse train starts (the line-of-sight delay); volume: m^3; air_absorption: (7,)
    energy absorption per metre.
    """
    if not np.any(histogram > 0):
        return np.zeros((2, n_samples))
    bin_samples = int(round(bin_seconds * SAMPLE_RATE))
    trains = np.stack([unit_energy_train(t0, n_samples, bin_samples, volume, rng) for _ in range(3)])
    n_fft = 1 << int(np.ceil(np.log2(n_samples + MARGIN)))
    common, left, right = np.fft.rfft(trains, n=n_fft, axis=-1)
    centres = subband_centres()
    coherence = np.maximum(0.0, np.sinc(2 * centres * 2 * head_radius / SPEED_OF_SOUND))[:, None]
    ears = np.stack([left, right])[:, None, :]  # (2, 1, F)
    mixed = np.sqrt(coherence) * common[None, None] + np.sqrt(1 - coherence) * ears  # (2, S, F)
    subbands = np.fft.irfft(subband_responses(n_fft)[None] * mixed, n=n_fft, axis=-1)[..., :n_samples]

    time = np.arange(n_samples) / SAMPLE_RATE
    octave_env = band_envelopes(smooth_histogram(histogram), bin_samples, n_samples)  # (7, n)
    octave_env *= np.exp(-0.5 * air_absorption[:, None] * SPEED_OF_SOUND * time[None, :])
    envelopes = interpolate_log(octave_env.T, band_interpolation(centres)).T  # (S, n)
    envelopes[:, : int(np.ceil(t0 * SAMPLE_RATE))] = 0.0  # interpolation must not lead the direct sound
    return np.einsum("esn,sn->en", subbands, envelopes)
