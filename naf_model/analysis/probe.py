"""The paper's linear probe: how much of the scene's structure is linearly readable from the field's features.

Ridge regression from features to the distance to the nearest wall, scored by R^2 on held-out positions.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import shapely
import torch
from sklearn.linear_model import RidgeCV
from sklearn.metrics import r2_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from naf_model.analysis.features import Progress, emitter_features
from naf_model.networks import build_network

RIDGE_ALPHAS = np.logspace(-3, 4, 15)
"""Ridge strengths tried by leave-one-out cross-validation on the training positions only."""


@dataclass(frozen=True)
class ProbeResult:
    """Outcome of the probe.

    r2_test: explained variance on held-out positions; positions (M, 2) metres; true, predicted (M,) metres of
    distance to the nearest wall; train_mask (M,) bool (False = held out); alpha: the chosen ridge strength;
    r2_untrained: the same probe on the same split with an untrained copy of the network (None: not run),
    the level that position encodings alone reach, which the trained field's R^2 should be read against.
    """

    r2_test: float
    positions: np.ndarray
    true: np.ndarray
    predicted: np.ndarray
    train_mask: np.ndarray
    alpha: float
    spacing: float
    r2_untrained: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """Summary for JSON: scores and sizes, not the per-position arrays."""
        test, train = ~self.train_mask, self.train_mask
        return {
            "r2_test": round(float(self.r2_test), 4),
            "r2_train": round(float(r2_score(self.true[train], self.predicted[train])), 4),
            "r2_untrained": None if self.r2_untrained is None else round(float(self.r2_untrained), 4),
            "n_train": int(self.train_mask.sum()),
            "n_test": int(test.sum()),
            "alpha": float(self.alpha),
            "spacing_m": float(self.spacing),
            "target": "distance to nearest wall (m)",
            "target_mean_m": round(float(self.true.mean()), 4),
            "target_std_m": round(float(self.true.std()), 4),
            "mae_test_m": round(float(np.abs(self.true[test] - self.predicted[test]).mean()), 4),
        }


def wall_distance(scene: Any, positions: np.ndarray) -> np.ndarray:
    """Distance in metres from each (M, 2) position to the nearest wall face of the scene, (M,) float64.

    The wall faces are the boundary of `scene.free_space` (door gaps included, so the jambs count as walls).
    """
    points = shapely.points(np.asarray(positions, dtype=np.float64))
    return np.asarray(shapely.distance(points, scene.free_space.boundary), dtype=np.float64)


def ridge_probe(
    features: np.ndarray, target: np.ndarray, seed: int = 0, test_fraction: float = 0.3
) -> tuple[float, np.ndarray, np.ndarray, float]:
    """Fit standardised ridge regression features (M, D) -> target (M,) on a random training split.

    Returns (R^2 on the held-out part, predictions (M,) for every position, train_mask (M,), chosen alpha).
    The alpha is picked by cross-validation inside the training part, so the held-out score is honest.
    """
    features = np.asarray(features, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    m = len(target)
    assert features.shape[0] == m and m >= 8, "need at least 8 positions with features and targets"
    n_test = max(2, round(test_fraction * m))
    order = np.random.default_rng(seed).permutation(m)
    train_mask = np.ones(m, dtype=bool)
    train_mask[order[:n_test]] = False
    model = make_pipeline(StandardScaler(), RidgeCV(alphas=RIDGE_ALPHAS))
    model.fit(features[train_mask], target[train_mask])
    predicted = model.predict(features)
    r2 = float(r2_score(target[~train_mask], predicted[~train_mask]))
    return r2, predicted, train_mask, float(model[-1].alpha_)


def untrained_copy(field: Any, seed: int = 0) -> Any:
    """The field's network freshly initialised (torch seed `seed`, global RNG untouched), same scene."""
    with torch.random.fork_rng(devices=[]):  # building a network (here and in the field) draws from it
        torch.manual_seed(seed)
        model = build_network(field.checkpoint.config, field.checkpoint.shape)
        weights = {k: v.detach().clone() for k, v in model.state_dict().items()}
        checkpoint = replace(field.checkpoint, weights=weights, training=None)
        return type(field)(checkpoint, device=str(field.device), scene=field.scene)


def linear_probe(
    field: Any, scene: Any, spacing: float = 0.5, seed: int = 0, n_probe: int = 64, test_fraction: float = 0.3,
    progress: Progress | None = None, baseline: bool = False,
) -> ProbeResult:
    """Ridge probe from emitter features (averaged over `n_probe` listeners) to distance to the nearest wall.

    Returns a `ProbeResult`; the features are those of `emitter_features`, the target `wall_distance`.
    With `baseline`, also probes an untrained copy of the network (`r2_untrained`) on the same split.
    """
    positions, features = emitter_features(field, scene, spacing, n_probe, seed, progress)
    result = probe_features(scene, positions, features, spacing, seed, test_fraction)
    if baseline:
        _, untrained = emitter_features(untrained_copy(field, seed), scene, spacing, n_probe, seed)
        result = replace(result, r2_untrained=ridge_probe(untrained, result.true, seed, test_fraction)[0])
    return result


def probe_features(
    scene: Any, positions: np.ndarray, features: np.ndarray, spacing: float, seed: int = 0,
    test_fraction: float = 0.3,
) -> ProbeResult:
    """The probe of emitter features (M, D) at `positions` (M, 2) metres against their `wall_distance`."""
    true = wall_distance(scene, positions)
    r2, predicted, train_mask, alpha = ridge_probe(features, true, seed, test_fraction)
    return ProbeResult(
        r2_test=r2,
        positions=positions,
        true=true,
        predicted=np.asarray(predicted),
        train_mask=train_mask,
        alpha=alpha,
        spacing=float(spacing),
    )
