"""SoundSpaces binaural RIR folders (facebookresearch/sound-spaces), read as its simulator reads them.

A room's folder holds one folder per azimuth (0, 90, 180, 270) of WAV files '<receiver>_<source>.wav', two
channels (0 left, 1 right), 44.1 kHz for Replica; the points file (metadata/<dataset>/<room>/points.txt) gives
each point id's (x, y, z) in the mesh frame (z up). SoundSpaces counts the azimuth of a folder clockwise from
+y (+x is 90: its `azimuth_angle`), so folder a holds naf heading (90 - a) mod 360 (`paper.NAF_HEADING_OF_LABEL`;
the NAF paper's data is these files). Positions are the points' (x, y). The IRs are resampled to 22,050 Hz
(scipy.signal.resample_poly) where they are not at that rate, padded with zeros to the longest, and go through
naf's own early/late split.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile

from naf_model.conventions import SAMPLE_RATE
from naf_model.data.imports.paper import PAPER_ORIENTATIONS, id_order, naf_xy_from_points, read_points
from naf_model.errors import DataError

FOLDER_OF_NAF_ORIENTATION = ("90", "0", "270", "180")
"""The azimuth folder of naf orientation index 0..3 (headings 0, 90, 180, 270)."""


@dataclass
class SoundSpacesRoom:
    """A room's RIR folders: pair ids '<receiver>_<source>' present at all four azimuths (sorted by source,
    then receiver), emitter (source) and listener (receiver) ids with their naf positions (E, 2), (L, 2) and
    heights, pairs (P, 2) (emitter, listener) indices, the files' sample rate, the longest IR in samples at
    22,050 Hz, and the count of pairs left out (missing at some azimuth)."""

    folder: Path
    pair_ids: list[str]
    emitter_ids: list[str]
    listener_ids: list[str]
    emitters: np.ndarray
    listeners: np.ndarray
    heights: np.ndarray
    pairs: np.ndarray
    sample_rate: int
    longest: int
    dropped: int

    def read_pair(self, index: int, ir_length: int) -> np.ndarray:
        """Pair `index`'s IRs (4, 2, ir_length) float32 at 22,050 Hz, naf orientation order; cut or zero-padded."""
        out = np.zeros((4, 2, ir_length), np.float32)
        for j, label in enumerate(FOLDER_OF_NAF_ORIENTATION):
            path = self.folder / label / f"{self.pair_ids[index]}.wav"
            data, rate = _read_wav(path)
            irs = resample(data.T, rate)[:, :ir_length]
            out[j, :, : irs.shape[1]] = irs
        return out


def resample(x: np.ndarray, rate: int) -> np.ndarray:
    """Signals (..., N) at `rate` Hz resampled to 22,050 Hz (polyphase, scipy's Kaiser window), float32."""
    if rate == SAMPLE_RATE:
        return np.asarray(x, np.float32)
    from scipy.signal import resample_poly

    g = math.gcd(SAMPLE_RATE, rate)
    return resample_poly(np.asarray(x, np.float64), SAMPLE_RATE // g, rate // g, axis=-1).astype(np.float32)


def resampled_length(n: int, rate: int) -> int:
    """Samples at 22,050 Hz of a signal of n samples at `rate` (resample_poly's length)."""
    g = math.gcd(SAMPLE_RATE, rate)
    return -(-n * (SAMPLE_RATE // g) // (rate // g))


def _read_wav(path: Path) -> tuple[np.ndarray, int]:
    try:
        data, rate = soundfile.read(path, dtype="float32", always_2d=True)
    except (RuntimeError, OSError, soundfile.LibsndfileError) as exc:
        raise DataError(f"cannot read {path} ({exc})") from None
    if data.shape[1] != 2:
        raise DataError(f"{path} has {data.shape[1]} channels; a binaural RIR has 2 (left, right)")
    return data, int(rate)


def read_room(folder: str | Path, points_path: str | Path) -> SoundSpacesRoom:
    """The pairs, positions and lengths of a room's RIR folders (WAV headers only: no samples are read).
    DataError (one line) for a missing azimuth folder, no WAV files, mixed sample rates or an unknown point."""
    folder = Path(folder)
    for label in PAPER_ORIENTATIONS:
        if not (folder / label).is_dir():
            raise DataError(f"{folder} lacks the azimuth folder {label}/ (a SoundSpaces room has 0, 90, 180, 270)")
    points = read_points(points_path)
    names = [{p.stem for p in (folder / label).glob("*.wav")} for label in PAPER_ORIENTATIONS]
    every = set.intersection(*names)
    kept = [n for n in every if len(n.split("_")) == 2]
    if not kept:
        raise DataError(f"{folder} holds no '<receiver>_<source>.wav' file present at all four azimuths")
    receivers, sources = ({n.split("_")[k] for n in kept} for k in (0, 1))
    missing = sorted((receivers | sources) - points.keys())
    if missing:
        raise DataError(f"{points_path} lacks point {missing[0]} that {folder} names")
    emitter_ids, listener_ids = sorted(sources, key=id_order), sorted(receivers, key=id_order)
    e_index = {p: i for i, p in enumerate(emitter_ids)}
    l_index = {p: i for i, p in enumerate(listener_ids)}
    kept.sort(key=lambda n: (e_index[n.split("_")[1]], l_index[n.split("_")[0]]))
    pairs = np.array([(e_index[n.split("_")[1]], l_index[n.split("_")[0]]) for n in kept], np.int32)
    rates, longest = set(), 0
    for n in kept:
        for label in PAPER_ORIENTATIONS:
            path = folder / label / f"{n}.wav"
            try:
                info = soundfile.info(path)
            except (RuntimeError, OSError, soundfile.LibsndfileError) as exc:
                raise DataError(f"cannot read {path} ({exc})") from None
            if info.channels != 2:
                raise DataError(f"{path} has {info.channels} channels; a binaural RIR has 2 (left, right)")
            rates.add(int(info.samplerate))
            longest = max(longest, resampled_length(info.frames, int(info.samplerate)))
    if len(rates) > 1:
        raise DataError(f"{folder} mixes sample rates {sorted(rates)}; import one rate at a time")
    xyz = np.stack([points[p] for p in emitter_ids + listener_ids])
    return SoundSpacesRoom(
        folder=folder, pair_ids=kept, emitter_ids=emitter_ids, listener_ids=listener_ids,
        emitters=naf_xy_from_points(xyz[: len(emitter_ids)]), listeners=naf_xy_from_points(xyz[len(emitter_ids):]),
        heights=xyz[:, 2], pairs=pairs, sample_rate=rates.pop(), longest=longest,
        dropped=len(set.union(*names)) - len(kept),
    )  # fmt: skip
