"""The late part rendered live: a predicted late description (ln band powers per ear, octave band and frame)
as band-shaped noise, fast enough to re-synthesize IRs many times a second, and the played IR it joins.

`synthesize_late` (`audio.late`) draws new noise per call and corrects its levels by measuring the result: too
slow to run per query (a loop of full-length FFTs). Here the noise is drawn once per IR length and frame
(`noise_bank`, cached): per quarter-octave sub-band, two noises with a diffuse field's interaural coherence,
band-limited and scaled to unit local power exactly as `synthesize_late` makes them, cut into blocks that run
from one frame centre to the next. A query only weights them: each block is the sum over sub-bands of its
noise times a gain that moves linearly in amplitude from the sub-band's gain at one frame centre to the next
(two matrix products a block, batched over IRs and blocks). No correction rounds per call: each needs a band
split of the result, itself 56-88 ms for a binaural 3 s late part on one (shared) core where a whole render
takes 3-8 ms (`scripts/late_split.py --cost`). What they take out, chance in the noises' band levels, is a
property of the bank, so the bank is calibrated once instead (`noise_bank`; CALIBRATION_ROUNDS has the
errors with and without).

`assemble_ir` plays a whole predicted IR: the early waveform alone before the late part starts, an equal-power
crossfade into the rendered late part, and a raised-cosine end fade of END_FADE_S, always. numpy only.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from naf_model.audio.bands import band_split, band_weights
from naf_model.audio.late import (
    LATE_BANDS_HZ,
    NORMALISE_CYCLES,
    SUBBANDS_PER_OCTAVE,
    TAIL_FADE_S,
    SubbandFit,
    coherent_noise,
    diffuse_coherence,
    fade_tail,
    frame_means,
    join_early_late,
    power_curve,
    subband_fit,
    subband_powers,
    subband_width_hz,
)
from naf_model.conventions import LATE_LOG_EPS, SAMPLE_RATE
from naf_model.split import IrSplit

BANK_SEED = 0
"""The noise bank's seed: every render of one IR length uses the same noise, so an IR re-synthesized as the
listener moves changes its levels, not its fine structure."""
BANKS_KEPT = 2
"""Noise banks kept in memory (one per IR length and frame in use): 13 MB each for 3 s IRs at 10 ms frames."""
END_FADE_S = TAIL_FADE_S
"""Every played IR ends with a raised-cosine fade over its last 50 ms to exactly zero: a description that
stops while still loud (a capped IR) ends without a click, and one that has decayed loses nothing audible.
The fade grows no sample-to-sample step by more than max|ir| * pi / (2 * 1,102) = 0.0014 max|ir|."""
CALIBRATION_ROUNDS = 2
"""Rounds of the bank's calibration (`noise_bank`). Measured by `scripts/late_split.py --bank` (4 given decays,
T60 3 s at 125 Hz to 0.5 s at 8 kHz, 2.9 s long, each rendered from 3 banks), worst over decays, banks and ears:
band level error 1.65 dB with none, 0.75 dB with one, 0.56 dB with two (0.59 with three); band T60 error at
250 Hz 4.5 %, 2.2 %, 2.2 %, at 125 Hz 5.5 %, 5.2 %, 5.2 % (a 3 s decay of a 125 Hz band in one noise is few
degrees of freedom; `synthesize_late`'s per-call correction fits the given frames, the bank cannot)."""
_SPECTRUM_POINTS = 1 << 14
"""Frequency grid (FFT size) of the band and sub-band responses from which the sub-band powers are fitted."""


@dataclass(frozen=True)
class NoiseBank:
    """Unit-power noise per ear and sub-band, cut into blocks for `render_late`.

    blocks (2, K, S, frame) float32: ear, block, sub-band (S = 25 quarter-octave bands 125 Hz-8 kHz), sample.
    Block k covers late-part samples [k * frame - frame // 2, (k + 1) * frame - frame // 2): from the centre of
    frame k - 1 to the centre of frame k; K = frames + 1. Read-only (shared by every render)."""

    blocks: np.ndarray
    n_samples: int
    frame: int
    calibration: np.ndarray
    """(2, 7, frames) float64: what each band's power in each frame is multiplied by before the sub-band fit,
    so that the bank measures a flat description as flat (ones: uncalibrated)."""

    @property
    def frames(self) -> int:
        return self.blocks.shape[1] - 1


@functools.lru_cache(maxsize=BANKS_KEPT)
def noise_bank(n_samples: int, frame: int, fs: int = SAMPLE_RATE, seed: int = BANK_SEED,
               rounds: int = CALIBRATION_ROUNDS) -> NoiseBank:
    """The noise bank for late parts of `n_samples` samples described in frames of `frame` samples (cached).

    Per sub-band of `band_weights(f, SUBBANDS_PER_OCTAVE)`, two noises with `diffuse_coherence` between the
    ears (`coherent_noise`), band-limited by the sub-band's response and scaled to unit power over windows of
    NORMALISE_CYCLES periods of its bandwidth (at least a frame), as `synthesize_late` does: so a gain g on a
    sub-band gives it power g^2 over any such window, exactly. What is left is chance in the sum: neighbouring
    sub-bands' noises overlap in frequency and correlate by chance over a frame. The calibration takes it out
    once per bank, as `synthesize_late`'s correction rounds do per call: `rounds` times, the bank renders a flat
    description (unit power everywhere), its bands are measured per frame (`late_envelopes`' measure) and the
    calibration divided by what they measure (clipped to +-10 dB)."""
    if frame < 2 or n_samples < 1:
        raise ValueError(f"need a frame of at least 2 samples and a late part of at least 1, got {frame}, {n_samples}")
    frames = -(-n_samples // frame)
    n = (frames + 1) * frame  # half a block before the late part and the rest of its last frame after it
    rng = np.random.default_rng(seed)
    weights = band_weights(np.fft.rfftfreq(n, 1.0 / fs), SUBBANDS_PER_OCTAVE)
    blocks = np.empty((2, frames + 1, len(weights), frame), np.float32)
    for b, weight in enumerate(weights):
        noise = np.fft.irfft(coherent_noise(n, fs, rng, diffuse_coherence) * weight, n, axis=-1)  # (2, n)
        span = max(frame, int(round(NORMALISE_CYCLES * fs / subband_width_hz(b))))
        noise /= np.sqrt(np.maximum(power_curve(frame_means(np.square(noise), span), span, n), 1e-30))
        blocks[:, :, b] = noise.reshape(2, frames + 1, frame)
    blocks.flags.writeable = False
    calibration = np.ones((2, 7, frames))
    flat = np.zeros((1, 2, 7, frames))  # ln 1: unit power in every band and frame
    for _ in range(rounds):
        late = render_from(NoiseBank(blocks, n_samples, frame, calibration), flat, fs)[0].astype(np.float64)
        calibration = calibration / np.clip(band_frame_powers(late, frame, fs), 0.1, 10.0)
    calibration.flags.writeable = False
    return NoiseBank(blocks, n_samples, frame, calibration)


def band_frame_powers(late: np.ndarray, frame: int, fs: int = SAMPLE_RATE) -> np.ndarray:
    """Power (2, 7, T) of each ear of `late` (2, N) in each octave band per frame of `frame` samples, each band's
    power first averaged over NORMALISE_CYCLES periods of its bandwidth (at least a frame): what a band's noise
    can be held to. Per 10 ms frame a 125 Hz band's power is chance (a few degrees of freedom); gains that
    followed it would modulate the band at 100 Hz and spread its energy across the spectrum."""
    bands = np.square(band_split(late, fs))  # (2, 7, N)
    out = np.empty(bands.shape[:2] + (-(-late.shape[-1] // frame),))
    for b, fc in enumerate(LATE_BANDS_HZ):
        span = max(frame, int(round(NORMALISE_CYCLES * fs / (fc * (np.sqrt(2) - np.sqrt(0.5))))))
        out[:, b] = frame_means(power_curve(frame_means(bands[:, b], span), span, late.shape[-1]), frame)
    return out


@functools.lru_cache(maxsize=1)
def _band_responses(fs: int) -> tuple[np.ndarray, np.ndarray]:
    """(octave (7, F), sub-band (S, F)) responses on a fixed grid: what `subband_powers` fits with."""
    freqs = np.fft.rfftfreq(_SPECTRUM_POINTS, 1.0 / fs)
    return band_weights(freqs), band_weights(freqs, SUBBANDS_PER_OCTAVE)


@functools.lru_cache(maxsize=1)
def _fit(fs: int) -> SubbandFit:
    """`subband_fit` of `_band_responses` (once: it reads the whole grid, ~1 ms a call)."""
    return subband_fit(*_band_responses(fs))


def subband_gains(
    log_power: np.ndarray, fs: int = SAMPLE_RATE, calibration: np.ndarray | float = 1.0
) -> np.ndarray:
    """Amplitude gains (..., 2, S, T) float32 of the S sub-bands at each frame centre from a late description
    `log_power` (..., 2, 7, T) = ln(band power + LATE_LOG_EPS): the powers back from the log (times a bank's
    `calibration` (2, 7, T)), then the sub-band powers whose octave bands measure them
    (`audio.late.subband_powers`)."""
    power = np.maximum(np.exp(np.asarray(log_power, np.float64)) - LATE_LOG_EPS, 0.0)
    power = power * calibration
    return np.sqrt(subband_powers(power, None, None, fit=_fit(fs))).astype(np.float32)


def render_late(log_power: np.ndarray, late_frame: int, n_samples: int, fs: int = SAMPLE_RATE) -> np.ndarray:
    """Late parts (B, 2, n_samples) float32 from their descriptions `log_power` (B, 2, 7, T) float, the stored
    ln(band power + LATE_LOG_EPS) per ear, octave band (125 Hz-8 kHz) and frame of `late_frame` samples, with
    T = ceil(n_samples / late_frame) (`IrSplit.late_frames`); sample 0 is the start of frame 0.

    Each sub-band's gain moves linearly (in amplitude) from one frame centre to the next and is held over the
    first and last half frame; the late part is the sum over sub-bands of the gains times the `noise_bank`.
    The same description gives the same waveform, in any batch."""
    log_power = np.asarray(log_power)
    frames = -(-n_samples // late_frame)
    if log_power.ndim != 4 or log_power.shape[1:] != (2, 7, frames):
        raise ValueError(f"expected late descriptions (B, 2, 7, {frames}) for {n_samples} samples in frames of "
                         f"{late_frame}, got shape {log_power.shape}")
    return render_from(noise_bank(n_samples, late_frame, fs), log_power, fs)


def render_from(bank: NoiseBank, log_power: np.ndarray, fs: int = SAMPLE_RATE) -> np.ndarray:
    """`render_late` with a given bank: late parts (B, 2, bank.n_samples) float32 from `log_power`
    (B, 2, 7, bank.frames)."""
    n_samples, late_frame = bank.n_samples, bank.frame
    gains = subband_gains(log_power, fs, bank.calibration)  # (B, 2, S, T)
    knots = np.concatenate([gains[..., :1], gains, gains[..., -1:]], axis=-1)  # (B, 2, S, T + 2)
    # per ear and block: the gains at its two ends for every IR, (2, K, 2B, S), times its noise (2, K, S, frame)
    ends = np.concatenate([knots[..., :-1], knots[..., 1:]], axis=0).transpose(1, 3, 0, 2)
    parts = np.matmul(ends, bank.blocks)  # (2, K, 2B, frame)
    batch = len(log_power)
    rise = ((np.arange(late_frame) + 0.5) / late_frame).astype(np.float32)
    late = np.empty((batch, 2, len(knots[0, 0, 0]) - 1, late_frame), np.float32)
    blend = late.transpose(1, 2, 0, 3)  # (2, K, B, frame), a view of late
    np.multiply(parts[:, :, :batch], 1.0 - rise, out=blend)
    blend += np.multiply(parts[:, :, batch:], rise, out=parts[:, :, batch:])
    half = late_frame // 2
    return np.ascontiguousarray(late.reshape(batch, 2, -1)[..., half : half + n_samples])


def assemble_ir(early: np.ndarray, log_power: np.ndarray, split: IrSplit, fs: int = SAMPLE_RATE) -> np.ndarray:
    """The played binaural IRs (B, 2, split.ir_length) float32 of predicted descriptions: the early waveforms
    `early` (B, 2, >= split.early_samples) alone before `split.late_start`, an equal-power crossfade over
    `split.fade` samples into the late parts rendered from `log_power` (B, 2, 7, split.late_frames)
    (`render_late`), the late parts alone after it; the last END_FADE_S fade to zero (`fade_tail`). Without
    a late part (`split.has_late` false) the early waveforms are the IR and `log_power` is not read."""
    early = np.asarray(early, np.float32)
    if not split.has_late:
        if early.shape[-1] < split.ir_length:
            raise ValueError(f"need early waveforms of {split.ir_length} samples, got {early.shape[-1]}")
        return fade_tail(early[..., : split.ir_length], fs, END_FADE_S)
    late = render_late(log_power, split.late_frame, split.ir_length - split.late_start, fs)
    return fade_tail(join_early_late(early, late, split.late_start, split.fade), fs, END_FADE_S)
