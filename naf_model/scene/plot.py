"""A scene's floor plan drawn with matplotlib: walls, doors, windows, floors by material, sample grid.

Uses matplotlib's object API (`Figure`, no pyplot), so no backend is chosen and nothing global changes:
naf_model never opens windows, and an app that imports this keeps its own backend.
"""

from __future__ import annotations

import pathlib

import numpy as np
import shapely
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, PathPatch
from matplotlib.patches import Polygon as PolygonPatch
from matplotlib.path import Path
from shapely.geometry import Point, Polygon
from shapely.ops import polylabel

from naf_model.atomic import atomic_path
from naf_model.scene.floorplan import door_axis
from naf_model.scene.scene import Scene

MATERIAL_COLORS = {
    "carpet": "#c7a6cf",
    "tiles": "#a9d8dc",
    "wood": "#e2bf8f",
    "plaster": "#ecebe6",
    "concrete": "#bdbdbd",
    "glass": "#7cc4ee",
    "curtains": "#e6a9a9",
    "brick": "#c97b5f",
    "plasterboard": "#f1eee2",
    "acoustic_panel": "#8fae7a",
    "wood_furniture": "#a8743f",
    "upholstery": "#7d8fb3",
    "mattress": "#b9a6d9",
    "bookshelf": "#8a5a44",
    "ceramic": "#f7f7f7",
    "kitchen_units": "#9aa3a8",
    "limestone": "#d8cfb8",
    "marble": "#eae6df",
    "wooden_lining": "#b88a58",
    "wooden_pews": "#8c6239",
}
WALL_COLOR = "#3b3b3f"


def material_color(name: str, fallback: str = "#dddddd") -> str:
    """Tint for a material; a furnished variant ("wood_furnished") takes its base material's tint."""
    return MATERIAL_COLORS.get(name, MATERIAL_COLORS.get(name.split("_")[0], fallback))


def material_label(name: str) -> str:
    """Legend text: "wood_furnished" reads "wood, furnished"."""
    base, _, variant = name.partition("_")
    return f"{base}, {variant.replace('_', ' ')}" if variant and base in MATERIAL_COLORS else name


def _fill(ax: Axes, poly: Polygon, **kw) -> None:
    """Fill a polygon with holes (the wall solids enclose the free space) as one compound path."""
    rings = [np.asarray(poly.exterior.coords)] + [np.asarray(h.coords) for h in poly.interiors]
    path = Path.make_compound_path(*(Path(r, closed=True) for r in rings))
    ax.add_patch(PathPatch(path, **kw))


def _draw_obstacles(ax: Axes, scene: Scene) -> dict[str, None]:
    """Obstacles in their material's tint, named; those spanning the ear height (holes in the free space)
    get a solid dark outline, lower or higher ones a dashed one. Returns the materials used."""
    used: dict[str, None] = {}
    for ob in getattr(scene, "obstacles", []):
        crosses = ob.crosses(scene.ear_height)
        style = {"lw": 1.0, "ls": "-"} if crosses else {"lw": 0.6, "ls": (0, (2, 1.5))}
        _fill(ax, ob.footprint, facecolor=material_color(ob.material), edgecolor=WALL_COLOR, zorder=3, **style)
        if ob.footprint.area > 0.25:
            spot = ob.footprint.centroid
            if not ob.footprint.contains(spot):
                spot = polylabel(ob.footprint, tolerance=0.02)
            ax.text(spot.x, spot.y, ob.name, ha="center", va="center", fontsize=5.5, color="#222222", zorder=6)
        used[ob.material] = None
    return used


OPENING_MIN_M = 2.0
"""An opening at least this wide is an arch or a passage (a church's chancel arch), drawn without a leaf."""


def _draw_doors(ax: Axes, scene: Scene) -> None:
    """A door leaf and its quarter-circle swing; wide openings (`OPENING_MIN_M`) are left open."""
    n_doors = {r.name: 0 for r in scene.rooms}
    for door in scene.doors:
        for i in door_axis(door, scene.rooms)[2]:
            n_doors[scene.rooms[i].name] += 1
    for door in scene.doors:
        if door.width >= OPENING_MIN_M:
            continue
        p = np.asarray(door.at, float)
        d, n, owner_indices = door_axis(door, scene.rooms)
        owners = [scene.rooms[i] for i in owner_indices]
        # doors open into rooms, not into the hall they come from: the side with fewer doors, then the larger
        into = min(owners, key=lambda r: (n_doors[r.name], -r.polygon.area))
        if not into.polygon.contains(Point(p + 0.3 * n)):
            n = -n
        hinge = p - 0.5 * door.width * d + 0.5 * scene.wall_thickness * n
        leaf = hinge + door.width * n
        ax.plot(*np.c_[hinge, leaf], color=WALL_COLOR, lw=1.2, solid_capstyle="butt", zorder=4)
        a = np.linspace(0, np.pi / 2, 24)
        arc = hinge + door.width * (np.outer(np.cos(a), n) + np.outer(np.sin(a), d))
        ax.plot(arc[:, 0], arc[:, 1], color=WALL_COLOR, lw=0.6, ls=(0, (3, 2)), zorder=4)


def _draw_windows(ax: Axes, scene: Scene) -> None:
    """Windows as light-blue panes set into the wall, with the glass line along the middle."""
    half = max(scene.wall_thickness, 0.08) / 2
    for w in scene.windows:
        s, e = np.asarray(w.start, float), np.asarray(w.end, float)
        d = (e - s) / np.linalg.norm(e - s)
        n = np.array([-d[1], d[0]]) * half
        pane = np.array([s - n, e - n, e + n, s + n])
        color = material_color(w.material, "#7cc4ee")
        ax.add_patch(PolygonPatch(pane, closed=True, facecolor=color, edgecolor=WALL_COLOR, lw=0.6, zorder=3))
        ax.plot(*np.c_[s, e], color="white", lw=0.8, zorder=3)


def _scale_bar(ax: Axes, bounds: tuple[float, float, float, float]) -> None:
    xmin, ymin, xmax, ymax = bounds
    length = 1.0 if xmax - xmin < 8 else 2.0
    y = ymin - 0.55
    ax.plot([xmin, xmin + length], [y, y], color="black", lw=3, solid_capstyle="butt")
    for x in (xmin, xmin + length):
        ax.plot([x, x], [y - 0.08, y + 0.08], color="black", lw=1)
    ax.text(xmin + length + 0.15, y, f"{length:g} m", va="center", fontsize=8)


def _label_rooms(ax: Axes, scene: Scene) -> None:
    """Each room's name, free area and non-default materials, at its pole of inaccessibility."""
    for room, piece in zip(scene.rooms, scene.floor_pieces, strict=True):
        spot = polylabel(piece, tolerance=0.02)
        label = f"{room.name}\n{piece.area:.1f} m²"
        if room.walls != "plaster":
            label += f"\nwalls: {room.walls.replace('_', ' ')}"
        if room.ceiling != "plaster":
            label += f"\nceiling: {room.ceiling.replace('_', ' ')}"
        ax.text(
            spot.x,
            spot.y,
            label,
            ha="center",
            va="center",
            fontsize=8,
            zorder=6,
            bbox={"boxstyle": "round,pad=0.25", "facecolor": "white", "alpha": 0.8, "edgecolor": "none"},
        )


def _legend_handles(scene: Scene, floors: list[str], furniture: list[str], solids: bool,
                    grid_spacing: float | None, n_points: int) -> list:
    """The legend's entries: floor, obstacle and surface materials, windows, walls and the sample grid."""
    handles = [
        Patch(facecolor=material_color(m), edgecolor="#888888", label=f"floor: {material_label(m)}")
        for m in floors
    ]
    for m in furniture:
        handles.append(Patch(facecolor=material_color(m), edgecolor=WALL_COLOR, label=f"obstacle: {m}"))
    if solids:
        handles.append(Patch(facecolor="#77777c", edgecolor=WALL_COLOR, label="solid at ear height"))
    if hasattr(scene, "material_report"):  # a mesh: every surface material with its area
        areas: dict[str, float] = {}
        for _, material, _, area in scene.material_report():
            areas[material] = areas.get(material, 0.0) + area
        for m, area in sorted(areas.items(), key=lambda kv: -kv[1]):
            handles.append(
                Patch(facecolor=material_color(m), edgecolor="#888888", label=f"surface: {m} ({area:.0f} m²)")
            )
    if furniture:
        handles.append(Patch(facecolor="white", edgecolor=WALL_COLOR, label="solid: spans ear height"))
        handles.append(Patch(facecolor="white", edgecolor=WALL_COLOR, ls="--", label="dashed: below/above it"))
    if scene.windows:
        for m in dict.fromkeys(w.material for w in scene.windows):
            handles.append(
                Patch(
                    facecolor=material_color(m, "#7cc4ee"), edgecolor=WALL_COLOR, label=f"window ({m})"
                )
            )
    if scene.wall_thickness:
        handles.append(Patch(facecolor=WALL_COLOR, label=f"wall ({scene.wall_thickness * 100:.0f} cm)"))
    else:
        handles.append(Line2D([], [], color=WALL_COLOR, lw=2, label="wall"))
    if grid_spacing:
        handles.append(
            Line2D(
                [],
                [],
                ls="",
                marker="o",
                ms=2.5,
                color="#222222",
                label=f"grid {grid_spacing:g} m ({n_points})",
            )
        )
    return handles


def draw_plan(scene: Scene, grid_spacing: float | None = 0.5, ax: Axes | None = None) -> Figure:
    """Draw the plan of `scene` (metres, equal aspect), return its figure; grid_spacing None: no grid."""
    xmin, ymin, xmax, ymax = shapely.union_all([scene.free_space, *scene.wall_polygons()]).bounds
    if ax is None:
        width = xmax - xmin
        height = ymax - ymin
        fig = Figure(figsize=(min(4.0 + 0.9 * width, 14), min(2.4 + 0.9 * height, 12)), dpi=150)
        ax = fig.add_subplot()
    fig = ax.figure
    used: dict[str, None] = {}
    for room, piece in zip(scene.rooms, scene.floor_pieces, strict=True):
        _fill(ax, piece, facecolor=material_color(room.floor), edgecolor="none", zorder=1)
        used[room.floor] = None
    for solid in scene.wall_polygons():
        _fill(ax, solid, facecolor=WALL_COLOR, edgecolor=WALL_COLOR, lw=0.3, zorder=2)
    ax.plot(
        *scene.free_space.exterior.xy, color=WALL_COLOR, lw=0.8 if scene.wall_thickness else 2.0, zorder=2
    )
    furniture = _draw_obstacles(ax, scene)
    footprints = [o.footprint for o in getattr(scene, "obstacles", [])]
    solids = [Polygon(h) for h in scene.free_space.interiors]
    solids = [h for h in solids if not any(f.contains(h.representative_point()) for f in footprints)]
    for hole in solids:  # a mesh's columns and tall furniture: holes in the free space
        _fill(ax, hole, facecolor="#77777c", edgecolor=WALL_COLOR, lw=0.8, zorder=3)
    _draw_windows(ax, scene)
    _draw_doors(ax, scene)
    n_points = 0
    if grid_spacing:
        grid = scene.sample_grid(grid_spacing)
        n_points = len(grid)
        ax.scatter(grid[:, 0], grid[:, 1], s=3.5, color="#222222", alpha=0.6, linewidths=0, zorder=5)
    _label_rooms(ax, scene)
    handles = _legend_handles(scene, list(used), list(furniture), bool(solids), grid_spacing, n_points)
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    _scale_bar(ax, (xmin, ymin, xmax, ymax))
    ax.set_xlim(xmin - 0.3, xmax + 0.3)
    ax.set_ylim(ymin - 0.9, ymax + 0.3)
    ax.set_aspect("equal")
    ax.tick_params(labelsize=7)
    ax.set_xlabel("x (m)", fontsize=8)
    ax.set_ylabel("y (m)", fontsize=8)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    rooms = f"{len(scene.rooms)} room" + ("s" if len(scene.rooms) > 1 else "")
    ax.set_title(
        f"{scene.name}: {scene.area:.1f} m² free floor, {rooms}, ceiling {scene.ceiling_height:g} m",
        fontsize=10,
    )
    fig.tight_layout()
    return fig


def save_plan(scene: Scene, path: str | pathlib.Path, grid_spacing: float | None = 0.5) -> pathlib.Path:
    """Draw the plan and write it as an image (format from the suffix), atomically."""
    path = pathlib.Path(path)
    fig = draw_plan(scene, grid_spacing)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, bbox_inches="tight", format=path.suffix.lstrip(".").lower() or "png")
    return path
