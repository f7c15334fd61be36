"""The late part of a binaural IR as a compact description, and its synthesis (groundwork, not wired in yet).

`late_envelopes` describes an IR's late part by the mean power of each ear in each octave band on coarse
frames; `synthesize_late` plays such a description as noise in quarter-octave sub-bands (their powers
interpolated across the spectrum, as the simulator's own tail) with a diffuse field's interaural coherence;
`join_early_late` crossfades a full-resolution IR head into it (equal power) and `fade_tail` fades out an IR
that was cut short (raised cosine). numpy only, like the rest of `naf_model.audio`.

Bands: octave bands 125 Hz-8 kHz with smooth, power-complementary edges (`audio.bands.band_weights`), the lowest
reaching down to 0 Hz and the highest up to the Nyquist frequency, so that the bands share out the whole
spectrum and no late energy is left undescribed. Both ears are kept (not their mean): the late field near a
doorway or an absorbing wall is not diffuse and its ears differ by a few dB, and a second ear costs only 7
values a frame.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from naf_model.audio.bands import OCTAVE_CENTRES_HZ as LATE_BANDS_HZ
from naf_model.audio.bands import band_split, band_weights
from naf_model.conventions import HEAD_RADIUS_M, SAMPLE_RATE, SPEED_OF_SOUND

DEFAULT_FRAME_S = 0.010
"""10 ms frames: an octave band's decay of 60 dB in 0.3 s changes by 2 dB a frame, smooth enough to
interpolate between frame centres."""
EAR_DISTANCE_M = 2 * HEAD_RADIUS_M
"""The distance of the two points whose diffuse-field coherence `diffuse_coherence` models: the spherical
head's diameter, as the simulator's own late tail uses (`naf_model.simulate.tail`)."""
TAIL_FADE_S = 0.050
SUBBANDS_PER_OCTAVE = 4
"""The synthesis' spectral resolution, as the simulator's tail (`simulate.bands.SUBBANDS_PER_OCTAVE`)."""
NORMALISE_CYCLES = 3.0
"""A sub-band's noise is scaled to unit power over windows of this many periods of its bandwidth (at least a
frame): a narrow noise's power wanders on that scale, and a shorter window would modulate it enough to push
energy out of its band (a 43 Hz wide sub-band at 250 Hz normalised every 10 ms lost up to 2 dB)."""
CORRECTION_ROUNDS = 2
"""Rounds of `correction` after the synthesis: measured over 8 seeds (2.2 s IRs, T60 0.6-2 s) the worst band
level error fell from 1.0 dB (none) to 0.75 dB (one) and 0.45 dB (two)."""
_TINY = 1e-30


@dataclass(frozen=True)
class LateEnvelopes:
    """power (2, 7, T): mean power of each ear (0 left, 1 right) in each band of LATE_BANDS_HZ, in frames of
    `frame_s` seconds from `start_s` (seconds into the IR) on; the last frame may be partial."""

    power: np.ndarray
    start_s: float
    frame_s: float


def band_crosstalk(measuring: np.ndarray, sources: np.ndarray) -> np.ndarray:
    """(M, S): row m, column s is the share of a unit-power noise of band s (spectrum `sources[s]` squared, on
    a uniform frequency grid) that band m of `measuring` passes."""
    measure, source = np.square(measuring), np.square(sources)
    return measure @ source.T / source.sum(axis=1)[None, :]


def octave_hats(n_sub: int) -> np.ndarray:
    """(S, 7) weights, rows summing to 1, that interpolate octave values (at 125 Hz-8 kHz) linearly over
    octaves to S = 6 k + 1 sub-bands k to an octave."""
    position = np.arange(n_sub) / ((n_sub - 1) // 6)
    return np.maximum(0.0, 1.0 - np.abs(position[:, None] - np.arange(7)[None, :]))


@dataclass(frozen=True)
class SubbandFit:
    """What `subband_powers` needs of the band responses, computed once per pair of them (`subband_fit`):
    hats (S, 7), octave_width (7,) and sub_width (S,) mean squared responses, passed (7, S) crosstalk."""

    hats: np.ndarray
    octave_width: np.ndarray
    sub_width: np.ndarray
    passed: np.ndarray


def subband_fit(octave_w: np.ndarray, sub_w: np.ndarray) -> SubbandFit:
    """The response figures of octave bands `octave_w` (7, F) and sub-bands `sub_w` (S, F) on one grid."""
    return SubbandFit(octave_hats(sub_w.shape[0]), np.square(octave_w).mean(1), np.square(sub_w).mean(1),
                      band_crosstalk(octave_w, sub_w))


def subband_powers(power: np.ndarray, octave_w: np.ndarray | None, sub_w: np.ndarray | None, rounds: int = 4,
                   fit: SubbandFit | None = None) -> np.ndarray:
    """Sub-band powers (..., S, T) whose octave bands measure `power` (..., 7, T): each sub-band's power
    density interpolated in log between the octave bands' (as the simulator interpolates its decays across
    the spectrum), the octave densities corrected over a few rounds until the bands measure what they should.
    A band-uniform noise per octave would give a flank the decay of the slower neighbour (a 250 Hz band
    beside a slower 500 Hz one read 20-30 % long). `fit`: `subband_fit(octave_w, sub_w)` computed before
    (the live synthesis keeps one; the responses are then not read)."""
    fit = fit if fit is not None else subband_fit(octave_w, sub_w)
    hats, octave_width, sub_width, passed = fit.hats, fit.octave_width, fit.sub_width, fit.passed
    target = np.maximum(power, _TINY)
    density = target / octave_width[:, None]
    for _ in range(rounds):  # matmul broadcasts over the leading axes (faster here than einsum)
        sub = np.exp(hats @ np.log(density)) * sub_width[:, None]
        density = density * target / np.maximum(passed @ sub, _TINY)
    sub = np.exp(hats @ np.log(density)) * sub_width[:, None]
    return sub * (hats @ (power > 0).astype(np.float64) > 0)


def frame_count(n_samples: int, frame: int) -> int:
    """Frames of `frame` samples that cover `n_samples` (the last may be partial)."""
    return -(-n_samples // frame)


def frame_means(x: np.ndarray, frame: int) -> np.ndarray:
    """Mean of (..., N) over consecutive frames of `frame` samples, (..., ceil(N / frame)); a partial last
    frame is averaged over the samples it has."""
    n = x.shape[-1]
    t = frame_count(n, frame)
    padded = np.zeros(x.shape[:-1] + (t * frame,))
    padded[..., :n] = x
    counts = np.full(t, float(frame))
    counts[-1] = n - (t - 1) * frame
    return padded.reshape(x.shape[:-1] + (t, frame)).sum(-1) / counts


def late_envelopes(
    ir: np.ndarray, fs: int = SAMPLE_RATE, start_s: float = 0.1, frame_s: float = DEFAULT_FRAME_S
) -> LateEnvelopes:
    """The late part of a binaural IR (2, N) at `fs` Hz from `start_s` seconds on: each ear's mean power per
    band per frame of `frame_s` seconds, (2, 7, T) with T = ceil((N - start) / frame).

    The bands are split over the whole IR before the late part is cut out, so the band filters see the
    sound that leads into it (no onset of their own at `start_s`)."""
    ir = np.asarray(ir, np.float64)
    if ir.ndim != 2 or ir.shape[0] != 2:
        raise ValueError(f"expected a binaural IR (2, N), got shape {ir.shape}")
    start, frame = int(round(start_s * fs)), int(round(frame_s * fs))
    if frame < 1 or not 0 <= start < ir.shape[1]:
        raise ValueError(f"start_s {start_s} must lie inside the IR and frame_s {frame_s} be at least a sample")
    bands = band_split(ir, fs)[..., start:]
    return LateEnvelopes(frame_means(np.square(bands), frame), start / fs, frame / fs)


def diffuse_coherence(freqs: np.ndarray, distance_m: float = EAR_DISTANCE_M) -> np.ndarray:
    """Interaural coherence (F,) of a diffuse sound field at `freqs` Hz: max(0, sin(kd) / kd), k = 2 pi f / c.

    The coherence of two points `distance_m` apart in a diffuse field (Cook, Waterhouse, Berendt, Edelman and
    Thompson, "Measurement of correlation coefficients in reverberant sound fields", JASA 27, 1072, 1955),
    clipped at zero as the simulator's late tail does (`simulate.tail.render_tail`), so that synthesis and
    training IRs agree. A real head diffracts, which acts like a larger distance (pass one: e.g. Lindevald
    and Benade 1986 measured a binaural coherence close to this form with a larger effective distance)."""
    kd = 2 * np.pi * np.asarray(freqs, np.float64) * distance_m / SPEED_OF_SOUND
    return np.maximum(0.0, np.sinc(kd / np.pi))


def coherent_noise(n_samples: int, fs: int, rng: np.random.Generator,
                   coherence: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Spectra (2, n_samples // 2 + 1) of two white Gaussian noises whose coherence at each frequency is
    `coherence(f)`: the ears share a common noise with weight sqrt((1 + c) / 2) and differ by a second one
    with weight sqrt((1 - c) / 2), so both keep unit power and their correlation is c."""
    common, differ = np.fft.rfft(rng.standard_normal((2, n_samples)), axis=-1)
    c = np.clip(coherence(np.fft.rfftfreq(n_samples, 1.0 / fs)), -1.0, 1.0)
    a, b = np.sqrt((1 + c) / 2), np.sqrt((1 - c) / 2)
    return np.stack([a * common + b * differ, a * common - b * differ])


def power_curve(power: np.ndarray, frame: int, n_samples: int) -> np.ndarray:
    """Frame powers (..., T) as a per-sample curve (..., n_samples): linear between frame centres, held before
    the first centre and after the last. Linear in power, not in dB: it keeps a frame sequence's energy where
    the frames fluctuate (a low band's realisation), where a line in dB would run low (a geometric mean);
    on a smooth decay of 2 dB a frame the two differ by 0.1 dB."""
    centres = (np.arange(power.shape[-1]) + 0.5) * frame
    t = np.arange(n_samples)
    flat = np.maximum(power, 0.0).reshape(-1, power.shape[-1])
    return np.stack([np.interp(t, centres, row) for row in flat]).reshape(power.shape[:-1] + (n_samples,))


def subband_width_hz(index: int) -> float:
    """Half-power width (Hz) of sub-band `index` of `band_weights(f, SUBBANDS_PER_OCTAVE)` (the outer ones
    are wider; their inner flank's width is a lower bound)."""
    centre = LATE_BANDS_HZ[0] * 2.0 ** (index / SUBBANDS_PER_OCTAVE)
    return centre * (2.0 ** (0.5 / SUBBANDS_PER_OCTAVE) - 2.0 ** (-0.5 / SUBBANDS_PER_OCTAVE))


def synthesize_late(
    envelopes: LateEnvelopes,
    fs: int = SAMPLE_RATE,
    n_samples: int | None = None,
    seed: int = 0,
    coherence: Callable[[np.ndarray], np.ndarray] = diffuse_coherence,
) -> np.ndarray:
    """A binaural late part (2, n_samples) float64 whose power in each band follows `envelopes`; sample 0 is
    the start of frame 0 (`envelopes.start_s` into the IR). Default length: the frames' span; samples past it
    are silent (fade the end with `fade_tail` if the description stops mid-decay).

    Per quarter-octave sub-band, two noises with `coherence` between the ears (`coherent_noise`) are
    band-limited, scaled to unit power over a few periods of its bandwidth (NORMALISE_CYCLES: so a frame's
    power is the description's, not the noise's chance level), then shaped by each ear's power curve
    (`power_curve`) of the sub-band powers that `subband_powers` fits to the octave description; finally
    CORRECTION_ROUNDS of `correction` set the result's measured octave powers to the description's. The same
    seed gives the same waveform."""
    power = np.asarray(envelopes.power, np.float64)
    frame = int(round(envelopes.frame_s * fs))
    n = n_samples if n_samples is not None else power.shape[-1] * frame
    rng = np.random.default_rng(seed)
    freqs = np.fft.rfftfreq(n, 1.0 / fs)
    weights = band_weights(freqs, SUBBANDS_PER_OCTAVE)
    target = power_curve(subband_powers(power, band_weights(freqs), weights), frame, n)  # (2, S, n)
    target[..., power.shape[-1] * frame :] = 0.0  # nothing is described past the last frame: silence
    parts = np.empty((len(weights), 2, n))
    for b, weight in enumerate(weights):  # a noise pair of its own per sub-band: they add up in power
        noise = np.fft.irfft(coherent_noise(n, fs, rng, coherence) * weight, n, axis=-1)  # (2, n)
        span = max(frame, int(round(NORMALISE_CYCLES * fs / subband_width_hz(b))))
        local = power_curve(frame_means(np.square(noise), span), span, n)
        parts[b] = noise * np.sqrt(target[:, b] / np.maximum(local, _TINY))
    for _ in range(CORRECTION_ROUNDS):
        parts *= correction(parts.sum(axis=0), power, frame, fs)
    return parts.sum(axis=0)


def correction(late: np.ndarray, power: np.ndarray, frame: int, fs: int) -> np.ndarray:
    """Amplitude gains (S, 2, n) for the sub-bands of a synthesized `late` (2, n) that bring its measured
    octave powers per frame to `power` (2, 7, T): each octave's power ratio, log-interpolated to the
    sub-bands like their powers, clipped to +-10 dB. It takes out what chance left in the noises' levels."""
    n, t = late.shape[-1], power.shape[-1]
    kept = min(n, t * frame)
    measured = frame_means(np.square(band_split(late[:, :kept], fs)), frame)  # (2, 7, T') with T' <= T
    ratio = np.ones_like(power)
    described = power[..., : measured.shape[-1]]
    ratio[..., : measured.shape[-1]] = np.where(
        (described > 0) & (measured > 0), described / np.maximum(measured, _TINY), 1.0
    )
    hats = octave_hats(6 * SUBBANDS_PER_OCTAVE + 1)
    sub = np.exp(np.einsum("sb,ebt->est", hats, np.log(np.clip(ratio, 0.1, 10.0))))
    return np.sqrt(power_curve(sub, frame, n)).transpose(1, 0, 2)


def equal_power_ramps(n: int) -> tuple[np.ndarray, np.ndarray]:
    """(fade_out, fade_in), each (n,): cos and sin of a quarter turn over n samples; their squares sum to 1, so
    two uncorrelated signals of one power keep that power through the crossfade."""
    phase = 0.5 * np.pi * (np.arange(n) + 0.5) / n
    return np.cos(phase), np.sin(phase)


def join_early_late(early: np.ndarray, late: np.ndarray, start: int, fade: int) -> np.ndarray:
    """Binaural IRs (..., 2, start + M) from their full-resolution heads `early` (..., 2, >= start + fade) and
    late parts `late` (..., 2, M >= fade) whose sample 0 sits at `start`: the head alone before `start`, an
    equal-power crossfade (`equal_power_ramps`) over the `fade` samples from `start`, then the late part alone.
    Float32 in, float32 out (float64 otherwise); any leading batch axes, alike in both.

    Equal power, not equal amplitude: the synthesized noise is uncorrelated with the IR it replaces."""
    dtype = np.result_type(early, late, np.float32)
    early, late = np.asarray(early, dtype), np.asarray(late, dtype)
    if fade < 1 or early.shape[-1] < start + fade or late.shape[-1] < fade:
        raise ValueError(f"need early >= start + fade = {start + fade} and late >= fade = {fade} samples, got "
                         f"{early.shape[-1]} and {late.shape[-1]}")
    out = np.concatenate([early[..., :start], late], axis=-1)
    fade_out, fade_in = (r.astype(dtype) for r in equal_power_ramps(fade))
    out[..., start : start + fade] = early[..., start : start + fade] * fade_out + late[..., :fade] * fade_in
    return out


def fade_tail(ir: np.ndarray, fs: int = SAMPLE_RATE, fade_s: float = TAIL_FADE_S) -> np.ndarray:
    """A copy of IRs (..., N) whose last `fade_s` seconds fade out by a raised cosine ending on exactly zero,
    so an IR cut short ends without a step. The fade changes any sample-to-sample step by at most
    max|ir| * pi / (2 * fade samples) (the ramp's steepest slope). Float32 stays float32 (float64 otherwise)."""
    out = np.array(ir, np.result_type(ir, np.float32))
    n = min(int(round(fade_s * fs)), out.shape[-1])
    if n < 1:
        return out
    out[..., -n:] *= (0.5 + 0.5 * np.cos(np.pi * (np.arange(n) + 1) / n)).astype(out.dtype)
    return out
