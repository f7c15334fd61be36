"""The paper's two feature views together: t-SNE colours and the structure probe from one feature pass.

Both read the same features, which is most of the cost, so a caller that shows both (the app's Features
tab) computes them once here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from naf_model.analysis.blocks import BLOCK_M, N_FOLDS
from naf_model.analysis.features import Progress
from naf_model.analysis.probe import StructureProbe, structure_probe
from naf_model.analysis.scores import RESAMPLES, Score, block_draws
from naf_model.analysis.tsne import TsneMap, room_separation, tsne_2d, tsne_map


@dataclass(frozen=True)
class FeatureViews:
    """t-SNE colours of the trained network's activations, and the structure probe of the same cells."""

    tsne: TsneMap
    probe: StructureProbe


def feature_views(
    field: Any, scene: Any, spacing: float = 0.5, n_probe: int = 64, seed: int = 0, block_m: float = BLOCK_M,
    n_folds: int = N_FOLDS, resamples: int = RESAMPLES, progress: Progress | None = None,
) -> FeatureViews:
    """`structure_probe` at a `spacing` grid and the 3-D t-SNE colours of its "hidden" features.

    `progress(done, total)` is called after each feature batch and once more after the t-SNE; raising from
    it abandons the work.
    """
    probe, features = structure_probe(field, scene, spacing, n_probe, seed, block_m, n_folds, resamples, progress)
    tsne = tsne_map(probe.positions, features["hidden"], spacing, seed)
    if progress is not None:
        progress(1, 1)
    return FeatureViews(tsne=tsne, probe=probe)


def probe_report(
    field: Any, scene: Any, spacing: float = 0.25, n_probe: int = 64, seed: int = 0, block_m: float = BLOCK_M,
    n_folds: int = N_FOLDS, resamples: int = RESAMPLES, with_tsne: bool = True, progress: Progress | None = None,
) -> tuple[StructureProbe, dict[str, tuple[np.ndarray, Score]]]:
    """`structure_probe` plus, with `with_tsne`, a 2-D t-SNE of every feature set and how well rooms separate
    in it (k-NN accuracy on the probe's held-out blocks): name -> (embedding (M, 2), Score)."""
    probe, features = structure_probe(field, scene, spacing, n_probe, seed, block_m, n_folds, resamples, progress)
    maps = {}
    if with_tsne:
        draws = block_draws(probe.blocks, resamples, seed)
        gap = float(probe.settings["gap_m"])
        for name, x in features.items():
            embedding = tsne_2d(x, seed)
            maps[name] = (embedding, room_separation(embedding, probe.rooms, probe.positions, probe.blocks,
                                                     probe.folds, gap, draws))
    return probe, maps


def tsne_summary(maps: dict[str, tuple[np.ndarray, Score]]) -> dict[str, Any]:
    """k-NN room accuracy in each t-SNE map with its interval, and trained minus untrained, for JSON."""
    out: dict[str, Any] = {name: score.to_dict() for name, (_, score) in maps.items()}
    for a, b in (("hidden", "hidden_untrained"), ("grid", "grid_untrained"), ("hidden", "position")):
        if a in maps and b in maps:
            out[f"{a} - {b}"] = maps[a][1].minus(maps[b][1]).to_dict()
    return out
