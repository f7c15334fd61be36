"""AAC-LC (ffmpeg) and Opus (opus-tools) round trips of many IR channels at once, with their storage.

Spawning one encoder per IR would take longer than the evaluation itself, so each call lays the
signals end to end in one long mono stream (a silent guard between them keeps one IR's codec frames
out of the next), scales each into [-1, 1] by its own peak (the float32 gain is kept and counted in
storage), encodes and decodes the stream once, measures the codec's delay by cross-correlation, trims
it, and cuts the IRs back out. Opus codes at 48 kHz internally, so the stream is resampled 22,050 ->
48,000 Hz (soxr, high quality) before `opusenc` and back after `opusdec`; AAC-LC runs at 22,050 Hz.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from naf_model.conventions import SAMPLE_RATE
from naf_model.errors import AudioError

PEAK = 0.9
"""Each IR is scaled so its peak is this: headroom for the codec's overshoot at transients."""
GUARD_SAMPLES = 1024
"""Silence between IRs in the stream (46 ms at 22,050 Hz): longer than an AAC frame and two Opus frames."""
MAX_DELAY_SAMPLES = 4096
"""The delay search window, +/- samples at 22,050 Hz; real encoder delays are a few hundred at most."""
DELAY_PROBE_SAMPLES = 1 << 20
"""Samples of the stream's start used to measure the delay (enough content, cheap FFT)."""
MAX_SIGNALS_PER_STREAM = 2048
"""Signals per encoder run: bounds memory (~120 MB of float32 at 22,050 Hz, twice that resampled)."""


@dataclass(frozen=True)
class Codec:
    """A lossy codec setting: `name` for tables, `tool` ('aac' via ffmpeg or 'opus' via opus-tools),
    `kbps` the target bitrate per mono channel, `rate` the sample rate it codes at (Hz)."""

    name: str
    tool: str
    kbps: float
    rate: int


AAC_LC = Codec("AAC-LC 32 kbit/s", "aac", 32.0, SAMPLE_RATE)
OPUS = Codec("Opus 6 kbit/s", "opus", 6.0, 48_000)


@dataclass(frozen=True)
class RoundTrip:
    """Decoded signals (M, N) float32 at 22,050 Hz, the bitstream size in bytes (container included), the
    bytes of the per-signal gains (4 per signal), the measured codec delay in samples at 22,050 Hz (already
    removed) and the signal count."""

    decoded: np.ndarray
    bitstream_bytes: int
    gain_bytes: int
    delay_samples: list[int]
    n_signals: int

    @property
    def storage_bytes(self) -> int:
        """Everything a decoder needs besides the codec: bitstream plus gains."""
        return self.bitstream_bytes + self.gain_bytes


def missing_tools(codec: Codec) -> str | None:
    """None if the codec's command-line tools are installed, else a one-line reason naming what is missing."""
    needed = ("ffmpeg",) if codec.tool == "aac" else ("opusenc", "opusdec")
    missing = [t for t in needed if shutil.which(t) is None]
    if not missing:
        return None
    package = "ffmpeg" if codec.tool == "aac" else "opus-tools"
    return f"{', '.join(missing)} not found; install the Debian package {package} for the {codec.name} rows"


def round_trip(signals: np.ndarray, codec: Codec) -> RoundTrip:
    """Encode and decode mono signals (M, N) at 22,050 Hz through `codec`, a few long streams per call."""
    reason = missing_tools(codec)
    if reason is not None:
        raise AudioError(reason)
    signals = np.asarray(signals, np.float32)
    decoded = np.zeros_like(signals)
    total_bytes, delays = 0, []
    for start in range(0, len(signals), MAX_SIGNALS_PER_STREAM):
        part = signals[start : start + MAX_SIGNALS_PER_STREAM]
        out, n_bytes, delay = _round_trip_stream(part, codec)
        decoded[start : start + len(part)] = out
        total_bytes += n_bytes
        delays.append(delay)
    return RoundTrip(decoded, total_bytes, 4 * len(signals), delays, len(signals))


def _round_trip_stream(signals: np.ndarray, codec: Codec) -> tuple[np.ndarray, int, int]:
    """One encoder run: (M, N) -> decoded (M, N), bitstream bytes, measured delay (samples at 22,050 Hz)."""
    m, n = signals.shape
    peaks = np.abs(signals).max(axis=1)
    gains = np.where(peaks > 0, peaks / PEAK, 1.0).astype(np.float32)  # stored with the bitstream
    stride = n + GUARD_SAMPLES
    stream = np.zeros(GUARD_SAMPLES + m * stride, np.float32)
    body = stream[GUARD_SAMPLES:].reshape(m, stride)
    body[:, :n] = signals / gains[:, None]
    with tempfile.TemporaryDirectory(prefix="naf-codec-") as tmp:
        folder = Path(tmp)
        if codec.tool == "aac":
            decoded_stream, n_bytes = _aac(stream, codec, folder)
        else:
            decoded_stream, n_bytes = _opus(stream, codec, folder)
    delay = measure_delay(stream, decoded_stream)
    aligned = np.zeros_like(stream)
    src = decoded_stream[max(delay, 0) :]
    dst = aligned[max(-delay, 0) :]
    k = min(len(src), len(dst))
    dst[:k] = src[:k]
    out = aligned[GUARD_SAMPLES:].reshape(m, stride)[:, :n] * gains[:, None]
    return out.astype(np.float32), n_bytes, delay


def _run(cmd: list[str]) -> None:
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
        raise AudioError(f"{cmd[0]} failed ({tail[0]}); check that it works: {' '.join(cmd[:3])} ...")


def _aac(stream: np.ndarray, codec: Codec, folder: Path) -> tuple[np.ndarray, int]:
    """ffmpeg's native AAC-LC encoder in an .m4a (ffmpeg trims its priming on decode)."""
    wav, m4a, raw = folder / "in.wav", folder / "out.m4a", folder / "out.f32"
    sf.write(wav, stream, codec.rate, subtype="FLOAT")
    quiet = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y"]
    bitrate = f"{codec.kbps:g}k"
    _run([*quiet, "-i", str(wav), "-c:a", "aac", "-profile:a", "aac_low", "-b:a", bitrate, str(m4a)])
    _run([*quiet, "-i", str(m4a), "-f", "f32le", "-ac", "1", "-ar", str(SAMPLE_RATE), str(raw)])
    return np.fromfile(raw, dtype="<f4"), m4a.stat().st_size


def _opus(stream: np.ndarray, codec: Codec, folder: Path) -> tuple[np.ndarray, int]:
    """opusenc / opusdec at 48 kHz; the stream is resampled there and back with soxr."""
    wav, ogg, dec = folder / "in.wav", folder / "out.opus", folder / "out.wav"
    sf.write(wav, soxr.resample(stream, SAMPLE_RATE, codec.rate, quality="HQ"), codec.rate, subtype="FLOAT")
    _run(["opusenc", "--quiet", "--bitrate", f"{codec.kbps:g}", str(wav), str(ogg)])
    _run(["opusdec", "--quiet", "--float", "--rate", str(codec.rate), str(ogg), str(dec)])
    decoded, rate = sf.read(dec, dtype="float32", always_2d=True)
    back = soxr.resample(decoded[:, 0], rate, SAMPLE_RATE, quality="HQ")
    return back.astype(np.float32), ogg.stat().st_size


def measure_delay(reference: np.ndarray, decoded: np.ndarray) -> int:
    """Samples by which `decoded` lags `reference` (negative: leads), by cross-correlating their starts."""
    n = min(len(reference), len(decoded), DELAY_PROBE_SAMPLES)
    size = 1 << int(np.ceil(np.log2(2 * n)))
    corr = np.fft.irfft(np.fft.rfft(decoded[:n], size) * np.conj(np.fft.rfft(reference[:n], size)), size)
    window = np.concatenate([corr[-MAX_DELAY_SAMPLES:], corr[: MAX_DELAY_SAMPLES + 1]])
    return int(np.argmax(window)) - MAX_DELAY_SAMPLES
