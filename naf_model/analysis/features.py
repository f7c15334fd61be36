"""Network features at a grid of emitter positions, averaged over probe listeners (the paper's Sec. 5 views),
and what the encoder reads at a position before any layer (sinusoidal embedding, local grid).

t-SNE and the structure probe read the same activations, so both go through `hidden_features`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from naf_model.errors import NafError

Progress = Callable[[int, int], None]
"""progress(done, total) after each batch of emitters; raising from it abandons the work."""

FEATURE_BATCH = 64
"""Emitters per `field.features` call; each one is evaluated against every probe listener."""


def probe_listeners(scene: Any, n_probe: int, seed: int, spacing: float = 0.5) -> np.ndarray:
    """`n_probe` listener positions (n_probe, 2) metres drawn without replacement from the free grid.

    Deterministic for a given scene, count and seed; fewer when the grid holds fewer free positions.
    """
    if n_probe < 1:
        raise NafError(f"the number of probe listeners must be at least 1, got {n_probe}")
    grid = scene.sample_grid(spacing)
    if len(grid) <= n_probe:
        return np.asarray(grid, dtype=np.float64)
    pick = np.random.default_rng(seed).choice(len(grid), size=n_probe, replace=False)
    return np.asarray(grid[np.sort(pick)], dtype=np.float64)


def emitter_features(
    field: Any, scene: Any, spacing: float = 0.5, n_probe: int = 64, seed: int = 0, progress: Progress | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Features at every free grid position as an emitter, averaged over `n_probe` probe listeners.

    Returns positions (M, 2) metres from `scene.sample_grid(spacing)` and features (M, D) float64.
    """
    if not np.isfinite(spacing) or spacing <= 0:
        raise NafError(f"grid spacing must be a positive number of metres, got {spacing}")
    positions = np.asarray(scene.sample_grid(spacing), dtype=np.float64)
    if len(positions) < 8:
        raise NafError(
            f"only {len(positions)} free positions at spacing {spacing} m in scene '{scene.name}';"
            " use a finer --spacing"
        )
    return positions, hidden_features(field, scene, positions, n_probe, seed, progress)


def hidden_features(
    field: Any, scene: Any, positions: np.ndarray, n_probe: int = 64, seed: int = 0, progress: Progress | None = None
) -> np.ndarray:
    """The network's features (`field.features`) with each of (M, 2) positions as the emitter, averaged over
    `n_probe` probe listeners and the 4 orientations: (M, D) float64 (the activations the paper's probe reads)."""
    listeners = probe_listeners(scene, n_probe, seed)
    chunks = []
    for start in range(0, len(positions), FEATURE_BATCH):
        stop = min(start + FEATURE_BATCH, len(positions))
        chunks.append(np.asarray(field.features(positions[start:stop], listeners), dtype=np.float64))
        if progress is not None:
            progress(stop, len(positions))
    return np.concatenate(chunks, axis=0)


def position_features(field: Any, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """What the network's encoder reads at (M, 2) positions before any MLP layer: (sinusoidal embedding of the
    position (M, E), local grid features (M, G)), float64. The embedding has no weights: it knows x, y only."""
    xy = torch.as_tensor(np.asarray(positions), dtype=torch.float32, device=field.device)
    with torch.no_grad():
        inputs = field.model.position_inputs(xy)
    if inputs is None:
        raise NafError("this field's network has no encoder of its own (an ensemble?): probe one member")
    embedding, grid = inputs
    return embedding.cpu().double().numpy(), grid.cpu().double().numpy()
