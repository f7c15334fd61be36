"""Reads a naf data set (HDF5, layout in docs/internals.md) into memory for training and held-out checks."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import torch

from naf_model.errors import DataError
from naf_model.model.batches import SplitArrays, split_positions
from naf_model.model.normalisation import SpectrogramStats

_BLOCK = 128  # pairs read per HDF5 slice: bounded memory while selecting one split


@dataclass
class TrainingSet:
    """Train and test splits in memory, normalisation stats and the data set's attributes."""

    train: SplitArrays
    test: SplitArrays
    stats: SpectrogramStats
    meta: dict[str, Any]
    path: Path

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """Bounding box of every emitter and listener position, metres."""
        xy = torch.cat([self.train.emitters, self.train.listeners, self.test.emitters, self.test.listeners])
        lo, hi = xy.min(0).values.tolist(), xy.max(0).values.tolist()
        return (lo[0], lo[1], hi[0], hi[1])


def _read_split(f: h5py.File, mask: np.ndarray) -> SplitArrays:
    pairs = f["pairs"][:]
    e, l_ = split_positions(f["emitters"][:], f["listeners"][:], pairs[mask])
    rows = []
    spec = f["spec"]
    for start in range(0, len(mask), _BLOCK):
        block = mask[start : start + _BLOCK]
        if block.any():
            rows.append(torch.from_numpy(np.ascontiguousarray(spec[start : start + len(block)][block])))
    shape = (0,) + spec.shape[1:]
    return SplitArrays(e, l_, torch.cat(rows) if rows else torch.zeros(shape, dtype=torch.float16))


def load_training_set(path: str | os.PathLike[str]) -> TrainingSet:
    """Load train and test spectrograms (float16) and stats; DataError if missing, incomplete or truncated."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"no data set at {path}; make one with `naf data make --scene NAME`")
    try:
        with h5py.File(path, "r") as f:
            meta = {k: (v.item() if hasattr(v, "item") else v) for k, v in f.attrs.items()}
            if not meta.get("complete", False):
                raise DataError(f"{path} is incomplete; finish it with `naf data make --resume`")
            split = f["split"][:]
            train, test = _read_split(f, split == 0), _read_split(f, split == 1)
            stats = SpectrogramStats(
                f["stats/mean"][:].astype(np.float32), f["stats/std"][:].astype(np.float32)
            )
    except (OSError, KeyError) as exc:
        raise DataError(f"{path} is truncated or not a naf data set ({exc}); remake it") from exc
    if len(train) == 0 or len(test) == 0:
        raise DataError(f"{path} needs both training and test pairs (has {len(train)} and {len(test)})")
    return TrainingSet(train, test, stats, meta, path)
