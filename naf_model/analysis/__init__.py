"""What a trained field has learned: loudness maps, t-SNE of its features, a linear probe, their figures."""

from naf_model.analysis.blocks import blocks_that_fit
from naf_model.analysis.fast_map import FAST_METRICS, PlanEnergy, fast_metric_map, plan_energy
from naf_model.analysis.features import emitter_features
from naf_model.analysis.figures import save_loudness_png, save_metric_png, save_tsne_png
from naf_model.analysis.loudness import LoudnessMap, PlanGrid, loudness_map, map_spacing, plan_grid
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
from naf_model.analysis.probe import StructureProbe, probe_structure, structure_probe, untrained_copy
from naf_model.analysis.probe_figure import save_probe_png
from naf_model.analysis.targets import depth_ring, room_labels, wall_distance
from naf_model.analysis.tsne import TsneMap, feature_tsne, tsne_colours, tsne_map
from naf_model.analysis.views import FeatureViews, feature_views, probe_report, tsne_summary

__all__ = [
    "BANDS_HZ",
    "FAST_METRICS",
    "FeatureViews",
    "LoudnessMap",
    "METRICS",
    "MetricMap",
    "PlanGrid",
    "PlanEnergy",
    "PlanIrs",
    "StructureProbe",
    "TsneMap",
    "band_name",
    "blocks_that_fit",
    "depth_ring",
    "emitter_features",
    "fast_metric_map",
    "feature_tsne",
    "feature_views",
    "loudness_map",
    "map_file_name",
    "map_spacing",
    "metric_map",
    "plan_energy",
    "plan_grid",
    "plan_irs",
    "probe_report",
    "probe_structure",
    "room_labels",
    "save_loudness_png",
    "save_metric_png",
    "save_probe_png",
    "save_tsne_png",
    "structure_probe",
    "tsne_colours",
    "tsne_map",
    "tsne_summary",
    "untrained_copy",
    "wall_distance",
]
