"""Bootstrap 95 % intervals over pairs, and the paired comparison of two rows scored on the same pairs.

The unit that is resampled is the emitter-listener pair (its four orientations and two ears stay
together: they are not independent draws). Every row of one table uses the same seeded resamples, so
differences between rows are paired: a pair that is hard for one method is drawn for both.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from naf_model import evaluation

RESAMPLES = evaluation.RESAMPLES
"""Bootstrap resamples per interval."""
SEED = 0
"""Seed of the resample indices (shared by every row of a table)."""
LEVEL = 0.95


def resample_indices(n_pairs: int, n_resamples: int = RESAMPLES, seed: int = SEED) -> np.ndarray:
    """(n_resamples, n_pairs) int64 indices drawn with replacement; one seeded draw per table."""
    return np.random.default_rng(seed).integers(0, n_pairs, size=(n_resamples, n_pairs))


def percentile_interval(samples: np.ndarray, level: float = LEVEL) -> tuple[float, float]:
    """The central `level` interval of bootstrap statistics (R,) by percentiles."""
    tail = 100 * (1 - level) / 2
    lo, hi = np.percentile(samples, [tail, 100 - tail])
    return float(lo), float(hi)


def mean_interval(per_pair: np.ndarray, draws: np.ndarray) -> tuple[float, float]:
    """95 % interval of the mean of per-pair values (Q,) over resamples `draws` (R, Q)."""
    return percentile_interval(np.asarray(per_pair, np.float64)[draws].mean(axis=1))


def per_pair(per_item: np.ndarray, items_per_pair: int) -> np.ndarray:
    """Per-item values (Q * k,) in pair-major order -> per-pair means (Q,)."""
    return np.asarray(per_item, np.float64).reshape(-1, items_per_pair).mean(axis=1)


@dataclass(frozen=True)
class PairedComparison:
    """Method A against method B on the same pairs, for one metric (lower is better).

    win_share: share of pairs where A's error is lower (ties count half), with its interval; mean_diff:
    mean of A - B, with its interval; ratio: mean(A) / mean(B), with its interval.
    """

    metric: str
    a: str
    b: str
    n_pairs: int
    win_share: float
    win_share_ci: tuple[float, float]
    mean_diff: float
    mean_diff_ci: tuple[float, float]
    ratio: float
    ratio_ci: tuple[float, float]


def paired_comparison(
    metric: str, a_name: str, a: np.ndarray, b_name: str, b: np.ndarray, draws: np.ndarray
) -> PairedComparison:
    """Compare per-pair errors `a` and `b` (Q,) of two methods on the same pairs, resampled by `draws`."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    wins = np.where(a < b, 1.0, np.where(a == b, 0.5, 0.0))
    diff = a - b
    a_means, b_means = a[draws].mean(axis=1), b[draws].mean(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = a_means / b_means
        ratio = float(a.mean() / b.mean())
    ratio_ci = percentile_interval(ratios[np.isfinite(ratios)]) if np.isfinite(ratios).any() else (np.nan, np.nan)
    return PairedComparison(metric, a_name, b_name, len(a), float(wins.mean()), mean_interval(wins, draws),
                            float(diff.mean()), mean_interval(diff, draws), ratio, ratio_ci)  # fmt: skip
