"""Where markers may stand: headings folded into [0, 360), the free point nearest to a drop, and the starting
emitter and listener of a scene (off doorways and furniture). Pure functions of the scene, no Qt.
"""

from __future__ import annotations

import numpy as np
import shapely
from shapely.ops import nearest_points

from naf_model.conventions import WALL_CLEARANCE_M

_SNAP_MARGIN_M = 0.03
"""Snapped points sit this far inside the free region so that floating point never puts them on its edge."""


def wrap_heading(deg: float) -> float:
    """A heading in degrees folded into [0, 360)."""
    return float(deg) % 360.0


def nearest_free_point(scene, xy) -> tuple[float, float] | None:
    """The free point (scene.is_free) closest to `xy` in metres, or None when the plan has no free space."""
    inner = scene.free_space.buffer(-(WALL_CLEARANCE_M + _SNAP_MARGIN_M))
    if inner.is_empty:
        return None
    point = shapely.Point(float(xy[0]), float(xy[1]))
    if inner.contains(point):
        return float(xy[0]), float(xy[1])
    snapped = nearest_points(inner, point)[0]
    # nearest_points lands on the shrunk boundary: step a hair towards the inside so is_free agrees.
    centre = inner.representative_point()
    for frac in (0.0, 0.01, 0.05, 0.2):
        x = snapped.x + frac * (centre.x - snapped.x)
        y = snapped.y + frac * (centre.y - snapped.y)
        if bool(scene.is_free(x, y)):
            return float(x), float(y)
    return None


DOORWAY_CLEARANCE_M = 0.6
"""The starting listener stands at least this far from every doorway (a start in a door frame confuses)."""
FURNITURE_CLEARANCE_M = 0.3
"""...and this far from every obstacle's footprint, low furniture included (a start on the sofa confuses too)."""


def clear_start_points(scene, grid: np.ndarray) -> np.ndarray:
    """The grid points (G, 2) at least DOORWAY_CLEARANCE_M from every door opening and FURNITURE_CLEARANCE_M
    from every obstacle footprint (whatever its height); the doorway rule alone, or all points, if none is."""
    from naf_model.scene.floorplan import door_opening

    points = shapely.points(grid)
    far_doors = np.ones(len(grid), bool)
    for door in getattr(scene, "doors", []):
        far_doors &= shapely.distance(shapely.LineString(door_opening(door, scene.rooms)), points) \
            >= DOORWAY_CLEARANCE_M
    far_all = far_doors.copy()
    for obstacle in getattr(scene, "obstacles", []):
        far_all &= shapely.distance(obstacle.footprint, points) >= FURNITURE_CLEARANCE_M
    for keep in (far_all, far_doors):
        if keep.any():
            return grid[keep]
    return grid


def default_placement(scene) -> tuple[tuple[float, float], tuple[float, float]]:
    """Starting emitter and listener: the emitter near the middle of the largest room, the listener the free
    grid point about 2 m from it (or the farthest one in small plans), neither in a doorway nor on furniture."""
    grid = np.asarray(scene.sample_grid(0.25), dtype=np.float64)
    if len(grid) == 0:
        raise ValueError("scene has no free grid point")
    grid = clear_start_points(scene, grid)
    rooms = [shapely.Polygon(r.polygon) for r in scene.rooms]
    centre = max(rooms, key=lambda p: p.area).representative_point() if rooms else \
        scene.free_space.representative_point()
    d_centre = np.hypot(grid[:, 0] - centre.x, grid[:, 1] - centre.y)
    emitter = grid[int(np.argmin(d_centre))]
    d = np.hypot(grid[:, 0] - emitter[0], grid[:, 1] - emitter[1])
    listener = grid[int(np.argmin(np.abs(d - min(2.0, d.max()))))]
    return (float(emitter[0]), float(emitter[1])), (float(listener[0]), float(listener[1]))

