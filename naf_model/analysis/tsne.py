"""t-SNE of the field's features to three dimensions, shown as colours on the floor plan (NAF paper, Fig. 6).

Nearby emitters with similar acoustics should get similar colours; rooms tend to separate into colour blocks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.manifold import TSNE
from threadpoolctl import threadpool_limits

from naf_model.analysis.features import Progress, emitter_features
from naf_model.analysis.readout import knn_cross_fit
from naf_model.analysis.scores import Score, accuracy_blocks

EXACT_MAX_POINTS = 600
"""Above this many positions the O(M^2) exact t-SNE gives way to Barnes-Hut."""

KNN_NEIGHBOURS = 5
"""Neighbours voting on a held-out cell's room in a t-SNE map."""


@dataclass(frozen=True)
class TsneMap:
    """t-SNE colours on the plan.

    positions: (M, 2) emitter positions in metres; rgb: (M, 3) colours in [0, 1] (t-SNE axes, min-max each);
    embedding: (M, 3) the raw t-SNE coordinates; spacing: the grid spacing in metres.
    """

    positions: np.ndarray
    rgb: np.ndarray
    embedding: np.ndarray
    spacing: float


def tsne_colours(features: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Embed (M, D) features with 3-D t-SNE; returns (embedding (M, 3), rgb (M, 3) in [0, 1]).

    Each t-SNE axis is min-max scaled to one colour channel. Perplexity is M / 10 within [5, 30]: with a
    higher one a small scene's neighbourhoods span a third of the plan and the colours turn noisy.
    Exact gradients up to EXACT_MAX_POINTS (faster than Barnes-Hut there in 3-D), on one thread: threaded
    BLAS/OpenMP spin-waits made it 5-10x slower on a busy 2-core machine.
    """
    features = np.asarray(features, dtype=np.float64)
    m = len(features)
    assert m >= 4, "t-SNE needs at least 4 points"
    perplexity = float(np.clip(m / 10.0, min(5.0, (m - 1) / 3.0), 30.0))
    method = "exact" if m <= EXACT_MAX_POINTS else "barnes_hut"
    with threadpool_limits(limits=1):
        embedding = TSNE(
            n_components=3, perplexity=perplexity, init="pca", random_state=seed, method=method, n_jobs=1
        ).fit_transform(features)
    low, high = embedding.min(axis=0), embedding.max(axis=0)
    rgb = (embedding - low) / np.where(high > low, high - low, 1.0)
    return embedding, np.clip(rgb, 0.0, 1.0)


def feature_tsne(
    field: Any, scene: Any, spacing: float = 0.5, n_probe: int = 64, seed: int = 0, progress: Progress | None = None
) -> TsneMap:
    """Features at a `spacing` grid of emitters (mean over `n_probe` listeners) -> 3-D t-SNE -> colours."""
    positions, features = emitter_features(field, scene, spacing, n_probe, seed, progress)
    return tsne_map(positions, features, spacing, seed)


def tsne_map(positions: np.ndarray, features: np.ndarray, spacing: float, seed: int = 0) -> TsneMap:
    """The TsneMap of emitter features (M, D) at `positions` (M, 2) metres on a `spacing` grid."""
    embedding, rgb = tsne_colours(features, seed)
    return TsneMap(positions=positions, rgb=rgb, embedding=embedding, spacing=float(spacing))


def tsne_2d(features: np.ndarray, seed: int = 0) -> np.ndarray:
    """2-D t-SNE of (M, D) features (perplexity 30, PCA start, one thread), (M, 2): the map coloured by room."""
    features = np.asarray(features, dtype=np.float64)
    perplexity = float(min(30.0, (len(features) - 1) / 3.0))
    with threadpool_limits(limits=1):
        return TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed, n_jobs=1).fit_transform(
            features
        )


def room_separation(
    embedding: np.ndarray, rooms: np.ndarray, positions: np.ndarray, blocks: np.ndarray, folds: np.ndarray,
    gap: float, draws: np.ndarray, k: int = KNN_NEIGHBOURS,
) -> Score:
    """How well rooms separate in an embedding (M, E): accuracy of a `k`-nearest-neighbour vote of training
    cells' rooms at each held-out cell (spatial block folds as the probe's), with its block bootstrap."""
    predicted = knn_cross_fit(embedding, rooms, positions, folds, gap, k)
    return accuracy_blocks(rooms, predicted, blocks, draws)
