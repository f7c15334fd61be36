"""Measured HRTFs: a SOFA HRIR set (SimpleFreeFieldHRIR, read with `sofar`) rendering image-source arrivals.

`load_hrir_set` reads the file, resamples it to 22,050 Hz (soxr), aligns it in time and level, and hashes the
file (the hash goes into the data set's simulation settings and plan key). `render_arrivals_hrir` replaces the
spherical head of `binaural.render_arrivals` for the early (image-source) part; the ray-traced tail keeps its
diffuse rendering.

Conventions: SOFA's listener frame is x forward, y left, z up, azimuth counter-clockwise from the front (90 deg
= left), as naf's headings. Time: the HRIRs are shifted so that a frontal source's two ear onsets average to
zero, i.e. time zero is the arrival at the head centre, as for the spherical head (ipsilateral ears lead by a
fraction of a millisecond); the resampler's pre-echo before each HRIR's onset is removed (`causal`).
Colour: diffuse-field equalised (`diffuse_field_equalised`), so that the image sources and the diffuse
ray-traced tail share one energy scale in every band (without it, the MIT KEMAR set's ear-canal resonance,
+15 dB at 2-3 kHz, made a glass room's first 40 ms 8 dB louder through image sources than through the ray
tracer: tests/test_simulate.py). Level: scaled so that the mean energy over directions and
ears between 200 Hz and 1 kHz is 1 (the head hardly matters there), i.e. amplitude 1.0 stays "free field at
1 m".
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from naf_model.conventions import ORIENTATIONS_DEG, SAMPLE_RATE
from naf_model.errors import NafError
from naf_model.simulate.bands import band_interpolation, interpolate_log
from naf_model.simulate.binaural import GUARD, delay_phasors
from naf_model.simulate.room import Arrivals

HRTF_METHODS = ("nearest", "interpolate")
"""`nearest`: the measured direction closest in angle; `interpolate`: the three nearest, weighted by inverse
angular distance (exact on a measured direction)."""
SAMPLE_RATE_RANGE_HZ = (8_000.0, 768_000.0)
"""Sample rates a SOFA file may have: soxr resamples any ratio in this range to 22,050 Hz."""
MIN_DIRECTIONS = 4
"""Fewest distinct measured directions an HRIR set must have: with fewer, most arrivals would all take one
HRIR and the set says next to nothing about where a sound comes from."""
PRE_ECHO_GATE = 0.1
"""An HRIR starts (`causal`) one sample before its first sample reaching this fraction of its peak."""
MAX_DIFFUSE_BOOST_DB = 6.0
"""Diffuse-field equalisation raises no frequency by more than this over the 200 Hz-1 kHz level."""
ONSET_FRACTION = 0.5
"""An HRIR's onset is its first sample reaching this fraction of its peak magnitude."""


class HrtfError(NafError):
    """A SOFA file that cannot be used as an HRIR set."""


@dataclass(frozen=True, eq=False)
class HrirSet:
    """M measured directions: `directions` (M, 3) unit vectors in the listener frame (x forward, y left, z up);
    `irs` (M, 2, K) float64 at 22,050 Hz, ear 0 left, aligned and scaled as in the module docstring;
    `sha256` of the SOFA file; `source` the file name (for messages); `lead` the sample of `irs` that is
    the head centre's time zero (the frontal ears' mean onset)."""

    directions: np.ndarray
    irs: np.ndarray
    sha256: str
    source: str
    lead: int


def _fail(path: Path, why: str) -> HrtfError:
    return HrtfError(f"{path}: {why}; give a SOFA file of convention SimpleFreeFieldHRIR (`--hrtf FILE.sofa`)")


def _directions(positions: np.ndarray, kind: str) -> np.ndarray:
    """SOFA source positions (M, 3), spherical (deg, deg, m) or cartesian (m) -> unit vectors (M, 3)."""
    if kind.lower().startswith("cart"):
        xyz = positions
    else:
        az, el = np.deg2rad(positions[:, 0]), np.deg2rad(positions[:, 1])
        xyz = np.column_stack([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)])
    norm = np.linalg.norm(xyz, axis=1, keepdims=True)
    return xyz / np.where(norm > 0, norm, 1.0)


def checked_directions(path: Path, positions: np.ndarray, kind: str) -> np.ndarray:
    """`_directions` of SOFA source positions (M, 3); HrtfError unless all are finite, none is at the head
    centre and at least MIN_DIRECTIONS are distinct (a NaN position would make every arrival take one HRIR)."""
    if not np.all(np.isfinite(positions)):
        bad = int(np.sum(~np.isfinite(positions).all(axis=1)))
        raise _fail(path, f"{bad} of its {len(positions)} SourcePositions are NaN or infinite")
    if kind.lower().startswith("cart") and np.any(np.linalg.norm(positions, axis=1) == 0):
        raise _fail(path, "a SourcePosition is at the head centre (0, 0, 0), so it has no direction")
    directions = _directions(positions, kind)
    distinct = len(np.unique(np.round(directions, 6), axis=0))
    if distinct < MIN_DIRECTIONS:
        raise _fail(path, f"it measures {distinct} distinct direction(s), fewer than {MIN_DIRECTIONS}")
    return directions


def _onset(ir: np.ndarray) -> float:
    """Sample index of an IR's onset (`ONSET_FRACTION` of its peak)."""
    mag = np.abs(ir)
    return float(np.argmax(mag >= ONSET_FRACTION * mag.max())) if mag.max() > 0 else 0.0


def load_hrir_set(path: str | Path) -> HrirSet:
    """Read a SimpleFreeFieldHRIR SOFA file into an `HrirSet` at 22,050 Hz; HrtfError (one line) if the file
    is not SOFA, not an HRIR set, not two ears, has non-finite HRIRs or source positions, too few directions,
    or a sample rate soxr cannot resample."""
    import sofar

    path = Path(path)
    if not path.is_file():
        raise HrtfError(f"no SOFA file at {path}; pass an existing HRIR set with --hrtf")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sofa = sofar.read_sofa(str(path), verify=False, verbose=False)
    except Exception as exc:  # netCDF4/h5py raise several types for foreign files
        raise _fail(path, f"not a SOFA file ({type(exc).__name__})") from exc
    convention = str(getattr(sofa, "GLOBAL_SOFAConventions", ""))
    data = getattr(sofa, "Data_IR", None)
    if convention not in ("SimpleFreeFieldHRIR", "FreeFieldHRIR") or data is None:
        raise _fail(path, f"convention {convention or 'unknown'!r} is not an HRIR set (no Data.IR)")
    irs = np.asarray(data, dtype=np.float64)
    if irs.ndim != 3 or irs.shape[1] != 2 or irs.shape[0] < 1 or irs.shape[2] < 2:
        raise _fail(path, f"Data.IR has shape {irs.shape}, expected (directions, 2 ears, samples)")
    if not np.all(np.isfinite(irs)) or not np.any(irs):
        raise _fail(path, "Data.IR holds no finite, non-zero impulse responses")
    rate = float(np.ravel(np.asarray(sofa.Data_SamplingRate, dtype=np.float64))[0])
    lo, hi = SAMPLE_RATE_RANGE_HZ
    if not (np.isfinite(rate) and lo <= rate <= hi):
        raise _fail(path, f"sample rate {rate:g} Hz cannot be resampled to {SAMPLE_RATE} Hz (needs {lo:g}-{hi:g})")
    positions = np.atleast_2d(np.asarray(sofa.SourcePosition, dtype=np.float64))
    if positions.shape[0] == 1 and irs.shape[0] > 1:
        raise _fail(path, "one SourcePosition for several measurements")
    if positions.shape != (irs.shape[0], 3):
        raise _fail(path, f"SourcePosition has shape {positions.shape}, expected ({irs.shape[0]}, 3)")
    directions = checked_directions(path, positions, str(getattr(sofa, "SourcePosition_Type", "spherical")))
    ears = np.asarray(getattr(sofa, "ReceiverPosition", np.zeros((2, 3))), dtype=np.float64).reshape(2, -1)
    if ears.shape[1] >= 2 and ears[1, 1] > ears[0, 1]:
        irs = irs[:, ::-1]  # receiver 1 is further left (+y): swap so that ear 0 is the left one
    return measured_hrir_set(irs, rate, directions, digest, path.name)


def measured_hrir_set(irs: np.ndarray, rate: float, directions: np.ndarray, sha256: str, source: str) -> HrirSet:
    """An `HrirSet` of measured HRIRs (M, 2, K) at `rate` Hz (ear 0 left) from unit `directions` (M, 3) in
    the listener frame: resampled to 22,050 Hz (soxr), aligned and scaled as in the module docstring;
    HrtfError if soxr cannot resample them or they end up shorter than 2 samples."""
    import soxr

    try:
        flat = irs.reshape(-1, irs.shape[2]).T  # (N, M * 2): soxr resamples columns
        resampled = np.asarray(soxr.resample(np.ascontiguousarray(flat), rate, SAMPLE_RATE), dtype=np.float64)
    except Exception as exc:  # soxr raises on ratios it does not support
        raise HrtfError(f"{source}: sample rate {rate:g} Hz cannot be resampled ({exc})") from exc
    if resampled.shape[0] < 2:
        raise HrtfError(f"{source}: its {irs.shape[2]}-sample HRIRs are too short at {SAMPLE_RATE} Hz")
    irs = diffuse_field_equalised(causal(resampled.T.reshape(irs.shape[0], 2, -1)))
    front = int(np.argmax(directions[:, 0]))
    lead = int(round(0.5 * (_onset(irs[front, 0]) + _onset(irs[front, 1]))))
    freqs = np.fft.rfftfreq(irs.shape[2], 1.0 / SAMPLE_RATE)
    band = (freqs >= 200.0) & (freqs <= 1000.0)
    energy = float(np.mean(np.abs(np.fft.rfft(irs, axis=-1)[..., band]) ** 2))
    irs = irs / np.sqrt(energy)
    return HrirSet(directions, irs, sha256, source, lead)


def causal(irs: np.ndarray) -> np.ndarray:
    """HRIRs (..., K) with the samples more than one before each one's first reaching PRE_ECHO_GATE of its
    peak set to zero: the resampler's pre-echo (a linear-phase filter rings before a sharp onset; MIT KEMAR
    at 22,050 Hz: up to 17 % of the peak in the 0.4 ms before the near ear's onset, 0.2 % of the energy),
    which the measurement does not have and which moved naf's ITD measure (`acoustics.interaural`) by
    140 us at 90 degrees once the diffuse-field filter had raised it."""
    mag = np.abs(irs)
    onset = np.argmax(mag >= PRE_ECHO_GATE * mag.max(-1, keepdims=True), axis=-1)
    return irs * (np.arange(irs.shape[-1]) >= (onset - 1)[..., None])


def diffuse_field_equalised(irs: np.ndarray) -> np.ndarray:
    """HRIRs (M, 2, K) -> (M, 2, n), n the power of two >= 2 K: all through one minimum-phase filter that
    makes the diffuse-field response (RMS over directions and ears, per frequency) flat, boosting at most
    MAX_DIFFUSE_BOOST_DB over its 200 Hz-1 kHz level (a measurement's loudspeaker roll-off and the
    resampler's band edge are not raised). One filter for every direction and ear: the set's ITDs, ILDs
    and direction-dependent cues stay; what goes is the colour common to all directions (ear canal,
    loudspeaker), which the diffuse ray-traced tail does not have."""
    n = 1 << int(np.ceil(np.log2(2 * irs.shape[2])))
    spectra = np.fft.rfft(irs, n=n, axis=-1)
    diffuse = np.sqrt(np.mean(np.abs(spectra) ** 2, axis=(0, 1)))  # (F,)
    freqs = np.fft.rfftfreq(n, 1.0 / SAMPLE_RATE)
    mid = float(np.sqrt(np.mean(diffuse[(freqs >= 200.0) & (freqs <= 1000.0)] ** 2)))
    gain = 1.0 / np.maximum(diffuse, mid * 10 ** (-MAX_DIFFUSE_BOOST_DB / 20))
    cepstrum = np.fft.irfft(np.log(gain), n=n)  # real cepstrum; folded onto positive quefrencies:
    fold = np.zeros(n)
    fold[0], fold[1 : n // 2], fold[n // 2] = 1.0, 2.0, 1.0
    minimum_phase = np.exp(np.fft.rfft(cepstrum * fold))
    return np.fft.irfft(spectra * minimum_phase, n=n, axis=-1)


def hrir_weights(head_directions: np.ndarray, hrirs: HrirSet, method: str) -> tuple[np.ndarray, np.ndarray]:
    """Which measured directions serve each arrival: indices (..., J) and weights (..., J) summing to 1 for
    unit `head_directions` (..., 3) in the listener frame; J = 1 (nearest) or 3 (interpolate)."""
    if method not in HRTF_METHODS:
        raise HrtfError(f"unknown HRTF method {method!r}; use one of {HRTF_METHODS}")
    cos = np.clip(head_directions @ hrirs.directions.T, -1.0, 1.0)  # (..., M)
    j = 1 if method == "nearest" or len(hrirs.directions) < 3 else 3
    idx = np.argsort(-cos, axis=-1)[..., :j]
    if j == 1:
        return idx, np.ones(idx.shape)
    angle = np.arccos(np.take_along_axis(cos, idx, axis=-1))
    exact = angle < 1e-6
    w = np.where(exact.any(axis=-1, keepdims=True), exact.astype(float), 1.0 / np.maximum(angle, 1e-6))
    return idx, w / w.sum(axis=-1, keepdims=True)


def render_arrivals_hrir(arrivals: Arrivals, n_samples: int, hrirs: HrirSet, method: str = "nearest") -> np.ndarray:
    """Binaural early IR of one listener through measured HRIRs, (4, 2, n_samples) float64 at 22,050 Hz,
    time zero = emission (the head centre hears an arrival at its delay, see the module docstring).

    Each arrival's direction is turned into the head frame of each training orientation, its HRIR(s)
    chosen by `method`, delayed (exact fractional delay in the frequency domain) and shaped by its octave-band
    amplitudes. Arrivals later than the IR are left out; a listener without arrivals gets zeros.
    """
    out = np.zeros((len(ORIENTATIONS_DEG), 2, n_samples))
    keep = arrivals.delays * SAMPLE_RATE < n_samples - 1
    if not np.any(keep):
        return out
    delays, directions, amplitudes = arrivals.delays[keep], arrivals.directions[keep], arrivals.amplitudes[keep]
    heading = np.deg2rad(np.asarray(ORIENTATIONS_DEG, dtype=np.float64))
    c, s = np.cos(heading)[None, :], np.sin(heading)[None, :]
    x, y = directions[:, 0:1], directions[:, 1:2]
    z = np.broadcast_to(directions[:, 2:3], (len(directions), len(heading)))
    head = np.stack([c * x + s * y, -s * x + c * y, z], axis=-1)  # (K, 4, 3): turned by -heading
    head[np.linalg.norm(directions, axis=1) < 1e-9] = (1.0, 0.0, 0.0)  # listener on the emitter: from the front
    idx, w = hrir_weights(head, hrirs, method)  # (K, 4, J)

    lead = hrirs.lead
    span = int(np.ceil(delays.max() * SAMPLE_RATE)) + hrirs.irs.shape[2] + 2 * GUARD
    n_fft = 1 << int(np.ceil(np.log2(span)))
    freqs = np.fft.rfftfreq(n_fft, 1.0 / SAMPLE_RATE)
    spectra = np.fft.rfft(hrirs.irs, n=n_fft, axis=-1)  # (M, 2, F)
    gains = interpolate_log(amplitudes, band_interpolation(freqs))  # (K, F)
    arrival = delay_phasors(delays, n_fft) * gains  # (K, F)
    spectrum = np.zeros((len(ORIENTATIONS_DEG), 2, len(freqs)), dtype=complex)
    for o in range(len(ORIENTATIONS_DEG)):
        for jj in range(idx.shape[-1]):
            spectrum[o] += np.einsum("kf,k,kef->ef", arrival, w[:, o, jj], spectra[idx[:, o, jj]])
    ir = np.fft.irfft(spectrum, n=n_fft, axis=-1)[..., lead:]
    n_keep = min(n_samples, ir.shape[-1])
    out[..., :n_keep] = ir[..., :n_keep]
    return out
