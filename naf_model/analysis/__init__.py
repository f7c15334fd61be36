"""What a trained field has learned: loudness maps, t-SNE of its features, a linear probe, their figures."""

from naf_model.analysis.features import emitter_features
from naf_model.analysis.figures import save_loudness_png, save_probe_png, save_tsne_png
from naf_model.analysis.loudness import LoudnessMap, loudness_map, plan_grid
from naf_model.analysis.probe import ProbeResult, linear_probe, probe_features, ridge_probe, wall_distance
from naf_model.analysis.tsne import TsneMap, feature_tsne, tsne_colours, tsne_map
from naf_model.analysis.views import FeatureViews, feature_views

__all__ = [
    "FeatureViews",
    "LoudnessMap",
    "ProbeResult",
    "TsneMap",
    "emitter_features",
    "feature_tsne",
    "feature_views",
    "linear_probe",
    "loudness_map",
    "plan_grid",
    "probe_features",
    "ridge_probe",
    "save_loudness_png",
    "save_probe_png",
    "save_tsne_png",
    "tsne_colours",
    "tsne_map",
    "wall_distance",
]
