"""The played IR of the fused path (`networks.fused`): `listening.play` for frame-major log-magnitudes
(B, 2, T, F) torch float32, with what depends only on the IR's length kept between calls.

Same waveform as `listening.play` (tests/test_fused.py): the listening method's diffuse product, direct
pulses and gate, then the late part joined or the tail faded by the same functions. What changes is the
layout and the transform: the fixed noise's STFT is kept frame-major with the diffuse gain folded in, the
magnitudes never leave torch before the inverse FFT (one batched `torch.fft.irfft` along the contiguous
frequency axis, no padding copy: the missing Nyquist bin is zero), the window and the synthesis norm are one
table. Other phase methods go through `listening.play` unchanged (they are not what the app plays).
"""

from __future__ import annotations

import functools

import numpy as np
import torch

from naf_model.audio.late import fade_tail
from naf_model.audio.whole import join_late
from naf_model.conventions import HOP, LOG_EPS, N_FFT, SAMPLE_RATE
from naf_model.field.ears import Ears
from naf_model.field.listening import (
    DIFFUSE_LOG_CORRECTION,
    PRE_PULSE_SAMPLES,
    direct_pulses,
    line_of_sight,
    noise_stft,
    onset_of_energy,
    play,
)
from naf_model.field.phase import PRE_ONSET_S, synthesis_norm
from naf_model.spectrogram import window
from naf_model.split import IrSplit

_OVERLAP = N_FFT // HOP


@functools.lru_cache(maxsize=4)
def _noise(n_frames: int, log_mean: bool) -> torch.Tensor:
    """The listening noise's STFT frame-major (2, T, F) complex64, times the diffuse gain."""
    gain = np.float32(np.exp(DIFFUSE_LOG_CORRECTION) if log_mean else 1.0)
    return torch.from_numpy(np.ascontiguousarray(np.swapaxes(noise_stft(n_frames) * gain, -1, -2)))


@functools.lru_cache(maxsize=4)
def _synthesis_window(n_frames: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The synthesis window (N_FFT,) and the overlap-add's inverse norm (frames + 3) x HOP, float32."""
    return (torch.from_numpy(window().astype(np.float32)),
            torch.from_numpy((1.0 / synthesis_norm(n_frames)).astype(np.float32)))


def overlap_add_frames(spec: torch.Tensor, n_samples: int) -> torch.Tensor:
    """Inverse STFT of frame-major spectra (..., T, F) complex -> (..., n_samples) float32
    (`phase.overlap_add`'s result)."""
    lead, t = spec.shape[:-2], spec.shape[-2]
    win, inv_norm = _synthesis_window(t)
    frames = torch.fft.irfft(spec, n=N_FFT, dim=-1) * win  # (..., T, N_FFT)
    blocks = frames.reshape(*lead, t, _OVERLAP, HOP)
    out = torch.zeros(*lead, t + _OVERLAP - 1, HOP)
    for i in range(_OVERLAP):
        out[..., i : i + t, :] += blocks[..., :, i, :]
    out = out.reshape(*lead, -1) * inv_norm
    start = N_FFT // 2
    out = out[..., start : start + n_samples]
    if out.shape[-1] < n_samples:
        out = torch.nn.functional.pad(out, (0, n_samples - out.shape[-1]))
    return out


def listening_frames(logmag: torch.Tensor, n_samples: int, emitters: np.ndarray, listeners: np.ndarray,
                     headings: np.ndarray, visible: np.ndarray, ears: Ears, log_mean: bool = True) -> np.ndarray:
    """`listening.listening_ir` of frame-major log-magnitudes (B, 2, T, F) -> (B, 2, n_samples) float32."""
    b, _, t, _ = logmag.shape
    mag = torch.exp(logmag).sub_(LOG_EPS).clamp_(min=0.0)
    spec = mag * _noise(t, log_mean)
    los_onset = np.asarray(ears.delays(emitters, listeners, headings), np.float64).reshape(b, 2) * SAMPLE_RATE
    if visible.any():
        direct, _ = ears.direct(emitters[visible], listeners[visible], headings[visible])
        direct_pulses(spec.numpy(), np.flatnonzero(visible), los_onset[visible], direct, frame_major=True)
    onset = onset_of_energy(mag.square().sum(-1).numpy()) * SAMPLE_RATE
    gate_at = np.where(visible[:, None], np.floor(los_onset) - PRE_PULSE_SAMPLES,
                       np.maximum(los_onset, onset) - PRE_ONSET_S * SAMPLE_RATE)
    x = overlap_add_frames(spec, n_samples).numpy()
    x *= np.arange(n_samples) >= gate_at[..., None]
    return x


def play_frames(method: str, logmag: torch.Tensor, late: np.ndarray | None, emitters: np.ndarray,
                listeners: np.ndarray, headings: np.ndarray, split: IrSplit, ears: Ears, free_space=None,
                log_mean: bool = True) -> np.ndarray:
    """`listening.play` of frame-major log-magnitudes (B, 2, T, F): the played IRs (B, 2, split.ir_length)."""
    if method != "listening":
        return play(method, logmag.transpose(-1, -2).numpy(), late, emitters, listeners, headings, split, ears,
                    free_space, log_mean)
    b = len(logmag)
    emitters, listeners = np.asarray(emitters, np.float64), np.asarray(listeners, np.float64)
    headings = np.broadcast_to(np.asarray(headings, np.float64).reshape(-1), (b,))
    visible = line_of_sight(free_space, emitters, listeners)
    n = split.ir_length if late is None else split.early_samples
    early = listening_frames(logmag, n, emitters, listeners, headings, visible, ears, log_mean)
    if late is None:
        return fade_tail(early)
    return join_late(early, late, split, log_mean)
