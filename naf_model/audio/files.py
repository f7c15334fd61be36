"""Audio files in and out: music as (frames, channels) float32 clips; atomic WAV/FLAC writes."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from naf_model.atomic import atomic_path
from naf_model.audio.resample import resample
from naf_model.errors import AudioError

_WRITE_FORMATS = {".wav": "WAV", ".flac": "FLAC"}


@dataclass(frozen=True, eq=False)
class AudioClip:
    """samples: (frames, channels) float32 in [-1, 1], channels 1 or 2; sample_rate in Hz."""

    samples: np.ndarray
    sample_rate: int

    @property
    def seconds(self) -> float:
        return self.samples.shape[0] / self.sample_rate

    @property
    def channels(self) -> int:
        return self.samples.shape[1]

    def at_rate(self, sample_rate: int) -> AudioClip:
        """This clip resampled to `sample_rate` (itself if already there)."""
        if sample_rate == self.sample_rate:
            return self
        data = resample(self.samples, self.sample_rate, sample_rate, axis=0).astype(np.float32)
        return AudioClip(np.clip(data, -1.0, 1.0), int(sample_rate))


MUSIC_RATE_RANGE_HZ = (8_000, 384_000)
"""Sample rates a music file may have: telephone speech to the highest studio rate. Outside it the header
is wrong (a 1 Hz file would be resampled into gigabytes, a 4 MHz one into silence)."""
MIN_MUSIC_SECONDS = 0.1
"""Shortest music a clip may hold: a shorter loop repeats into a buzz or a DC offset, not music."""


def load_audio(path: str | os.PathLike, max_seconds: float | None = None) -> AudioClip:
    """Read a WAV, FLAC or OGG file (anything libsndfile reads) as a mono or stereo float32 clip.

    `max_seconds`: decode only the file's first seconds (a short render of a long song), else all of it.
    Raises AudioError in one line for a missing, unreadable or empty file, a sample rate outside
    MUSIC_RATE_RANGE_HZ, music shorter than MIN_MUSIC_SECONDS, more than 2 channels (no downmix is guessed
    for surround layouts) and for non-finite samples.
    """
    p = Path(path)
    if not p.is_file():
        what = "is a folder" if p.is_dir() else "does not exist"
        raise AudioError(f"audio file {p} {what}; give a WAV, FLAC or OGG file")
    try:
        info = sf.info(str(p))
        _check_rate(p, info.samplerate)
        frames = -1 if max_seconds is None else int(math.ceil(max_seconds * info.samplerate))
        data, rate = sf.read(str(p), frames=frames, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, ValueError, TypeError) as exc:
        reason = " ".join(str(exc).split())
        raise AudioError(f"cannot read audio file {p} ({reason}); give a WAV, FLAC or OGG file") from None
    if data.shape[0] == 0:
        raise AudioError(f"audio file {p} holds no samples; give a file with some music in it")
    if data.shape[1] > 2:
        raise AudioError(f"audio file {p} has {data.shape[1]} channels; only mono or stereo files are "
                         "supported, downmix it first (e.g. `sox in.wav -c 2 out.wav`)")
    if data.shape[0] < MIN_MUSIC_SECONDS * rate:
        raise AudioError(f"audio file {p} holds {data.shape[0]} sample(s), {1000 * data.shape[0] / rate:.3g} ms "
                         f"at {rate} Hz; music must last at least {MIN_MUSIC_SECONDS:g} s (a shorter loop "
                         "plays as a buzz)")
    if not np.all(np.isfinite(data)):
        raise AudioError(f"audio file {p} contains NaN or infinite samples; re-export it")
    return AudioClip(np.ascontiguousarray(np.clip(data, -1.0, 1.0)), int(rate))


def _check_rate(path: Path, rate: int) -> None:
    lo, hi = MUSIC_RATE_RANGE_HZ
    if not lo <= rate <= hi:
        raise AudioError(f"audio file {path} says its sample rate is {rate:,} Hz; music must be "
                         f"{lo:,}-{hi:,} Hz, so its header is wrong: re-export it at its true rate")


def write_audio(path: str | os.PathLike, samples: np.ndarray, sample_rate: int, bits: int = 24) -> Path:
    """Write (frames, channels) samples to a .wav or .flac file (16 or 24 bit) atomically; returns the path.

    Samples outside [-1, 1] are an error in the caller (the chain limits them), asserted here.
    """
    p = Path(path)
    fmt = _WRITE_FORMATS.get(p.suffix.lower())
    if fmt is None:
        raise AudioError(f"cannot write {p}: use a .wav or .flac file name")
    data = np.asarray(samples)
    assert np.all(np.isfinite(data)) and np.max(np.abs(data), initial=0.0) <= 1.0, "unlimited samples"
    with atomic_path(p) as tmp:
        sf.write(tmp, data, int(sample_rate), format=fmt, subtype=f"PCM_{bits}")
    return p
