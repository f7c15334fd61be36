"""The paper's two feature views together: t-SNE colours and the linear probe from one feature pass.

Both read the same `emitter_features`, which is most of the cost, so a caller that shows both (the app's
Features tab) computes them once here instead of calling `feature_tsne` and `linear_probe`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from naf_model.analysis.features import Progress, emitter_features
from naf_model.analysis.probe import ProbeResult, probe_features
from naf_model.analysis.tsne import TsneMap, tsne_map


@dataclass(frozen=True)
class FeatureViews:
    """t-SNE colours and the wall-distance probe of the same emitter positions and features."""

    tsne: TsneMap
    probe: ProbeResult


def feature_views(
    field: Any, scene: Any, spacing: float = 0.5, n_probe: int = 64, seed: int = 0, test_fraction: float = 0.3,
    progress: Progress | None = None,
) -> FeatureViews:
    """t-SNE and probe of the features at a `spacing` grid of emitters (mean over `n_probe` listeners).

    Equal to `feature_tsne(...)` and `linear_probe(...)` with the same arguments. `progress(done, total)` is
    called after each feature batch and once more after the t-SNE; raising from it abandons the work.
    """
    positions, features = emitter_features(field, scene, spacing, n_probe, seed, progress)
    tsne = tsne_map(positions, features, spacing, seed)
    if progress is not None:
        progress(len(positions), len(positions))
    return FeatureViews(tsne=tsne, probe=probe_features(scene, positions, features, spacing, seed, test_fraction))
