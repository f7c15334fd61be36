"""The closed 3-D boundary of a scene's air volume: wall quads, floor and ceiling pieces, obstacles, mesh.

The free-space ring is split wherever a floor piece or a window ends, and every piece and obstacle ring at
every other's vertices, so that the surfaces meet edge to edge and form a watertight shell. Obstacles add
inner faces (normals into the obstacle); a floating one (a table top) is a separate closed inner shell.
"""

from __future__ import annotations

import mapbox_earcut
import numpy as np
import shapely
import shapely.ops
import trimesh
from shapely.geometry import LineString, Point, Polygon
from shapely.geometry.polygon import orient

from naf_model.scene.floorplan import GRID, Room, Window
from naf_model.scene.obstacle import Obstacle
from naf_model.scene.surface import Surface

SPLIT_TOL = 1e-5
"""Metres: a vertex this close to an edge lies on it (snapping to the 1 um grid moves points ~1e-6 m)."""
PARALLEL = 1e-4
"""Sine of the largest angle between a window and a wall edge that still counts as parallel."""


def _cross(u: np.ndarray, v: np.ndarray) -> float:
    """z component of the cross product of two 2-D vectors."""
    return float(u[0] * v[1] - u[1] * v[0])


def _split_ring(ring: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Insert into a closed ring ((K+1, 2), first == last) every point lying inside one of its edges."""
    out = [ring[0]]
    for a, b in zip(ring[:-1], ring[1:], strict=True):
        ab = b - a
        length = float(np.hypot(*ab))
        t = (points - a) @ ab / length**2
        off = np.abs((points[:, 0] - a[0]) * ab[1] - (points[:, 1] - a[1]) * ab[0]) / length
        inside = (off < SPLIT_TOL) & (t * length > SPLIT_TOL) & ((1 - t) * length > SPLIT_TOL)
        for k in np.argsort(t[inside]):
            out.append(points[inside][k])
        out.append(b)
    return np.asarray(out)


def _distinct(points: np.ndarray) -> np.ndarray:
    """Points (N, 2) without near-duplicates (closer than SPLIT_TOL): the first of each cluster stays."""
    kept: list[np.ndarray] = []
    for p in points:
        if not kept or np.min(np.hypot(*(np.asarray(kept) - p).T)) >= SPLIT_TOL:
            kept.append(p)
    return np.asarray(kept)


def hole_free_parts(poly: Polygon) -> list[Polygon]:
    """`poly` cut into polygons without holes by a line along y through each hole (pyroomacoustics walls
    are simple polygons); counter-clockwise, on the 1 um grid."""
    todo, out = [poly], []
    while todo:
        p = todo.pop()
        if p.is_empty or p.area < 1e-9:
            continue
        if not p.interiors:
            out.append(orient(p, 1.0))
            continue
        hx0, _, hx1, _ = p.interiors[0].bounds
        _, y0, _, y1 = p.bounds
        x = 0.5 * (hx0 + hx1)
        cut = shapely.ops.split(p, LineString([(x, y0 - 1.0), (x, y1 + 1.0)]))
        for g in cut.geoms:
            snapped = shapely.set_precision(g, GRID)
            todo.extend(q for q in getattr(snapped, "geoms", [snapped]) if isinstance(q, Polygon))
    return out


def split_rings(free: Polygon, pieces: list[Polygon], windows: list[Window], wall: float, extra: list[Polygon] = ()):
    """The free-space ring and the rings of `pieces` and `extra` ((K, 2), open, counter-clockwise), each
    split at every vertex of the others, at window ends and at floor-piece corners."""
    free = orient(free, 1.0)
    pieces = [orient(p, 1.0) for p in pieces]
    extra = [orient(p, 1.0) for p in extra]
    ring = np.asarray(free.exterior.coords)
    points = [np.asarray(p.exterior.coords) for p in [*pieces, *extra]]
    for w in windows:
        s, e = np.asarray(w.start, float), np.asarray(w.end, float)
        d = (e - s) / np.linalg.norm(e - s)
        for a, b in zip(ring[:-1], ring[1:], strict=True):
            ab = (b - a) / np.linalg.norm(b - a)
            if abs(_cross(ab, d)) > PARALLEL or abs(_cross(d, a - s)) > 0.5 * wall + SPLIT_TOL:
                continue
            length = float(np.hypot(*(b - a)))
            along = [float((q - a) @ ab) for q in (s, e)]
            points.append(np.array([a + t * ab for t in along if SPLIT_TOL < t < length - SPLIT_TOL]).reshape(-1, 2))
    allpts = _distinct(np.concatenate(points))
    ring = _split_ring(ring, allpts)[:-1]
    piece_rings = [_split_ring(np.asarray(p.exterior.coords), allpts)[:-1] for p in pieces]
    extra_rings = [_split_ring(np.asarray(p.exterior.coords), allpts)[:-1] for p in extra]
    return ring, piece_rings, extra_rings


def _window_at(m: np.ndarray, a: np.ndarray, b: np.ndarray, windows: list[Window], wall: float) -> str | None:
    """The material of the window whose wall contains the ring edge a-b (midpoint m), else None."""
    e = (b - a) / np.linalg.norm(b - a)
    for w in windows:
        s, f = np.asarray(w.start, float), np.asarray(w.end, float)
        d = (f - s) / np.linalg.norm(f - s)
        if abs(_cross(e, d)) > PARALLEL:
            continue
        t = (m - s) @ d / np.linalg.norm(f - s)
        if abs(_cross(d, m - s)) <= 0.5 * wall + SPLIT_TOL and 0 < t < 1:
            return w.material
    return None


def _quad(a: np.ndarray, b: np.ndarray, z0: float, z1: float) -> np.ndarray:
    """A vertical quad over the plan edge a -> b, (3, 4): its normal points to the right of a -> b."""
    return np.array([[a[0], b[0], b[0], a[0]], [a[1], b[1], b[1], a[1]], [z0, z0, z1, z1]])


def _flat(ring: np.ndarray, z: float, up: bool) -> np.ndarray:
    """A horizontal polygon (3, K) at height z from a counter-clockwise ring (K, 2), facing up or down."""
    corners = np.vstack([ring.T, np.full(len(ring), z)])
    return corners if up else corners[:, ::-1].copy()


def boundary_surfaces(
    free: Polygon,
    pieces: list[Polygon],
    rooms: list[Room],
    windows: list[Window],
    wall: float,
    height: float,
    obstacles: list[Obstacle] = (),
    for_simulator: bool = False,
) -> list[Surface]:
    """The closed boundary of the air, every normal pointing out of the air; corners (3, K) metres.

    Outer wall quads (one per split ring edge), floor pieces, ceiling pieces, then per obstacle its side
    quads, its top (unless at the ceiling) and its bottom (unless on the floor). `free` and `pieces` have no
    holes; obstacles standing on the floor or hanging from the ceiling cut holes into its pieces, which are
    then cut into simple polygons.

    `for_simulator`: the fewer walls pyroomacoustics needs (its cost grows with the wall count), not a
    watertight mesh: the floor is not cut under obstacles standing on it (the floor under an obstacle is out
    of every path from the air, which must cross the obstacle's faces first, so the image sources and rays
    that the visibility tests let through are the same), and rings are split only where the wall material
    changes (room pieces, windows), not at every other surface's vertices (pyroomacoustics needs no
    edge-to-edge contact). The enclosed volume by the divergence theorem stays the same (the floor lies at
    z = 0). Without obstacles both forms are the same surfaces.
    """
    standing = [] if for_simulator else [o.footprint for o in obstacles if o.z[0] <= 0.0]
    floor_holes = shapely.union_all(standing)
    ceiling_holes = shapely.union_all([o.footprint for o in obstacles if o.z[1] >= height])
    floor_parts = [(k, q) for k, p in enumerate(pieces) for q in hole_free_parts(p.difference(floor_holes))]
    ceiling_parts = [(k, q) for k, p in enumerate(pieces) for q in hole_free_parts(p.difference(ceiling_holes))]
    parts = [q for _, q in floor_parts + ceiling_parts]
    footprints = [o.footprint for o in obstacles]
    if for_simulator and obstacles:
        ring = split_rings(free, pieces, windows, wall)[0]
        part_rings = [np.asarray(q.exterior.coords)[:-1] for q in parts]  # counter-clockwise already
        obstacle_rings = [np.asarray(orient(f, 1.0).exterior.coords)[:-1] for f in footprints]
    else:
        ring, part_rings, obstacle_rings = split_rings(free, parts, windows, wall, footprints)
    surfaces = []
    for i in range(len(ring)):
        a, b = ring[i], ring[(i + 1) % len(ring)]
        m = 0.5 * (a + b)
        material = _window_at(m, a, b, windows, wall)
        if material is None:
            owner = min(range(len(pieces)), key=lambda k: pieces[k].exterior.distance(Point(m)))
            material = rooms[owner].walls
        surfaces.append(Surface(_quad(a, b, 0.0, height), material, "wall"))
    n_floor = len(floor_parts)
    for j, ((k, _), pr) in enumerate(zip(floor_parts + ceiling_parts, part_rings, strict=True)):
        if j < n_floor:
            surfaces.append(Surface(_flat(pr, 0.0, up=False), rooms[k].floor, "floor"))
        else:
            surfaces.append(Surface(_flat(pr, height, up=True), rooms[k].ceiling, "ceiling"))
    for ob, ring in zip(obstacles, obstacle_rings, strict=True):
        z0, z1 = ob.z
        back = ring[::-1]  # clockwise: each quad's normal points into the obstacle
        for i in range(len(back)):
            surfaces.append(Surface(_quad(back[i], back[(i + 1) % len(back)], z0, z1), ob.material, "obstacle"))
        if z1 < height:
            surfaces.append(Surface(_flat(ring, z1, up=False), ob.material, "obstacle"))
        if z0 > 0.0:
            surfaces.append(Surface(_flat(ring, z0, up=True), ob.material, "obstacle"))
    return surfaces


def _triangulate(ring: np.ndarray) -> np.ndarray:
    """Triangles ((T, 3) indices into ring, counter-clockwise) covering a simple polygon ring (K, 2).

    Vertices on straight stretches of the ring (split points, door mid-lines) are set aside, the rest is
    ear-clipped, then the triangle on each straight stretch is fanned out through the set-aside vertices,
    so every ring vertex is used and the floor meets the wall quads edge to edge.
    """
    n = len(ring)
    keep = []
    for i in range(n):
        a, p, b = ring[i - 1], ring[i], ring[(i + 1) % n]
        if abs(_cross(b - a, p - a)) / np.hypot(*(b - a)) >= SPLIT_TOL:
            keep.append(i)
    flat = mapbox_earcut.triangulate_float64(ring[keep], np.array([len(keep)], dtype=np.uint32))
    tris = [[keep[k] for k in t] for t in flat.reshape(-1, 3)]
    assert len(tris) == len(keep) - 2, "ear clipping failed on a floor piece"
    for j, u in enumerate(keep):
        w = keep[(j + 1) % len(keep)]
        between = [(u + k) % n for k in range(1, (w - u) % n)]
        if not between:
            continue
        k = next(k for k, t in enumerate(tris) if u in t and w in t)
        t = tris.pop(k)
        r = next(r for r in range(3) if {t[r], t[(r + 1) % 3]} == {u, w})
        a, b, x = t[r], t[(r + 1) % 3], t[(r + 2) % 3]
        chain = [u, *between, w] if a == u else [w, *between[::-1], u]
        tris.extend([c0, c1, x] for c0, c1 in zip(chain[:-1], chain[1:], strict=True))
    out = np.asarray(tris, dtype=np.int64)
    p = ring[out]
    cross = (p[:, 1, 0] - p[:, 0, 0]) * (p[:, 2, 1] - p[:, 0, 1])
    cross -= (p[:, 2, 0] - p[:, 0, 0]) * (p[:, 1, 1] - p[:, 0, 1])
    # earcut keeps one winding for all triangles; near-collinear slivers stay (dropping them opens the mesh)
    return out[:, ::-1] if cross.sum() < 0 else out


def surfaces_mesh(surfaces: list[Surface]) -> trimesh.Trimesh:
    """A triangle mesh of the surfaces, each triangle wound like its surface (normals out of the air):
    vertical quads give two triangles, horizontal polygons are ear-clipped."""
    vertices, faces = [], []
    offset = 0
    for s in surfaces:
        pts = s.corners.T
        if np.ptp(pts[:, 2]) > 0:
            tris = np.array([[0, 1, 2], [0, 2, 3]])
        else:
            up = _signed_area(pts[:, :2]) > 0
            tris = _triangulate(pts[:, :2])
            if not up:
                tris = tris[:, ::-1]  # the polygon faces down
        vertices.append(pts)
        faces.append(tris + offset)
        offset += len(pts)
    mesh = trimesh.Trimesh(np.concatenate(vertices), np.concatenate(faces), process=True)
    mesh.merge_vertices(digits_vertex=7)
    return mesh


def _signed_area(ring: np.ndarray) -> float:
    """Shoelace area of a ring (K, 2): positive when counter-clockwise."""
    x, y = ring[:, 0], ring[:, 1]
    return 0.5 * float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y))
