"""STFT conventions of DESIGN.md: 512-point Hann, hop 128, centred frames, 256 bins kept, ln(|X| + 1e-3).

Every producer of spectrograms (data set, model targets, metrics, phase reconstruction) goes through here,
so the (F, T) grid means the same thing everywhere.
"""

from __future__ import annotations

import numpy as np

from naf_model.conventions import HOP, LOG_EPS, N_FFT, N_FREQ

_WINDOW = np.hanning(N_FFT + 1)[:-1].astype(np.float64)  # periodic Hann


def window() -> np.ndarray:
    """The periodic Hann analysis/synthesis window, (N_FFT,)."""
    return _WINDOW.copy()


def frames_for_length(n_samples: int) -> int:
    """Number of centred STFT frames that cover a signal of `n_samples` samples."""
    return 1 + n_samples // HOP


def stft(x: np.ndarray, n_frames: int | None = None) -> np.ndarray:
    """Complex STFT of real signals, (..., N) -> (..., N_FFT // 2 + 1, T), frames centred on t * HOP.

    The signal is zero-padded by N_FFT // 2 on the left and as needed on the right; `n_frames` fixes T
    (default: `frames_for_length(N)`).
    """
    x = np.asarray(x)
    t = frames_for_length(x.shape[-1]) if n_frames is None else int(n_frames)
    total = (t - 1) * HOP + N_FFT
    pad_left = N_FFT // 2
    x = np.asarray(x[..., : total - pad_left], dtype=np.float64)  # only what the frames read (an IR's early part)
    pad_right = total - pad_left - x.shape[-1]
    padded = np.pad(x, [(0, 0)] * (x.ndim - 1) + [(pad_left, pad_right)])[..., :total]
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT, axis=-1)[..., ::HOP, :]
    spec = np.fft.rfft(frames * _WINDOW, axis=-1)  # (..., T, F)
    return np.swapaxes(spec, -1, -2)


def istft(spec: np.ndarray, n_samples: int) -> np.ndarray:
    """Inverse of `stft` by weighted overlap-add, (..., F, T) -> (..., n_samples).

    `spec` may hold N_FFT // 2 + 1 bins or the N_FREQ kept bins (the Nyquist bin is then taken as zero).
    """
    spec = np.asarray(spec)
    if spec.shape[-2] == N_FREQ:
        spec = np.concatenate([spec, np.zeros(spec.shape[:-2] + (1, spec.shape[-1]), spec.dtype)], axis=-2)
    t = spec.shape[-1]
    frames = np.fft.irfft(np.swapaxes(spec, -1, -2), n=N_FFT, axis=-1) * _WINDOW  # (..., T, N_FFT)
    total = (t - 1) * HOP + N_FFT
    out = np.zeros(spec.shape[:-2] + (total,))
    norm = np.zeros(total)
    for i in range(t):  # T is ~100: a short loop over frames, vectorised over channels
        out[..., i * HOP : i * HOP + N_FFT] += frames[..., i, :]
        norm[i * HOP : i * HOP + N_FFT] += _WINDOW**2
    out /= np.maximum(norm, 1e-8)
    start = N_FFT // 2
    out = out[..., start : start + n_samples]
    if out.shape[-1] < n_samples:
        out = np.pad(out, [(0, 0)] * (out.ndim - 1) + [(0, n_samples - out.shape[-1])])
    return out


def log_magnitude(x: np.ndarray, n_frames: int | None = None) -> np.ndarray:
    """Log-magnitude spectrogram ln(|STFT| + LOG_EPS) of real signals, (..., N) -> (..., N_FREQ, T), float32."""
    spec = stft(x, n_frames)[..., :N_FREQ, :]
    return np.log(np.abs(spec) + LOG_EPS).astype(np.float32)


def magnitude_from_log(logmag: np.ndarray) -> np.ndarray:
    """Inverse of the log map: |X| = exp(value) - LOG_EPS, clipped at zero."""
    return np.maximum(np.exp(np.asarray(logmag, dtype=np.float64)) - LOG_EPS, 0.0)


def random_phase(n_frames: int, seed: int = 0) -> np.ndarray:
    """The fixed random phase, (N_FREQ, n_frames) radians ~ U(-pi, pi) from `seed`: the one rule for every
    random-phase inversion (metrics invert prediction and ground truth with the same one; the field's
    `random` phase and the diffuse frames of its `geometric` phase use it too)."""
    return np.random.default_rng(seed).uniform(-np.pi, np.pi, size=(N_FREQ, n_frames))
