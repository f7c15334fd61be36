"""`DataSet`: validated (`data.layout`), lazy read access to a data set file written by `naf data make`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import h5py
import numpy as np

from naf_model.data.layout import check_layout, split_info
from naf_model.data.plan import (
    DEFAULT_VALIDATION_FRACTION,
    FORMAT_VERSION,
    LEGACY_FORMAT_VERSION,
    SPLIT_TEST,
    SPLIT_TRAIN,
    SPLIT_VALIDATION,
    carve_validation,
)
from naf_model.errors import DataError
from naf_model.split import IrSplit

Split = Literal["train", "validation", "test", "all"]
_SPLIT_CODE = {"train": SPLIT_TRAIN, "test": SPLIT_TEST, "validation": SPLIT_VALIDATION}


@dataclass(frozen=True)
class Stats:
    """Normalisation statistics over the training pairs: mean and std, each (256, T) float32 for the early
    spectrograms, (7, T_late) float32 for the late descriptions."""

    mean: np.ndarray
    std: np.ndarray


@dataclass(frozen=True)
class DataMeta:
    """What a data set holds and how it was made (the file's attributes): n_frames is the early
    spectrogram's T (the whole IR's for formats 1 and 2), ir_length the IR's N samples, split_info where the
    early part ends (`no_split` for formats 1 and 2), waveforms which pairs have them ('all' before format 3).
    """

    scene_name: str
    scene_hash: str
    n_pairs: int
    n_emitters: int
    n_listeners: int
    n_frames: int
    ir_length: int
    sample_rate: int
    seed: int
    simulation: dict[str, Any]
    data_config: dict[str, Any]
    plan_key: str
    split_info: IrSplit
    waveforms: str
    format_version: int = FORMAT_VERSION
    validation_fraction: float = DEFAULT_VALIDATION_FRACTION

    @property
    def validation_note(self) -> str:
        """One sentence naming how the validation split was made (for reports)."""
        rule = (
            f"{100 * self.validation_fraction:g} % of the training pairs, seeded by the data set seed "
            f"{self.seed} (naf_model.data.plan.carve_validation)"
        )
        if self.format_version == LEGACY_FORMAT_VERSION:
            return (
                f"validation split derived on read from this format 1 data set: {rule}; its normalisation "
                "stats were computed over training and validation pairs together"
            )
        return f"validation split stored in the data set: {rule}"


class DataSet:
    """One data set file, opened read-only; arrays are read on demand (`spec` and `ir` stay on disk).

    Raises DataError (one line) for a missing, truncated, unfinished or foreign file, or one made with
    other STFT conventions than `naf_model.conventions`. Picklable: a copy reopens the file by path.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise DataError(f"data set {self.path} does not exist; run `naf data make --scene NAME` first")
        try:
            self._file = h5py.File(self.path, "r")
        except OSError:
            raise DataError(
                f"{self.path} is truncated or not an HDF5 file; delete it and run `naf data make` again"
            ) from None
        try:
            check_layout(self._file, self.path)
            self.meta = self._read_meta()
        except (OSError, KeyError, ValueError, TypeError):
            self._file.close()
            raise DataError(
                f"{self.path} is damaged or not a naf data set; delete it and run `naf data make` again"
            ) from None
        except DataError:
            self._file.close()
            raise

    def _read_meta(self) -> DataMeta:
        a, f = self._file.attrs, self._file
        return DataMeta(
            scene_name=str(a["scene_name"]),
            scene_hash=str(a["scene_hash"]),
            n_pairs=int(f["pairs"].shape[0]),
            n_emitters=int(f["emitters"].shape[0]),
            n_listeners=int(f["listeners"].shape[0]),
            n_frames=int(a["n_frames"]),
            ir_length=int(a["ir_length"]),
            sample_rate=int(a["sample_rate"]),
            seed=int(a["seed"]),
            simulation=json.loads(a["simulation"]),
            data_config=json.loads(a["data_config"]),
            plan_key=str(a["plan_key"]),
            format_version=int(a["format_version"]),
            validation_fraction=float(a.get("validation_fraction", DEFAULT_VALIDATION_FRACTION)),
            split_info=split_info(a),
            waveforms=str(a.get("waveforms", "all")),
        )

    # Pickling (e.g. into DataLoader workers) reopens the file instead of sharing an HDF5 handle.
    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["path"])

    def close(self) -> None:
        """Release the file handle."""
        self._file.close()

    def __enter__(self) -> DataSet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __len__(self) -> int:
        return self.meta.n_pairs

    @property
    def emitters(self) -> np.ndarray:
        """(E, 2) float64 emitter positions, metres."""
        return self._file["emitters"][()]

    @property
    def listeners(self) -> np.ndarray:
        """(L, 2) float64 listener positions, metres."""
        return self._file["listeners"][()]

    @property
    def pairs(self) -> np.ndarray:
        """(P, 2) int32 (emitter index, listener index) per pair."""
        return self._file["pairs"][()]

    @property
    def split(self) -> np.ndarray:
        """(P,) uint8: SPLIT_TRAIN 0, SPLIT_TEST 1, SPLIT_VALIDATION 2 (derived for format 1 files)."""
        stored = self._file["split"][()]
        if self.meta.format_version == LEGACY_FORMAT_VERSION:
            return carve_validation(stored, self.meta.seed, self.meta.validation_fraction)
        return stored

    @property
    def orientations(self) -> np.ndarray:
        """(4,) float32 head orientations in degrees, the order of axis 1 of `spec` and `ir`."""
        return self._file["orientations"][()]

    def indices(self, split: Split = "train") -> np.ndarray:
        """(n,) int64 pair indices of a split, ascending."""
        if split == "all":
            return np.arange(self.meta.n_pairs)
        if split not in _SPLIT_CODE:
            raise DataError(f"unknown split '{split}'; use train, validation, test or all")
        return np.flatnonzero(self.split == _SPLIT_CODE[split])

    def positions(self, split: Split = "train") -> tuple[np.ndarray, np.ndarray]:
        """Emitter and listener positions of the pairs of a split: two (n, 2) float64 arrays, metres."""
        pairs = self.pairs[self.indices(split)]
        return self.emitters[pairs[:, 0]], self.listeners[pairs[:, 1]]

    @property
    def spec(self) -> h5py.Dataset:
        """(P, 4, 2, 256, T) float16 ln(|X| + 1e-3), on disk; index it to read (one chunk per pair)."""
        return self._file["spec"]

    @property
    def ir(self) -> h5py.Dataset:
        """(P, 4, 2, N) float16 waveforms at 22,050 Hz, on disk; index it to read. Rows of pairs without
        waveforms (`has_ir` False) read as zeros: prefer `read_ir`, which refuses them."""
        return self._file["ir"]

    @property
    def split_info(self) -> IrSplit:
        """Where the IRs' early part ends and the late part begins (`no_split` for formats 1 and 2)."""
        return self.meta.split_info

    @property
    def has_late(self) -> bool:
        """Whether the data set stores a late part (format 3 with IRs long enough to have one)."""
        return self.meta.format_version >= 3 and self.split_info.has_late

    @property
    def late(self) -> h5py.Dataset:
        """(P, 4, 2, 7, T_late) float16 ln(band power + LATE_LOG_EPS) of the late part (`data.described`),
        octave bands 125 Hz-8 kHz, frames of split_info.late_frame samples from split_info.late_start; on
        disk, index it to read. DataError for a format 1 or 2 file, which has none."""
        if self.meta.format_version < 3:
            raise DataError(
                f"{self.path} is a format {self.meta.format_version} data set without a late part; rebuild it "
                "with `naf data make --overwrite`"
            )
        return self._file["late"]

    @property
    def has_ir(self) -> np.ndarray:
        """(P,) bool: the pairs whose waveforms are stored (all of them before format 3, and with
        `--waveforms all`; else the validation and test pairs)."""
        if "has_ir" not in self._file:
            return np.ones(self.meta.n_pairs, bool)
        return self._file["has_ir"][()].astype(bool)

    def read_spec(self, indices: np.ndarray | None = None) -> np.ndarray:
        """Spectrograms of pairs (any order, repeats allowed; default all), (n, 4, 2, 256, T) float16."""
        return _read_rows(self.spec, indices)

    def read_late(self, indices: np.ndarray | None = None) -> np.ndarray:
        """Late descriptions of pairs (any order, repeats allowed; default all), (n, 4, 2, 7, T_late) float16."""
        return _read_rows(self.late, indices)

    def read_ir(self, indices: np.ndarray | None = None) -> np.ndarray:
        """IR waveforms of the given pairs (default all), (n, 4, 2, N) float16; DataError (one line) if any
        of them has none stored (`has_ir`)."""
        wanted = np.arange(self.meta.n_pairs) if indices is None else np.asarray(indices, np.int64).reshape(-1)
        has = self.has_ir
        if len(wanted) and 0 <= wanted.min() and wanted.max() < len(has) and not has[wanted].all():
            lacking = np.unique(wanted[~has[wanted]])
            shown = ", ".join(map(str, lacking[:5])) + (", ..." if len(lacking) > 5 else "")
            raise DataError(
                f"{self.path} stores waveforms of its held-out pairs only, not of {len(lacking):,} requested "
                f"training pair{'s' if len(lacking) > 1 else ''} ({shown}); rebuild it with "
                "`naf data make --waveforms all --overwrite`"
            )
        return _read_rows(self.ir, indices)

    @property
    def stats(self) -> Stats:
        """Per-(f, t) mean and std over the training pairs (all orientations and ears); std >= 1e-3."""
        return Stats(self._file["stats/mean"][()], self._file["stats/std"][()])

    @property
    def late_stats(self) -> Stats | None:
        """Per-(band, late frame) mean and std of `late` over the training pairs (all orientations and ears),
        each (7, T_late) float32, std >= STD_FLOOR; None without a late part (`has_late`)."""
        if not self.has_late:
            return None
        return Stats(self._file["stats/late_mean"][()], self._file["stats/late_std"][()])

    @property
    def waveforms_note(self) -> str:
        """Which pairs have waveforms, for `naf data info`."""
        kept = int(self.has_ir.sum())
        if kept == 0:
            return "none (spectrograms only)"
        if kept == self.meta.n_pairs:
            return f"all {kept:,} pairs"
        return f"held-out: {kept:,} validation and test pairs of {self.meta.n_pairs:,} (--waveforms all for every pair)"

    @property
    def imported(self) -> dict[str, Any] | None:
        """The record of `naf data import` (format, source, what was converted and how), None for simulated data."""
        text = self._file.attrs.get("imported")
        return None if text is None else json.loads(str(text))

    def check_scene(self, scene) -> None:
        """Raise DataError unless `scene` has the name and geometry hash this data set was made from."""
        if scene.name != self.meta.scene_name:
            raise DataError(
                f"{self.path} was made for scene '{self.meta.scene_name}', not '{scene.name}'; give the data set "
                f"of '{scene.name}' (`naf data make --scene {scene.name}` makes it)"
            )
        if scene.geometry_hash() != self.meta.scene_hash:
            raise DataError(
                f"{self.path} was made for another geometry of scene '{self.meta.scene_name}' than "
                f"scene '{scene.name}'; run `naf data make --scene {scene.name} --overwrite`"
            )

    def summary(self) -> dict[str, Any]:
        """The figures `naf data info` prints."""
        split = self.split
        return {
            "path": str(self.path),
            "scene": self.meta.scene_name,
            "pairs": self.meta.n_pairs,
            "emitters": self.meta.n_emitters,
            "listeners": self.meta.n_listeners,
            "train pairs": int(np.sum(split == SPLIT_TRAIN)),
            "validation pairs": int(np.sum(split == SPLIT_VALIDATION)),
            "test pairs": int(np.sum(split == SPLIT_TEST)),
            "validation split": self.meta.validation_note,
            "IR seconds": round(self.meta.ir_length / self.meta.sample_rate, 3),
            "IR samples N": self.meta.ir_length,
            "early frames": self.meta.n_frames,
            "late frames": (f"{self.split_info.late_frames} of {self.split_info.late_frame} samples from sample "
                            f"{self.split_info.late_start}" if self.has_late else "none (no late part)"),
            "waveforms": self.waveforms_note,
            "size MB": round(self.path.stat().st_size / 1e6, 1),
            "seed": self.meta.seed,
            "simulation": self.meta.simulation,
            "scene hash": self.meta.scene_hash[:16],
        }


def _read_rows(dataset: h5py.Dataset, indices: np.ndarray | None) -> np.ndarray:
    """Rows in the requested order: h5py needs increasing unique indices, so read those, then gather."""
    if indices is None:
        return dataset[()]
    indices = np.asarray(indices, dtype=np.int64).reshape(-1)
    if len(indices) == 0:
        return np.empty((0,) + dataset.shape[1:], dataset.dtype)
    if indices.min() < 0 or indices.max() >= dataset.shape[0]:
        raise IndexError(f"pair index out of range 0..{dataset.shape[0] - 1}")
    unique, inverse = np.unique(indices, return_inverse=True)
    # Contiguous runs read as slices: much faster than h5py's point-list selection for long lists.
    breaks = np.flatnonzero(np.diff(unique) != 1) + 1
    runs = zip(np.r_[0, breaks], np.r_[breaks, len(unique)], strict=True)
    rows = np.concatenate([dataset[unique[start] : unique[stop - 1] + 1] for start, stop in runs])
    return rows[inverse]
