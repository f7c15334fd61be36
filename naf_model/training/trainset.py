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
    return SplitArrays(
        torch.as_tensor(emitters, dtype=torch.float32),
        torch.as_tensor(listeners, dtype=torch.float32),
        torch.from_numpy(spec),
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
            spec = ds.spec  # the split, then its copy into the joined training tensor
            check_memory(2 * spec.size * spec.dtype.itemsize, f"adding the {spec.shape[0]:,} pairs of {path}",
                         "add fewer extra pairs or train on a larger machine")
            parts.append(_read_split(ds, "train"))
    train = SplitArrays(*(torch.cat([getattr(p, name) for p in parts]) for name in ("emitters", "listeners", "spec")))
    return dataclasses.replace(data, train=train)


def load_training_set(path: str | os.PathLike[str]) -> TrainingSet:
    """Load the training and validation splits and the stats; DataError if the file is missing, damaged, or
    lacks either split."""
    path = Path(path)
    with DataSet(path) as ds:
        spec = ds.spec
        check_memory(spec.size * spec.dtype.itemsize, f"loading the {spec.shape[0]:,} spectrograms of {path}",
                     "train on a smaller data set (coarser spacings in `naf data make`) or a larger machine")
        train, validation = _read_split(ds, "train"), _read_split(ds, "validation")
        stats = SpectrogramStats(np.asarray(ds.stats.mean, np.float32), np.asarray(ds.stats.std, np.float32))
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
    return TrainingSet(train, validation, stats, meta, path)
