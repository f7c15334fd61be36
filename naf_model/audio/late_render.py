"""The late part rendered live: a predicted late description (ln band powers per ear, octave band and frame)
as band-shaped noise, fast enough to re-synthesize IRs many times a second, and the played IR it joins.

`synthesize_late` (`audio.late`) draws new noise per call and corrects its levels by measuring the result: too
slow to run per query (a loop of full-length FFTs). Here the noise is drawn once per IR length and frame
(`noise_bank`, cached): per quarter-octave sub-band, two noises with a diffuse field's interaural coherence,
band-limited and scaled to unit local power exactly as `synthesize_late` makes them, cut into blocks that run
from one frame centre to the next. A query only weights them: each block is the sum over sub-bands of its
noise times a gain that moves linearly in amplitude from the sub-band's gain at one frame centre to the next
(one matrix product a block, two rows per IR: its gains at the block's start and their change over it). No
correction rounds per call: each needs a band split of the result, itself 56-88 ms for a binaural 3 s late part
on one (shared) core where a whole render takes 3-8 ms (`scripts/late_split.py --cost`). What they take out,
chance in the noises' band levels, is a property of the bank, so the bank is calibrated once instead
(`noise_bank`; CALIBRATION_ROUNDS has the errors with and without).

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
    equal_power_ramps,
    fade_tail,
    frame_means,
    power_curve,
    subband_fit,
    subband_width_hz,
)
from naf_model.conventions import LATE_LOG_EPS, SAMPLE_RATE
from naf_model.split import IrSplit

BANK_SEED = 0
"""The noise bank's seed: every render of one IR length uses the same noise, so an IR re-synthesized as the
listener moves changes its levels, not its fine structure."""
BANKS_KEPT = 8
"""Noise banks kept in memory, one per IR length, frame and seed in use (the app's four emitters each play
their own, `assemble_ir`'s `variants`): 13 MB each for 3 s IRs at 10 ms frames, 20 MB for the cathedral's 4.8 s."""
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
_TINY = 1e-30
"""The fit's floor for powers (as `audio.late.subband_powers`)."""
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

    @functools.cached_property
    def calibration_t(self) -> np.ndarray:
        """`calibration` frame-major, (2, 1, frames, 7) float32: as the live gains multiply it."""
        return np.ascontiguousarray(np.swapaxes(self.calibration, -1, -2)[:, None], np.float32)


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


@dataclass(frozen=True)
class _GainFit:
    """`_fit` as the live gains use it: float32, for frame-major rows (..., T, 8) of 7 octave log-densities
    and a constant 1, whose product with `log_sub` (8, S) is the sub-bands' log powers (the last row carries
    the sub-bands' log widths), with `passed_t` (S, 7) the octaves' measure of sub-band powers."""

    log_sub: np.ndarray
    passed_t: np.ndarray
    log_octave_width: np.ndarray


@functools.lru_cache(maxsize=1)
def _gain_fit(fs: int) -> _GainFit:
    """`_fit(fs)` for `_frame_gains`. The crosstalk of bands that do not overlap is cos(pi / 2)^2 ~ 4e-33
    (rounding), not 0; kept in float32, its products with powers fall below the normal range and slow the
    product ~40x (denormals), so it is set to the 0 it stands for."""
    fit = _fit(fs)
    log_sub = np.concatenate([fit.hats.T, np.log(fit.sub_width)[None]])
    passed = np.where(fit.passed > 1e-20, fit.passed, 0.0)
    return _GainFit(*(np.ascontiguousarray(x, np.float32) for x in (log_sub, passed.T, np.log(fit.octave_width))))


def _frame_gains(log_power: np.ndarray, fs: int, calibration: np.ndarray | float, rounds: int = 4) -> np.ndarray:
    """Sub-band amplitude gains (..., T, S) float32 from frame-major late descriptions (..., T, 7) times
    `calibration` (broadcast to them) in power: the fit of `audio.late.subband_powers` (the same rounds, in the
    log of the densities, each frame a row), in float32 (its result differs from float64's by ~1e-6 relative,
    -120 dB). One (T, 8) product per leading index: each stays below OpenBLAS's threading threshold, which a
    busy 2-core machine punishes (one product over a batch's rows took several times longer)."""
    fit, tiny = _gain_fit(fs), np.float32(_TINY)
    power = np.exp(np.asarray(log_power, np.float32))
    power -= np.float32(LATE_LOG_EPS)
    np.maximum(power, 0.0, out=power)
    power = power * calibration
    log_target = np.log(np.maximum(power, tiny))
    rows = np.ones(power.shape[:-1] + (8,), np.float32)  # the octave log-densities and a constant 1
    log_density = rows[..., :7]
    np.subtract(log_target, fit.log_octave_width, out=log_density)
    for _ in range(rounds):
        sub = rows @ fit.log_sub
        measured = np.exp(sub, out=sub) @ fit.passed_t
        np.log(np.maximum(measured, tiny, out=measured), out=measured)
        log_density += log_target
        log_density -= measured
    gains = rows @ fit.log_sub
    gains *= 0.5
    np.exp(gains, out=gains)
    if not np.all(power > 0):  # a sub-band none of whose octave bands has power stays silent
        gains *= ((power > 0).astype(np.float32) @ fit.log_sub[:7]) > 0
    return gains


def subband_gains(
    log_power: np.ndarray, fs: int = SAMPLE_RATE, calibration: np.ndarray | float = 1.0
) -> np.ndarray:
    """Amplitude gains (..., 2, S, T) float32 of the S sub-bands at each frame centre from a late description
    `log_power` (..., 2, 7, T) = ln(band power + LATE_LOG_EPS): the powers back from the log (times a bank's
    `calibration` (2, 7, T)), then the sub-band powers whose octave bands measure them
    (`audio.late.subband_powers`, in float32)."""
    lp = np.ascontiguousarray(np.swapaxes(np.asarray(log_power, np.float32), -1, -2))
    cal = np.swapaxes(calibration, -1, -2) if np.ndim(calibration) else calibration
    return np.swapaxes(_frame_gains(lp, fs, np.asarray(cal, np.float32)), -1, -2)


def render_late(log_power: np.ndarray, late_frame: int, n_samples: int, fs: int = SAMPLE_RATE) -> np.ndarray:
    """Late parts (B, 2, n_samples) float32 from their descriptions `log_power` (B, 2, 7, T) float, the stored
    ln(band power + LATE_LOG_EPS) per ear, octave band (125 Hz-8 kHz) and frame of `late_frame` samples, with
    T = ceil(n_samples / late_frame) (`IrSplit.late_frames`); sample 0 is the start of frame 0.

    Each sub-band's gain moves linearly (in amplitude) from one frame centre to the next and is held over the
    first and last half frame; the late part is the sum over sub-bands of the gains times the `noise_bank`.
    The same description gives the same waveform in any batch, to float32 rounding (-120 dB re its peak: the
    BLAS may sum a batch's product in another order than one IR's, as OpenBLAS does on AVX-512 machines)."""
    log_power = np.asarray(log_power)
    _check(log_power, late_frame, n_samples)
    return render_from(noise_bank(n_samples, late_frame, fs), log_power, fs)


def _check(log_power: np.ndarray, late_frame: int, n_samples: int) -> None:
    frames = -(-n_samples // late_frame)
    if log_power.ndim != 4 or log_power.shape[1:] != (2, 7, frames):
        raise ValueError(f"expected late descriptions (B, 2, 7, {frames}) for {n_samples} samples in frames of "
                         f"{late_frame}, got shape {log_power.shape}")


def render_from(bank: NoiseBank, log_power: np.ndarray, fs: int = SAMPLE_RATE) -> np.ndarray:
    """`render_late` with a given bank: late parts (B, 2, bank.n_samples) float32 from `log_power`
    (B, 2, 7, bank.frames)."""
    out = np.empty((len(log_power), 2, bank.n_samples), np.float32)
    _render_into(bank, log_power, out, 0, fs)
    return out


def _render_into(bank: NoiseBank, log_power: np.ndarray, out: np.ndarray, start: int, fs: int,
                 log_correction: np.ndarray | None = None) -> None:
    """Write the late parts of `log_power` (B, 2, 7, T) (plus `log_correction` (7,) where given) into `out`
    (B, 2, L) float32 from sample `start` to the end (L <= start + bank.n_samples); where start >= frame // 2,
    the half frame before `start` too (the caller overwrites it), else through a work array.

    Per ear and block k (centre of frame k - 1 to centre of frame k), one product of the bank's block with two
    rows per IR: the sub-band gains at the block's start and their change over it; the second times the ramp,
    added to the first straight into `out`. Blocks past L are not rendered."""
    frame, half = bank.frame, bank.frame // 2
    b, n = len(log_power), out.shape[-1] - start
    if start < half:  # no room in `out` for the half block before the late part
        work = np.empty(out.shape[:-1] + (half + n,), np.float32)
        _render_into(bank, log_power, work, half, fs, log_correction)
        out[..., start:] = work[..., half:]
        return
    lp = np.asarray(log_power, np.float32).transpose(1, 0, 3, 2).copy()  # (2, B, T, 7), C order, ours
    if log_correction is not None:
        lp += log_correction
    t, s = lp.shape[2], bank.blocks.shape[2]
    knots = np.empty((2, t + 2, b, s), np.float32)  # gains at the frame centres, held at both ends
    knots[:, 1:-1] = _frame_gains(lp, fs, bank.calibration_t).transpose(0, 2, 1, 3)
    knots[:, 0], knots[:, -1] = knots[:, 1], knots[:, -2]
    used = min(-(-(n + half) // frame), bank.blocks.shape[1])  # blocks that reach into out
    steps = np.empty((2, used, 2, b, s), np.float32)  # per block: the gains at its start, their change
    steps[:, :, 0] = knots[:, :used]
    np.subtract(knots[:, 1 : used + 1], knots[:, :used], out=steps[:, :, 1])
    parts = np.matmul(steps.reshape(2, used, 2 * b, s), bank.blocks[:, :used])  # (2, used, 2B, frame)
    rise = _rise(frame)
    parts[:, :, b:] *= rise
    whole = min(used, (n + half) // frame)  # blocks wholly inside out
    base = start - half
    if whole:
        view = out[..., base : base + whole * frame].reshape(b, 2, whole, frame).transpose(1, 2, 0, 3)
        np.add(parts[:, :whole, :b], parts[:, :whole, b:], out=view)
    if whole < used:  # the last block, cut by the end of out
        m = n + half - whole * frame
        out[..., base + whole * frame :] = (parts[:, whole, :b, :m] + parts[:, whole, b:, :m]).transpose(1, 0, 2)


@functools.lru_cache(maxsize=4)
def _rise(frame: int) -> np.ndarray:
    """The linear ramp over a block, (frame,) float32: 0 at the centre of one frame, 1 at the next."""
    return ((np.arange(frame) + 0.5) / frame).astype(np.float32)


def assemble_ir(early: np.ndarray, log_power: np.ndarray, split: IrSplit, fs: int = SAMPLE_RATE,
                log_correction: np.ndarray | None = None, variants: np.ndarray | None = None) -> np.ndarray:
    """The played binaural IRs (B, 2, split.ir_length) float32 of predicted descriptions: the early waveforms
    `early` (B, 2, >= split.early_samples) alone before `split.late_start`, an equal-power crossfade over
    `split.fade` samples into the late parts rendered from `log_power` (B, 2, 7, split.late_frames) (plus
    `log_correction` (7,) per band where given) (`render_late`), the late parts alone after it; the last
    END_FADE_S fade to zero (`fade_tail`). Without a late part (`split.has_late` false) the early waveforms are
    the IR and `log_power` is not read. `variants` (B,) ints >= 0: row i's late part is rendered from the bank
    of seed BANK_SEED + variants[i], a noise independent of the others' (None: BANK_SEED for every row).

    The same samples as `join_early_late` and `fade_tail` of `render_late`, written into one array: the late
    part rendered in place, the early part, the crossfade and the end fade over it."""
    early = np.asarray(early, np.float32)
    if not split.has_late:
        if early.shape[-1] < split.ir_length:
            raise ValueError(f"need early waveforms of {split.ir_length} samples, got {early.shape[-1]}")
        return fade_tail(early[..., : split.ir_length], fs, END_FADE_S)
    start, fade, n = split.late_start, split.fade, split.ir_length
    log_power = np.asarray(log_power)
    _check(log_power, split.late_frame, n - start)
    if early.shape[-1] < start + fade or n - start < fade:
        raise ValueError(f"need early waveforms of {start + fade} samples and a late part of at least {fade}, "
                         f"got {early.shape[-1]} and {n - start}")
    out = np.empty(early.shape[:-1] + (n,), np.float32)
    if variants is None:
        _render_into(noise_bank(n - start, split.late_frame, fs), log_power, out, start, fs, log_correction)
    else:
        for seed in np.unique(variants):
            rows = np.flatnonzero(variants == seed)
            part = np.empty((len(rows),) + out.shape[1:], np.float32)
            bank = noise_bank(n - start, split.late_frame, fs, BANK_SEED + int(seed))
            _render_into(bank, log_power[rows], part, start, fs, log_correction)
            out[rows] = part
    out[..., :start] = early[..., :start]
    fade_out, fade_in = _crossfade(fade)
    cross = out[..., start : start + fade]
    cross *= fade_in
    cross += early[..., start : start + fade] * fade_out
    out[..., n - len(_end_fade(n, fs)) :] *= _end_fade(n, fs)
    return out


@functools.lru_cache(maxsize=4)
def _crossfade(fade: int) -> tuple[np.ndarray, np.ndarray]:
    """`equal_power_ramps(fade)` as float32 (fade_out, fade_in)."""
    return tuple(r.astype(np.float32) for r in equal_power_ramps(fade))


@functools.lru_cache(maxsize=4)
def _end_fade(n: int, fs: int) -> np.ndarray:
    """`fade_tail`'s raised-cosine ramp over the last END_FADE_S (at most n samples), float32."""
    m = min(int(round(END_FADE_S * fs)), n)
    return (0.5 + 0.5 * np.cos(np.pi * (np.arange(m) + 1) / m)).astype(np.float32)
