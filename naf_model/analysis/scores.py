"""Scores of held-out predictions with bootstrap 95 % intervals that resample whole blocks.

Cells of one block are not independent (neighbours share features and targets), so the bootstrap draws
blocks with replacement and pools their cells; a comparison of two feature sets uses the same draws for
both (a paired interval of the difference).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RESAMPLES = 2000
"""Bootstrap draws of the blocks per interval."""


@dataclass(frozen=True)
class Score:
    """A score (R^2 or accuracy) on held-out cells, its 95 % bootstrap interval, and the draws behind it."""

    value: float
    low: float
    high: float
    draws: np.ndarray

    def to_dict(self) -> dict[str, float]:
        """{"value", "ci95": [low, high]} rounded for JSON."""
        return {"value": round(self.value, 4), "ci95": [round(self.low, 4), round(self.high, 4)]}

    def minus(self, other: Score) -> Score:
        """The paired difference self - other (both scored on the same draws of blocks)."""
        return _score(self.value - other.value, self.draws - other.draws)


def _score(value: float, draws: np.ndarray) -> Score:
    low, high = np.nanpercentile(draws, [2.5, 97.5])
    return Score(value=float(value), low=float(low), high=float(high), draws=draws)


def block_draws(blocks: np.ndarray, resamples: int = RESAMPLES, seed: int = 0) -> np.ndarray:
    """(resamples, n_blocks) counts: how often each block is drawn in each bootstrap sample of the blocks
    (as many draws as there are blocks holding cells)."""
    present = np.unique(blocks)
    counts = np.zeros((resamples, int(blocks.max()) + 1))
    rng = np.random.default_rng(seed)
    counts[:, present] = rng.multinomial(len(present), np.full(len(present), 1.0 / len(present)), size=resamples)
    return counts


def _per_block(values: np.ndarray, blocks: np.ndarray, n_blocks: int) -> np.ndarray:
    """Sums over each block's cells of values (M, K) -> (n_blocks, K)."""
    out = np.zeros((n_blocks, values.shape[1]))
    np.add.at(out, blocks, values)
    return out


def r2_score_blocks(true: np.ndarray, predicted: np.ndarray, blocks: np.ndarray, draws: np.ndarray) -> Score:
    """R^2 of predictions (M, K) for targets (M, K), averaged over the K targets, with its block bootstrap.

    Each R^2 is 1 - residual / total sum of squares around the mean of the cells scored, as sklearn's."""
    true, predicted = np.asarray(true, float).reshape(len(blocks), -1), np.asarray(predicted, float)
    predicted = predicted.reshape(true.shape)
    n_blocks = draws.shape[1]
    sums = [_per_block(v, blocks, n_blocks) for v in (np.ones_like(true), true, true**2, (true - predicted) ** 2)]
    full = np.ones((1, n_blocks))
    full[0, np.setdiff1d(np.arange(n_blocks), blocks)] = 0.0
    value, drawn = (_r2(w, *sums) for w in (full, draws))
    return _score(float(value[0]), drawn)


def _r2(weights: np.ndarray, n: np.ndarray, sy: np.ndarray, syy: np.ndarray, sres: np.ndarray) -> np.ndarray:
    """R^2 averaged over targets for each row of block weights (W, n_blocks) -> (W,)."""
    tn, ty, tyy, tres = (weights @ s for s in (n, sy, syy, sres))
    total = tyy - ty**2 / np.maximum(tn, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(total > 0, 1.0 - tres / total, np.nan)
    return np.nanmean(r2, axis=1) if r2.shape[1] > 1 else r2[:, 0]


def accuracy_blocks(true: np.ndarray, predicted: np.ndarray, blocks: np.ndarray, draws: np.ndarray) -> Score:
    """Share of cells whose predicted class is right, (M,) each, with its block bootstrap."""
    n_blocks = draws.shape[1]
    right = np.bincount(blocks, weights=(np.asarray(true) == np.asarray(predicted)).astype(float),
                        minlength=n_blocks)
    cells = np.bincount(blocks, minlength=n_blocks).astype(float)
    drawn = (draws @ right) / np.maximum(draws @ cells, 1.0)
    return _score(float(right.sum() / cells.sum()), drawn)
