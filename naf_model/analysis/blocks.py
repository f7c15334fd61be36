"""Spatially disjoint splits for the probe: square blocks of the plan dealt to cross-validation folds.

Neighbouring grid cells have nearly equal features and targets, so a random split of cells scores how well a
probe interpolates, not what the features hold. Here each fold holds out whole blocks a few metres wide, and
training cells within `gap` metres of a held-out cell are dropped, so no test cell has a training neighbour.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from naf_model.errors import NafError

BLOCK_M = 2.0
"""Side of the square blocks in metres: a few metres, about a room's size, so held-out blocks are new places."""

N_FOLDS = 5
"""Cross-validation folds over blocks: every cell is held out once."""


def block_ids(positions: np.ndarray, block_m: float = BLOCK_M) -> np.ndarray:
    """Block index of each (M, 2) position, (M,) int in 0..n_blocks - 1: squares of `block_m` metres from
    the lower-left corner of the positions, numbered in order of first appearance of their cells."""
    xy = np.asarray(positions, dtype=np.float64)
    cell = np.floor((xy - xy.min(axis=0)) / block_m).astype(np.int64)
    _, ids = np.unique(cell[:, 0] * 1_000_003 + cell[:, 1], return_inverse=True)
    return ids.reshape(-1)


def block_folds(blocks: np.ndarray, n_folds: int = N_FOLDS, seed: int = 0) -> np.ndarray:
    """Fold of each cell, (M,) int in 0..n_folds - 1: the blocks shuffled (seeded), then dealt to the folds
    largest first to the fold with the fewest cells so far, so the folds hold about equal numbers of cells."""
    blocks = np.asarray(blocks)
    n_blocks = int(blocks.max()) + 1
    if n_blocks < n_folds:
        raise NafError(
            f"only {n_blocks} blocks for {n_folds} folds: use smaller blocks (--block) or fewer folds (--folds)"
        )
    sizes = np.bincount(blocks, minlength=n_blocks)
    order = np.random.default_rng(seed).permutation(n_blocks)
    order = order[np.argsort(-sizes[order], kind="stable")]
    fold_of_block = np.empty(n_blocks, dtype=np.int64)
    filled = np.zeros(n_folds, dtype=np.int64)
    for b in order:
        k = int(np.argmin(filled))
        fold_of_block[b] = k
        filled[k] += sizes[b]
    return fold_of_block[blocks]


def fold_split(positions: np.ndarray, folds: np.ndarray, k: int, gap: float) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) masks (M,) bool of fold `k`: test = the fold's cells; train = the other folds' cells
    farther than `gap` metres from every test cell (the guard band between them is in neither)."""
    xy = np.asarray(positions, dtype=np.float64)
    test = np.asarray(folds) == k
    train = ~test
    if test.any() and train.any():
        nearest, _ = cKDTree(xy[test]).query(xy[train], k=1)
        keep = nearest > gap * (1.0 + 1e-9) + 1e-12  # a cell exactly `gap` away is within it
        train[np.flatnonzero(train)[~keep]] = False
    return train, test


def blocks_that_fit(positions: np.ndarray, spacing: float, block_m: float = BLOCK_M,
                    n_folds: int = N_FOLDS) -> tuple[float, int]:
    """(block side, folds) for a plan of any size, for callers that cannot ask (the app): `block_m` halved
    down to two spacings until there are `n_folds` blocks, then as many folds as blocks (at least 2)."""
    block = float(block_m)
    while len(np.unique(block_ids(positions, block))) < n_folds and block / 2 >= 2 * spacing:
        block /= 2
    n_blocks = len(np.unique(block_ids(positions, block)))
    return block, max(2, min(n_folds, n_blocks))
