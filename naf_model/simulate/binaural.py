"""Spherical-head rendering of image-source arrivals for the four training head orientations.

Each arrival reaches an ear with a per-ear delay (Woodworth / Brown & Duda: -a/c cos(psi) on the lit side,
a/c (psi - pi/2) around the head) and a one-pole/one-zero head-shadow filter (Brown & Duda 1998,
alpha_min = 0.1 at theta_min = 150 deg), psi being the angle between the ear's outward axis and the arrival
direction. Octave-band amplitudes are interpolated over log-frequency (`bands.band_interpolation`). The whole
sum is built in the frequency domain, vectorised over arrivals, orientations and ears.
"""

from __future__ import annotations

import numpy as np

from naf_model.conventions import ORIENTATIONS_DEG, SAMPLE_RATE, SPEED_OF_SOUND
from naf_model.simulate.bands import band_interpolation, interpolate_log
from naf_model.simulate.room import Arrivals

ALPHA_MIN = 0.1
THETA_MIN = np.deg2rad(150.0)
GUARD = 256
"""Samples of margin kept around the arrivals so the band shaping and shadow filter do not wrap around."""


def ear_axes(orientations_deg: tuple[float, ...] = ORIENTATIONS_DEG) -> np.ndarray:
    """Unit vectors out of each ear, (O, 2, 3): left ear at heading + 90 deg, right ear at heading - 90."""
    heading = np.deg2rad(np.asarray(orientations_deg, dtype=np.float64))
    side = np.stack([heading + np.pi / 2, heading - np.pi / 2], axis=1)  # (O, 2)
    return np.stack([np.cos(side), np.sin(side), np.zeros_like(side)], axis=-1)


def ear_delay(psi: np.ndarray, head_radius: float) -> np.ndarray:
    """Per-ear delay (s, relative to the head centre) for incidence angle psi (rad) from the ear's axis."""
    lit = -np.cos(psi)
    around = psi - np.pi / 2
    return head_radius / SPEED_OF_SOUND * np.where(psi < np.pi / 2, lit, around)


def shadow_alpha(psi: np.ndarray) -> np.ndarray:
    """Brown & Duda's high-frequency gain alpha(psi): 2 facing the ear, ALPHA_MIN at 150 deg, 1 at 90 deg."""
    return (1 + ALPHA_MIN / 2) + (1 - ALPHA_MIN / 2) * np.cos(np.minimum(psi, np.pi) / THETA_MIN * np.pi)


def delay_phasors(times: np.ndarray, n_fft: int) -> np.ndarray:
    """exp(-j 2 pi f t) on the rfft grid of n_fft points for delays t (s): (..., n_fft // 2 + 1) complex.

    Successive bins differ by a constant factor, so a cumulative product replaces one complex exponential per
    bin (about 6x faster; the drift over a few thousand bins stays below 1e-9 in complex128).
    """
    step = np.exp(-2j * np.pi * times * (SAMPLE_RATE / n_fft))[..., None]
    steps = np.broadcast_to(step, times.shape + (n_fft // 2,))
    return np.concatenate([np.ones(times.shape + (1,), dtype=complex), np.cumprod(steps, axis=-1)], axis=-1)


def render_arrivals(arrivals: Arrivals, n_samples: int, head_radius: float) -> np.ndarray:
    """Binaural early IR of one listener, (4, 2, n_samples) float64 at 22,050 Hz, time zero = emission.

    Arrivals later than the IR are left out; a listener without arrivals gets zeros (its sound is all in the
    ray-traced part).
    """
    out = np.zeros((len(ORIENTATIONS_DEG), 2, n_samples))
    keep = arrivals.delays * SAMPLE_RATE < n_samples - 1
    if not np.any(keep):
        return out
    delays = arrivals.delays[keep]
    directions = arrivals.directions[keep]
    amplitudes = arrivals.amplitudes[keep]

    cos_psi = np.einsum("kd,oed->koe", directions, ear_axes())  # (K, 4, 2)
    psi = np.arccos(np.clip(cos_psi, -1.0, 1.0))
    # (K, 4, 2) seconds; clipped at 0 for an emitter within a head radius of the listener
    times = np.maximum(delays[:, None, None] + ear_delay(psi, head_radius), 0.0)
    alpha = shadow_alpha(psi)

    span = int(np.ceil(times.max() * SAMPLE_RATE)) + 2 * GUARD
    n_fft = 1 << int(np.ceil(np.log2(span)))
    freqs = np.fft.rfftfreq(n_fft, 1.0 / SAMPLE_RATE)
    omega = 2 * np.pi * freqs
    r = omega * head_radius / (2 * SPEED_OF_SOUND)  # omega / (2 omega_0), omega_0 = c / a
    flat_part = 1.0 / (1.0 + 1j * r)  # shadow filter = flat_part + alpha * lifted_part
    lifted_part = 1j * r / (1.0 + 1j * r)

    gains = interpolate_log(amplitudes, band_interpolation(freqs))  # (K, F)
    weighted = delay_phasors(times, n_fft) * gains[:, None, None, :]  # (K, 4, 2, F)
    plain = weighted.sum(axis=0)
    shaded = np.einsum("koef,koe->oef", weighted, alpha)
    spectrum = flat_part * plain + lifted_part * shaded  # (4, 2, F)
    ir = np.fft.irfft(spectrum, n=n_fft, axis=-1)
    n_keep = min(n_samples, n_fft - GUARD)
    out[..., :n_keep] = ir[..., :n_keep]
    return out
