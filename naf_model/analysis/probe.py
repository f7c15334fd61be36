"""The paper's third claim, tested: is scene structure linearly readable from the field's features?

Every free cell of the plan on a fine grid; features of five kinds side by side (`FEATURES`); three targets
from the geometry (`TARGETS`); linear read-outs fitted and scored by spatial block cross-validation
(`analysis.blocks`, `analysis.readout`); bootstrap 95 % intervals over blocks (`analysis.scores`).
The NAF paper's probe (testing/lin_probe_NAF.py) fits one linear layer from the network's activations to a
distance-to-geometry target and reports explained variance on other positions; this is that, made
spatially honest and read against controls.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from dataclasses import field as dc_field
from typing import Any

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from naf_model.analysis.blocks import BLOCK_M, N_FOLDS, block_folds, block_ids
from naf_model.analysis.features import Progress, hidden_features, position_features
from naf_model.analysis.readout import cross_fit
from naf_model.analysis.scores import RESAMPLES, Score, accuracy_blocks, block_draws, r2_score_blocks
from naf_model.analysis.targets import depth_ring, room_labels, wall_distance
from naf_model.errors import NafError
from naf_model.networks import build_network

FEATURES = {
    "position": "sinusoidal embedding of x, y alone (no weights; the control)",
    "grid": "learned local grid features at the point",
    "grid_untrained": "the same grid of an untrained network (random, Gaussian-read)",
    "hidden": "network activations, the point as emitter, mean over probe listeners and orientations",
    "hidden_untrained": "the same activations of an untrained network of the same shape",
}
"""Feature sets the probe compares, in the order shown."""

TARGETS = {
    "wall": "distance to the nearest wall (m), R^2",
    "depth": "free distance along 8 directions (m), mean R^2 over the directions",
    "room": "room identity, accuracy of a linear (least-squares) classifier",
}
"""Targets from the scene geometry, in the order shown."""

COMPARISONS = (("hidden", "hidden_untrained"), ("grid", "grid_untrained"), ("hidden", "position"),
               ("grid", "position"))
"""Paired differences reported: learned features against their controls."""


@dataclass(frozen=True)
class StructureProbe:
    """The probe of one field on one scene.

    positions (M, 2) m on a `spacing` grid; blocks, folds (M,) int; wall (M,) m; depth (M, 8) m; rooms (M,)
    int indices into room_names; predicted[(target, feature)]: held-out predictions ((M,) or (M, 8));
    scores[(target, feature)]: Score; chance: accuracy of always naming the plan's commonest room (the
    training folds' own commonest room can be the wrong one everywhere when a fold holds out a room);
    settings: the protocol's numbers (spacing, block, folds, gap, resamples, seed, n_probe).
    """

    positions: np.ndarray
    spacing: float
    blocks: np.ndarray
    folds: np.ndarray
    wall: np.ndarray
    depth: np.ndarray
    rooms: np.ndarray
    room_names: list[str]
    predicted: dict[tuple[str, str], np.ndarray]
    scores: dict[tuple[str, str], Score]
    chance: Score
    settings: dict[str, Any] = dc_field(default_factory=dict)

    def score(self, target: str, feature: str) -> Score:
        """The held-out score of one target from one feature set."""
        return self.scores[(target, feature)]

    def to_dict(self) -> dict[str, Any]:
        """Protocol, sizes, every score with its interval and the paired comparisons, for JSON."""
        features = sorted({f for _, f in self.scores}, key=list(FEATURES).index)
        results = {t: {f: self.scores[(t, f)].to_dict() for f in features} for t in TARGETS}
        compared = {
            t: {f"{a} - {b}": self.scores[(t, a)].minus(self.scores[(t, b)]).to_dict()
                for a, b in COMPARISONS if a in features and b in features}
            for t in TARGETS
        }
        return {
            "protocol": dict(self.settings),
            "n_cells": int(len(self.positions)),
            "n_blocks": int(len(np.unique(self.blocks))),
            "rooms": {name: int((self.rooms == i).sum()) for i, name in enumerate(self.room_names)},
            "targets": dict(TARGETS),
            "features": {f: FEATURES[f] for f in features},
            "results": results,
            "room_chance": {**self.chance.to_dict(), "rule": "always name the plan's commonest room"},
            "differences": compared,
        }


def untrained_copy(field: Any, seed: int = 0) -> Any:
    """The field's network freshly initialised (torch seed `seed`, global RNG untouched), same scene."""
    with torch.random.fork_rng(devices=[]):  # building a network (here and in the field) draws from it
        torch.manual_seed(seed)
        model = build_network(field.checkpoint.config, field.checkpoint.shape)
        weights = {k: v.detach().clone() for k, v in model.state_dict().items()}
        checkpoint = replace(field.checkpoint, weights=weights, training=None)
        return type(field)(checkpoint, device=str(field.device), scene=field.scene)


def field_feature_sets(
    field: Any, scene: Any, positions: np.ndarray, n_probe: int = 64, seed: int = 0,
    progress: Progress | None = None,
) -> dict[str, np.ndarray]:
    """The five feature sets of `FEATURES` at (M, 2) positions, (M, D_set) float64 each. Progress counts the
    trained network's activations, then the untrained one's."""
    m = len(positions)
    untrained = untrained_copy(field, seed)
    embedding, grid = position_features(field, positions)
    _, grid_untrained = position_features(untrained, positions)
    steps = (lambda d, t: progress(d, 2 * t)), (lambda d, t: progress(m + d, 2 * t))
    if progress is None:
        steps = (None, None)
    hidden = hidden_features(field, scene, positions, n_probe, seed, steps[0])
    hidden_untrained = hidden_features(untrained, scene, positions, n_probe, seed, steps[1])
    return {"position": embedding, "grid": grid, "grid_untrained": grid_untrained, "hidden": hidden,
            "hidden_untrained": hidden_untrained}


def probe_structure(
    scene: Any, positions: np.ndarray, features: dict[str, np.ndarray], spacing: float, seed: int = 0,
    block_m: float = BLOCK_M, n_folds: int = N_FOLDS, gap: float | None = None, resamples: int = RESAMPLES,
) -> StructureProbe:
    """Probe each feature set (name -> (M, D)) at (M, 2) positions on a `spacing` grid for every target.

    Folds of `block_m` blocks (seeded); a fold's training cells keep `gap` metres (default: one spacing)
    from its test cells; bootstrap over blocks with `resamples` draws shared by every score.
    """
    positions = np.asarray(positions, dtype=np.float64)
    gap = float(spacing) if gap is None else float(gap)
    blocks = block_ids(positions, block_m)
    folds = block_folds(blocks, n_folds, seed)
    draws = block_draws(blocks, resamples, seed)
    wall, depth = wall_distance(scene, positions), depth_ring(scene, positions)
    rooms, names = room_labels(scene, positions)
    predicted, scores = {}, {}
    with threadpool_limits(limits=1):  # threaded BLAS on small matrices is 20x slower on a busy 2-core box
        _probe_each(features, (wall, depth, rooms, len(names)), (positions, blocks, folds, gap, draws),
                    predicted, scores)
    settings = {"spacing_m": float(spacing), "block_m": float(block_m), "folds": int(n_folds), "gap_m": gap,
                "bootstrap": f"{resamples} draws of whole blocks (cells pooled), percentile 95 % intervals",
                "seed": int(seed)}
    return StructureProbe(
        positions=positions, spacing=float(spacing), blocks=blocks, folds=folds, wall=wall, depth=depth,
        rooms=rooms, room_names=names, predicted=predicted, scores=scores,
        chance=accuracy_blocks(rooms, np.full_like(rooms, np.bincount(rooms).argmax()), blocks, draws),
        settings=settings,
    )


def _probe_each(features: dict[str, np.ndarray], targets: tuple, split: tuple, predicted: dict,
                scores: dict) -> None:
    """Fill predicted and scores[(target, feature)] for every feature set; targets (wall, depth, rooms,
    n_rooms), split (positions, blocks, folds, gap, bootstrap draws)."""
    wall, depth, rooms, n_rooms = targets
    positions, blocks, folds, gap, draws = split
    for name, x in features.items():
        for target, y in (("wall", wall), ("depth", depth)):
            fit = cross_fit(x, y, positions, blocks, folds, gap)
            predicted[(target, name)] = fit.predicted[:, 0] if y.ndim == 1 else fit.predicted
            scores[(target, name)] = r2_score_blocks(y, fit.predicted, blocks, draws)
        fit = cross_fit(x, rooms, positions, blocks, folds, gap, classes=n_rooms)
        predicted[("room", name)] = fit.predicted
        scores[("room", name)] = accuracy_blocks(rooms, fit.predicted, blocks, draws)


def structure_probe(
    field: Any, scene: Any, spacing: float = 0.25, n_probe: int = 64, seed: int = 0, block_m: float = BLOCK_M,
    n_folds: int = N_FOLDS, resamples: int = RESAMPLES, progress: Progress | None = None,
) -> tuple[StructureProbe, dict[str, np.ndarray]]:
    """Features of `field` at every free cell of a `spacing` grid, probed (`probe_structure`).

    Returns the probe and the feature sets (name -> (M, D)) it read, for views that need them (t-SNE)."""
    positions = np.asarray(scene.sample_grid(spacing), dtype=np.float64)
    if len(positions) < 4 * n_folds:
        raise NafError(
            f"only {len(positions)} free cells at spacing {spacing} m in scene '{scene.name}'; use a finer --spacing"
        )
    block_folds(block_ids(positions, block_m), n_folds, seed)  # too few blocks: refused before the long work
    features = field_feature_sets(field, scene, positions, n_probe, seed, progress)
    result = probe_structure(scene, positions, features, spacing, seed, block_m, n_folds, resamples=resamples)
    result.settings["n_probe_listeners"] = int(n_probe)
    return result, features
