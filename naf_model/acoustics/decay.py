"""Decay measures of waveforms: the direct-sound onset, the Schroeder curve, T60, EDT and C50.

Every function takes waveforms (..., N) at `fs` Hz and measures each one on its own; a failed measurement is
NaN, never an exception.
"""

from __future__ import annotations

import numpy as np
from pyroomacoustics.experimental import measure_rt60

from naf_model.conventions import ONSET_BELOW_PEAK_DB, SAMPLE_RATE

T60_DECAY_DB = 30.0
"""measure_rt60 fits the Schroeder curve from -5 dB over this many dB and extrapolates to -60 dB."""
C50_EARLY_S = 0.050
EDT_RANGE_DB = 10.0
"""EDT regresses the Schroeder curve from 0 dB to -10 dB and scales the slope to 60 dB."""


def rt60(x: np.ndarray, fs: int = SAMPLE_RATE) -> np.ndarray:
    """T60 in seconds of each waveform (..., N) by pyroomacoustics (30 dB fit); NaN where it fails.

    A failure is an exception, a NaN or a non-positive value (e.g. a curve that never falls 5 dB).
    """
    x = np.asarray(x)
    flat = x.reshape(-1, x.shape[-1])
    out = np.full(flat.shape[0], np.nan)
    for i, h in enumerate(flat):  # pyroomacoustics measures one IR at a time
        try:
            with np.errstate(all="ignore"):  # silent or flat IRs: log of zero energy, reported as NaN below
                value = float(measure_rt60(h, fs=fs, decay_db=T60_DECAY_DB))
        except (ValueError, FloatingPointError, np.linalg.LinAlgError, RuntimeError):
            continue
        if np.isfinite(value) and value > 0:
            out[i] = value
    return out.reshape(x.shape[:-1])


def direct_onset(x: np.ndarray) -> np.ndarray:
    """Direct-sound onset index of each waveform (..., N): first sample within 20 dB of the peak power."""
    power = np.square(x)
    threshold = power.max(axis=-1, keepdims=True) * 10 ** (-ONSET_BELOW_PEAK_DB / 10)
    return np.argmax(power >= threshold, axis=-1)


def first_onset(x: np.ndarray) -> np.ndarray:
    """Onset sample (B,) of binaural waveforms (B, 2, N): the earlier ear's `direct_onset`."""
    return direct_onset(x).min(axis=-1)


def c50(x: np.ndarray, fs: int = SAMPLE_RATE) -> np.ndarray:
    """Clarity C50 in dB of each waveform (..., N): energy in the 50 ms after the onset over the energy after.

    Both energies get a floor of 1e-12 of the total so silent tails give a large finite value, not inf.
    """
    power = np.square(np.asarray(x, np.float64))
    cum = np.concatenate([np.zeros(power.shape[:-1] + (1,)), np.cumsum(power, axis=-1)], axis=-1)
    onset = direct_onset(x)
    n = power.shape[-1]
    split = np.minimum(onset + int(round(C50_EARLY_S * fs)), n)
    total = cum[..., -1]
    early = take_last(cum, split) - take_last(cum, onset)
    late = total - take_last(cum, split)
    tiny = 1e-12 * np.maximum(total, 1e-300)
    return 10 * np.log10((early + tiny) / (late + tiny))


def take_last(values: np.ndarray, index: np.ndarray) -> np.ndarray:
    """values[..., index[...]] along the last axis, (..., N) and (...) -> (...)."""
    return np.take_along_axis(values, index[..., None], axis=-1)[..., 0]


def schroeder_db(x: np.ndarray) -> np.ndarray:
    """Schroeder backward-integrated energy in dB re its start, (..., N) -> (..., N); -inf after the end."""
    power = np.square(np.asarray(x, np.float64))
    energy = np.cumsum(power[..., ::-1], axis=-1)[..., ::-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        return 10 * np.log10(energy / np.maximum(energy[..., :1], 1e-300))


def edt(x: np.ndarray, fs: int = SAMPLE_RATE) -> np.ndarray:
    """Early decay time in seconds of each waveform (..., N); NaN where fewer than two points fit.

    Least-squares line through the Schroeder curve (re its value at the direct-sound onset) from 0 to
    -10 dB, after the onset, extrapolated to 60 dB of decay.
    """
    x = np.asarray(x, np.float64)
    curve = schroeder_db(x)
    onset = direct_onset(x)
    with np.errstate(invalid="ignore"):
        curve = curve - take_last(curve, onset)[..., None]
    idx = np.arange(x.shape[-1])
    mask = (idx >= onset[..., None]) & (curve >= -EDT_RANGE_DB)
    t = idx / fs
    count = mask.sum(axis=-1)
    y = np.where(mask, curve, 0.0)
    sum_t = (mask * t).sum(axis=-1)
    sum_y = y.sum(axis=-1)
    sum_tt = (mask * t * t).sum(axis=-1)
    sum_ty = (y * t).sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = (count * sum_ty - sum_t * sum_y) / (count * sum_tt - sum_t**2)  # dB per second
        value = -60.0 / slope
    return np.where((count >= 2) & np.isfinite(value) & (value > 0), value, np.nan)
