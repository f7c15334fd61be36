"""The played IR: predicted log-magnitudes -> a binaural waveform that keeps the room's energy and timing.

Phase methods (`PHASE_METHODS`, chosen by `synthesize`):
- `listening` (default for what is played): the diffuse part is the predicted magnitude times the STFT of
  a fixed white noise (one independent noise per ear, seed NOISE_SEED, normalised to unit RMS magnitude),
  overlap-added. The product of a smooth magnitude and the STFT of a real signal is nearly a consistent
  STFT, so the overlap-add keeps its energy (a random phase per bin is inconsistent and loses ~6 dB). A
  field trained on ln|X| predicts E[ln|X|]; for noise-like |X| (Rayleigh) ln RMS = E[ln|X|] + gamma / 2
  (gamma Euler's constant, +2.5 dB of energy), so the diffuse frames of a field's prediction are raised by
  that (`log_mean=True`; magnitudes of one simulation already are a realisation and are not). Where the
  segment from emitter to listener lies in the free space (line of sight), the direct sound is the
  simulator's own free-field pulse through the data set's ears (`ears`: the measured HRIR of the direction,
  or the spherical head's Brown & Duda shadow at Woodworth delays; 1/r) added to the waveform at its
  fractional delay; the predicted magnitudes of the frames that hold it stay diffuse, but that noise waits
  for the earliest moment a reflection can arrive (`reflections.FirstReflection`, from the scene's
  surfaces): between the pulse and the first reflection the room has nothing else, and noise there made a
  weak contralateral direct sound read early (KEMAR's played ITD at 90 deg was 175 us short). Nothing is
  played before the pulse (the gate opens PRE_PULSE_SAMPLES before it). Where walls block the line of
  sight there is no pulse: the onset is where the predicted frame energy first comes within
  ONSET_BELOW_PEAK_DB of its maximum (never before the line-of-sight delay or the first reflection), and
  the gate opens PRE_ONSET_S before it.
- `geometric`: the previous listening method (`phase.geometric_phase_ir`: pulse at the line-of-sight
  delay everywhere, fixed random phase elsewhere); kept for comparison, ~9 dB drier than the room.
- `random`: the paper's fixed random phase (metrics).

Cost per binaural IR at T = 104 frames on one CPU thread (measured with `naf bench`, see docs/benchmarks.md):
line-of-sight test ~15 us (shapely, prepared polygon), magnitudes and noise product ~0.1 ms, inverse FFTs
and overlap-add ~0.4 ms, gate ~10 us: about 0.6 ms, against ~1-2.5 ms for the network.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely

from naf_model.audio.late import fade_tail
from naf_model.audio.whole import join_late
from naf_model.conventions import (
    HOP,
    LOG_EPS,
    N_FFT,
    N_FREQ,
    ONSET_BELOW_PEAK_DB,
    PHASE_METHODS,
    SAMPLE_RATE,
)
from naf_model.field.ears import Ears, SphericalHead
from naf_model.field.phase import PRE_ONSET_S, geometric_phase_ir, overlap_add, random_phase_ir
from naf_model.field.reflections import FirstReflection
from naf_model.spectrogram import stft
from naf_model.split import IrSplit

NOISE_SEED = 20_221_201
DIFFUSE_LOG_CORRECTION = float(np.euler_gamma / 2)
"""ln RMS - E[ln |X|] for Rayleigh-distributed |X|: gamma / 2 = 0.289 (2.5 dB of energy)."""
ONSET_FRAME_LAG = 0.25
"""Occluded pairs: the gate opens this many hops after the centre of the first frame within 20 dB of the
peak frame. Fitted on apartment_1's simulations (226 occluded pairs, heading 0): with a lag of 1 hop that
onset came a median 4.3 ms after the waveform's own onset (first sample within 20 dB of its peak), so
0.25 hop puts the median on it (p10 -3 ms, p90 +4 ms)."""
PRE_PULSE_SAMPLES = 1
"""Line of sight: the gate opens this many samples before the sample holding the (fractional) delay."""
SPHERICAL = SphericalHead()
"""The ears of fields made before measured ears (the default radius)."""
_OVERLAP = N_FFT // HOP
_NOISE: dict[tuple[int, int], np.ndarray] = {}


def noise_stft(n_frames: int, variant: int = 0) -> np.ndarray:
    """STFT of a fixed white noise per ear, (2, N_FREQ, n_frames) complex64, unit RMS magnitude (cached).

    Frames are taken from the inside of a longer noise, so every frame is full (no zero-padded edge).
    `variant` picks the realisation (`noise_variants`): 0 is seed NOISE_SEED, the one every table is scored
    with; another is as fixed, and independent of it."""
    key = (n_frames, variant)
    if key not in _NOISE:
        rng = np.random.default_rng(NOISE_SEED if variant == 0 else (NOISE_SEED, variant))
        noise = rng.standard_normal((2, (n_frames + 2 * _OVERLAP) * HOP))
        spec = stft(noise, n_frames + 2 * _OVERLAP)[:, :N_FREQ, _OVERLAP : _OVERLAP + n_frames]
        spec /= np.sqrt(np.mean(np.abs(spec) ** 2))
        _NOISE[key] = spec.astype(np.complex64)
    return _NOISE[key]


def noise_variants(noise: Any, b: int) -> np.ndarray | None:
    """The noise realisation of each of `b` rows, (b,) int64, from one int or (b,) ints >= 0; None where every
    row plays realisation 0 (the default, what one IR alone plays).

    Sources that play together need their own realisations: the late parts of one noise at four positions
    correlate 0.93-0.97 (apartment_1's field, one listener), so four emitters playing one clip in step summed
    their tails in amplitude, 5 dB above the power sum that separate sources in a room give."""
    rows = np.broadcast_to(np.asarray(noise, np.int64).reshape(-1), (b,))
    if np.any(rows < 0):
        raise ValueError(f"noise realisations are ints >= 0, got {rows.min()}")
    return None if not rows.any() else rows


def row_noise(n_frames: int, variants: np.ndarray | None) -> np.ndarray:
    """`noise_stft` per row: (1, 2, N_FREQ, n_frames) for realisation 0 everywhere (variants None), else
    (B, 2, N_FREQ, n_frames), row i's realisation variants[i]."""
    if variants is None:
        return noise_stft(n_frames)[None]
    return np.stack([noise_stft(n_frames, int(v)) for v in variants])


def line_of_sight(free_space, emitters: np.ndarray, listeners: np.ndarray) -> np.ndarray:
    """(B,) bool: the segment emitter-listener (B, 2) metres lies in `free_space` (a shapely polygon; None
    means no geometry is known and every pair counts as line of sight)."""
    e = np.asarray(emitters, np.float64).reshape(-1, 2)
    if free_space is None:
        return np.ones(len(e), bool)
    lines = shapely.linestrings(np.stack([e, np.asarray(listeners, np.float64).reshape(-1, 2)], axis=1))
    return np.asarray(shapely.covers(free_space, lines), bool)


def predicted_onset(mag: np.ndarray) -> np.ndarray:
    """Onset (B, 2) seconds from magnitudes (B, 2, F, T): ONSET_FRAME_LAG hops after the centre of the
    first frame whose energy is within ONSET_BELOW_PEAK_DB of the loudest frame."""
    return onset_of_energy(np.square(mag).sum(-2))


def onset_of_energy(energy: np.ndarray) -> np.ndarray:
    """`predicted_onset` of frame energies (B, 2, T) (sum over frequency of the squared magnitudes)."""
    first = np.argmax(energy >= energy.max(-1, keepdims=True) * 10 ** (-ONSET_BELOW_PEAK_DB / 10), axis=-1)
    return (first + ONSET_FRAME_LAG) * HOP / SAMPLE_RATE


def listening_ir(
    logmag: np.ndarray,
    n_samples: int,
    emitters: np.ndarray,
    listeners: np.ndarray,
    headings: np.ndarray,
    visible: np.ndarray,
    ears: Ears = SPHERICAL,
    log_mean: bool = True,
    quiet_until: np.ndarray | None = None,
    variants: np.ndarray | None = None,
) -> np.ndarray:
    """Log-magnitudes (B, 2, N_FREQ, T) of pairs at emitters, listeners (B, 2) m, headings (B,) deg, line of
    sight (B,) bool -> waveforms (B, 2, n_samples) float32 (see the module docstring), the direct sound
    through `ears` (the data set's, `ears.ears_for`). `log_mean`: the magnitudes are E[ln|X|] predictions (a
    field's), so diffuse frames get DIFFUSE_LOG_CORRECTION. `quiet_until` (B,) s: no reflection arrives
    before it (`reflections.FirstReflection.earliest_s`; None: no bound), so the diffuse part waits for it.
    `variants` (B,) the noise realisation of each row (`noise_variants`; None: realisation 0)."""
    b, _, n_freq, t = logmag.shape
    emitters, listeners = np.asarray(emitters, np.float64), np.asarray(listeners, np.float64)
    headings = np.broadcast_to(np.asarray(headings, np.float64).reshape(-1), (b,))
    delays_s = ears.delays(emitters, listeners, headings)
    mag = np.maximum(np.exp(np.asarray(logmag, np.float32)) - np.float32(LOG_EPS), np.float32(0.0))
    visible = np.asarray(visible, bool).reshape(b)
    los_onset = np.asarray(delays_s, np.float64).reshape(b, 2) * SAMPLE_RATE  # samples
    gain = np.float32(np.exp(DIFFUSE_LOG_CORRECTION) if log_mean else 1.0)
    gate_at = np.where(  # the pulse is causal (minimum phase): on line of sight the gate opens just before it
        visible[:, None],
        np.floor(los_onset) - PRE_PULSE_SAMPLES,
        np.maximum(los_onset, predicted_onset(mag) * SAMPLE_RATE) - PRE_ONSET_S * SAMPLE_RATE,
    )
    x = overlap_add((mag * gain) * row_noise(t, variants), n_samples)
    x *= np.arange(n_samples) >= diffuse_gate(gate_at, quiet_until)[..., None]
    if visible.any():
        direct, _ = ears.direct(emitters[visible], listeners[visible], headings[visible])
        add_direct_pulses(x, np.flatnonzero(visible), los_onset[visible], direct)
    return x


def diffuse_gate(gate_at: np.ndarray, quiet_until: np.ndarray | None) -> np.ndarray:
    """Where the diffuse part starts, (B, 2) samples: the gate `gate_at` (B, 2), or later where no
    reflection can have arrived yet (`quiet_until` (B,) s or None)."""
    if quiet_until is None:
        return gate_at
    return np.maximum(gate_at, np.asarray(quiet_until, np.float64).reshape(-1, 1) * SAMPLE_RATE)


PULSE_LEAD = 32
"""Samples of a placed pulse's buffer before its onset (the fractional delay's ringing; cut by the gate)."""


def add_direct_pulses(x: np.ndarray, rows: np.ndarray, onset: np.ndarray, direct: np.ndarray) -> None:
    """Add the coherent direct sound `direct` (V, 2, F) (spectra on the STFT grid, starting at their sample 0)
    at onsets (V, 2) samples (fractional) to waveforms `x` (B, 2, N) of items `rows` (V,), in place. Nothing
    of it is played before PRE_PULSE_SAMPLES before the sample holding the onset. It is added to the
    waveform, not taken out of the diffuse part: a field predicts the direct frames 1.8-6.6 dB below the
    simulation (held-out apartment_1 pairs, the sharp onset is smoothed), so the predicted energy there is
    what the early reflections need, not the pulse's share."""
    n = x.shape[-1]
    start = np.floor(onset).astype(np.int64)  # (V, 2)
    frac = (onset - start)[..., None]
    full = np.zeros(direct.shape[:-1] + (N_FFT // 2 + 1,), np.complex128)
    full[..., : direct.shape[-1]] = direct
    full *= np.exp(-2j * np.pi * (frac + PULSE_LEAD) * np.arange(N_FFT // 2 + 1) / N_FFT)
    pulses = np.fft.irfft(full, n=N_FFT, axis=-1).astype(np.float32)  # onset at PULSE_LEAD + frac
    pulses[..., : PULSE_LEAD - PRE_PULSE_SAMPLES] = 0.0
    first = start - PULSE_LEAD
    for v, ear in np.ndindex(start.shape):
        a, b = first[v, ear], first[v, ear] + N_FFT
        lo, hi = max(a, 0), min(b, n)
        if lo < hi:
            x[rows[v], ear, lo:hi] += pulses[v, ear, lo - a : hi - a]


def synthesize(
    method: str,
    logmag: np.ndarray,
    emitters: np.ndarray,
    listeners: np.ndarray,
    headings: np.ndarray,
    n_samples: int,
    ears: Ears = SPHERICAL,
    free_space=None,
    log_mean: bool = True,
    reflections: FirstReflection | None = None,
    variants: np.ndarray | None = None,
) -> np.ndarray:
    """Waveforms (B, 2, n_samples) float32 of log-magnitudes (B, 2, N_FREQ, T) for pairs at emitters and
    listeners (B, 2) m, headings (B,) deg, by phase `method` (PHASE_METHODS), the direct sound through `ears`
    (the data set's). `free_space` decides line of sight (`line_of_sight`); `log_mean` and `variants` (the
    listening method's noise per row) as in `listening_ir`; `reflections` (the scene's, or None) holds the
    diffuse part back until a reflection can arrive."""
    if method not in PHASE_METHODS:
        raise ValueError(f"unknown phase {method!r}; use one of {PHASE_METHODS}")
    if method == "random":
        return random_phase_ir(logmag, n_samples)
    if method == "geometric":
        return geometric_phase_ir(logmag, n_samples, ears.delays(emitters, listeners, headings))
    visible = line_of_sight(free_space, emitters, listeners)
    quiet = None if reflections is None else reflections.earliest_s(emitters, listeners)
    return listening_ir(logmag, n_samples, emitters, listeners, headings, visible, ears, log_mean, quiet,
                        variants)


def play(
    method: str,
    logmag: np.ndarray,
    late: np.ndarray | None,
    emitters: np.ndarray,
    listeners: np.ndarray,
    headings: np.ndarray,
    split: IrSplit,
    ears: Ears,
    free_space=None,
    log_mean: bool = True,
    reflections: FirstReflection | None = None,
    noise: Any = 0,
) -> np.ndarray:
    """The whole played IR (B, 2, split.ir_length) float32 of a description: the early part's log-magnitudes
    (B, 2, N_FREQ, T) through phase `method` (`synthesize`), joined to the late part's ln band powers
    (B, 2, 7, T_late) (`audio.whole.join_late`: equal-power crossfade at `split.late_start`, band noise with a
    diffuse field's coherence after it, the end faded). Without a late part (None: a field made before it
    existed) the spectrogram is the whole IR, its last `audio.late.TAIL_FADE_S` faded so a cut tail never
    ends on a step. `log_mean`: a field's predictions (E[ln]): the early part's diffuse frames and the late
    part are raised to their expected power (`listening_ir`, `audio.whole.LATE_LOG_CORRECTION`). `noise`:
    the listening method's noise realisation, one int or one per row (`noise_variants`), early and late part
    alike; the other methods have none."""
    n = split.ir_length if late is None else split.early_samples
    variants = noise_variants(noise, len(logmag))
    early = synthesize(method, logmag, emitters, listeners, headings, n, ears, free_space, log_mean, reflections,
                       variants)
    if late is None:
        return fade_tail(early).astype(np.float32)
    return join_late(early, late, split, log_mean, variants)
