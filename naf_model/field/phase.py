"""Turn predicted log-magnitude spectrograms into binaural IR waveforms (phase reconstruction).

`random`: magnitudes with the fixed random phase (`spectrogram.random_phase`, the rule the metrics use) - the
paper's choice for metrics (T60 and friends), deterministic and the same for every query.
`geometric`: a listening-quality waveform from what the field knows besides magnitudes: the direct sound
reaches each ear at a time given by the emitter-listener distance and a Woodworth spherical-head ITD, so
frames holding it get the linear phase of a pulse at that instant; the other frames (reflections, diffuse
tail) get the fixed random phase; nothing is rendered before the direct sound (causality). One synthesis
costs about one inverse STFT.
"""

from __future__ import annotations

import numpy as np

from naf_model.conventions import HEAD_RADIUS_M, HOP, LOG_EPS, N_FFT, N_FREQ, SAMPLE_RATE, SPEED_OF_SOUND
from naf_model.spectrogram import random_phase, window

PRE_ONSET_S = 0.001
"""The causal gate opens this long before the predicted direct sound (STFT smearing of the onset)."""
_OVERLAP = N_FFT // HOP
_WINDOW = window().astype(np.float32)
_RANDOM_PHASE: dict[tuple[int, int], np.ndarray] = {}


def random_phase_table(n_frames: int, seed: int = 0) -> np.ndarray:
    """Unit phasors exp(i phi) of `spectrogram.random_phase(n_frames, seed)`, (N_FREQ, n_frames) complex64
    (cached)."""
    key = (n_frames, seed)
    if key not in _RANDOM_PHASE:
        _RANDOM_PHASE[key] = np.exp(1j * random_phase(n_frames, seed)).astype(np.complex64)
    return _RANDOM_PHASE[key]


def overlap_add(spec: np.ndarray, n_samples: int) -> np.ndarray:
    """Inverse STFT (..., N_FREQ, T) -> (..., n_samples) float32; same result as `spectrogram.istft` but the
    overlap-add is 4 shifted slice sums instead of a loop over frames (the real-time path)."""
    lead = spec.shape[:-2]
    t = spec.shape[-1]
    full = np.zeros(lead + (N_FREQ + 1, t), np.complex64)
    full[..., :N_FREQ, :] = spec
    frames = np.fft.irfft(np.swapaxes(full, -1, -2), n=N_FFT, axis=-1).astype(np.float32) * _WINDOW
    blocks = frames.reshape(lead + (t, _OVERLAP, HOP))
    out = np.zeros(lead + (t + _OVERLAP - 1, HOP), np.float32)
    for i in range(_OVERLAP):
        out[..., i : i + t, :] += blocks[..., :, i, :]
    out = out.reshape(lead + (-1,))
    out /= synthesis_norm(t)
    start = N_FFT // 2
    out = out[..., start : start + n_samples]
    if out.shape[-1] < n_samples:
        out = np.concatenate([out, np.zeros(lead + (n_samples - out.shape[-1],), np.float32)], -1)
    return out


_NORMS: dict[int, np.ndarray] = {}


def synthesis_norm(t: int) -> np.ndarray:
    """The overlap-add's window-square sum ((t + 3) * HOP,) float32 that the summed frames divide by (cached)."""
    if t not in _NORMS:
        w2 = (_WINDOW**2).reshape(_OVERLAP, HOP)
        norm = np.zeros((t + _OVERLAP - 1, HOP), np.float32)
        for i in range(_OVERLAP):
            norm[i : i + t] += w2[i]
        _NORMS[t] = np.maximum(norm.reshape(-1), 1e-8)
    return _NORMS[t]


def random_phase_ir(logmag: np.ndarray, n_samples: int, seed: int = 0) -> np.ndarray:
    """Log-magnitudes (..., N_FREQ, T) -> waveforms (..., n_samples) with the fixed random phase."""
    mag = _magnitude32(logmag)
    return overlap_add(mag * random_phase_table(logmag.shape[-1], seed), n_samples)


def ear_delays(
    emitters: np.ndarray,
    listeners: np.ndarray,
    headings_deg: np.ndarray,
    head_radius: float = HEAD_RADIUS_M,
) -> np.ndarray:
    """Direct-sound arrival at (left, right) ear, (B, 2) seconds: distance / c from the head centre, with the
    Woodworth ITD (near ear earlier by r sin(theta) / c, far ear later by r theta / c, theta the lateral
    angle of the source, positive to the left)."""
    d = np.asarray(emitters, np.float64) - np.asarray(listeners, np.float64)
    dist = np.hypot(d[:, 0], d[:, 1])
    azimuth = np.arctan2(d[:, 1], d[:, 0]) - np.deg2rad(np.asarray(headings_deg, np.float64))
    theta = np.arcsin(np.clip(np.sin(azimuth), -1.0, 1.0))  # lateral angle, front/back symmetric
    near = (dist - head_radius * np.sin(np.abs(theta))) / SPEED_OF_SOUND
    far = (dist + head_radius * np.abs(theta)) / SPEED_OF_SOUND
    left = np.where(theta >= 0, near, far)
    right = np.where(theta >= 0, far, near)
    return np.stack([left, right], axis=-1)


def geometric_phase_ir(logmag: np.ndarray, n_samples: int, delays_s: np.ndarray, seed: int = 0) -> np.ndarray:
    """Log-magnitudes (B, 2, N_FREQ, T) and direct-sound delays (B, 2) s -> waveforms (B, 2, n_samples).

    The (up to 4) frames whose window holds the direct sound carry a pulse at the delay, the others the
    fixed random phase; samples before the delay (less PRE_ONSET_S) are zero.
    """
    b, _, n_freq, t = logmag.shape
    mag = _magnitude32(logmag)
    onset = np.asarray(delays_s, np.float64).reshape(b, 2) * SAMPLE_RATE  # samples
    last = np.floor((onset + N_FFT // 2) / HOP).astype(np.int64)  # last frame starting at or before onset
    frames = np.clip(last[..., None] - np.arange(_OVERLAP), 0, t - 1)  # (B, 2, 4)
    lag = onset[..., None] - (frames * HOP - N_FFT // 2)  # pulse position inside each frame, samples
    k = np.arange(n_freq)
    pulse = np.exp(-2j * np.pi * k * (lag[..., None] / N_FFT)).astype(np.complex64)  # (B, 2, 4, F)
    phase = np.broadcast_to(random_phase_table(t, seed), (b, 2, n_freq, t)).copy()
    bi, ei = np.meshgrid(np.arange(b), np.arange(2), indexing="ij")
    for j in range(_OVERLAP):
        phase[bi, ei, :, frames[..., j]] = pulse[..., j, :]
    gate = np.arange(n_samples) >= (onset - PRE_ONSET_S * SAMPLE_RATE)[..., None]  # (B, 2, N)
    return (overlap_add(mag * phase, n_samples) * gate).astype(np.float32)


def _magnitude32(logmag: np.ndarray) -> np.ndarray:
    """|X| = exp(value) - LOG_EPS clipped at 0 (as `spectrogram.magnitude_from_log`, in float32 for speed)."""
    return np.maximum(np.exp(np.asarray(logmag, np.float32)) - np.float32(LOG_EPS), np.float32(0.0))
