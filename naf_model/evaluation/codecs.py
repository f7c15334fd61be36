"""AAC-LC (ffmpeg) and Opus (opus-tools) round trips of IRs, with their storage, under two rules.

The paper's rule (`paper_round_trip`, from `baselines/make_data_aac.py` and `make_data_opus.py` of its
code): every stereo IR is its own WAV file, encoded and decoded with the paper's command lines
(`PAPER_AAC_ENCODE` ... below), 24 kbit/s AAC-LC and 6 kbit/s Opus for both channels together; storage is
the sum of the encoded files' sizes; nothing is scaled, aligned or trimmed. One ffmpeg process takes up to
`FFMPEG_FILES_PER_RUN` files, each with its own encoder instance (the same bytes as one run per file).

naf's variant (`round_trip`): the signals end to end in one long mono stream (silent guards between them),
each scaled into [-1, 1] by its own peak (the float32 gain counted in storage), encoded and decoded once,
the codec's delay measured by cross-correlation and trimmed, the IRs cut back out. Opus codes at 48 kHz,
so the stream is resampled there and back (soxr, high quality); AAC-LC runs at 22,050 Hz.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
"""Signals per encoder run at most."""
MAX_STREAM_SAMPLES = MAX_SIGNALS_PER_STREAM * (13_230 + GUARD_SAMPLES)
"""Samples per encoder run at most, guards included: 2,048 signals of 0.6 s (117 MB of float32 at 22,050 Hz,
about twice that resampled to 48 kHz); longer IRs take fewer signals a run, so a run's memory does not grow
with the IR (a stream of 2,048 of the cathedral's 4.84 s IRs was 874 MB)."""
FFMPEG_FILES_PER_RUN = 64
"""Paper-rule IR files one ffmpeg process encodes (or decodes), each to its own output file."""
PAPER_AAC_ENCODE = ("-c:a", "aac", "-b:a", "24k")
"""ffmpeg output options of the paper's AAC encode: `ffmpeg -i IN.wav -c:a aac -b:a 24k OUT.m4a`."""
PAPER_AAC_DECODE = ("-c:a", "pcm_f32le", "-ar", "22050")
"""ffmpeg output options of the paper's decode: `ffmpeg -i IN.m4a -c:a pcm_f32le -ar 22050 OUT.wav`."""
PAPER_OPUS_ENCODE = ("--bitrate", "6", "--music", "--comp", "10", "--discard-comments", "--discard-pictures", "--cvbr")
"""opusenc options after `opusenc IN.wav OUT.opus` in the paper's code."""
PAPER_OPUS_DECODE = ("--rate", "22050", "--float")
"""opusdec options after `opusdec IN.opus OUT.wav` in the paper's code."""
_FFMPEG_QUIET = ("-nostdin", "-hide_banner", "-loglevel", "error", "-y")


@dataclass(frozen=True)
class Codec:
    """A lossy codec setting: `name` for tables, `tool` ('aac' via ffmpeg or 'opus' via opus-tools),
    `kbps` the target bitrate (per mono channel in naf's variant, per stereo file in the paper's rule),
    `rate` the sample rate it codes at (Hz), `paper` True for the paper's per-file stereo rule."""

    name: str
    tool: str
    kbps: float
    rate: int
    paper: bool = False


AAC_LC = Codec("AAC-LC 32 kbit/s per channel", "aac", 32.0, SAMPLE_RATE)
OPUS = Codec("Opus 6 kbit/s per channel", "opus", 6.0, 48_000)
PAPER_AAC = Codec("AAC-LC 24 kbit/s stereo", "aac", 24.0, SAMPLE_RATE, paper=True)
PAPER_OPUS = Codec("Opus 6 kbit/s stereo", "opus", 6.0, SAMPLE_RATE, paper=True)


@dataclass(frozen=True)
class RoundTrip:
    """Decoded signals (M, N) float32 at 22,050 Hz (None where they went to a file), bitstream bytes (container
    included), per-signal gain bytes (4 each), the measured codec delay per stream in samples at 22,050 Hz
    (already removed), the signal count."""

    decoded: np.ndarray | None
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


def signals_per_stream(n_samples: int) -> int:
    """Signals of `n_samples` one encoder run takes (MAX_SIGNALS_PER_STREAM, fewer for long signals)."""
    return max(1, min(MAX_SIGNALS_PER_STREAM, MAX_STREAM_SAMPLES // (n_samples + GUARD_SAMPLES)))


def round_trip(signals: Any, codec: Codec, out: Any = None) -> RoundTrip:
    """Encode and decode mono signals (M, N) at 22,050 Hz through `codec`, a few long streams per call
    (`signals_per_stream`). `signals` is an array or anything sliced like one (an `evaluation.spill.RowFile`);
    with `out` (a RowFile of (M, N) float32 rows) the decoded signals go there, stream by stream, and the
    result's `decoded` is None: memory holds one stream at a time."""
    reason = missing_tools(codec)
    if reason is not None:
        raise AudioError(reason)
    m, n = signals.shape
    decoded = np.zeros((m, n), np.float32) if out is None else None
    total_bytes, delays = 0, []
    for start in range(0, m, signals_per_stream(n)):
        part = np.asarray(signals[start : start + signals_per_stream(n)], np.float32)
        stream, n_bytes, delay = _round_trip_stream(part, codec)
        if out is None:
            decoded[start : start + len(part)] = stream
        else:
            out.write(start, stream)
        total_bytes += n_bytes
        delays.append(delay)
    return RoundTrip(decoded, total_bytes, 4 * m, delays, m)


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
    quiet, bitrate = ["ffmpeg", *_FFMPEG_QUIET], f"{codec.kbps:g}k"
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


@dataclass(frozen=True)
class FileRoundTrip:
    """Paper-rule round trip: decoded stereo IRs (M, 2, N) float32 (cut or zero-padded to N), the summed
    size of the encoded files in bytes, the decoded length before the cut, and the measured lag of the
    decoded files in samples at 22,050 Hz (reported, not removed: the paper does not align)."""

    decoded: np.ndarray
    storage_bytes: int
    decoded_length: int
    delay_samples: int


def paper_round_trip(irs: np.ndarray, codec: Codec, workers: int = 2) -> FileRoundTrip:
    """Encode and decode each stereo IR (M, 2, N) at 22,050 Hz as its own file with the paper's commands."""
    reason = missing_tools(codec)
    if reason is not None:
        raise AudioError(reason)
    irs = np.asarray(irs, np.float32)
    m, _, n = irs.shape
    with tempfile.TemporaryDirectory(prefix="naf-paper-codec-") as tmp:
        folder = Path(tmp)
        wavs = [folder / f"{i}.wav" for i in range(m)]
        for wav, ir in zip(wavs, irs, strict=True):
            sf.write(wav, ir.T, SAMPLE_RATE, subtype="FLOAT")
        suffix = ".m4a" if codec.tool == "aac" else ".opus"
        coded = [w.with_suffix(suffix) for w in wavs]
        decoded = [w.with_name(f"{w.stem}.dec.wav") for w in wavs]
        if codec.tool == "aac":
            for s in range(0, m, FFMPEG_FILES_PER_RUN):
                part = slice(s, s + FFMPEG_FILES_PER_RUN)
                _run(_ffmpeg_many(wavs[part], coded[part], PAPER_AAC_ENCODE))
                _run(_ffmpeg_many(coded[part], decoded[part], PAPER_AAC_DECODE))
        else:
            commands = [
                (["opusenc", str(w), str(c), *PAPER_OPUS_ENCODE], ["opusdec", str(c), str(d), *PAPER_OPUS_DECODE])
                for w, c, d in zip(wavs, coded, decoded, strict=True)
            ]
            with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
                list(pool.map(lambda pair: (_run(pair[0]), _run(pair[1])), commands))
        storage = sum(c.stat().st_size for c in coded)
        out = np.zeros_like(irs)
        length = 0
        for i, path in enumerate(decoded):
            wave, _ = sf.read(path, dtype="float32", always_2d=True)
            length = max(length, len(wave))
            k = min(n, len(wave))
            out[i, :, :k] = wave[:k].T
    delay = measure_delay(irs[:, 0].reshape(-1), out[:, 0].reshape(-1))
    return FileRoundTrip(out, storage, length, delay)


def _ffmpeg_many(inputs: list[Path], outputs: list[Path], options: tuple[str, ...]) -> list[str]:
    """One ffmpeg command that turns input k into output k with `options` (one encoder per output)."""
    cmd = ["ffmpeg", *_FFMPEG_QUIET]
    for path in inputs:
        cmd += ["-i", str(path)]
    for k, path in enumerate(outputs):
        cmd += ["-map", f"{k}:a", *options, str(path)]
    return cmd


def measure_delay(reference: np.ndarray, decoded: np.ndarray) -> int:
    """Samples by which `decoded` lags `reference` (negative: leads), by cross-correlating their starts."""
    n = min(len(reference), len(decoded), DELAY_PROBE_SAMPLES)
    size = 1 << int(np.ceil(np.log2(2 * n)))
    corr = np.fft.irfft(np.fft.rfft(decoded[:n], size) * np.conj(np.fft.rfft(reference[:n], size)), size)
    window = np.concatenate([corr[-MAX_DELAY_SAMPLES:], corr[: MAX_DELAY_SAMPLES + 1]])
    return int(np.argmax(window)) - MAX_DELAY_SAMPLES
