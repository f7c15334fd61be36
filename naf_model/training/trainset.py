"""Reads a naf data set's training and validation splits (`naf_model.data.DataSet`) into memory for training
and checkpoint selection; the test split is left to `naf eval`."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from naf_model.conventions import HOP, N_FFT, N_FREQ
from naf_model.data import DataSet
from naf_model.data.budget import check_memory
from naf_model.data.extra import FREE_SET_HINT, check_extra, is_free_set
from naf_model.errors import DataError
from naf_model.networks.normalisation import SpectrogramStats
from naf_model.split import IrSplit
from naf_model.training.batches import SplitArrays

_BLOCK = 256
"""Pairs read per slice: bounded memory while one split is gathered from the file."""


@dataclass
class TrainingSet:
    """Train and validation splits in memory (float16 spectrograms), normalisation stats and the data set's
    attributes (`meta`: scene_name, scene_hash, n_frames, ir_length, sample_rate, n_fft, hop, n_freq)."""

    train: SplitArrays
    validation: SplitArrays
    stats: SpectrogramStats
    meta: dict[str, Any]
    path: Path
    late_stats: SpectrogramStats | None = None
    """Normalisation of the late part's ln band powers, (7, T_late); None when the IRs have no late part."""
    split: IrSplit | None = None
    """Where the early part ends and the late part starts; None for data sets made before the late part."""

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """Bounding box of the training and validation emitter and listener positions, metres (the test
        split's positions stay unread, so they cannot shape the grid)."""
        splits = (self.train, self.validation)
        xy = torch.cat([t for s in splits for t in (s.emitters, s.listeners)])
        lo, hi = xy.min(0).values.tolist(), xy.max(0).values.tolist()
        return (lo[0], lo[1], hi[0], hi[1])


def _read_split(ds: DataSet, split: str) -> SplitArrays:
    indices = ds.indices(split)
    emitters, listeners = ds.positions(split)
    spec = np.empty((len(indices),) + ds.spec.shape[1:], np.float16)  # filled block by block: one copy
    for s in range(0, len(indices), _BLOCK):
        block = ds.read_spec(indices[s : s + _BLOCK])
        if not np.isfinite(block).all():
            bad = s + int(np.flatnonzero(~np.isfinite(block).reshape(len(block), -1).all(axis=1))[0])
            raise DataError(
                f"{ds.path}: the spectrogram of {split} pair {int(indices[bad])} holds NaN or infinite values; "
                "training on it would diverge: remake the data set with `naf data make --overwrite`"
            )
        spec[s : s + _BLOCK] = block
    late = None
    if ds.has_late:
        late = np.empty((len(indices),) + ds.late.shape[1:], np.float16)
        for s in range(0, len(indices), _BLOCK):
            block = ds.read_late(indices[s : s + _BLOCK])
            if not np.isfinite(block).all():
                raise DataError(f"{ds.path}: the late part of a {split} pair holds NaN or infinite values; remake the "
                                "data set with `naf data make --overwrite`")
            late[s : s + _BLOCK] = block
    return SplitArrays(
        torch.as_tensor(emitters, dtype=torch.float32),
        torch.as_tensor(listeners, dtype=torch.float32),
        torch.from_numpy(spec),
        None if late is None else torch.from_numpy(late),
    )


def add_extra_pairs(data: TrainingSet, paths: Sequence[str | os.PathLike[str]]) -> TrainingSet:
    """`data` with the training pairs of the data sets `paths` appended to its training split (e.g. free-position
    pairs from `naf data make --free-pairs`); they are normalised with `data`'s statistics and its validation
    split is left alone. DataError unless each was simulated for the same scene with the same simulator
    settings (the seed aside), IR length and STFT."""
    if not paths:
        return data
    parts = [data.train]
    for path in paths:
        with DataSet(path) as ds:
            check_extra(data.meta, data.path, ds)
            if ds.has_late != (data.train.late is not None) or (ds.has_late and ds.split_info != data.split):
                raise DataError(f"{path} and {data.path} split their IRs into early and late parts differently "
                                "(one made before the late part existed?); remake the older one")
            spec = ds.spec  # the split, then its copy into the joined training tensor
            check_memory(2 * spec.size * spec.dtype.itemsize, f"adding the {spec.shape[0]:,} pairs of {path}",
                         "add fewer extra pairs or train on a larger machine")
            parts.append(_read_split(ds, "train"))
    late = None if data.train.late is None else torch.cat([p.late for p in parts])
    train = SplitArrays(*(torch.cat([getattr(p, name) for p in parts]) for name in ("emitters", "listeners", "spec")),
                        late)
    return dataclasses.replace(data, train=train)


def load_training_set(path: str | os.PathLike[str]) -> TrainingSet:
    """Load the training and validation splits and the stats; DataError if the file is missing, damaged, or
    lacks either split."""
    path = Path(path)
    with DataSet(path) as ds:
        spec = ds.spec
        late_bytes = ds.late.size * ds.late.dtype.itemsize if ds.has_late else 0
        check_memory(spec.size * spec.dtype.itemsize + late_bytes,
                     f"loading the {spec.shape[0]:,} spectrograms of {path}",
                     "train on a smaller data set (coarser spacings in `naf data make`) or a larger machine")
        train, validation = _read_split(ds, "train"), _read_split(ds, "validation")
        stats = SpectrogramStats(np.asarray(ds.stats.mean, np.float32), np.asarray(ds.stats.std, np.float32))
        late = ds.late_stats
        late_stats = None if late is None else SpectrogramStats(np.asarray(late.mean, np.float32),
                                                                np.asarray(late.std, np.float32))
        split_info = ds.split_info if ds.has_late else None
        m = ds.meta
        meta = {
            "scene_name": m.scene_name,
            "scene_hash": m.scene_hash,
            "n_frames": m.n_frames,
            "ir_length": m.ir_length,
            "sample_rate": m.sample_rate,
            "simulation": m.simulation,
        }
        meta.update({"n_fft": N_FFT, "hop": HOP, "n_freq": N_FREQ})  # DataSet rejects other STFT settings
        free = is_free_set(ds)
    if len(train) == 0 or len(validation) == 0:
        raise DataError(
            f"{path} needs training and validation pairs (has {len(train)} and {len(validation)}); "
            + (FREE_SET_HINT if free else "remake it")
        )
    return TrainingSet(train, validation, stats, meta, path, late_stats, split_info)
