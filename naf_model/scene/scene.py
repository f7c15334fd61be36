"""`Scene`: a floor plan with materials, its free space, free-position tests, sample grid and 3-D boundary."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import shapely
import trimesh
from shapely.geometry import Point, Polygon

from naf_model.conventions import EAR_HEIGHT_M, WALL_CLEARANCE_M
from naf_model.errors import PositionError, SceneError
from naf_model.paths import file_stem
from naf_model.scene.boundary import boundary_surfaces, surfaces_mesh
from naf_model.scene.floorplan import (
    GRID,
    Door,
    Room,
    Window,
    check_rooms_disjoint,
    check_window,
    floor_pieces,
    fmt,
    free_space_polygon,
    wall_solids,
)
from naf_model.scene.materials import MATERIALS, check_material
from naf_model.scene.obstacle import Obstacle, check_obstacles
from naf_model.scene.surface import Surface

DEFAULT_MATERIALS = {"walls": "plaster", "floor": "wood", "ceiling": "plaster"}
MAX_GRID_CELLS = 4_000_000
"""A finer grid than this over the bounding box is a mistake in the spacing, not a request."""
MAX_SCENE_EXTENT_M = 200.0
MAX_COORDINATE_M = 10_000.0
"""Plans lie near the origin: far coordinates lose float precision and usually mean a wrong unit or offset."""
"""A plan wider than this is taken to be in the wrong unit (a dwelling in millimetres), not a request."""


def check_extent(rooms: Sequence[Room]) -> None:
    """SceneError when the rooms span more than MAX_SCENE_EXTENT_M: checked before any geometry is built."""
    xs = [v for r in rooms for v in r.polygon.bounds[0::2]]
    ys = [v for r in rooms for v in r.polygon.bounds[1::2]]
    width, depth = max(xs) - min(xs), max(ys) - min(ys)
    far = max(abs(v) for v in xs + ys)
    if far > MAX_COORDINATE_M:
        raise SceneError(
            f"the plan has a coordinate {far:,.0f} m from the origin (limit {MAX_COORDINATE_M:,.0f} m); "
            "move the plan near (0, 0), in metres"
        )
    if max(width, depth) > MAX_SCENE_EXTENT_M:
        hint = "--units mm" if max(width, depth) / 1000 <= MAX_SCENE_EXTENT_M else "smaller coordinates"
        raise SceneError(
            f"the plan is {width:,.0f} m x {depth:,.0f} m, wider than {MAX_SCENE_EXTENT_M:.0f} m: is it in "
            f"millimetres? convert it to metres (mesh scenes: {hint})"
        )


MAX_CEILING_M = 100.0
"""The highest ceiling a scene may have: a cathedral's vault is 30-45 m; 2,600 is a height in millimetres."""
MAX_WALL_THICKNESS_M = 5.0
"""The thickest wall a scene may have: old masonry reaches 2-3 m; 120 is a thickness in millimetres."""


def unit_hint(metres: float, limit: float, smallest: float, mesh: bool = False) -> str:
    """What a too-large length most likely is (millimetres first, if that makes it at least `smallest` metres,
    else centimetres), said as the fix for a scene file or a mesh."""
    for unit, per_metre in (("mm", 1000), ("cm", 100)):
        if smallest <= metres / per_metre <= limit:
            name = "millimetres" if unit == "mm" else "centimetres"
            return f"is it in {name}? " + (f"pass --units {unit}" if mesh else f"give metres ({metres / per_metre:g})")
    return "give it in metres"


def check_heights(ceiling: float, ear: float, wall: float, what: str = "ceiling_height", mesh: bool = False) -> None:
    """SceneError (one line, with the bound and the likely unit mistake) for an implausible height or thickness."""
    if not ceiling > 0:
        raise SceneError(f"{what} must be positive, got {ceiling}")
    if ceiling > MAX_CEILING_M:
        raise SceneError(
            f"{what} {ceiling:,.10g} m is above the {MAX_CEILING_M:g} m limit (a cathedral vault is 30-45 m); "
            + unit_hint(ceiling, MAX_CEILING_M, 1.0, mesh)
        )
    if not 0 < ear < ceiling:
        raise SceneError(f"ear_height must be between 0 and the ceiling ({ceiling} m), got {ear}")
    if not wall >= 0:
        raise SceneError(f"wall_thickness must be zero or positive, got {wall}")
    if wall > MAX_WALL_THICKNESS_M:
        raise SceneError(
            f"wall_thickness {wall:,.10g} m is above the {MAX_WALL_THICKNESS_M:g} m limit (old masonry is 2-3 m); "
            + unit_hint(wall, MAX_WALL_THICKNESS_M, 0.02)
        )


class Scene:
    """A floor plan: rooms (polygons along wall centre lines, metres), doors, windows, heights and materials.

    Built from validated parts; every user mistake raises a one-line `SceneError`. Derived geometry
    (free space, floor pieces, surfaces) is computed once on construction or on first use.
    """

    derived_from: str | None = None
    data_file: Path | None = None  # defaults for scenes built otherwise (`MeshScene`); documented in __init__

    def __init__(
        self,
        name: str,
        rooms: Sequence[Room],
        doors: Sequence[Door] = (),
        windows: Sequence[Window] = (),
        ceiling_height: float = 2.6,
        ear_height: float = EAR_HEIGHT_M,
        wall_thickness: float = 0.12,
        defaults: dict[str, str] | None = None,
        obstacles: Sequence[Obstacle] = (),
        derived_from: str | None = None,
    ) -> None:
        name = file_stem(name)  # it names data sets, runs and plans: no "../", no empty name
        check_heights(ceiling_height, ear_height, wall_thickness)
        if not rooms:
            raise SceneError("a scene needs at least one room")
        check_extent(rooms)
        names = [r.name for r in rooms]
        if len(set(names)) != len(names):
            raise SceneError(
                f"room names must be unique; {sorted(n for n in names if names.count(n) > 1)[0]!r} repeats"
            )
        for r in rooms:
            for part in ("floor", "ceiling", "walls"):
                check_material(getattr(r, part), f"room {r.name!r} {part}")
        for w in windows:
            check_material(w.material, f"window from {fmt(w.start)} to {fmt(w.end)}")
        self.name = name
        self.rooms = list(rooms)
        self.doors = list(doors)
        self.windows = list(windows)
        self.ceiling_height = float(ceiling_height)
        self.ear_height = float(ear_height)
        self.wall_thickness = float(wall_thickness)
        self.defaults = {**DEFAULT_MATERIALS, **(defaults or {})}
        for part, material in self.defaults.items():
            check_material(material, f"defaults {part}")
        check_rooms_disjoint(self.rooms)
        for w in self.windows:
            check_window(w, self.rooms)
        self.derived_from = derived_from
        """None for a drawn plan; for a plan derived from the positions of imported data (no walls are known:
        `naf_model.data.imports.free_space`), the sentence that says how. Such a scene cannot be simulated."""
        self.data_file: Path | None = None
        """The imported data set this scene was read from (`io.scene_of_data_set`), else None: where a field of
        the paper's format finds its normalisation and bounding box."""
        self.obstacles = list(obstacles)
        """Furniture, columns and fittings (`Obstacle`), in scene-file order."""
        self._room_pieces = floor_pieces(self.rooms, self.doors, self.wall_thickness)
        self.plan: Polygon = free_space_polygon(self._room_pieces, self.rooms)
        """The region inside the walls (door gaps included), without obstacles: one polygon, no holes."""
        check_obstacles(self.obstacles, self.plan, self.rooms)
        holes = shapely.union_all([o.footprint for o in self.obstacles if o.crosses(self.ear_height)])
        self.floor_pieces: list[Polygon] = [
            shapely.normalize(shapely.difference(p, holes, grid_size=GRID)) for p in self._room_pieces
        ]
        """Per-room free floor at ear height (same order as `rooms`, holes where obstacles stand); they tile
        `free_space`."""
        free = shapely.difference(self.plan, holes, grid_size=GRID)
        if not isinstance(free, Polygon):
            raise SceneError(
                "the obstacles cut the free space at ear height into separate parts; leave a passage "
                f"(around {fmt(np.asarray(free.geoms[1].representative_point().coords[0]))} is shut off)"
            )
        self.free_space: Polygon = shapely.geometry.polygon.orient(free, 1.0)
        """The air region at ear height: counter-clockwise, wall faces as boundary, one hole per obstacle
        that spans the ear height."""
        self._clear = self.free_space.buffer(-WALL_CLEARANCE_M)
        shapely.prepare(self._clear)

    # ---- queries -------------------------------------------------------------------------------------
    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(xmin, ymin, xmax, ymax) of the free space, metres."""
        return tuple(float(v) for v in self.free_space.bounds)

    @property
    def area(self) -> float:
        """Free floor area, m2."""
        return float(self.free_space.area)

    @property
    def volume(self) -> float:
        """Air volume, m^3: the plan times the ceiling height, minus the obstacles."""
        return float(self.plan.area * self.ceiling_height - sum(o.volume for o in self.obstacles))

    def is_air(self, points: np.ndarray) -> np.ndarray:
        """(N,) bool: which points (N, 3) metres lie strictly inside the air (not in a wall or obstacle)."""
        p = np.atleast_2d(np.asarray(points, dtype=np.float64))
        inside = shapely.contains_xy(self.plan, p[:, 0], p[:, 1])
        inside &= (p[:, 2] > 0) & (p[:, 2] < self.ceiling_height)
        for o in self.obstacles:
            solid = shapely.intersects_xy(o.footprint, p[:, 0], p[:, 1]) & (p[:, 2] >= o.z[0])
            inside &= ~(solid & (p[:, 2] <= o.z[1]))
        return inside

    def is_free(self, x: float | np.ndarray, y: float | np.ndarray) -> bool | np.ndarray:
        """True where (x, y) (metres, scalars or broadcastable arrays) is free space >= 0.2 m from walls
        and from obstacles that span the ear height."""
        inside = shapely.contains_xy(self._clear, np.asarray(x, float), np.asarray(y, float))
        return bool(inside) if np.ndim(inside) == 0 else inside

    def require_free(self, xy: Any, what: str = "listener") -> np.ndarray:
        """Return xy as a (2,) float array, or raise PositionError if it is not a free position."""
        p = np.asarray(xy, dtype=float).reshape(-1)
        if p.shape != (2,) or not np.isfinite(p).all():
            raise PositionError(f"{what} position must be two finite numbers (x, y) in metres, got {xy!r}")
        if not self.is_free(p[0], p[1]):
            d = self.free_space.boundary.distance(Point(p))
            where = "inside the plan" if self.free_space.contains(Point(p)) else "outside the plan"
            if self.plan.contains(Point(p)) and not self.free_space.contains(Point(p)):
                where = "inside an obstacle"
            raise PositionError(
                f"{what} at {fmt(p)} is not free in scene {self.name!r} ({where}, {d:.2f} m from a wall "
                f"or obstacle); positions must be inside a room and at least {WALL_CLEARANCE_M} m from "
                "every wall and obstacle"
            )
        return p

    def grid_cells(self, spacing: float = 0.5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The scene's grid: cells `spacing` wide over `bounds` and which of them are free.

        Returns the cell centres xs (W,), ys (H,) in metres and free (H, W) bool (`is_free`); row i is
        y = ys[i]. The one grid rule: `sample_grid` is its free cells, the loudness map draws all of them.
        """
        if not np.isfinite(spacing) or spacing <= 0:
            raise SceneError(f"grid spacing must be a positive number of metres, got {spacing}")
        xmin, ymin, xmax, ymax = self.bounds
        nx, ny = int(np.ceil((xmax - xmin) / spacing)), int(np.ceil((ymax - ymin) / spacing))
        if nx * ny > MAX_GRID_CELLS:  # counted before anything is allocated
            finest = float(np.sqrt((xmax - xmin) * (ymax - ymin) / MAX_GRID_CELLS))
            raise SceneError(
                f"a {spacing:g} m grid over this {xmax - xmin:.1f} x {ymax - ymin:.1f} m plan has {nx * ny:,} cells "
                f"({nx * ny * 16 / 1e9:.1f} GB of positions), more than {MAX_GRID_CELLS:,}; use a spacing of at "
                f"least {finest:.3f} m"
            )
        xs = xmin + spacing * (np.arange(nx) + 0.5)
        ys = ymin + spacing * (np.arange(ny) + 0.5)
        gx, gy = np.meshgrid(xs, ys)
        free = np.asarray(self.is_free(gx.ravel(), gy.ravel()), dtype=bool).reshape(gy.shape)
        return xs, ys, free

    def sample_grid(self, spacing: float = 0.5) -> np.ndarray:
        """Free positions ((N, 2) float64, metres): the free cell centres of `grid_cells(spacing)`.

        Ordered row by row (y, then x ascending), so the order is deterministic.
        """
        xs, ys, free = self.grid_cells(spacing)
        gx, gy = np.meshgrid(xs, ys)
        return np.column_stack([gx[free], gy[free]])

    def room_at(self, x: float, y: float) -> str | None:
        """Name of the room whose free floor holds (x, y) (door gaps count half to each side), else None."""
        p = Point(float(x), float(y))
        for room, piece in zip(self.rooms, self._room_pieces, strict=True):
            if piece.covers(p):
                return room.name
        return None

    # ---- geometry for the simulator and for drawing ---------------------------------------------------
    def _boundary(self, for_simulator: bool) -> list[Surface]:
        return boundary_surfaces(
            self.plan, self._room_pieces, self.rooms, self.windows, self.wall_thickness, self.ceiling_height,
            self.obstacles, for_simulator=for_simulator,
        )  # fmt: skip

    @cached_property
    def _surfaces(self) -> list[Surface]:
        return self._boundary(for_simulator=False)

    @cached_property
    def _simulation_surfaces(self) -> list[Surface]:
        return self._boundary(for_simulator=True)

    def simulation_surfaces(self) -> list[Surface]:
        """The walls pyroomacoustics gets: `surfaces()` with the floor uncut under standing obstacles and no
        splits beyond material changes (`boundary_surfaces(for_simulator=True)`); the same as `surfaces()`
        for a scene without obstacles."""
        return list(self._simulation_surfaces)

    def surfaces(self) -> list[Surface]:
        """The closed boundary of the air volume, normals out of the air: wall quads, floor pieces, ceiling
        pieces, then each obstacle's faces (kind "obstacle")."""
        return list(self._surfaces)

    def mesh(self) -> trimesh.Trimesh:
        """Watertight triangle mesh of `surfaces()` (metres, z up, normals pointing out of the air)."""
        return surfaces_mesh(self._surfaces).copy()

    def wall_polygons(self) -> list[Polygon]:
        """Wall solids seen from above (plan view), for drawing; empty for zero-thickness walls."""
        return wall_solids(self.rooms, self.plan, self.wall_thickness)

    # ---- serialisation ---------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The scene.json form (see docs/internals.md); `Scene.from_dict(s.to_dict())` rebuilds the scene."""
        return {
            "name": self.name,
            "ceiling_height": self.ceiling_height,
            "ear_height": self.ear_height,
            "wall_thickness": self.wall_thickness,
            "defaults": dict(self.defaults),
            "rooms": [
                {
                    "name": r.name,
                    "polygon": [[float(x), float(y)] for x, y in r.polygon.exterior.coords[:-1]],
                    "floor": r.floor,
                    "ceiling": r.ceiling,
                    "walls": r.walls,
                }
                for r in self.rooms
            ],
            "doors": [{"at": [float(d.at[0]), float(d.at[1])], "width": d.width} for d in self.doors],
            "windows": [
                {"from": [float(v) for v in w.start], "to": [float(v) for v in w.end], "material": w.material}
                for w in self.windows
            ],
            **({"obstacles": [dict(o.spec) for o in self.obstacles]} if self.obstacles else {}),
            **({"derived_from": self.derived_from} if self.derived_from else {}),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Scene:
        """Build a scene from its scene.json form; missing or mistyped fields raise SceneError."""
        from naf_model.scene.parse import scene_kwargs

        return cls(**scene_kwargs(d))

    def geometry_hash(self) -> str:
        """sha256 hex of the canonical geometry and materials (floats rounded to 0.1 mm; name ignored)."""
        d = self.to_dict()
        d.pop("name")
        d.pop("defaults")  # already resolved into every room
        used = sorted(
            {r[k] for r in d["rooms"] for k in ("floor", "ceiling", "walls")}
            | {w.material for w in self.windows}
            | {o.material for o in self.obstacles}
        )
        d["materials"] = {m: [*MATERIALS[m].absorption, MATERIALS[m].scattering] for m in used}

        def rounded(v: Any) -> Any:
            if isinstance(v, float):
                return round(v, 4) + 0.0
            if isinstance(v, dict):
                return {k: rounded(x) for k, x in v.items()}
            if isinstance(v, list | tuple):
                return [rounded(x) for x in v]
            return v

        text = json.dumps(rounded(d), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    def __repr__(self) -> str:
        return f"Scene({self.name!r}, {len(self.rooms)} rooms, {self.area:.1f} m2 free)"
