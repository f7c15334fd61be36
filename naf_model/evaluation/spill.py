"""Rows of IRs that `naf eval` keeps on disk rather than in memory: the training IRs its baselines blend (raw
and each codec's version), written once in slices, read back a chunk's rows at a time.

A big space's IRs are long (the cathedral's 4.84 s: 3.4 MB a pair of 4 orientations in float32), and a
table's baselines use a few hundred training pairs in 3 versions under each of 2 rule sets: held in memory
they were most of the 11.9 GB an evaluation of the cathedral peaked at. Here each version is a file of
fixed-size rows, read a run of rows at a time straight into the array returned (no mapping, so no page of it
counts in the process's memory once a read returns). The file has no name (`tempfile.TemporaryFile`: unlinked
as soon as it is made on POSIX systems), so its space goes back when the evaluation ends, however it ends (an
interrupt, a kill). It lies in the system's temporary folder (`TMPDIR` moves it).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

SPILL_CHUNK_BYTES = 256 * 2**20
"""Bytes of rows a writer handles at once (reading the raw IRs, a codec's round trip): with the codecs' own
work arrays (a resampled copy, the decoded stream) a few times this is what a version costs in memory."""


class RowFile:
    """`n_rows` rows of `row_shape` and `dtype` in a nameless file of `folder`, written with `write`, read as an
    array is indexed (`rows[i]`, `rows[[i, j, ...]]`, `rows[a:b]`): what `baselines.blend` asks of training
    IRs. The file is `tempfile.TemporaryFile`'s: unlinked at once where the system allows (POSIX), deleted on
    close elsewhere; unbuffered, so a read takes the bytes straight into the array it returns."""

    def __init__(self, folder: str | os.PathLike[str], n_rows: int, row_shape: tuple[int, ...], dtype,
                 _shared: RowFile | None = None) -> None:
        self._file = None
        self.dtype = np.dtype(dtype)
        self.shape = (int(n_rows), *map(int, row_shape))
        self.row_bytes = int(np.prod(row_shape, dtype=np.int64)) * self.dtype.itemsize
        self.folder = Path(folder)
        self._owner = _shared is None
        if _shared is not None:  # `regrouped`: the same bytes, other rows (its owner closes the file)
            self._file = _shared._file
            return
        self._file = tempfile.TemporaryFile(prefix="naf-eval-rows-", suffix=".bin", dir=folder, buffering=0)
        self._file.truncate(self.shape[0] * self.row_bytes)

    def regrouped(self, row_shape: tuple[int, ...]) -> RowFile:
        """The same file read and written as rows of `row_shape` (C order: a (4, 2, N) row is 8 rows of (N,))."""
        size = int(np.prod(row_shape, dtype=np.int64)) * self.dtype.itemsize
        total = len(self) * self.row_bytes
        if total % size:
            raise ValueError(f"rows of {row_shape} do not divide a file of rows {self.shape}")
        return RowFile(self.folder, total // size, row_shape, self.dtype, _shared=self)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __len__(self) -> int:
        return self.shape[0]

    def write(self, start: int, rows: np.ndarray) -> None:
        """Rows `start` to start + len(rows) from `rows` (cast to this file's dtype)."""
        data = np.ascontiguousarray(rows, self.dtype)
        if data.shape[1:] != self.shape[1:] or not 0 <= start <= len(self) - len(data):
            raise ValueError(f"rows {data.shape} at {start} do not fit a file of rows {self.shape}")
        view = memoryview(data.reshape(-1).view(np.uint8))
        try:
            self._file.seek(start * self.row_bytes)
            while len(view):
                view = view[self._file.write(view) :]
        except OSError as exc:  # a full disk: name the folder (the file has no name) and how to move it
            raise OSError(exc.errno, exc.strerror, f"{self.folder} (naf eval's temporary rows; TMPDIR moves them)"
                          ) from exc

    def __getitem__(self, index) -> np.ndarray:
        rows = np.arange(len(self))[index]
        if np.ndim(rows) == 0:
            return self._read(np.array([rows]))[0]
        return self._read(np.asarray(rows, np.int64).reshape(-1)).reshape(np.shape(rows) + self.shape[1:])

    def _read(self, rows: np.ndarray) -> np.ndarray:
        """Rows in the given order (repeats allowed), one read per run of consecutive distinct rows."""
        unique, inverse = np.unique(rows, return_inverse=True)
        out = np.empty((len(unique),) + self.shape[1:], self.dtype)
        flat = out.reshape(len(unique), self.row_bytes // self.dtype.itemsize).view(np.uint8)
        for first, stop in _runs(unique):
            buffer = memoryview(flat[first:stop].reshape(-1))
            self._file.seek(int(unique[first]) * self.row_bytes)
            while len(buffer):
                n = self._file.readinto(buffer)
                if not n:
                    raise OSError(f"a file of rows {self.shape} in {self.folder} ended early")
                buffer = buffer[n:]
        return out[inverse.reshape(-1)]

    def close(self) -> None:
        """Close and delete the file (a regrouped view leaves that to the RowFile it came from)."""
        if self._owner and self._file is not None:
            self._file.close()
        self._file = None

    def __del__(self) -> None:
        self.close()


def _runs(sorted_rows: np.ndarray) -> Iterator[tuple[int, int]]:
    """(first, stop) positions of the runs of consecutive row numbers in a sorted distinct array."""
    if not len(sorted_rows):
        return
    breaks = np.flatnonzero(np.diff(sorted_rows) != 1) + 1
    edges = np.concatenate([[0], breaks, [len(sorted_rows)]])
    yield from zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True)


def row_chunks(n_rows: int, row_bytes: int, at_least: int = 1) -> Iterator[slice]:
    """Consecutive slices of `n_rows` rows of `row_bytes` each within SPILL_CHUNK_BYTES (at least `at_least`
    rows a slice, whatever the budget)."""
    step = max(at_least, SPILL_CHUNK_BYTES // max(row_bytes, 1), 1)
    for start in range(0, n_rows, step):
        yield slice(start, min(start + step, n_rows))
