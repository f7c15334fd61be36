"""Floor-plan geometry: rooms, doors and windows -> the free-space polygon and its per-room floor pieces.

Rooms are polygons along the wall centre lines. Each room is shrunk by half a wall (mitre joins); a door
adds a rectangle across the shared wall, split along the wall's centre line between its two rooms. The union
of those pieces is the free space, which must be one simple polygon (pyroomacoustics cannot model holes).
All overlay operations snap to a 1 micrometre grid so that neighbouring pieces share vertices exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import LineString, Point, Polygon

from naf_model.errors import SceneError

GRID = 1e-6
"""Metres: coordinates of derived geometry are snapped to this grid."""
TOL = 1e-6
"""Metres: two points closer than this are the same point."""


@dataclass(frozen=True)
class Room:
    """A room: its polygon along the wall centre lines (metres) and the materials of its surfaces."""

    name: str
    polygon: Polygon
    floor: str
    ceiling: str
    walls: str


@dataclass(frozen=True)
class Door:
    """A full-height gap of `width` metres centred at `at` (x, y) on a wall shared by two rooms."""

    at: tuple[float, float]
    width: float


@dataclass(frozen=True)
class Window:
    """A window along an outer wall from `start` to `end` (x, y metres), with its own material."""

    start: tuple[float, float]
    end: tuple[float, float]
    material: str


def fmt(p: tuple[float, float] | np.ndarray) -> str:
    """A point as '(x, y)' with centimetre precision, for error messages."""
    return f"({float(p[0]):.2f}, {float(p[1]):.2f})"


def room_polygon(name: str, points: list) -> Polygon:
    """Check a room's vertex list ((K, 2) metres, not closed) and return its polygon."""
    try:
        pts = np.asarray(points, dtype=float)
    except (ValueError, TypeError, OverflowError):
        raise SceneError(f"room {name!r} polygon must be a list of [x, y] numbers, got {str(points)[:60]}") from None
    if pts.ndim != 2 or pts.shape[1] != 2 or len(pts) < 3 or not np.isfinite(pts).all():
        raise SceneError(f"room {name!r} polygon must be a list of at least 3 [x, y] points")
    n = len(pts)
    edges = [(pts[i], pts[(i + 1) % n]) for i in range(n)]
    for i in range(n):
        for j in range(i + 1, n):
            if j == i + 1 or (i == 0 and j == n - 1):
                continue  # neighbouring edges share a vertex
            hit = LineString(edges[i]).intersection(LineString(edges[j]))
            if not hit.is_empty:
                where = hit.representative_point()
                raise SceneError(f"room {name!r} polygon crosses itself at {fmt((where.x, where.y))}")
    poly = Polygon(pts)
    if poly.area < 1e-3 or not poly.is_valid:
        raise SceneError(f"room {name!r} polygon is degenerate (area {poly.area:.3f} m2)")
    return poly


def check_rooms_disjoint(rooms: list[Room]) -> None:
    """Rooms may share boundaries but not overlap; raise SceneError naming the first overlapping pair."""
    for i, a in enumerate(rooms):
        for b in rooms[i + 1 :]:
            overlap = a.polygon.intersection(b.polygon)
            if overlap.area > 1e-4:
                c = overlap.representative_point()
                raise SceneError(
                    f"rooms {a.name!r} and {b.name!r} overlap ({overlap.area:.2f} m2 around "
                    f"{fmt((c.x, c.y))}); rooms may only share walls"
                )


def door_axis(door: Door, rooms: list[Room]) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """The wall a door sits on: the unit vector along it (2,), the unit normal to its left (2,) and the
    indices of the two rooms it joins. SceneError unless exactly two room boundaries pass through `door.at`.

    The one door rule: the free-space gap, the plan drawing and the app's doorway lines all start here.
    """
    p = np.asarray(door.at, dtype=float)
    owners = [i for i, r in enumerate(rooms) if r.polygon.exterior.distance(Point(p)) < TOL]
    if len(owners) != 2:
        raise SceneError(
            f"door at {fmt(p)} is not on a wall shared by two rooms ({len(owners)} room boundaries pass "
            "there); put 'at' on the boundary between the two rooms it connects"
        )
    ring = np.asarray(rooms[owners[0]].polygon.exterior.coords)
    a, b = next((a, b) for a, b in zip(ring[:-1], ring[1:], strict=True)
                if LineString([a, b]).distance(Point(p)) < TOL)
    along = (b - a) / np.linalg.norm(b - a)
    return along, np.array([-along[1], along[0]]), owners


def door_rectangle(door: Door, rooms: list[Room], wall: float) -> tuple[Polygon, list[int]]:
    """The door gap (a rectangle `width` along the shared wall, a wall thick) and its two rooms' indices."""
    p = np.asarray(door.at, dtype=float)
    where = f"door at {fmt(p)}"
    if not door.width > 0:
        raise SceneError(f"{where} has width {door.width}; it must be positive")
    d, n, owners = door_axis(door, rooms)
    a, b = (rooms[i] for i in owners)
    half = 0.5 * door.width * d
    # the jambs need half a wall of solid wall beyond each end of the opening
    reach = half + 0.5 * wall * d
    span = LineString([p - reach, p + reach])
    # on both rooms' boundaries (a tolerance band, not a line intersection, which is fragile on oblique walls)
    if any(span.difference(r.polygon.exterior.buffer(TOL)).length > TOL for r in (a, b)):
        raise SceneError(
            f"{where} (width {door.width} m) does not fit on the wall shared by {a.name!r} and {b.name!r}; "
            "move it along the wall or make it narrower"
        )
    depth = 0.5 * wall + 0.01  # reaches past the half wall into both rooms
    corners = [p - half - depth * n, p + half - depth * n, p + half + depth * n, p - half + depth * n]
    return Polygon(corners), owners


def door_opening(door: Door, rooms: list[Room]) -> tuple[np.ndarray, np.ndarray]:
    """The doorway as the (start, end) of its opening along the wall centre line, metres, each (2,)."""
    half = 0.5 * door.width * door_axis(door, rooms)[0]
    p = np.asarray(door.at, dtype=float)
    return p - half, p + half


def floor_pieces(rooms: list[Room], doors: list[Door], wall: float) -> list[Polygon]:
    """Per-room free floor: the room shrunk by half a wall plus its half of each of its door gaps."""
    parts: list[list[Polygon]] = []
    for room in rooms:
        shrunk = room.polygon if wall == 0 else room.polygon.buffer(-0.5 * wall, join_style="mitre")
        if not isinstance(shrunk, Polygon) or shrunk.is_empty:
            raise SceneError(
                f"room {room.name!r} is too narrow for walls {wall} m thick; widen it or thin the walls"
            )
        parts.append([shrunk])
    for door in doors:
        rect, owners = door_rectangle(door, rooms, wall)
        for i in owners:
            parts[i].append(shapely.intersection(rect, rooms[i].polygon, grid_size=GRID))
    pieces = []
    for room, group in zip(rooms, parts, strict=True):
        piece = shapely.union_all(group, grid_size=GRID)
        if not isinstance(piece, Polygon) or piece.interiors:
            raise SceneError(
                f"the doors of room {room.name!r} make its floor split or enclose a wall; move them"
            )
        pieces.append(shapely.normalize(piece))
    return pieces


def free_space_polygon(pieces: list[Polygon], rooms: list[Room]) -> Polygon:
    """Union of the floor pieces; SceneError unless it is one polygon without holes."""
    free = shapely.union_all(pieces, grid_size=GRID)
    if not isinstance(free, Polygon):
        parts = list(getattr(free, "geoms", []))
        lonely = [r.name for r, p in zip(rooms, pieces, strict=True) if not p.intersects(parts[0])]
        raise SceneError(
            f"the free space falls into {len(parts)} parts: room(s) {', '.join(map(repr, lonely))} "
            "are not connected to the others by a door; add a door"
        )
    if free.interiors:
        c = Polygon(free.interiors[0]).centroid
        raise SceneError(
            f"the free space has a hole: the walls around {fmt((c.x, c.y))} are enclosed by a loop of doors "
            "(pyroomacoustics cannot model holes); remove one door of the loop"
        )
    return shapely.geometry.polygon.orient(free, 1.0)


def check_window(window: Window, rooms: list[Room]) -> None:
    """A window must lie on the outer boundary of the plan."""
    outline = shapely.union_all([r.polygon for r in rooms], grid_size=GRID).boundary
    seg = LineString([window.start, window.end])
    if seg.length < TOL or seg.difference(outline.buffer(1e-4)).length > 1e-4:
        raise SceneError(
            f"window from {fmt(window.start)} to {fmt(window.end)} is not on an outer wall; "
            "put both ends on the same outer edge of a room"
        )


def wall_solids(rooms: list[Room], free: Polygon, wall: float) -> list[Polygon]:
    """The walls seen from above: the plan thickened by half a wall outwards, minus the free space."""
    if wall == 0:
        return []
    outline = shapely.union_all([r.polygon for r in rooms], grid_size=GRID)
    solid = outline.buffer(0.5 * wall, join_style="mitre").difference(free)
    return [g for g in getattr(solid, "geoms", [solid]) if isinstance(g, Polygon) and g.area > 0]
