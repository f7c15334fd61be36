"""The played IR of the fused path (`networks.fused`): `listening.play` for frame-major log-magnitudes
(B, 2, T, F) torch float32, with what depends only on the IR's length kept between calls.

Same waveform as `listening.play` (tests/test_fused.py): the listening method's diffuse product and gates,
the direct pulses, then the late part joined or the tail faded by the same functions. What changes is the
layout and the transform: the fixed noise's STFT is kept frame-major with the diffuse gain folded in, the
magnitudes never leave torch before the inverse FFT (one batched `torch.fft.irfft` along the contiguous
frequency axis, no padding copy: the missing Nyquist bin is zero), the window and the synthesis norm are one
table. Other phase methods go through `listening.play` unchanged (they are not what the app plays).
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import torch

from naf_model.audio.late import TAIL_FADE_S, fade_tail
from naf_model.audio.whole import join_late
from naf_model.conventions import HOP, LOG_EPS, N_FFT, SAMPLE_RATE
from naf_model.field.ears import Ears
from naf_model.field.listening import (
    DIFFUSE_LOG_CORRECTION,
    PRE_PULSE_SAMPLES,
    add_direct_pulses,
    diffuse_gate,
    line_of_sight,
    noise_stft,
    noise_variants,
    onset_of_energy,
    play,
)
from naf_model.field.phase import PRE_ONSET_S, synthesis_norm
from naf_model.field.reflections import FirstReflection
from naf_model.spectrogram import window
from naf_model.split import IrSplit

_OVERLAP = N_FFT // HOP


@functools.lru_cache(maxsize=16)
def _noise(n_frames: int, log_mean: bool, variant: int = 0) -> torch.Tensor:
    """The listening noise's STFT (realisation `variant`) frame-major (2, T, F) complex64, times the diffuse
    gain."""
    gain = np.float32(np.exp(DIFFUSE_LOG_CORRECTION) if log_mean else 1.0)
    return torch.from_numpy(np.ascontiguousarray(np.swapaxes(noise_stft(n_frames, variant) * gain, -1, -2)))


def _row_noise(n_frames: int, log_mean: bool, variants: np.ndarray | None) -> torch.Tensor:
    """`_noise` per row: (2, T, F) for realisation 0 everywhere (None), else (B, 2, T, F)."""
    if variants is None:
        return _noise(n_frames, log_mean)
    return torch.stack([_noise(n_frames, log_mean, int(v)) for v in variants])


@functools.lru_cache(maxsize=4)
def _synthesis_window(n_frames: int) -> tuple[torch.Tensor, np.ndarray]:
    """The synthesis window (N_FFT,) and the overlap-add's inverse norm ((frames + 3) * HOP,), float32."""
    return torch.from_numpy(window().astype(np.float32)), (1.0 / synthesis_norm(n_frames)).astype(np.float32)


@functools.lru_cache(maxsize=4)
def _end_fade(n: int) -> np.ndarray:
    """`audio.late.fade_tail`'s ramp over the last min(TAIL_FADE_S, n) of n samples, float32."""
    return fade_tail(np.ones(n, np.float32))[-min(int(round(TAIL_FADE_S * SAMPLE_RATE)), n):]


LIVE_ITEMS = 4
"""Batches of at most this many IRs (live answers) reuse two work buffers between calls (`_buffers`): the same
memory each time stays in cache; bigger batches (maps) allocate theirs."""
_BUFFERS: dict[tuple[int, int], tuple[torch.Tensor, torch.Tensor]] = {}


def _buffers(b: int, t: int, n_freq: int) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """(spectra (b, 2, t, n_freq) complex64, frames (b, 2, t, N_FFT) float32) work buffers, or Nones."""
    if b > LIVE_ITEMS:
        return None, None
    key = (b, t)
    if key not in _BUFFERS:
        _BUFFERS[key] = (torch.empty(b, 2, t, n_freq, dtype=torch.complex64), torch.empty(b, 2, t, N_FFT))
    return _BUFFERS[key]


def overlap_add_frames(spec: torch.Tensor, n_samples: int, frames: torch.Tensor | None = None) -> np.ndarray:
    """Inverse STFT of frame-major spectra (..., T, F) complex -> (..., n_samples) float32
    (`phase.overlap_add`'s result): the frames summed in place, 4 slice sums (numpy: no dispatch cost);
    `frames` (..., T, N_FFT) a work buffer or None."""
    lead, t = spec.shape[:-2], spec.shape[-2]
    win, inv_norm = _synthesis_window(t)
    frames = torch.fft.irfft(spec, n=N_FFT, dim=-1, out=frames)
    frames.mul_(win)
    blocks = frames.numpy().reshape(*lead, t, _OVERLAP, HOP)
    out = np.empty((*lead, t + _OVERLAP - 1, HOP), np.float32)
    out[..., :t, :] = blocks[..., :, 0, :]
    out[..., t:, :] = 0.0
    for i in range(1, _OVERLAP):
        out[..., i : i + t, :] += blocks[..., :, i, :]
    start = N_FFT // 2
    stop = min(start + n_samples, out.shape[-2] * HOP)
    out = out.reshape(*lead, -1)[..., start:stop]
    out *= inv_norm[start:stop]
    if out.shape[-1] < n_samples:
        out = np.concatenate([out, np.zeros((*lead, n_samples - out.shape[-1]), np.float32)], -1)
    return out


def listening_frames(logmag: torch.Tensor, n_samples: int, emitters: np.ndarray, listeners: np.ndarray,
                     headings: np.ndarray, visible: np.ndarray, ears: Ears, log_mean: bool = True,
                     quiet_until: np.ndarray | None = None, variants: np.ndarray | None = None) -> np.ndarray:
    """`listening.listening_ir` of frame-major log-magnitudes (B, 2, T, F) -> (B, 2, n_samples) float32. The
    magnitudes overwrite `logmag`; the onset of the predicted energy is found only for occluded pairs, the
    delays of visible ones come with their direct sound; `variants` as `listening_ir`'s."""
    b, _, t, n_freq = logmag.shape
    spec_buffer, frames_buffer = _buffers(b, t, n_freq)
    mag = logmag.exp_().sub_(LOG_EPS).clamp_(min=0.0)
    spec = torch.mul(mag, _row_noise(t, log_mean, variants), out=spec_buffer)
    gate = np.empty((b, 2))
    if visible.any():
        direct, delays = ears.direct(emitters[visible], listeners[visible], headings[visible])
        onset = np.asarray(delays, np.float64).reshape(-1, 2) * SAMPLE_RATE
        gate[visible] = np.floor(onset) - PRE_PULSE_SAMPLES
    hidden = ~visible
    if hidden.any():  # no pulse: the gate opens before the predicted onset, never before the line-of-sight delay
        los = np.asarray(ears.delays(emitters[hidden], listeners[hidden], headings[hidden])).reshape(-1, 2)
        energy = mag[torch.from_numpy(hidden)].square().sum(-1).numpy()
        gate[hidden] = (np.maximum(los * SAMPLE_RATE, onset_of_energy(energy) * SAMPLE_RATE)
                        - PRE_ONSET_S * SAMPLE_RATE)
    x = overlap_add_frames(spec, n_samples, frames_buffer)
    first = np.clip(np.ceil(diffuse_gate(gate, quiet_until)), 0, n_samples).astype(np.int64)  # samples >= it
    for i, ear in np.ndindex(b, 2):
        x[i, ear, : first[i, ear]] = 0.0
    if visible.any():
        add_direct_pulses(x, np.flatnonzero(visible), onset, direct)
    return x


def play_frames(method: str, logmag: torch.Tensor, late: np.ndarray | None, emitters: np.ndarray,
                listeners: np.ndarray, headings: np.ndarray, split: IrSplit, ears: Ears, free_space=None,
                log_mean: bool = True, reflections: FirstReflection | None = None, noise: Any = 0) -> np.ndarray:
    """`listening.play` of frame-major log-magnitudes (B, 2, T, F): the played IRs (B, 2, split.ir_length),
    `noise` as `listening.play`'s."""
    if method != "listening":
        return play(method, logmag.transpose(-1, -2).numpy(), late, emitters, listeners, headings, split, ears,
                    free_space, log_mean, reflections, noise)
    b = len(logmag)
    variants = noise_variants(noise, b)
    emitters, listeners = np.asarray(emitters, np.float64), np.asarray(listeners, np.float64)
    headings = np.broadcast_to(np.asarray(headings, np.float64).reshape(-1), (b,))
    visible = line_of_sight(free_space, emitters, listeners)
    quiet = None if reflections is None else reflections.earliest_s(emitters, listeners)
    n = split.ir_length if late is None else split.early_samples
    early = listening_frames(logmag, n, emitters, listeners, headings, visible, ears, log_mean, quiet, variants)
    if late is None:
        fade = _end_fade(early.shape[-1])
        early[..., early.shape[-1] - len(fade) :] *= fade
        return np.ascontiguousarray(early)
    return join_late(early, late, split, log_mean, variants)
