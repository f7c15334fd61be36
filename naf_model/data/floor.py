"""The floor row: how far two simulations of the same pair differ when only the ray tracer's seed changes.

No method can be expected to beat the simulator's own run-to-run noise, so the table shows it. A subset
of the evaluated test pairs is simulated again, emitter by emitter (one simulation serves all of an
emitter's listeners), once per repeat (`naf eval --floor-repeats`), each repeat with seeds derived from
the data set seed on its own stream that the data set never uses; the table shows the mean over repeats
and their spread.
The IRs are cached next to the data set (`<data>.floor.h5`, one group per repeat), keyed by the data
set's plan, so the cost is paid once and later runs only simulate what the cache lacks.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from naf_model.data.plan import derived_seed
from naf_model.data.reader import DataSet
from naf_model.data.resimulated import simulate_again

FLOOR_SEED_STREAM = 101
"""derived_seed stream of repeat 0; repeat r uses stream 101 + r. The data set uses streams 0-5."""


def floor_cache_path(data_path: str | os.PathLike[str]) -> Path:
    """Where the floor IRs of a data set are cached: `data/<scene>.h5` -> `data/<scene>.floor.h5`."""
    path = Path(data_path)
    return path.with_name(path.stem + ".floor.h5")


def choose_floor_pairs(
    pairs: np.ndarray, candidates: np.ndarray, max_pairs: int, seed: int = 0
) -> np.ndarray:
    """Up to `max_pairs` of the `candidates` (pair indices), taking whole emitter groups in a seeded order.

    pairs (P, 2) are the data set's (emitter, listener) indices; returns sorted pair indices.
    """
    candidates = np.asarray(candidates, np.int64)
    emitters = np.unique(pairs[candidates, 0])
    order = np.random.default_rng(seed).permutation(emitters)
    chosen: list[np.ndarray] = []
    left = max_pairs
    for e in order:
        if left <= 0:
            break
        group = candidates[pairs[candidates, 0] == e][:left]
        chosen.append(group)
        left -= len(group)
    return np.sort(np.concatenate(chosen)) if chosen else np.zeros(0, np.int64)


def floor_seed(data_seed: int, emitter: int, repeat: int = 0) -> int:
    """The simulator seed of an emitter's repeat simulation number `repeat`."""
    return derived_seed(data_seed, FLOOR_SEED_STREAM + repeat, emitter)


def floor_irs(
    dataset: DataSet,
    scene,
    pair_indices: np.ndarray,
    progress: Callable[[int], None] | None = None,
    repeat: int = 0,
) -> np.ndarray:
    """IRs (K, 4, 2, N) float16 of the given pairs simulated again with the seeds of `repeat`; cached.

    `scene` must be the data set's scene (`DataSet.check_scene`); `progress(n)` is called with each emitter's
    number of newly simulated pairs.
    """
    seed = dataset.meta.seed
    return simulate_again(dataset, scene, pair_indices, floor_cache_path(dataset.path), f"repeat_{repeat}",
                          FLOOR_SEED_STREAM + repeat, lambda e: floor_seed(seed, e, repeat), progress)  # fmt: skip
