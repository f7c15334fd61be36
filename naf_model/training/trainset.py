"""Reads a naf data set's training and validation splits (`naf_model.data.DataSet`) for training and checkpoint
selection, in memory or streamed from disk within a memory budget (`training.streamed`); the test split is left
to `naf eval`.

Under torchrun each rank reads only its share of the training pairs: the pairs at positions rank, rank + W,
rank + 2W, ... of the training split (the main data set's training pairs, then each extra data set's), W the
world size. Each rank's sampler draws its items from its own share, so a step's items come from every share.
The validation split is read on demand: rank 0's fixed held-out items, once.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from naf_model.conventions import HOP, N_FFT, N_FREQ
from naf_model.data import DataSet
from naf_model.data.budget import available_memory, check_memory
from naf_model.data.extra import FREE_SET_HINT, check_extra, is_free_set
from naf_model.errors import DataError
from naf_model.networks.normalisation import SpectrogramStats
from naf_model.split import IrSplit
from naf_model.training.batches import SplitArrays
from naf_model.training.streamed import BYTES_PER_VALUE, StreamedRows, rows_per_read

DEFAULT_BUDGET_SHARE = 0.5
"""The default memory budget of one process: this share of the memory available when training starts, split
among the processes torchrun starts on the machine."""
LATE_SHARE = 0.25
"""When the split does not fit the budget, the late parts stay in memory if they take at most this share of it
(they are small beside the spectrograms); else they are streamed through this share of it."""


def default_memory_budget() -> int | None:
    """Bytes a process may hold of training data unless told: DEFAULT_BUDGET_SHARE of MemAvailable over the
    ranks on this machine (LOCAL_WORLD_SIZE); None where the free memory is unknown."""
    free = available_memory()
    if free is None:
        return None
    return int(DEFAULT_BUDGET_SHARE * free / max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1"))))


@dataclass
class TrainingSet:
    """This rank's share of the training split (in memory or streamed), the validation split (read on demand),
    normalisation stats and the data set's attributes (`meta`: scene_name, scene_hash, n_frames, ir_length,
    sample_rate, n_fft, hop, n_freq)."""

    train: SplitArrays
    validation: SplitArrays
    stats: SpectrogramStats
    meta: dict[str, Any]
    path: Path
    late_stats: SpectrogramStats | None = None
    """Normalisation of the late part's ln band powers, (7, T_late); None when the IRs have no late part."""
    split: IrSplit | None = None
    """Where the early part ends and the late part starts; None for data sets made before the late part."""
    bounds: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    """Bounding box of every training and validation emitter and listener position (all ranks' shares),
    metres; the test split's positions stay unread, so they cannot shape the grid."""
    train_pairs: int = 0
    """Training pairs of all ranks together."""
    memory_note: str = ""
    """One line: in memory or streamed, how many bytes, under which budget."""
    memory_budget: int = 0
    """The budget the split was read under, bytes (0: none)."""

    @property
    def streamed(self) -> bool:
        """Whether the training spectrograms are read from disk as batches ask for them."""
        return isinstance(self.train.spec, StreamedRows)

    def check_step(self, spec_rows: int, late_rows: int) -> None:
        """DataError (one line, before training starts) when a streamed split's cache cannot hold the rows one
        step asks for: `spec_rows` spectrograms and `late_rows` late parts (twice each: cached and copied)."""
        for rows, n in ((self.train.spec, spec_rows), (self.train.late, late_rows)):
            if isinstance(rows, StreamedRows) and rows.capacity is not None and 2 * n * rows.row_bytes > rows.capacity:
                need = self.memory_budget - rows.capacity + 2 * n * rows.row_bytes
                raise DataError(f"a step reads {n} rows of {rows.name} ({n * rows.row_bytes / 1e6:.1f} MB), more than "
                                f"the memory budget of {self.memory_budget / 1e6:.0f} MB leaves room for; use "
                                f"--memory-budget {math.ceil(need / 1e6)}MB or more")

    def close(self) -> None:
        """Release the files the streamed arrays read."""
        for split in (self.train, self.validation):
            for rows in (split.spec, split.late):
                if isinstance(rows, StreamedRows):
                    rows.close()


@dataclass
class _Source:
    """One data set's part of the training split: its path, training rows and their positions."""

    path: Path
    rows: np.ndarray
    emitters: np.ndarray
    listeners: np.ndarray


def load_training_set(
    path: str | os.PathLike[str], extra: Sequence[str | os.PathLike[str]] = (), memory_budget: int | None = None,
    share: tuple[int, int] = (0, 1), thin: tuple[float, float] = (1.0, 1.0),
) -> TrainingSet:
    """This rank's share (`share` = (rank, world size)) of the training pairs of `path` and of the extra data
    sets `extra` (e.g. free-position pairs from `naf data make --free-pairs`; normalised with `path`'s stats),
    in memory when it fits `memory_budget` bytes (None: in memory if the machine has the memory), else
    streamed; the validation split of `path` is read on demand. `thin` = (emitter, listener) fractions of the
    main data set's training pairs kept (`thin_rows`). DataError if a file is missing, damaged, lacks
    a split, or an extra set was simulated differently."""
    path = Path(path)
    with DataSet(path) as ds:
        stats = SpectrogramStats(np.asarray(ds.stats.mean, np.float32), np.asarray(ds.stats.std, np.float32))
        late = ds.late_stats
        late_stats = None if late is None else SpectrogramStats(np.asarray(late.mean, np.float32),
                                                                np.asarray(late.std, np.float32))
        has_late, split_info = ds.has_late, (ds.split_info if ds.has_late else None)
        m = ds.meta
        meta = {"scene_name": m.scene_name, "scene_hash": m.scene_hash, "n_frames": m.n_frames,
                "ir_length": m.ir_length, "sample_rate": m.sample_rate, "simulation": m.simulation}
        meta.update({"n_fft": N_FFT, "hop": HOP, "n_freq": N_FREQ})  # DataSet rejects other STFT settings
        free = is_free_set(ds)
        train_rows = ds.indices("train")
        kept = thin_rows(ds.pairs[train_rows], *thin)
        e_pos, l_pos = ds.positions("train")
        sources = [_Source(path, train_rows[kept], e_pos[kept], l_pos[kept])]
        validation_rows = ds.indices("validation")
        val_e, val_l = ds.positions("validation")
    if len(sources[0].rows) == 0 or len(validation_rows) == 0:
        raise DataError(
            f"{path} needs training and validation pairs (has {len(sources[0].rows)} and {len(validation_rows)}); "
            + (FREE_SET_HINT if free else "remake it")
        )
    for other in extra:
        with DataSet(other) as x:
            check_extra(meta, path, x)
            if x.has_late != has_late or (has_late and x.split_info != split_info):
                raise DataError(f"{other} and {path} split their IRs into early and late parts differently "
                                "(one made before the late part existed?); remake the older one")
            sources.append(_Source(Path(other), x.indices("train"), *x.positions("train")))
    xy = np.concatenate([a for s in sources for a in (s.emitters, s.listeners)] + [val_e, val_l])
    lo, hi = xy.min(0), xy.max(0)
    mine = _share(sources, share)
    train = _read_train(mine, has_late, memory_budget, path)
    validation = SplitArrays(
        torch.as_tensor(val_e, dtype=torch.float32), torch.as_tensor(val_l, dtype=torch.float32),
        StreamedRows([path], [validation_rows], "spec", None),
        StreamedRows([path], [validation_rows], "late", None) if has_late else None,
    )
    return TrainingSet(train, validation, stats, meta, path, late_stats, split_info,
                       (float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])),
                       sum(len(s.rows) for s in sources), _note(train, memory_budget), memory_budget or 0)


THIN_SEED = 20261207
"""Seed of the emitter order and listener keys of `thin_rows` (fixed: every fraction cuts the same order)."""


def thin_rows(pairs: np.ndarray, emitter_fraction: float, listener_fraction: float) -> np.ndarray:
    """Positions (sorted) of the rows of `pairs` (R, 2) (emitter, listener indices) kept when only a seeded
    `emitter_fraction` of their emitters (at least one) and, of each kept emitter's rows, a seeded
    `listener_fraction` (at least one) are: nested, so a smaller fraction keeps a subset of a larger one's."""
    if emitter_fraction >= 1.0 and listener_fraction >= 1.0:
        return np.arange(len(pairs))
    rng = np.random.default_rng(THIN_SEED)
    emitters = np.unique(pairs[:, 0])
    order = rng.permutation(emitters)
    chosen = order[: max(1, round(emitter_fraction * len(emitters)))]
    key = rng.random(int(pairs[:, 1].max()) + 1 if len(pairs) else 0)
    keep = []
    for e in np.sort(chosen):
        rows = np.flatnonzero(pairs[:, 0] == e)
        rows = rows[np.argsort(key[pairs[rows, 1]], kind="stable")]
        keep.append(rows[: max(1, round(listener_fraction * len(rows)))])
    return np.sort(np.concatenate(keep))


def _share(sources: list[_Source], share: tuple[int, int]) -> list[_Source]:
    """Each source cut to the training pairs at positions rank, rank + W, ... of the joined split."""
    rank, world = share
    total = sum(len(s.rows) for s in sources)
    if total < world:
        raise DataError(f"{total} training pairs cannot be shared among {world} processes; start fewer")
    out, offset = [], 0
    for s in sources:
        keep = np.flatnonzero((offset + np.arange(len(s.rows))) % world == rank)
        out.append(_Source(s.path, s.rows[keep], s.emitters[keep], s.listeners[keep]))
        offset += len(s.rows)
    return [s for s in out if len(s.rows)]


def _read_train(sources: list[_Source], has_late: bool, budget: int | None, path: Path) -> SplitArrays:
    """The share's arrays: in memory when they fit `budget` (and the machine), else `StreamedRows` within it."""
    paths, rows = [s.path for s in sources], [s.rows for s in sources]
    spec = StreamedRows(paths, rows, "spec", None)
    late = StreamedRows(paths, rows, "late", None) if has_late else None
    spec_bytes = len(spec) * spec.row_bytes
    late_bytes = 0 if late is None else len(late) * late.row_bytes
    positions = (torch.as_tensor(np.concatenate([s.emitters for s in sources]), dtype=torch.float32),
                 torch.as_tensor(np.concatenate([s.listeners for s in sources]), dtype=torch.float32))
    if budget is None or spec_bytes + late_bytes <= budget:
        check_memory(spec_bytes + late_bytes, f"loading the {len(spec):,} training spectrograms of {path}",
                     "give a smaller --memory-budget to stream them from disk, or train on a larger machine")
        return SplitArrays(*positions, _in_memory(spec), None if late is None else _in_memory(late))
    if late is not None and late_bytes <= LATE_SHARE * budget:
        late_tensor: torch.Tensor | StreamedRows | None = _in_memory(late)
        spec.capacity = budget - late_bytes
    elif late is not None:
        late.capacity = int(LATE_SHARE * budget)
        late_tensor, spec.capacity = late, budget - late.capacity
    else:
        late_tensor, spec.capacity = None, budget
    return SplitArrays(*positions, spec, late_tensor)


def _in_memory(rows: StreamedRows) -> torch.Tensor:
    """Every row, read block by block into one tensor (one copy), then the files closed."""
    out = torch.empty(rows.shape, dtype=torch.float16)
    step = rows_per_read(rows)
    for s in range(0, len(rows), step):
        out[s : s + step] = rows[s : s + step]
    rows.close()
    return out


def _held_and_size(rows: torch.Tensor | StreamedRows) -> tuple[int, int]:
    """Bytes an array may hold in memory, and its bytes in all."""
    if isinstance(rows, StreamedRows):
        return rows.capacity or 0, len(rows) * rows.row_bytes
    return rows.numel() * BYTES_PER_VALUE, rows.numel() * BYTES_PER_VALUE


def _note(train: SplitArrays, budget: int | None) -> str:
    """The one line `naf train` prints about where the training data lives."""
    held, size = (sum(x) for x in zip(*(_held_and_size(a) for a in (train.spec, train.late) if a is not None),
                                       strict=True))
    limit = "no budget" if budget is None else f"budget {budget / 1e6:,.0f} MB"
    if isinstance(train.spec, StreamedRows):
        return (f"training data: {len(train):,} pairs, {size / 1e6:,.0f} MB, streamed from disk through "
                f"{held / 1e6:,.0f} MB of memory ({limit})")
    return f"training data: {len(train):,} pairs, {size / 1e6:,.0f} MB, in memory ({limit})"
