"""What a trained field has learned: loudness maps, t-SNE of its features, a linear probe, their figures."""

from naf_model.analysis.features import emitter_features
from naf_model.analysis.figures import save_loudness_png, save_metric_png, save_probe_png, save_tsne_png
from naf_model.analysis.loudness import LoudnessMap, PlanGrid, loudness_map, plan_grid
from naf_model.analysis.metric_map import (
    BANDS_HZ,
    METRICS,
    MetricMap,
    PlanIrs,
    band_name,
    map_file_name,
    metric_map,
    plan_irs,
)
from naf_model.analysis.probe import ProbeResult, linear_probe, probe_features, ridge_probe, wall_distance
from naf_model.analysis.tsne import TsneMap, feature_tsne, tsne_colours, tsne_map
from naf_model.analysis.views import FeatureViews, feature_views

__all__ = [
    "BANDS_HZ",
    "METRICS",
    "FeatureViews",
    "LoudnessMap",
    "MetricMap",
    "PlanGrid",
    "PlanIrs",
    "ProbeResult",
    "TsneMap",
    "band_name",
    "emitter_features",
    "feature_tsne",
    "feature_views",
    "linear_probe",
    "loudness_map",
    "map_file_name",
    "metric_map",
    "plan_grid",
    "plan_irs",
    "probe_features",
    "ridge_probe",
    "save_loudness_png",
    "save_metric_png",
    "save_probe_png",
    "save_tsne_png",
    "tsne_colours",
    "tsne_map",
    "wall_distance",
]
