"""Training rows read from disk in bounded memory: `StreamedRows` stands in for the in-memory (P, ...) float16
tensor of one per-pair array (`spec`, the early spectrograms, or `late`, the late parts) of one or more data
set files, serving the rows a batch asks for through an LRU cache of at most `capacity` bytes.

The random draws stay with `training.batches.BatchSampler`: it draws pair indices exactly as it does for
tensors in memory and indexes this object the same way, so the same seed gives the same batches, bit for
bit, whether the split is in memory or streamed. The files store one compressed chunk per pair
(`data.assemble`), so a row is one chunk read.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from naf_model.data import DataSet
from naf_model.errors import DataError

BYTES_PER_VALUE = 2
"""Rows are float16 in the file and in memory."""
READ_ROWS = 256
"""Rows read at a time where a whole array is read through (bounded memory while it is gathered)."""


class StreamedRows:
    """The rows `rows[k]` of array `name` of the data sets `paths[k]`, concatenated in that order: (P, ...) float16.

    Index it as the sampler indexes a tensor: an index tensor on the pair axis (any shape, repeats allowed),
    alone or first in a tuple of further indices, or a slice (read straight through, uncached). Every row
    read is checked to be finite. `capacity` bounds the bytes held: the cache plus the staged copy of one
    request's rows (None: no cache, every request read from disk). `peak_bytes` records the most held.
    """

    def __init__(self, paths: Sequence[Path], rows: Sequence[np.ndarray], name: str, capacity: int | None) -> None:
        assert len(paths) == len(rows) and paths, "one row list per file"
        self.name, self.capacity = name, capacity
        self._files = [DataSet(p) for p in paths]
        self._file_of = np.concatenate([np.full(len(r), k, np.int64) for k, r in enumerate(rows)])
        self._row_of = np.concatenate([np.asarray(r, np.int64) for r in rows])
        self._shape = torch.Size((len(self._row_of),) + tuple(getattr(self._files[0], name).shape[1:]))
        self.row_bytes = math.prod(self._shape[1:]) * BYTES_PER_VALUE
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self.peak_bytes = 0
        self.rows_read = 0
        """Rows read from disk so far (a row read again after its eviction counts again)."""

    @property
    def shape(self) -> torch.Size:
        """(P, ...) as the in-memory tensor's."""
        return self._shape

    def __len__(self) -> int:
        return self._shape[0]

    @property
    def cached_bytes(self) -> int:
        """Bytes the cache holds now."""
        return len(self._cache) * self.row_bytes

    def close(self) -> None:
        """Release the files and the cache."""
        self._cache.clear()
        for f in self._files:
            f.close()

    def __getitem__(self, key: Any) -> torch.Tensor:
        if isinstance(key, slice):
            wanted = np.arange(len(self))[key]
            self._make_room(len(wanted) * self.row_bytes, set())
            self._note(len(wanted) * self.row_bytes)
            return torch.from_numpy(self._read(wanted))
        first, rest = (key[0], tuple(key[1:])) if isinstance(key, tuple) else (key, ())
        first = torch.as_tensor(first, dtype=torch.long)
        if len(first.reshape(-1)) and (first.min() < 0 or first.max() >= len(self)):
            raise IndexError(f"pair index out of range 0..{len(self) - 1}")
        unique, inverse = torch.unique(first, return_inverse=True)
        rows = torch.from_numpy(self._rows(unique.numpy()))
        return rows[(inverse,) + rest]

    def _rows(self, wanted: np.ndarray) -> np.ndarray:
        """(u, ...) rows of the sorted unique indices `wanted`, through the cache."""
        staged = len(wanted) * self.row_bytes
        if self.capacity is None:
            self._note(staged)
            return self._read(wanted)
        if 2 * staged > self.capacity:
            raise DataError(
                f"one batch needs {len(wanted)} rows of {self.name} ({staged / 1e6:.1f} MB, twice that while it "
                f"is cached and copied) but the memory budget leaves {self.capacity / 1e6:.1f} MB for them; raise "
                "--memory-budget"
            )
        hit = set(wanted.tolist()) & self._cache.keys()
        missing = np.array([i for i in wanted.tolist() if i not in hit], np.int64)
        self._make_room(staged + len(missing) * self.row_bytes, hit)
        if len(missing):
            for i, row in zip(missing.tolist(), self._read(missing), strict=True):
                self._cache[i] = row
        for i in hit:
            self._cache.move_to_end(i)
        self._note(staged)
        return np.stack([self._cache[i] for i in wanted.tolist()]) if len(wanted) else self._read(wanted)

    def _make_room(self, nbytes: int, keep: set[int]) -> None:
        """Evict least recently used rows (not those in `keep`) until `nbytes` more fit the capacity."""
        if self.capacity is None:
            return
        for old in [k for k in self._cache if k not in keep]:  # least recently used first
            if self.cached_bytes + nbytes <= self.capacity:
                break
            del self._cache[old]

    def _note(self, staged: int) -> None:
        self.peak_bytes = max(self.peak_bytes, self.cached_bytes + staged)

    def _read(self, wanted: np.ndarray) -> np.ndarray:
        """(n, ...) rows `wanted` (global indices) from the files, in that order, each run of consecutive rows of
        one file read straight into the result (no second copy); DataError if any is not finite."""
        out = np.empty((len(wanted),) + tuple(self._shape[1:]), np.float16)
        files, rows = self._file_of[wanted], self._row_of[wanted]
        breaks = np.flatnonzero((np.diff(files) != 0) | (np.diff(rows) != 1)) + 1
        for start, stop in zip(np.r_[0, breaks], np.r_[breaks, len(wanted)], strict=True):
            if start == stop:
                continue
            ds = self._files[int(files[start])]
            first = int(rows[start])
            getattr(ds, self.name).read_direct(out, np.s_[first : first + stop - start], np.s_[start:stop])
            if not np.isfinite(out[start:stop]).all():
                raise DataError(f"{ds.path}: the {self.name} rows of some training pairs hold NaN or infinite "
                                "values; training on them would diverge: remake it with `naf data make --overwrite`")
        self.rows_read += len(wanted)
        return out


def rows_per_read(rows: torch.Tensor | StreamedRows) -> int:
    """Rows to ask for at a time when reading all of `rows` through: READ_ROWS, fewer where a streamed array's
    capacity holds fewer (twice: cached and copied), at least 1."""
    if isinstance(rows, StreamedRows) and rows.capacity is not None:
        return max(1, min(READ_ROWS, rows.capacity // (2 * rows.row_bytes)))
    return READ_ROWS
