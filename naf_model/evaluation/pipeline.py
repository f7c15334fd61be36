"""The one scoring pipeline of `naf eval`: every table, on the grid or off it, is rows scored on a query set.

A `QuerySet` is the pairs one table scores (held-out pairs of the data set, or off-grid pairs) with the
ground truth of its items: one item per pair and head orientation, pair-major (`expand`). Each `Row` names
a source, which predicts items, and a scorer, which measures a prediction against the ground truth of the
same items (`rows`). `score_rows` walks the query set in chunks of CHUNK_PAIRS pairs; in each chunk every
source predicts once, whatever number of rows (rules, tables) score its prediction.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

CHUNK_PAIRS = 16
"""Pairs predicted and scored at once (x 4 orientations): bounds memory whatever --max-pairs is."""


def expand(emitters: np.ndarray, listeners: np.ndarray, headings: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per item (pair-major, orientation-minor): emitters, listeners (Q * O, 2) m, headings (Q * O,) deg,
    float64, from pairs (Q, 2) and orientations (O,)."""
    o = len(headings)
    return (np.repeat(np.asarray(emitters, np.float64), o, 0), np.repeat(np.asarray(listeners, np.float64), o, 0),
            np.tile(np.asarray(headings, np.float64), len(emitters)))  # fmt: skip


@dataclass
class QuerySet:
    """The pairs one table scores: emitters, listeners (Q, 2) m, headings (O,) deg, and per item the ground
    truth's log-magnitudes gt_log (Q * O, 2, 256, T) and waveforms gt_wave (Q * O, 2, N) at 22,050 Hz."""

    emitters: np.ndarray
    listeners: np.ndarray
    headings: np.ndarray
    gt_log: np.ndarray
    gt_wave: np.ndarray

    def __len__(self) -> int:
        return len(self.emitters)

    @property
    def n_orient(self) -> int:
        """Orientations per pair."""
        return len(self.headings)

    def chunks(self) -> Iterator[slice]:
        """Consecutive slices of at most CHUNK_PAIRS pairs."""
        for start in range(0, len(self), CHUNK_PAIRS):
            yield slice(start, min(start + CHUNK_PAIRS, len(self)))

    def items(self, pairs: np.ndarray | slice) -> np.ndarray:
        """Item indices (pair-major) of pair positions (a slice or an array) in this set."""
        pos = np.arange(len(self))[pairs] if isinstance(pairs, slice) else np.asarray(pairs, np.int64)
        return (pos[:, None] * self.n_orient + np.arange(self.n_orient)).ravel()

    def positions(self, part: slice) -> tuple[np.ndarray, ...]:
        """Emitters, listeners and headings of the items of the pairs `part` (`expand`)."""
        return expand(self.emitters[part], self.listeners[part], self.headings)


@dataclass
class Prediction:
    """What one source predicts for some items of a chunk: their indices (b,) in the query set, log-magnitudes
    (b, 2, 256, T) (None where no scorer reads them), waveforms (b, 2, N) where the method makes them, and
    `play()` the waveforms (b, 2, N) as played (computed once, on demand: synthesis costs)."""

    items: np.ndarray
    log: np.ndarray | None
    wave: np.ndarray | None = None
    synthesize: Callable[[], np.ndarray] | None = None
    _played: list[np.ndarray] = field(default_factory=list)

    def play(self) -> np.ndarray:
        """The played waveforms: synthesised once where the method makes magnitudes, else its waveforms."""
        if self.synthesize is None:
            assert self.wave is not None, "a method without waveforms needs a synthesis to be played"
            return self.wave
        if not self._played:
            self._played.append(self.synthesize())
        return self._played[0]


class Source(Protocol):
    """A method's predictions: for the pairs `part` of the query set, a Prediction (None: no items there)."""

    def predict(self, part: slice) -> Prediction | None: ...


class Scorer(Protocol):
    """Errors of a prediction's items (an `ItemErrors` or `ListeningErrors`, with `concatenate`)."""

    def score(self, pred: Prediction) -> Any: ...


@dataclass
class Row:
    """One row of a table: `key` (what the table calls it), the source that predicts and the scorer."""

    key: Hashable
    source: Source
    scorer: Scorer


@dataclass
class Scored:
    """A row's errors over its items (item order) and the seconds spent predicting and scoring it."""

    key: Hashable
    errors: Any
    seconds: float


def score_rows(queries: QuerySet, rows: list[Row], progress: Callable[[int], None] | None = None) -> list[Scored]:
    """Score every row on the query set chunk by chunk; a source shared by several rows predicts once per
    chunk (the first row using it is charged for it). `progress(n)` after each row's chunk of n items."""
    parts: list[list[Any]] = [[] for _ in rows]
    seconds = [0.0] * len(rows)
    last_use = {id(row.source): k for k, row in enumerate(rows)}
    for part in queries.chunks():
        made: dict[int, Prediction | None] = {}
        for k, row in enumerate(rows):
            t0 = time.perf_counter()
            if id(row.source) not in made:
                made[id(row.source)] = row.source.predict(part)
            pred = made[id(row.source)]
            if pred is not None and len(pred.items):
                parts[k].append(row.scorer.score(pred))
                if progress is not None:
                    progress(len(pred.items))
            if last_use[id(row.source)] == k:  # its last row in this chunk: free the prediction
                made[id(row.source)] = None
            seconds[k] += time.perf_counter() - t0
    assert all(parts), "every row scores at least one item"
    return [Scored(row.key, type(p[0]).concatenate(p), s) for row, p, s in zip(rows, parts, seconds, strict=True)]
