"""What `naf data info` checks beyond the shapes `DataSet` validates on opening: the stored values themselves.

A data set whose spectrograms are NaN opens fine (shapes and stats can be intact) and trains a field into
NaN weights, whose error sends the user to `naf data info`; so `info` reads the spectrograms, late descriptions
and stored IRs of a spread of pairs (all of them in a small file) one pair at a time, in bounded memory
whatever the file's size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from naf_model.data.reader import DataSet
from naf_model.errors import DataError

CHECKED_PAIRS = 256
"""Pairs whose values are read: every pair of a smaller file, else this many spread evenly over the file
(about 100 MB of float16 at 0.6 s IRs, a few seconds)."""


@dataclass(frozen=True)
class ValueCheck:
    """How many pairs were read (`checked`) of how many (`total`); their values were all finite."""

    checked: int
    total: int

    def summary(self) -> str:
        """One line for `naf data info`."""
        which = "all" if self.checked == self.total else f"{self.checked:,} of {self.total:,}"
        return f"{which} pairs read, spectrograms, late envelopes and stored IRs finite"


def checked_pairs(n_pairs: int, limit: int = CHECKED_PAIRS) -> np.ndarray:
    """Indices (K,) of the pairs read: all if n_pairs <= limit, else `limit` spread evenly, first and last
    included (a file filled in emitter order goes bad from some pair on, so spread beats a random subset)."""
    if n_pairs <= limit:
        return np.arange(n_pairs)
    return np.unique(np.linspace(0, n_pairs - 1, limit).round().astype(np.int64))


def check_values(ds: DataSet, limit: int = CHECKED_PAIRS) -> ValueCheck:
    """Read the spectrograms, late descriptions and stored IRs (`has_ir`) of `checked_pairs`; DataError (one
    line) naming the first pair that holds a NaN or infinite value and how many of the pairs read do."""
    indices = checked_pairs(len(ds), limit)
    has_ir = ds.has_ir
    arrays = [("spectrograms", ds.spec)] + ([("late envelopes", ds.late)] if ds.has_late else [])
    bad: list[int] = []
    what: set[str] = set()
    for i in indices:
        read = arrays + ([("IRs", ds.ir)] if has_ir[i] else [])
        broken = {name for name, dataset in read if not np.isfinite(dataset[int(i)]).all()}
        if broken:
            bad.append(int(i))
            what |= broken
    if bad:
        raise DataError(
            f"{ds.path}: NaN or infinite {' and '.join(sorted(what, reverse=True))} in {len(bad):,} of the "
            f"{len(indices):,} pairs read (pair {bad[0]} first); a field cannot learn from them: "
            "remake the data set with `naf data make --overwrite`"
        )
    return ValueCheck(len(indices), len(ds))
