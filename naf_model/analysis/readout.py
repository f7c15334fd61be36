"""Linear read-outs scored on spatially held-out cells: ridge regression and a least-squares classifier.

Every fold of `blocks.block_folds` is held out once (spatial block cross-validation); the ridge strength is
chosen by cross-validation inside the fold's training cells only, grouped by block, so the held-out cells
never steer it. Features are standardised with the training cells' mean and spread.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from naf_model.analysis.blocks import fold_split

RIDGE_ALPHAS = np.logspace(-2, 5, 15)
"""Ridge strengths tried (on standardised features): from nearly plain least squares to nearly constant."""

INNER_FOLDS = 4
"""Folds over training blocks that choose the ridge strength."""


@dataclass(frozen=True)
class CrossFit:
    """Held-out predictions of every cell, each from the fold that held it out.

    predicted: (M, K) float64 (regression) or (M,) int (classes); alphas: (n_folds,) chosen ridge strengths;
    n_train: (n_folds,) training cells per fold (after the guard band).
    """

    predicted: np.ndarray
    alphas: np.ndarray
    n_train: np.ndarray


def _standardise(train: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    mean, std = train.mean(axis=0), train.std(axis=0)
    std = np.where(std > 1e-12, std, 1.0)  # constant features stay constant (zero), not NaN
    return [(x - mean) / std for x in (train, *others)]


def ridge_fit_predict(x_train: np.ndarray, y_train: np.ndarray, x_eval: np.ndarray, alphas: np.ndarray) -> np.ndarray:
    """Ridge from standardised features (N, D) to targets (N, K), predicted at (E, D) for each alpha:
    (n_alphas, E, K). One eigen-decomposition of the (D, D) Gram matrix serves every alpha."""
    xt, xe = _standardise(x_train, x_eval)
    y_mean = y_train.mean(axis=0)
    eigen, vectors = np.linalg.eigh(xt.T @ xt)
    eigen = np.clip(eigen, 0.0, None)
    vty = vectors.T @ (xt.T @ (y_train - y_mean))  # (D, K)
    xev = xe @ vectors  # (E, D)
    out = np.empty((len(alphas), len(xe), y_train.shape[1]))
    for i, alpha in enumerate(np.asarray(alphas, dtype=np.float64)):
        out[i] = (xev / (eigen + alpha)) @ vty + y_mean
    return out


def choose_alpha(
    x: np.ndarray, y: np.ndarray, positions: np.ndarray, blocks: np.ndarray, gap: float,
    alphas: np.ndarray = RIDGE_ALPHAS,
) -> float:
    """The alpha with the least squared error over `INNER_FOLDS` folds of whole blocks of (N, D) -> (N, K),
    each with the same guard band as the outer folds (so the choice is made under the conditions it is
    scored in)."""
    unique = np.unique(blocks)
    order = np.random.default_rng(len(unique)).permutation(unique)
    inner = np.empty(len(blocks), dtype=np.int64)
    for i, b in enumerate(order):
        inner[blocks == b] = i % min(INNER_FOLDS, len(unique))
    errors = np.zeros(len(alphas))
    for k in np.unique(inner):
        fit, val = fold_split(positions, inner, int(k), gap)
        if fit.sum() < 2:
            continue
        predicted = ridge_fit_predict(x[fit], y[fit], x[val], alphas)
        errors += ((predicted - y[val]) ** 2).sum(axis=(1, 2))
    return float(alphas[int(np.argmin(errors))])


def cross_fit(
    features: np.ndarray, target: np.ndarray, positions: np.ndarray, blocks: np.ndarray, folds: np.ndarray,
    gap: float, classes: int | None = None,
) -> CrossFit:
    """Held-out predictions of features (M, D) -> target over the folds of `folds` (M,).

    Regression: target (M,) or (M, K) float, predictions (M, K). Classification (`classes` = C): target (M,)
    int in 0..C - 1, a ridge fit to its one-hot code (a least-squares linear classifier), predictions the
    arg-max class (M,) int. A fold's training cells are those of `fold_split` (guard band of `gap` m).
    """
    x = np.asarray(features, dtype=np.float64)
    assert np.isfinite(x).all(), "features must be finite"
    y = np.eye(classes)[target] if classes is not None else np.asarray(target, dtype=np.float64)
    y = y.reshape(len(x), -1)
    predicted = np.zeros_like(y)
    n_folds = int(folds.max()) + 1
    alphas, n_train = np.zeros(n_folds), np.zeros(n_folds, dtype=np.int64)
    for k in range(n_folds):
        train, test = fold_split(positions, folds, k, gap)
        alphas[k] = choose_alpha(x[train], y[train], positions[train], blocks[train], gap)
        predicted[test] = ridge_fit_predict(x[train], y[train], x[test], np.array([alphas[k]]))[0]
        n_train[k] = int(train.sum())
    if classes is not None:
        predicted = predicted.argmax(axis=1)
    return CrossFit(predicted=predicted, alphas=alphas, n_train=n_train)


def knn_cross_fit(
    embedding: np.ndarray, labels: np.ndarray, positions: np.ndarray, folds: np.ndarray, gap: float, k: int = 5
) -> np.ndarray:
    """Held-out class of each cell from its `k` nearest training cells in an embedding (M, E), majority
    vote (ties to the nearest), fold by fold as `cross_fit`; (M,) int."""
    from scipy.spatial import cKDTree

    predicted = np.zeros(len(labels), dtype=np.int64)
    n_classes = int(labels.max()) + 1
    for fold in range(int(folds.max()) + 1):
        train, test = fold_split(positions, folds, fold, gap)
        kk = min(k, int(train.sum()))
        _, idx = cKDTree(embedding[train]).query(embedding[test], k=kk)
        votes = labels[train][np.asarray(idx).reshape(int(test.sum()), kk)]
        counts = np.stack([(votes == c).sum(axis=1) for c in range(n_classes)], axis=1)
        counts = counts + 0.5 * np.eye(n_classes)[votes[:, 0]]  # the nearest breaks ties
        predicted[test] = counts.argmax(axis=1)
    return predicted
