"""The images the window exports from the session state: the heatmap (plan, map, colour bar; the title says
metric, band, emitter and scale) and the feature views (t-SNE, linear probe). NafError when there is nothing
to export yet; files are written by naf_model.analysis (atomically). Also the Export IR dialog's file types."""

from __future__ import annotations

from pathlib import Path

from naf_app.state import SessionState
from naf_model.errors import NafError


def export_heatmap_png(state: SessionState, path: str | Path) -> Path:
    """Write the state's heatmap as a PNG; NafError if there is none."""
    from naf_model.analysis import save_metric_png

    if state.heatmap is None:
        raise NafError("no heatmap yet: load a field and wait for the heatmap to finish")
    return save_metric_png(state.scene, state.heatmap, path)


def heatmap_file_name(state: SessionState) -> str:
    """The default name of an exported heatmap: scene, metric, band, emitter and scale."""
    from naf_model.analysis import map_file_name

    mm = state.heatmap
    return f"{state.scene.name}_heatmap.png" if mm is None else map_file_name(state.scene.name, mm)


def export_features_png(state: SessionState, which: str, path: str | Path) -> Path:
    """Write the t-SNE ("tsne") or probe ("probe") figure; NafError if the features are not computed."""
    from naf_model.analysis import save_probe_png, save_tsne_png

    views = state.features
    if views is None:
        raise NafError("no feature views yet: open the Features tab and wait for them to finish")
    if which == "tsne":
        return save_tsne_png(state.scene, views.tsne, path)
    return save_probe_png(state.scene, views.probe, path)


def ir_export_filters() -> list[tuple[str, int]]:
    """The Export IR dialog's file types as (filter text, sample rate): WAV and SOFA at every rate the IR writer
    takes (`naf_model.audio.ir_files.EXPORT_RATES`, as `naf ir --rate`)."""
    from naf_model.audio.ir_files import EXPORT_RATES

    def label(rate: int) -> str:
        return f"{rate:,} Hz" if rate % 1000 else f"{rate // 1000} kHz"

    return [(f"{kind} {label(rate)} (*{suffix})", rate)
            for kind, suffix in (("WAV", ".wav"), ("SOFA", ".sofa")) for rate in EXPORT_RATES]
