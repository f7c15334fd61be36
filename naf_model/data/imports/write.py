"""Writing imported data as a naf data set (format 3, the layout `naf data make` writes and `DataSet` reads).

Two routes: spectrograms taken as they are (the paper's metadata: no waveforms, no late part, its own
normalisation), and waveforms (SoundSpaces, MeshRIR) that go through naf's own early/late split
(`naf_model.split`, `data.described`) exactly as simulated IRs do, with stats over the training pairs. The file
also carries its derived scene (`scene_json`, read by `naf_model.scene.load_scene`) and an `imported` record
(JSON: format, source, what was converted and how); everything is written atomically.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np
from tqdm import tqdm

from naf_model import conventions
from naf_model.atomic import atomic_path
from naf_model.conventions import SPEED_OF_SOUND, STD_FLOOR
from naf_model.data.assemble import COMPRESSION
from naf_model.data.described import LATE_BANDS, early_spectrogram, late_description
from naf_model.data.plan import FORMAT_VERSION, SPLIT_TEST, SPLIT_TRAIN, carve_validation, derived_seed
from naf_model.data.stats import RunningMoments
from naf_model.errors import DataError
from naf_model.scene import Scene
from naf_model.scene.io import SCENE_ATTRIBUTE
from naf_model.split import IrSplit, ir_split, no_split

IMPORTED_ATTRIBUTE = "imported"
"""The attribute holding the JSON record of an import (format, source, conversions, notes)."""
_STREAM_IMPORT_SPLIT = 200
"""The random stream of the test split naf draws for imported data without one (apart from make's streams)."""


@dataclass
class ImportedPairs:
    """Positions and pairs of imported data: emitters (E, 2) and listeners (L, 2) metres, pairs (P, 2) (emitter,
    listener) indices sorted by emitter, split (P,) codes (`data.plan`), and the import's record."""

    emitters: np.ndarray
    listeners: np.ndarray
    pairs: np.ndarray
    split: np.ndarray
    record: dict[str, Any] = field(default_factory=dict)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    """Source details kept under `source/` (e.g. the original point ids), written after the pairs' rows."""


def naf_split(n_pairs: int, test_fraction: float, validation_fraction: float, seed: int) -> np.ndarray:
    """A seeded pair-level split for data that comes without one: round(test_fraction * P) test pairs, then
    naf's validation pairs carved from the rest (`carve_validation`)."""
    split = np.zeros(n_pairs, np.uint8)
    rng = np.random.default_rng(derived_seed(seed, _STREAM_IMPORT_SPLIT))
    split[rng.permutation(n_pairs)[: int(round(test_fraction * n_pairs))]] = SPLIT_TEST
    return carve_validation(split, seed, validation_fraction)


def waveform_split(emitters: np.ndarray, listeners: np.ndarray, pairs: np.ndarray, ir_length: int) -> IrSplit:
    """naf's early/late split for IRs of `ir_length` samples between these positions (`naf_model.split.ir_split`
    with the longest direct path of the pairs)."""
    if len(pairs) == 0:
        return no_split(ir_length)
    longest = float(np.hypot(*(emitters[pairs[:, 0]] - listeners[pairs[:, 1]]).T).max())
    return ir_split(ir_length, longest / SPEED_OF_SOUND)


def check_output(output: Path, overwrite: bool) -> None:
    """DataError before any work if `output` exists and `overwrite` was not given, or has the wrong suffix."""
    if output.suffix.lower() not in (".h5", ".hdf5"):
        raise DataError(f"-o {output}: a data set file ends in .h5 or .hdf5")
    if output.exists() and not overwrite:
        raise DataError(f"{output} exists; pass --overwrite to replace it or -o to write elsewhere")


def write_waveforms(output: Path, scene: Scene, pairs: ImportedPairs, read_pair: Callable[[int], np.ndarray],
                    ir_length: int, seed: int, progress: bool = True) -> Path:
    """Write a data set from waveforms: `read_pair(i)` gives pair i's IRs (4, 2, ir_length) at 22,050 Hz
    (orientations in naf order, ear 0 left); the early spectrogram, late description and waveform of every
    pair are stored (`data.described`), the stats taken over the training pairs."""
    split = waveform_split(pairs.emitters, pairs.listeners, pairs.pairs, ir_length)

    def rows() -> Iterable[tuple[np.ndarray, np.ndarray, np.ndarray | None]]:
        for i in range(len(pairs.pairs)):
            irs = np.asarray(read_pair(i), np.float32)
            assert irs.shape == (4, 2, ir_length), irs.shape
            yield early_spectrogram(irs, split), late_description(irs, split), irs

    return _write(output, scene, pairs, split, rows(), None, True, seed, progress)


def write_spectrograms(output: Path, scene: Scene, pairs: ImportedPairs, spectrograms: Iterable[np.ndarray],
                       n_frames: int, stats: tuple[np.ndarray, np.ndarray], seed: int,
                       progress: bool = True) -> Path:
    """Write a data set from spectrograms as they are: each item (4, 2, 256, n_frames) ln(|X| + 1e-3) in naf
    orientation order; no waveforms and no late part, so the IR length is the n_frames' (`(T - 1) * HOP`
    samples); `stats` (mean, std) (256, n_frames) are stored as given (the source's normalisation)."""
    ir_length = (n_frames - 1) * conventions.HOP
    empty_late = np.zeros((4, 2, LATE_BANDS, 0), np.float32)
    rows = ((spec, empty_late, None) for spec in spectrograms)
    return _write(output, scene, pairs, no_split(ir_length), rows, stats, False, seed, progress)


def _write(output: Path, scene: Scene, pairs: ImportedPairs, split: IrSplit,
           rows: Iterable[tuple[np.ndarray, np.ndarray, np.ndarray | None]], stats: tuple | None,
           waveforms: bool, seed: int, progress: bool) -> Path:  # fmt: skip
    n_pairs, n_frames, late_frames = len(pairs.pairs), split.early_frames, split.late_frames
    train = pairs.split == SPLIT_TRAIN
    with atomic_path(output) as tmp, h5py.File(tmp, "w") as f:
        _attrs(f, scene, pairs, split, waveforms, seed)
        for name, data in (("emitters", pairs.emitters.astype(np.float64)),
                           ("listeners", pairs.listeners.astype(np.float64)),
                           ("pairs", pairs.pairs.astype(np.int32)), ("split", pairs.split.astype(np.uint8)),
                           ("orientations", np.asarray(conventions.ORIENTATIONS_DEG, np.float32)),
                           ("has_ir", np.full(n_pairs, waveforms)), ("done", np.ones(1, bool))):  # fmt: skip
            f.create_dataset(name, data=data, track_times=False)
        spec = _per_pair(f, "spec", (n_pairs, 4, 2, conventions.N_FREQ, n_frames))
        late = _per_pair(f, "late", (n_pairs, 4, 2, LATE_BANDS, late_frames))
        ir = _per_pair(f, "ir", (n_pairs, 4, 2, split.ir_length))
        moments = RunningMoments((conventions.N_FREQ, n_frames))
        late_moments = RunningMoments((LATE_BANDS, late_frames))
        with tqdm(total=n_pairs, unit="pair", desc="importing", disable=not progress) as bar:
            for i, (s, lt, w) in enumerate(rows):
                spec[i] = s
                if late_frames:
                    late[i] = lt
                if w is not None:
                    ir[i] = w
                if train[i] and stats is None:  # orientations and ears pooled, as `naf data make` does
                    moments.add(np.asarray(s, np.float16).reshape(8, *s.shape[-2:]))
                    late_moments.add(np.asarray(lt, np.float16).reshape(8, *lt.shape[-2:]))
                bar.update()
        for name, data in pairs.arrays.items():  # after the rows: a reader may fill some while it is read
            f.create_dataset(f"source/{name}", data=data, track_times=False)
        mean, std = stats if stats is not None else (moments.mean, np.maximum(moments.std, STD_FLOOR))
        f.create_dataset("stats/mean", data=np.asarray(mean, np.float32), track_times=False)
        f.create_dataset("stats/std", data=np.asarray(std, np.float32), track_times=False)
        f.create_dataset("stats/late_mean", data=late_moments.mean.astype(np.float32), track_times=False)
        f.create_dataset("stats/late_std", data=np.maximum(late_moments.std, STD_FLOOR).astype(np.float32),
                         track_times=False)
        f.attrs["complete"] = True
    return output


def _per_pair(f: h5py.File, name: str, shape: tuple[int, ...]) -> h5py.Dataset:
    """A float16 dataset with one compressed chunk per pair, as `naf data make` writes (none when empty)."""
    if 0 in shape:
        return f.create_dataset(name, shape, np.float16, track_times=False)
    return f.create_dataset(name, shape, np.float16, chunks=(1,) + shape[1:], track_times=False, **COMPRESSION)


def _attrs(f: h5py.File, scene: Scene, pairs: ImportedPairs, split: IrSplit, waveforms: bool, seed: int) -> None:
    record = json.dumps(pairs.record, sort_keys=True)
    key = hashlib.sha256()
    for array in (pairs.emitters, pairs.listeners, pairs.pairs, pairs.split):
        key.update(np.ascontiguousarray(array).tobytes())
    key.update(record.encode())
    f.attrs.update({
        "format_version": FORMAT_VERSION, "scene_name": scene.name, "scene_hash": scene.geometry_hash(),
        **conventions.STFT_SETTINGS, "n_frames": split.early_frames, "ir_length": split.ir_length,
        "late_start": split.late_start, "fade": split.fade, "late_frame": split.late_frame,
        "waveforms": "all" if waveforms else "none", "simulation": json.dumps({}),
        "data_config": json.dumps({"imported": pairs.record.get("format", "")}), "seed": seed,
        "validation_fraction": float(pairs.record.get("validation_fraction", 0.0)),
        "plan_key": key.hexdigest(), "complete": False,
        SCENE_ATTRIBUTE: json.dumps(scene.to_dict()), IMPORTED_ATTRIBUTE: record,
    })  # fmt: skip
