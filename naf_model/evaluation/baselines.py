"""The paper's interpolation baselines: nearest-neighbour and linear interpolation of training IRs.

A pair is the 4-D point (emitter x, emitter y, listener x, listener y) in metres. Each method turns the
query points into weights over training pairs once (`InterpolationWeights`); `blend` applies them to any
version of the training IRs (raw, AAC or Opus round trips), the whole (4, 2, N) block of a pair with one
weight (orientations are fixed head directions, not a coordinate to interpolate).

naf's linear interpolation: barycentric weights of a Delaunay triangulation (scipy / Qhull) in the affine
hull the training points span (they share few emitters, so they are degenerate in 4-D); queries outside
the hull, or in a simplex too flat for reliable weights, use the nearest training pair. The paper's rule
(`testing/cache_test_baseline.py` of its code): `paper_nearest_weights`, `paper_linear_weights` (silence
outside the hull).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.interpolate import LinearNDInterpolator, NearestNDInterpolator
from scipy.spatial import Delaunay, QhullError, cKDTree
from threadpoolctl import threadpool_limits

_RANK_TOL = 1e-9
"""Singular values below this fraction of the largest count as a flat direction of the training points."""
_IDENTITY_BLOCK = 512
"""Training pairs whose weights one LinearNDInterpolator call reads (identity columns): bounds memory."""
_WEIGHT_TOL = 1e-9
"""Barycentric weights may dip this far below zero from rounding and still count as inside."""


@dataclass(frozen=True)
class InterpolationWeights:
    """Each query's training pairs and weights: `indices` (Q, K) int64 into the training set, `weights`
    (Q, K) float64 summing to one; `fallback` (Q,) bool marks queries outside the hull (naf's variant:
    they used the nearest pair; the paper's rule: their weights are all zero, i.e. silence)."""

    indices: np.ndarray
    weights: np.ndarray
    fallback: np.ndarray

    def used(self) -> np.ndarray:
        """Sorted training indices that carry weight: the only training IRs `blend` needs."""
        return np.unique(self.indices[self.weights != 0])


def pair_points(emitters: np.ndarray, listeners: np.ndarray) -> np.ndarray:
    """(n, 2) emitter and (n, 2) listener positions -> (n, 4) points in (emitter, listener) space, metres."""
    return np.concatenate([np.asarray(emitters, np.float64), np.asarray(listeners, np.float64)], axis=1)


def nearest_weights(train_points: np.ndarray, query_points: np.ndarray) -> InterpolationWeights:
    """Nearest training pair (Euclidean in 4-D) for each query, (P, 4) and (Q, 4) -> K = 1 weights."""
    _, idx = cKDTree(train_points).query(query_points, k=1)
    idx = np.asarray(idx, np.int64)[:, None]
    return InterpolationWeights(idx, np.ones(idx.shape), np.zeros(len(idx), bool))


_COORD_DECIMALS = 9
"""Decimals (metres) the linear rule's projected coordinates keep: far below any grid spacing."""


def linear_weights(train_points: np.ndarray, query_points: np.ndarray) -> InterpolationWeights:
    """Barycentric weights in the Delaunay simplex holding each query, (P, 4) and (Q, 4) -> K = dim + 1.

    Exact for IRs that are affine functions of position inside the hull of the training points.
    """
    # scipy computes one small LAPACK solve per simplex; with a multi-threaded BLAS on busy cores each
    # call can spin for milliseconds (measured: 4 s instead of 2 ms for 100 points), so use one thread.
    with threadpool_limits(limits=1, user_api="blas"):
        return _linear_weights(np.asarray(train_points, np.float64), np.asarray(query_points, np.float64))


def _linear_weights(train_points: np.ndarray, query_points: np.ndarray) -> InterpolationWeights:
    nearest = nearest_weights(train_points, query_points)
    low = _low_dimensional(train_points, query_points)
    if low is None:  # Qhull needs at least a plane; a line or point of training pairs leaves nearest only
        return InterpolationWeights(nearest.indices, nearest.weights, np.ones(len(query_points), bool))
    train_low, query_low = low
    dim = train_low.shape[1]
    try:
        tri = Delaunay(train_low)
    except QhullError:
        return InterpolationWeights(nearest.indices, nearest.weights, np.ones(len(query_points), bool))
    simplex = tri.find_simplex(query_low)
    transform = tri.transform[np.maximum(simplex, 0)]  # (Q, dim + 1, dim)
    bary = np.einsum("qij,qj->qi", transform[:, :dim], query_low - transform[:, dim])
    weights = np.concatenate([bary, 1.0 - bary.sum(axis=1, keepdims=True)], axis=1)
    indices = tri.simplices[np.maximum(simplex, 0)].astype(np.int64)
    ok = (simplex >= 0) & np.all(np.isfinite(weights), axis=1) & np.all(weights >= -_WEIGHT_TOL, axis=1)
    weights = np.where(ok[:, None], np.clip(weights, 0.0, None), 0.0)
    weights[ok] /= weights[ok].sum(axis=1, keepdims=True)
    indices = np.where(ok[:, None], indices, nearest.indices)
    weights[~ok, 0] = 1.0
    return InterpolationWeights(indices, weights, ~ok)


def _low_dimensional(train_points: np.ndarray, query_points: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Coordinates of training and query points (P, D), (Q, D) in the subspace the training points span
    (at least 2-d; None if they span less), for Delaunay.

    Grid points are degenerate for Delaunay (many co-spherical simplices), so Qhull's choice among them
    follows the last bits of the coordinates: the coordinates are rounded to _COORD_DECIMALS and, where the
    subspace is axis-aligned (constant columns, e.g. one emitter), kept as they are rather than rotated by
    an SVD (whose basis is arbitrary inside equal singular values), so the triangulation does not change
    with the BLAS, the CPU or the summation order (1e-13 m of noise on a grid moved weights by up to 1.0)."""
    train = np.round(train_points, _COORD_DECIMALS)
    query = np.round(query_points, _COORD_DECIMALS)
    cols = np.flatnonzero(np.ptp(train, axis=0) > 10.0**-_COORD_DECIMALS) if len(train) else np.arange(0)
    origin = np.round(train[:, cols].mean(axis=0), _COORD_DECIMALS)
    centred, query_centred = train[:, cols] - origin, query[:, cols] - origin
    sing = np.linalg.svd(centred, compute_uv=False) if len(cols) and len(train) > 1 else np.zeros(0)
    dim = int(np.sum(sing > _RANK_TOL * max(sing[0], 1e-300))) if len(sing) else 0
    if dim < 2:
        return None
    if dim == len(cols):
        return centred, query_centred
    _, _, vt = np.linalg.svd(centred, full_matrices=False)  # a slanted subspace: rotate into it
    basis = vt[:dim].T
    basis *= np.where(basis[np.argmax(np.abs(basis), axis=0), np.arange(dim)] < 0, -1.0, 1.0)  # fix the sign
    return np.round(centred @ basis, _COORD_DECIMALS), np.round(query_centred @ basis, _COORD_DECIMALS)


def paper_points(emitters: np.ndarray, listeners: np.ndarray) -> np.ndarray:
    """The paper's interpolation coordinates: (n, 4) = (listener x, y, emitter x, y), cast through float32."""
    points = np.concatenate([np.asarray(listeners), np.asarray(emitters)], axis=1).astype(np.float32)
    return points.astype(np.float64)


def paper_nearest_weights(train_points: np.ndarray, query_points: np.ndarray) -> InterpolationWeights:
    """scipy's NearestNDInterpolator of the training pairs, (P, 4) and (Q, 4) `paper_points` -> K = 1."""
    index = NearestNDInterpolator(train_points, np.arange(len(train_points)))(query_points)
    idx = np.asarray(index, np.int64).reshape(-1, 1)
    return InterpolationWeights(idx, np.ones(idx.shape), np.zeros(len(idx), bool))


def paper_linear_weights(train_points: np.ndarray, query_points: np.ndarray) -> InterpolationWeights:
    """scipy's LinearNDInterpolator(fill_value=0, rescale=False) as weights: zero outside the hull.

    Read off by interpolating identity columns over the interpolator's own triangulation, so the weights
    are what scipy applies to the waveforms, ties and tolerances included. Training points that Qhull
    cannot triangulate (flat in 4-D, e.g. one emitter) have no hull: every query is outside, silence.
    """
    train_points = np.asarray(train_points, np.float64)
    query_points = np.asarray(query_points, np.float64)
    q, p = len(query_points), len(train_points)
    with threadpool_limits(limits=1, user_api="blas"):
        try:
            tri = LinearNDInterpolator(train_points, np.zeros(p), fill_value=0.0, rescale=False).tri
        except (QhullError, ValueError):
            zeros = np.zeros((q, 1))
            return InterpolationWeights(np.zeros((q, 1), np.int64), zeros, np.ones(q, bool))
        k = train_points.shape[1] + 1
        indices, weights = np.zeros((q, k), np.int64), np.zeros((q, k))
        filled = np.zeros(q, np.int64)
        for start in range(0, p, _IDENTITY_BLOCK):
            cols = np.arange(start, min(start + _IDENTITY_BLOCK, p))
            eye = np.zeros((p, len(cols)))
            eye[cols, np.arange(len(cols))] = 1.0
            block = LinearNDInterpolator(tri, eye, fill_value=0.0, rescale=False)(query_points)
            for row, col in zip(*np.nonzero(block), strict=True):
                assert filled[row] < k, "a query weighs more training pairs than a simplex has corners"
                indices[row, filled[row]], weights[row, filled[row]] = cols[col], block[row, col]
                filled[row] += 1
    return InterpolationWeights(indices, weights, filled == 0)


def blend(train_irs: np.ndarray, w: InterpolationWeights, rows: np.ndarray | None = None) -> np.ndarray:
    """Weighted sums of training IRs: (U, ...) -> (Q, ...) float32.

    `rows` (U,) sorted gives the training index of each entry of `train_irs` (e.g. `w.used()`), so only
    the IRs that carry weight need to be in memory; without it `train_irs` is the whole training set.
    """
    pos = w.indices if rows is None else np.searchsorted(rows, w.indices)
    pos = np.where(w.weights != 0, pos, 0)  # zero-weight slots may name IRs that were not loaded
    if rows is not None:
        assert np.all(rows[pos[w.weights != 0]] == w.indices[w.weights != 0]), "rows lack a weighted IR"
    out = np.zeros((len(pos),) + train_irs.shape[1:], np.float32)
    for k in range(pos.shape[1]):
        weight = w.weights[:, k].astype(np.float32).reshape((-1,) + (1,) * (train_irs.ndim - 1))
        out += weight * train_irs[pos[:, k]].astype(np.float32)
    return out
