"""Output levels: the session calibration gain and the peak/RMS figures used to check renders.

Loudness policy: the chain applies one fixed calibration gain per session (`session_gain`, chosen once from
a set of reference IRs: the emitter heard at the grid points around it, `naf_model.rendering.calibration`)
so that music through the loudest reference IR plays at `TARGET_RMS_DBFS`. Every other IR then plays louder or softer
exactly as its own energy says; the soft limiter only catches the peaks the calibration cannot foresee.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.signal

from naf_model.audio.convolver import check_ir
from naf_model.audio.player import emitter_feed
from naf_model.audio.resample import resample_ir
from naf_model.conventions import SAMPLE_RATE
from naf_model.errors import AudioError

TARGET_RMS_DBFS = -20.0
"""RMS level of the music through the loudest reference IR; leaves ~18 dB for peaks before the limiter."""
MAX_GAIN_DB = 40.0
"""Largest calibration gain: music that needs more is nearly silent through the room (a fade-in, a file of
silence, content above the band the IRs pass); amplifying it only brings up noise, clicks and hum."""
EXCERPT_FRAMES = 400_000
"""Music frames the level is measured on (about 8 s): enough music to measure a level, quick to convolve."""


def db(x: float) -> float:
    """20 log10(x), with -inf for 0."""
    return 20.0 * math.log10(x) if x > 0 else -math.inf


def peak_dbfs(x: np.ndarray) -> float:
    """Largest absolute sample in dB relative to full scale (1.0)."""
    return db(float(np.max(np.abs(x), initial=0.0)))


def rms_dbfs(x: np.ndarray) -> float:
    """Root-mean-square level over all samples and channels, dB relative to full scale."""
    arr = np.asarray(x, dtype=np.float64)
    return db(float(np.sqrt(np.mean(arr**2)))) if arr.size else -math.inf


def calibration_gain(music: np.ndarray, reference_irs: np.ndarray,
                     target_rms_dbfs: float = TARGET_RMS_DBFS) -> float:
    """Gain bringing `music` (frames, C) through the loudest of `reference_irs` (B, 2, N) to the target.

    Both at the same sample rate. The loudest IR is the one with the most energy in either ear; the level is
    measured on a real convolution of an excerpt of the music (the spectra of music and IR both matter).
    AudioError (one line) if that is silent or would need more than MAX_GAIN_DB.
    """
    irs = np.asarray(reference_irs, dtype=np.float64)
    if irs.ndim == 2:
        irs = irs[None]
    if irs.ndim != 3 or irs.shape[0] == 0:
        raise AudioError(f"reference IRs must have shape (B, 2, N), got {np.shape(reference_irs)}")
    energy = np.sum(irs**2, axis=-1).max(axis=-1)
    loudest = check_ir(irs[int(np.argmax(energy))])
    clip = np.asarray(music, dtype=np.float64)
    clip = clip.reshape(len(clip), -1)
    excerpt = clip[:EXCERPT_FRAMES]
    wet = np.stack([scipy.signal.fftconvolve(excerpt[:, min(ear, clip.shape[1] - 1)], loudest[ear])
                    for ear in range(2)], axis=-1)
    level = float(np.sqrt(np.mean(wet**2)))
    if not level > 0:
        raise AudioError("reference IRs and music give silence; cannot calibrate the output level")
    gain = 10 ** (target_rms_dbfs / 20) / level
    if db(gain) > MAX_GAIN_DB:
        raise AudioError(f"the music's opening (up to {EXCERPT_FRAMES:,} frames) through the loudest reference "
                         f"IR plays at {db(level):.0f} dBFS RMS: bringing it to {target_rms_dbfs:g} dBFS would take "
                         f"{db(gain):+.0f} dB, more than {MAX_GAIN_DB:+.0f} dB; give louder music (not silence "
                         "or a fade-in)")
    return gain


def session_gain(music: np.ndarray, rate: int, reference_irs: np.ndarray, ir_rate: float = SAMPLE_RATE,
                 target_rms_dbfs: float = TARGET_RMS_DBFS) -> float:
    """The player's calibration gain: `music` (frames, C) at `rate` as the emitter plays it (`emitter_feed`:
    stereo downmixed to one source feeding both ears) through the loudest of `reference_irs` (B, 2, N) at
    `ir_rate`, resampled to `rate`, at the target RMS. The app's engine and the renders both call this."""
    refs = np.asarray(reference_irs, dtype=np.float64)
    refs = refs[None] if refs.ndim == 2 else refs
    if refs.ndim != 3 or refs.shape[0] == 0:
        raise AudioError(f"reference IRs must have shape (B, 2, N), got {np.shape(reference_irs)}")
    loudest = refs[int(np.argmax(np.sum(refs**2, axis=-1).max(axis=-1)))]
    return calibration_gain(emitter_feed(music), resample_ir(loudest, ir_rate, rate), target_rms_dbfs)
