"""Obstacles inside the air: furniture, columns and fittings as boxes or extruded polygons with a height range.

An obstacle is a solid the air flows around. Its faces are walls of the one closed boundary of the air
(normals pointing into the obstacle). One that spans the ear height cuts a hole in the free space at ear
height; a lower one (a bed, a bathtub) or a higher one (a wall cabinet) exists in 3-D only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from shapely.geometry import Polygon
from shapely.geometry.polygon import orient

from naf_model.errors import SceneError
from naf_model.scene.floorplan import GRID, fmt
from naf_model.scene.materials import check_material

OBSTACLE_GAP_M = 0.01
"""Metres of air an obstacle keeps from every wall and every other obstacle it shares a height with, so that
the boundary of the air stays one closed surface without touching faces."""
MIN_SIZE_M = 0.02
"""Metres: the thinnest obstacle (a shelf board), in plan and in height."""
SNAP_M = 1e-3
"""Metres: a height this close to the floor or the ceiling is on it."""


@dataclass(frozen=True)
class Obstacle:
    """A solid: `footprint` (counter-clockwise shapely Polygon, metres) from height z[0] to z[1], one material.

    spec: the scene.json form it came from (kind "box" or "prism"), kept for a faithful round trip.
    """

    name: str
    footprint: Polygon
    z: tuple[float, float]
    material: str
    spec: dict = field(compare=False, repr=False)

    def crosses(self, height: float) -> bool:
        """True if the obstacle fills the plan at `height` (metres above the floor)."""
        return self.z[0] < height < self.z[1]

    @property
    def volume(self) -> float:
        """m^3 of air the obstacle displaces."""
        return float(self.footprint.area * (self.z[1] - self.z[0]))


def _numbers(value: Any, n: int, where: str) -> list[float]:
    ok = isinstance(value, list | tuple) and len(value) == n
    ok = ok and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
    if not ok or not np.isfinite(np.asarray(value, dtype=float)).all():
        raise SceneError(f"{where} must be a list of {n} numbers, got {value!r}")
    return [float(v) for v in value]


def box_footprint(center: list[float], size: list[float], rotation_deg: float) -> Polygon:
    """The rectangle `size` (width along x, depth along y before turning) centred at `center`, turned CCW."""
    a = np.deg2rad(rotation_deg)
    turn = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    half = 0.5 * np.asarray(size)
    corners = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]]) * half
    return Polygon(corners @ turn.T + np.asarray(center))


def parse_obstacle(d: Any, index: int, ceiling: float) -> Obstacle:
    """One obstacle from its scene.json object; SceneError (one line) for any malformed field."""
    if not isinstance(d, dict) or d.get("kind") not in ("box", "prism"):
        raise SceneError(f'obstacle #{index + 1} must be an object with \'kind\' "box" or "prism"')
    name = str(d.get("name", f"obstacle {index + 1}"))
    where = f"obstacle {name!r}"
    kind = d["kind"]
    allowed = {"kind", "name", "z", "material"} | ({"center", "size", "rotation"} if kind == "box" else {"polygon"})
    extra = sorted(set(d) - allowed)
    if extra:
        raise SceneError(f"{where} has unknown field {extra[0]!r}; allowed: {', '.join(sorted(allowed))}")
    if kind == "box":
        for key in ("center", "size"):
            if key not in d:
                raise SceneError(f"{where} (a box) needs {key!r}")
        center = _numbers(d["center"], 2, f"{where} center")
        size = _numbers(d["size"], 2, f"{where} size")
        rotation = d.get("rotation", 0.0)
        if isinstance(rotation, bool) or not isinstance(rotation, int | float):
            raise SceneError(f"{where} rotation must be a number of degrees, got {rotation!r}")
        if min(size) < MIN_SIZE_M:
            raise SceneError(f"{where} size {size} is below {MIN_SIZE_M} m; make it larger")
        footprint = box_footprint(center, size, float(rotation))
    else:
        points = d.get("polygon")
        if not isinstance(points, list) or len(points) < 3:
            raise SceneError(f"{where} (a prism) needs a 'polygon' of at least 3 [x, y] points")
        footprint = Polygon([_numbers(p, 2, f"{where} polygon point") for p in points])
        if not footprint.is_valid or footprint.area < MIN_SIZE_M**2:
            raise SceneError(f"{where} polygon is self-crossing or degenerate; list its corners in order")
    if "z" not in d:
        raise SceneError(f"{where} needs 'z': [bottom, top] heights in metres")
    z0, z1 = _numbers(d["z"], 2, f"{where} z")
    z0 = 0.0 if abs(z0) < SNAP_M else z0
    z1 = ceiling if abs(z1 - ceiling) < SNAP_M else z1
    if not (0.0 <= z0 and z1 <= ceiling and z1 - z0 >= MIN_SIZE_M):
        raise SceneError(
            f"{where} z {[z0, z1]} must satisfy 0 <= bottom < top <= ceiling ({ceiling} m), "
            f"at least {MIN_SIZE_M} m apart"
        )
    if "material" not in d:
        raise SceneError(f"{where} needs a 'material'")
    material = check_material(d["material"], where)
    footprint = orient(shapely.set_precision(footprint, GRID), 1.0)
    return Obstacle(name, footprint, (z0, z1), material, dict(d))


def check_obstacles(obstacles: list[Obstacle], plan: Polygon, rooms: list) -> None:
    """Every obstacle lies in the free space `plan` (no holes), OBSTACLE_GAP_M from walls and from the others.

    Two obstacles may share a footprint only if their height ranges are OBSTACLE_GAP_M apart (a shelf
    over a desk). Raises SceneError naming the first offender.
    """
    inner = plan.buffer(-OBSTACLE_GAP_M, join_style="mitre")
    outline = shapely.union_all([r.polygon for r in rooms])
    for ob in obstacles:
        where = f"obstacle {ob.name!r} at {fmt(np.asarray(ob.footprint.centroid.coords[0]))}"
        if not ob.footprint.intersects(outline):
            raise SceneError(f"{where} is outside every room; move it into a room")
        if not inner.covers(ob.footprint):
            raise SceneError(
                f"{where} crosses a wall (or comes within {OBSTACLE_GAP_M * 100:.0f} cm of one); "
                "move it into the room or make it smaller"
            )
    for i, a in enumerate(obstacles):
        for b in obstacles[i + 1 :]:
            apart = a.z[0] >= b.z[1] + OBSTACLE_GAP_M or b.z[0] >= a.z[1] + OBSTACLE_GAP_M
            if not apart and a.footprint.distance(b.footprint) < OBSTACLE_GAP_M:
                raise SceneError(
                    f"obstacles {a.name!r} and {b.name!r} touch or overlap; keep "
                    f"{OBSTACLE_GAP_M * 100:.0f} cm between them or join them into one prism"
                )
