"""The closed 3-D boundary of a scene's air volume: wall quads, floor and ceiling pieces, and its mesh.

The free-space ring is split wherever a floor piece or a window ends, so that every wall quad meets the
floor and ceiling pieces edge to edge and the surfaces form a watertight shell.
"""

from __future__ import annotations

import mapbox_earcut
import numpy as np
import trimesh
from shapely.geometry import Point, Polygon
from shapely.geometry.polygon import orient

from naf_model.scene.floorplan import Room, Window
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


def split_rings(free: Polygon, pieces: list[Polygon], windows: list[Window], wall: float):
    """The free-space ring and the piece rings ((K, 2), open, counter-clockwise), split at all ends."""
    free = orient(free, 1.0)
    pieces = [orient(p, 1.0) for p in pieces]
    ring = np.asarray(free.exterior.coords)
    points = [np.asarray(p.exterior.coords) for p in pieces]
    for w in windows:
        s, e = np.asarray(w.start, float), np.asarray(w.end, float)
        d = (e - s) / np.linalg.norm(e - s)
        for a, b in zip(ring[:-1], ring[1:], strict=True):
            ab = (b - a) / np.linalg.norm(b - a)
            if abs(_cross(ab, d)) > PARALLEL or abs(_cross(d, a - s)) > 0.5 * wall + SPLIT_TOL:
                continue
            length = float(np.hypot(*(b - a)))
            along = [float((q - a) @ ab) for q in (s, e)]
            points.append(
                np.array([a + t * ab for t in along if SPLIT_TOL < t < length - SPLIT_TOL]).reshape(-1, 2)
            )
    allpts = _distinct(np.concatenate(points))
    ring = _split_ring(ring, allpts)[:-1]
    piece_rings = [_split_ring(np.asarray(p.exterior.coords), allpts)[:-1] for p in pieces]
    return ring, piece_rings


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


def boundary_surfaces(
    free: Polygon, pieces: list[Polygon], rooms: list[Room], windows: list[Window], wall: float, height: float
) -> list[Surface]:
    """Wall quads (one per split ring edge), then floor pieces, then ceiling pieces; corners (3, K) metres."""
    ring, piece_rings = split_rings(free, pieces, windows, wall)
    surfaces = []
    for i in range(len(ring)):
        a, b = ring[i], ring[(i + 1) % len(ring)]
        m = 0.5 * (a + b)
        material = _window_at(m, a, b, windows, wall)
        if material is None:
            owner = min(range(len(pieces)), key=lambda k: pieces[k].exterior.distance(Point(m)))
            material = rooms[owner].walls
        corners = np.array([[a[0], b[0], b[0], a[0]], [a[1], b[1], b[1], a[1]], [0.0, 0.0, height, height]])
        surfaces.append(Surface(corners, material, "wall"))
    for kind, z in (("floor", 0.0), ("ceiling", height)):
        for room, pr in zip(rooms, piece_rings, strict=True):
            corners = np.vstack([pr.T, np.full(len(pr), z)])
            surfaces.append(Surface(corners, room.floor if kind == "floor" else room.ceiling, kind))
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
    """A triangle mesh of the surfaces with outward normals (walls: two triangles, pieces: ear clipping)."""
    vertices, faces = [], []
    offset = 0
    for s in surfaces:
        pts = s.corners.T
        if s.kind == "wall":
            tris = np.array([[0, 1, 2], [0, 2, 3]])
        else:
            tris = _triangulate(pts[:, :2])
            if s.kind == "floor":
                tris = tris[:, ::-1]  # floor faces point down, out of the air volume
        vertices.append(pts)
        faces.append(tris + offset)
        offset += len(pts)
    mesh = trimesh.Trimesh(np.concatenate(vertices), np.concatenate(faces), process=True)
    mesh.merge_vertices(digits_vertex=7)
    return mesh
