"""How the played IR's energy is spread over time and octave bands, computed from its description without
synthesizing the waveform (the metric heatmaps' fast path: `analysis.fast_map`).

The played IR (`fused_listening.play_frames`) is the predicted magnitudes times the fixed noise's STFT,
overlap-added, gated, plus a coherent direct pulse on line of sight, crossfaded into the late part where the
field has one (`late_energy`), the end faded. Its energy follows from the description alone:
- diffuse part: frame t's energy per band is the sum over bins of (gain * mag)^2 times the band's squared
  response; the product with the noise is nearly a consistent STFT, so by Parseval a frame of energy E_t
  holds a waveform of power E_t / (N_FFT / 2 * sum window^2) per sample (`DIFFUSE_POWER_SCALE`); between
  frame centres the amplitude moves as the overlap-add's window-square weights move (`frame_weights`), two
  overlapping frames adding as far as their spectra are alike (`gated_blocks`);
- the gate: nothing of it before the sample the synthesis opens it at (same rule, `listening.diffuse_gate`);
- the direct pulse: its spectrum's energy (Parseval) at its onset sample;
- the crossfade and end fade: the block's mean squared ramps (`late_energy.join_weights`);
- the noise: every IR shares one fixed noise, whose own power moves from block to block (`noise_fluctuation`).
Held in blocks of BLOCK samples: a 0.6 s IR is 414 blocks per ear and band instead of 13,230 samples.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
import torch

from naf_model.acoustics.bands import octave_band
from naf_model.audio.bands import OCTAVE_CENTRES_HZ, band_weights
from naf_model.conventions import HOP, LOG_EPS, N_FFT, N_FREQ, SAMPLE_RATE
from naf_model.field.ears import Ears
from naf_model.field.late_energy import join_weights, late_blocks
from naf_model.field.listening import (
    DIFFUSE_LOG_CORRECTION,
    PRE_PULSE_SAMPLES,
    diffuse_gate,
    noise_stft,
    onset_of_energy,
)
from naf_model.field.phase import PRE_ONSET_S, overlap_add, synthesis_norm
from naf_model.spectrogram import window
from naf_model.split import IrSplit

BLOCK = 32
"""Samples per envelope block (1.45 ms): fine enough for C50's 50 ms split and T60's Schroeder fit."""
N_BANDS = 8
"""Rows of an envelope: broadband, then the 7 octave bands 125 Hz-8 kHz (`acoustics.bands.octave_band`'s)."""
LAGS = N_FFT // HOP - 1
"""Frames t and t + d overlap for d <= LAGS."""
LIKENESS_S = 0.150
"""Neighbouring frames are compared (`frame_band_energies`) up to this long after the line-of-sight delay:
where the onset, the early reflections and C50's 50 ms lie. Later the predicted frames are alike (likeness
0.994-0.998 on average, p5 >= 0.994 from 16 frames on in apartment_1 and small_house) and taken as 1."""
CHUNK = 4
"""Items per pass of `frame_band_energies`: 4 x 2 x 104 x 256 float32 = 852 KB stays in a core's L2 (1.25 MB
here; measured per 128 cells: 1 item 32 ms, 2 27, 4 20, 8 21, 32 23, 128 25 ms)."""
DIFFUSE_POWER_SCALE = 2.0 / (N_FFT * float(np.sum(window() ** 2)))
"""Power per sample of a consistent STFT frame of one-sided bin energy 1 (Parseval with the analysis window)."""


@dataclass(frozen=True)
class PlayedEnergy:
    """What the played IRs' energy envelope is made of, per item (B) and ear: frames (B, 2, T, N_BANDS) float32
    the diffuse part's energy per STFT frame, broadband then the octave bands; similarity (B, 2, T) float32
    the spectral likeness of frames t and t + 1 (`frame_band_energies`); nothing played before gate
    (B, 2) (its first sample); late (B, 2, 7, T_late) the late description or None; pulse (B, 2, N_BANDS)
    the direct pulse's energy at sample pulse_at (B, 2) (0 and -1: no line of sight); split the IR's;
    log_mean as `listening.listening_ir`. `blocks(band)` puts them together for one band."""

    frames: np.ndarray
    similarity: np.ndarray
    late: np.ndarray | None
    gate: np.ndarray
    pulse: np.ndarray
    pulse_at: np.ndarray
    split: IrSplit
    log_mean: bool = True
    _blocks: dict[int, np.ndarray] = field(default_factory=dict, compare=False, repr=False)

    def __len__(self) -> int:
        return len(self.frames)

    @property
    def n_samples(self) -> int:
        """The IR's length in samples."""
        return self.split.ir_length

    def blocks(self, band: int) -> np.ndarray:
        """Energy (B, 2, K) float64 of band `band` (0 broadband, 1-7 the octave bands) in each ear's blocks of
        BLOCK samples, without the pulse: the gated early part, crossfaded into the late part, the end faded
        (kept: every metric of a band reads the same blocks)."""
        if band not in self._blocks:
            self._blocks[band] = self._band_blocks(band)
        return self._blocks[band]

    def _band_blocks(self, band: int) -> np.ndarray:
        early_gain, late_gain = join_weights(self.split, BLOCK)
        n_early = self.split.ir_length if self.late is None else self.split.early_samples
        likeness = self.similarity if band == 0 else None
        early = gated_blocks(self.frames[..., band], likeness, self.gate, n_early, band)
        early *= early_gain[: early.shape[-1]]
        if self.late is None:
            return early
        out = late_blocks(self.late, self.split, BLOCK, band, self.log_mean) * late_gain
        out[..., : early.shape[-1]] += early
        return out

    @staticmethod
    def concatenate(parts: list[PlayedEnergy]) -> PlayedEnergy:
        """One `PlayedEnergy` of several batches' (same field), in order."""
        first = parts[0]
        late = None if first.late is None else np.concatenate([p.late for p in parts])
        return PlayedEnergy(np.concatenate([p.frames for p in parts]), np.concatenate([p.similarity for p in parts]),
                            late,
                            *(np.concatenate([getattr(p, k) for p in parts]) for k in ("gate", "pulse", "pulse_at")),
                            split=first.split, log_mean=first.log_mean)


@functools.lru_cache(maxsize=2)
def band_power_weights() -> torch.Tensor:
    """(N_FREQ, N_BANDS) float32: 1 (broadband), then each octave band's squared response at the STFT bins."""
    freqs = np.arange(N_FREQ) * SAMPLE_RATE / N_FFT
    octave = band_weights(freqs, open_ends=False) ** 2  # (7, F), as `acoustics.bands.octave_band` filters
    return torch.from_numpy(np.concatenate([np.ones((1, N_FREQ)), octave]).T.astype(np.float32).copy())


@functools.lru_cache(maxsize=4)
def frame_weights(n_frames: int, n_samples: int) -> tuple[np.ndarray, np.ndarray]:
    """((n_frames, K) float32, (K,) float64): the overlap-add's weight of frame t at block k (its window square
    over the synthesis norm, averaged over the block's samples), and each block's samples within the IR."""
    w2 = window() ** 2
    norm = synthesis_norm(n_frames)
    n_blocks = -(-n_samples // BLOCK)
    out = np.zeros((n_frames, n_blocks * BLOCK))
    n = np.arange(n_blocks * BLOCK)
    for t in range(n_frames):
        m = n + N_FFT // 2 - t * HOP  # index inside frame t (the synthesis drops the first N_FFT // 2)
        inside = (m >= 0) & (m < N_FFT) & (n < n_samples)
        out[t, inside] = w2[m[inside]] / norm[n[inside] + N_FFT // 2]
    return (out.reshape(n_frames, n_blocks, BLOCK).mean(-1).astype(np.float32),
            (n < n_samples).reshape(n_blocks, BLOCK).sum(-1).astype(np.float64))


@functools.lru_cache(maxsize=4)
def pair_weights(n_frames: int, n_samples: int) -> np.ndarray:
    """(LAGS + 1, n_frames, K) float32: block k's energy is sum_d sum_t V[d, t, k] a_t a_t+d r_d,t for frame
    amplitudes a and frame likeness r (1 at d = 0): the square of `frame_weights`' sum, pair by pair, with the
    power scale and each block's samples."""
    weights, samples = frame_weights(n_frames, n_samples)
    w = weights.astype(np.float64) * np.sqrt(samples * DIFFUSE_POWER_SCALE)
    out = np.zeros((LAGS + 1,) + w.shape)
    out[0] = w * w
    for d in range(1, min(LAGS, n_frames - 1) + 1):
        out[d, :-d] = 2 * w[:-d] * w[d:]
    return out.astype(np.float32)


@functools.lru_cache(maxsize=16)
def noise_fluctuation(n_frames: int, n_samples: int, band: int) -> np.ndarray:
    """(2, K) float64: the fixed noise's own power in each block (overlap-added with flat magnitudes, broadband
    for band 0, else through octave band `band`) over its mean power. Every played IR shares that noise, so
    its blocks carry this fluctuation (std ~27 % at 32 samples) on top of the predicted envelope."""
    noise = overlap_add(noise_stft(n_frames), n_samples).astype(np.float64)  # (2, N)
    if band:
        noise = octave_band(noise, OCTAVE_CENTRES_HZ[band - 1])
    power = np.zeros((2, -(-n_samples // BLOCK) * BLOCK))
    power[:, :n_samples] = np.square(noise)
    blocks = power.reshape(2, -1, BLOCK).sum(-1)
    out = blocks / blocks[:, :-1].mean(-1, keepdims=True)
    out[:, -1] = 1.0  # the last block is partial
    return out


def frame_band_energies(logmag: torch.Tensor, log_mean: bool = True, compare: np.ndarray | None = None
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Frame-major log-magnitudes (B, 2, T, F) (overwritten) -> (the diffuse part's expected energy per frame
    and band (B, 2, T, N_BANDS) float32 with the synthesis' diffuse gain, column 0 (broadband) the frame energy
    `listening.onset_of_energy` reads; the spectral likeness of each frame and the next, sum_f m_t m_t+1 over
    sqrt(sum_f m_t^2 sum_f m_t+1^2), (B, 2, T) float32, 1 at the last frame and from frame `compare` (B,) on
    (None: every frame compared)). A few items at a time, so each pass stays in cache."""
    gain2 = float(np.exp(2 * DIFFUSE_LOG_CORRECTION)) if log_mean else 1.0
    weights = band_power_weights() * gain2
    b, _, t, _ = logmag.shape
    out = torch.empty((b, 2, t, N_BANDS))
    cross = torch.zeros((b, 2, t))
    until = np.full(b, t) if compare is None else np.clip(compare, 1, t)
    for s in range(0, b, CHUNK):
        mag = logmag[s : s + CHUNK].exp_().sub_(LOG_EPS).clamp_(min=0.0)
        n = int(until[s : s + CHUNK].max())
        cross[s : s + CHUNK, :, : n - 1] = (mag[..., 1:n, :] * mag[..., : n - 1, :]).sum(-1)
        torch.matmul(mag.square_(), weights, out=out[s : s + CHUNK])
    frames, cross = out.numpy(), cross.numpy()
    plain = frames[..., 0] / gain2
    norm = np.sqrt(plain[..., :-1] * plain[..., 1:])
    similarity = np.ones_like(cross)
    similarity[..., :-1] = np.where(norm > 0, np.minimum(cross[..., :-1] / np.maximum(norm, 1e-30), 1.0), 1.0)
    similarity[np.broadcast_to(np.arange(t) >= until[:, None, None] - 1, similarity.shape)] = 1.0
    return frames, similarity


def diffuse_gates(plain: np.ndarray, los_onset: np.ndarray, visible: np.ndarray,
                  quiet_until: np.ndarray | None, n_samples: int) -> np.ndarray:
    """The synthesis' first diffuse sample (B, 2) int64 (`fused_listening.listening_frames`' gate): before the
    pulse on line of sight, before the predicted onset (never before the line-of-sight delay) elsewhere, and
    never before the first reflection. plain (B, 2, T) frame energies, los_onset (B, 2) samples."""
    gate = np.where(visible[:, None], np.floor(los_onset) - PRE_PULSE_SAMPLES,
                    np.maximum(los_onset, onset_of_energy(plain) * SAMPLE_RATE) - PRE_ONSET_S * SAMPLE_RATE)
    return np.clip(np.ceil(diffuse_gate(gate, quiet_until)), 0, n_samples).astype(np.int64)


def flat_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a (..., M) @ b (M, K) as one 2-D product (numpy loops over the leading axes of a 3-D one: 6x slower)."""
    return np.matmul(a.reshape(-1, a.shape[-1]), b).reshape(a.shape[:-1] + (b.shape[-1],))


def gated_blocks(frames: np.ndarray, similarity: np.ndarray | None, gate: np.ndarray, n_samples: int,
                 band: int) -> np.ndarray:
    """One band's diffuse frame energies (B, 2, T) -> block energies (B, 2, K) float64 of an early waveform
    `n_samples` long, with nothing before `gate` (B, 2) samples (the gate's block keeps the share of its
    samples at or after the gate), times the noise's own fluctuation in that band. Overlapping frames add as
    amplitudes, bin by bin: the product of magnitudes and one noise's STFT is nearly consistent, so its
    overlap-add is that noise under an envelope that moves from frame to frame; two frames' cross term is
    their amplitudes' product times their spectral likeness (`similarity` (B, 2, T) of neighbours, chained
    for frames further apart; None: taken as 1, one band's frames alike). Adding powers read up to 0.8 dB
    loud where the energy peaks in one frame."""
    amplitude = np.sqrt(frames)
    if similarity is None:
        weights, samples = frame_weights(frames.shape[-1], n_samples)
        scaled = weights * np.sqrt(samples * DIFFUSE_POWER_SCALE).astype(np.float32)
        blocks = np.square(flat_matmul(amplitude, scaled), dtype=np.float64)
    else:
        pairs = pair_weights(frames.shape[-1], n_samples)  # (LAGS + 1, T, K)
        t = frames.shape[-1]
        products = np.zeros(frames.shape[:-1] + (len(pairs), t), np.float32)
        products[..., 0, :] = frames
        likeness = np.ones_like(similarity)
        for d in range(1, len(pairs)):  # frames d apart: the chain of neighbours' likeness (measured as good
            likeness[..., :-d] *= similarity[..., d - 1 : -1]  # as their own on apartment_1: C50 p95 0.32 dB)
            products[..., d, :-d] = amplitude[..., :-d] * amplitude[..., d:] * likeness[..., :-d]
        blocks = flat_matmul(products.reshape(frames.shape[:-1] + (-1,)), pairs.reshape(-1, pairs.shape[-1]))
        blocks = blocks.astype(np.float64)
    starts = np.arange(blocks.shape[-1]) * BLOCK
    blocks *= np.clip((starts + BLOCK - gate[..., None]) / BLOCK, 0.0, 1.0)
    blocks *= noise_fluctuation(frames.shape[-1], n_samples, band)
    return blocks


def pulse_energies(direct: np.ndarray) -> np.ndarray:
    """Energy per band (V, 2, N_BANDS) of direct pulses (V, 2, N_FREQ) (spectra on the STFT grid, the Nyquist
    bin zero): one-sided Parseval, the DC bin once."""
    power = np.abs(np.asarray(direct, np.complex128)) ** 2
    power[..., 1:] *= 2.0
    return flat_matmul(power, band_power_weights().numpy().astype(np.float64)) / N_FFT


def played_energy(logmag: torch.Tensor, late: np.ndarray | None, emitters: np.ndarray, listeners: np.ndarray,
                  headings: np.ndarray, visible: np.ndarray, ears: Ears, split: IrSplit, log_mean: bool = True,
                  quiet_until: np.ndarray | None = None) -> PlayedEnergy:
    """The `PlayedEnergy` of the IRs that `fused_listening.play_frames` plays (listening phase) from frame-major
    early log-magnitudes (B, 2, T, F) (overwritten) and late ln band powers (B, 2, 7, T_late) or None, for
    pairs at emitters, listeners (B, 2) m, headings (B,) deg, line of sight `visible` (B,) bool, through
    `ears`; `split` the IR's, `log_mean` and `quiet_until` as `listening.listening_ir`."""
    n_early = split.ir_length if late is None else split.early_samples
    los_onset = np.asarray(ears.delays(emitters, listeners, headings), np.float64).reshape(-1, 2) * SAMPLE_RATE
    compare = np.ceil((los_onset.max(-1) + LIKENESS_S * SAMPLE_RATE + N_FFT / 2) / HOP).astype(np.int64) + 1
    frames, similarity = frame_band_energies(logmag, log_mean, compare)
    plain = frames[..., 0] / (float(np.exp(2 * DIFFUSE_LOG_CORRECTION)) if log_mean else 1.0)
    gate = diffuse_gates(plain, los_onset, visible, quiet_until, n_early)
    early_gain = join_weights(split, BLOCK)[0]
    pulse_at = np.full(gate.shape, -1, np.int64)
    pulse = np.zeros(gate.shape + (N_BANDS,))
    if visible.any():
        direct, delays = ears.direct(emitters[visible], listeners[visible], headings[visible])
        at = np.floor(np.asarray(delays, np.float64).reshape(-1, 2) * SAMPLE_RATE).astype(np.int64)
        ok = at < n_early
        pulse[visible] = pulse_energies(direct) * (early_gain[np.minimum(at, n_early - 1) // BLOCK] * ok)[..., None]
        pulse_at[visible] = np.where(ok, at, -1)
    late = None if late is None else np.asarray(late, np.float32)
    return PlayedEnergy(frames, similarity, late, gate, pulse, pulse_at, split, log_mean)
