"""PNG figures of the analyses: loudness heatmap, t-SNE colours and the linear probe, each on the floor plan.

Uses matplotlib's object API (no pyplot state), so it runs headless and from worker threads; every file is
written atomically.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from matplotlib.figure import Figure
from matplotlib.patches import PathPatch
from matplotlib.path import Path as MplPath
from shapely.geometry import Polygon
from shapely.ops import polylabel

from naf_model.analysis.loudness import LoudnessMap
from naf_model.analysis.metric_map import METRICS, MetricMap, band_name
from naf_model.analysis.tsne import TsneMap
from naf_model.atomic import atomic_open
from naf_model.conventions import LOUDNESS_FLOOR_DB

WALL_COLOUR = "#262626"
BACKGROUND = "#d9d9d9"
DPI = 150


def save_figure(fig: Figure, path: str | os.PathLike) -> Path:
    """Write `fig` to `path` atomically (temp file in the same folder, then rename); format from suffix."""
    path = Path(path)
    fmt = path.suffix.lstrip(".").lower() or "png"
    with atomic_open(path, "wb") as handle:
        fig.savefig(handle, format=fmt, dpi=DPI, bbox_inches="tight")
    return path


def _polygon_patch(poly: Polygon, **kwargs: Any) -> PathPatch:
    """A matplotlib patch for a shapely polygon, holes included."""
    rings = [poly.exterior, *poly.interiors]
    vertices, codes = [], []
    for ring in rings:
        xy = np.asarray(ring.coords)
        vertices.append(xy)
        codes.append([MplPath.MOVETO] + [MplPath.LINETO] * (len(xy) - 2) + [MplPath.CLOSEPOLY])
    return PathPatch(MplPath(np.concatenate(vertices), np.concatenate(codes)), **kwargs)


def _as_polygons(geometry: Any) -> list[Polygon]:
    """Shapely polygons from a Polygon, MultiPolygon or a sequence of (x, y) vertices."""
    if not isinstance(geometry, shapely.Geometry):
        geometry = Polygon(np.asarray(geometry, dtype=np.float64))
    if isinstance(geometry, Polygon):
        return [geometry]
    return [g for g in getattr(geometry, "geoms", []) if isinstance(g, Polygon)]


def plan_bounds(scene: Any) -> tuple[float, float, float, float]:
    """(xmin, ymin, xmax, ymax) in metres of the free space and the wall solids together."""
    return tuple(float(v) for v in shapely.union_all([scene.free_space, *scene.wall_polygons()]).bounds)


def draw_plan(ax: Any, scene: Any, labels: bool = True) -> None:
    """Walls (dark solids), the free-space outline and room names over whatever `ax` already shows."""
    walls = scene.wall_polygons()
    for outline in _as_polygons(scene.free_space):
        edge = 0.6 if walls else 2.0  # zero-thickness walls are only this outline
        ax.add_patch(_polygon_patch(outline, facecolor="none", edgecolor=WALL_COLOUR, lw=edge, zorder=3))
    for wall in walls:
        for poly in _as_polygons(wall):
            ax.add_patch(_polygon_patch(poly, facecolor=WALL_COLOUR, edgecolor=WALL_COLOUR, lw=0.3, zorder=4))
    if labels:
        floors = getattr(scene, "floor_pieces", None) or [room.polygon for room in scene.rooms]
        for room, floor in zip(scene.rooms, floors, strict=True):
            polys = _as_polygons(floor)
            if not polys:
                continue
            spot = polylabel(max(polys, key=lambda p: p.area), tolerance=0.05)
            ax.text(
                spot.x,
                spot.y,
                room.name,
                ha="center",
                va="center",
                fontsize=7,
                zorder=6,
                bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none", "alpha": 0.75},
            )
    xmin, ymin, xmax, ymax = plan_bounds(scene)
    pad = 0.2
    ax.set_xlim(xmin - pad, xmax + pad)
    ax.set_ylim(ymin - pad, ymax + pad)
    ax.set_aspect("equal")
    ax.set_facecolor(BACKGROUND)
    ax.set_xlabel("x (m)")
    ax.set_ylabel("y (m)")


def _figure_for(scene: Any, panels: int = 1, extra_width: float = 1.2) -> Figure:
    """A figure whose panels keep the plan's aspect ratio, about 6 inches wide per panel."""
    xmin, ymin, xmax, ymax = plan_bounds(scene)
    aspect = (ymax - ymin + 0.6) / max(xmax - xmin + 0.6, 1e-6)
    width = 6.0
    return Figure(
        figsize=(panels * width + extra_width, max(2.5, width * aspect) + 0.8), layout="constrained"
    )


def raster(positions: np.ndarray, values: np.ndarray, spacing: float) -> tuple[np.ndarray, tuple]:
    """Scatter values (M, ...) at lattice positions (M, 2) onto an image (H, W, ...) with NaN elsewhere.

    Returns (image, extent) for `imshow(image, origin="lower", extent=extent)`.
    """
    positions = np.asarray(positions, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    origin = positions.min(axis=0)
    idx = np.rint((positions - origin) / spacing).astype(int)
    w, h = idx[:, 0].max() + 1, idx[:, 1].max() + 1
    image = np.full((h, w, *values.shape[1:]), np.nan)
    image[idx[:, 1], idx[:, 0]] = values
    half = spacing / 2
    extent = (
        origin[0] - half,
        origin[0] + (w - 1) * spacing + half,
        origin[1] - half,
        origin[1] + (h - 1) * spacing + half,
    )
    return image, extent


def save_loudness_png(
    scene: Any, lm: LoudnessMap, path: str | os.PathLike, emitter_xy: Any = None, floor_db: float = LOUDNESS_FLOOR_DB
) -> Path:
    """Loudness heatmap under the floor plan, colour bar in dB re the map maximum, emitter marked.

    Levels below `floor_db` share the darkest colour so one quiet corner does not wash out the scale.
    """
    emitter = np.asarray(lm.emitter_xy if emitter_xy is None else emitter_xy, dtype=np.float64)
    finite = lm.db[np.isfinite(lm.db)]
    vmin = max(floor_db, float(finite.min())) if finite.size else floor_db
    title = (f"{scene.name}: predicted loudness, emitter at ({emitter[0]:.2f}, {emitter[1]:.2f}) m, "
             f"listener heading {lm.heading_deg:g}°, grid {lm.spacing:g} m")
    return _save_plan_map(scene, lm, lm.db, emitter, ("inferno", vmin, 0.0), "loudness (dB re map maximum)",
                          title, path)


def save_metric_png(scene: Any, mm: MetricMap, path: str | os.PathLike) -> Path:
    """A metric map under the floor plan: title and colour bar say the metric, band, emitter and scale."""
    emitter = np.asarray(mm.emitter_xy, dtype=np.float64)
    low, high = mm.levels
    name = METRICS[mm.metric][0]
    title = (f"{scene.name}: {name} of the played IR, {band_name(mm.band_hz)}, {mm.emitter_name} at "
             f"({emitter[0]:.2f}, {emitter[1]:.2f}) m, heading {mm.heading_deg:g}°, grid {mm.spacing:g} m\n"
             f"scale {low:.3g} to {high:.3g} {mm.unit}")
    return _save_plan_map(scene, mm, mm.values, emitter, (METRICS[mm.metric][2], low, high), mm.label, title,
                          path)


def _save_plan_map(scene: Any, grid: Any, values: np.ndarray, emitter: np.ndarray, scale: tuple,
                   bar_label: str, title: str, path: str | os.PathLike) -> Path:
    """Values (H, W) on the cells of `grid` (a PlanGrid) under the plan, the emitter starred; scale (colour
    map, low, high), values beyond it share the end colours."""
    cmap, vmin, vmax = scale
    fig = _figure_for(scene)
    ax = fig.add_subplot()
    image = ax.imshow(values, origin="lower", extent=grid.extent, cmap=cmap, vmin=vmin, vmax=vmax,
                      interpolation="nearest", zorder=1)
    draw_plan(ax, scene)
    ax.plot(
        *emitter, marker="*", ms=16, mfc="#19c3ff", mec="black", mew=1.0, ls="none", zorder=7, label="emitter"
    )
    ax.legend(loc="upper right", bbox_to_anchor=(1.0, -0.08), fontsize=8, frameon=False)
    colorbar = fig.colorbar(image, ax=ax, shrink=0.85)
    colorbar.set_label(bar_label)
    ax.set_title(title, fontsize=9)
    return save_figure(fig, path)


def save_tsne_png(scene: Any, tm: TsneMap, path: str | os.PathLike) -> Path:
    """t-SNE colours of the features at each emitter position, drawn as cells on the floor plan."""
    fig = _figure_for(scene, extra_width=0.4)
    ax = fig.add_subplot()
    image, extent = raster(tm.positions, tm.rgb, tm.spacing)
    alpha = np.isfinite(image[..., :1]).astype(np.float64)
    ax.imshow(
        np.concatenate([np.nan_to_num(image), alpha], axis=-1),
        origin="lower",
        extent=extent,
        interpolation="nearest",
        zorder=1,
    )
    draw_plan(ax, scene)
    ax.set_title(
        f"{scene.name}: t-SNE of NAF features at {len(tm.positions)} emitters ({tm.spacing:g} m grid)\n"
        "colour = 3-D t-SNE axes as (R, G, B), each min-max scaled; similar colour = similar features",
        fontsize=9,
    )
    return save_figure(fig, path)
