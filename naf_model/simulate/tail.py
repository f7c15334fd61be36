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
SMOOTHING_BINS = 2
"""Half-width (bins) of the histogram smoothing at the start of the tail (5 bins, 20 ms)."""
SMOOTHING_GROWTH = 0.1
"""The smoothing half-width grows to this fraction of the time since the first ray hit (40 ms at 0.4 s).

Late bins are caught by few rays (3,000 rays, 0.5 m receiver: often 0-3 hits per 4 ms bin after 0.3 s), so
one hit stands 5-15 dB above the decay in a fixed 20 ms smoothing and the tail gets an isolated late bump
that a field then learns and spreads to neighbouring positions. Averaging over a window that grows with
time keeps the early detail and gives late bins enough hits; the averaging is done relative to each band's
own exponential decay (fitted on the histogram), so it does not bias the decay (a plain average of an
exponential over +-40 ms at T60 0.5 s would read ~0.9 dB high)."""


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
    """Histogram (7, B) of energies averaged over a window of half-width max(SMOOTHING_BINS, SMOOTHING_GROWTH
    x bins since the first hit), relative to each band's fitted exponential decay, keeping each band's total
    energy and nothing before the first bin any ray reached (smoothing never moves sound earlier)."""
    reached = np.flatnonzero(histogram.sum(axis=0) > 0)
    if len(reached) == 0:
        return histogram
    first, n_bins = reached[0], histogram.shape[1]
    bins = np.arange(n_bins, dtype=np.float64)
    decay = np.array([_decay_per_bin(h, first) for h in histogram])[:, None]  # (7, 1) ln energy per bin
    flat = histogram * np.exp(-decay * (bins - first))  # the decay taken out: a flat, noisy level
    half = np.maximum(SMOOTHING_BINS, np.round(SMOOTHING_GROWTH * (bins - first))).astype(np.int64)
    lo, hi = np.maximum(bins.astype(np.int64) - half, first), bins.astype(np.int64) + half + 1
    held = np.concatenate([flat, flat[:, -1:].repeat(int(half.max()) + 1, axis=1)], axis=1)  # hold the end
    csum = np.concatenate([np.zeros((len(histogram), 1)), np.cumsum(held, axis=1)], axis=1)
    lo = np.minimum(lo, hi)  # bins before the first hit: an empty window, zeroed below
    smooth = (csum[:, hi] - csum[:, lo]) / np.maximum(hi - lo, 1) * np.exp(decay * (bins - first))
    smooth[:, :first] = 0.0
    total, kept = histogram.sum(axis=1, keepdims=True), smooth.sum(axis=1, keepdims=True)
    return smooth * np.where(kept > 0, total / np.where(kept > 0, kept, 1.0), 0.0)


def _decay_per_bin(h: np.ndarray, first: int) -> float:
    """Least-squares slope (ln energy per bin, <= 0) of a band's non-empty bins from `first` on; 0 if fewer
    than 3."""
    idx = np.flatnonzero(h[first:] > 0)
    if len(idx) < 3:
        return 0.0
    slope = np.polyfit(idx.astype(np.float64), np.log(h[first:][idx]), 1)[0]
    return float(min(slope, 0.0))


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
