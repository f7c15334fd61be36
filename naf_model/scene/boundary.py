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

from naf_model.scene.floorplan import TOL, Room, Window
from naf_model.scene.surface import Surface


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
        inside = (off < TOL) & (t * length > TOL) & ((1 - t) * length > TOL)
        for k in np.argsort(t[inside]):
            out.append(points[inside][k])
        out.append(b)
    return np.asarray(out)


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
            if abs(_cross(ab, d)) > 1e-9 or abs(_cross(d, a - s)) > 0.5 * wall + TOL:
                continue
            points.append(np.array([a + ((q - a) @ ab) * ab for q in (s, e)]))
    allpts = np.unique(np.round(np.concatenate(points), 9), axis=0)
    ring = _split_ring(ring, allpts)[:-1]
    piece_rings = [_split_ring(np.asarray(p.exterior.coords), allpts)[:-1] for p in pieces]
    return ring, piece_rings


def _window_at(m: np.ndarray, a: np.ndarray, b: np.ndarray, windows: list[Window], wall: float) -> str | None:
    """The material of the window whose wall contains the ring edge a-b (midpoint m), else None."""
    e = (b - a) / np.linalg.norm(b - a)
    for w in windows:
        s, f = np.asarray(w.start, float), np.asarray(w.end, float)
        d = (f - s) / np.linalg.norm(f - s)
        if abs(_cross(e, d)) > 1e-9:
            continue
        t = (m - s) @ d / np.linalg.norm(f - s)
        if abs(_cross(d, m - s)) <= 0.5 * wall + TOL and 0 < t < 1:
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

    Earcut drops vertices that lie on a straight edge; triangles are split at those vertices again so that
    every ring vertex is used (no T-junctions against the wall quads).
    """
    tris = mapbox_earcut.triangulate_float64(ring, np.array([len(ring)], dtype=np.uint32)).reshape(-1, 3)
    tris = [list(t) for t in tris]
    for v in range(len(ring)):
        k = 0
        while k < len(tris):
            t = tris[k]
            for j in range(3):
                i0, i1, i2 = t[j], t[(j + 1) % 3], t[(j + 2) % 3]
                if v in t:
                    break
                a, b, p = ring[i0], ring[i1], ring[v]
                ab = b - a
                length = np.hypot(*ab)
                along = (p - a) @ ab / length**2
                off = abs((p[0] - a[0]) * ab[1] - (p[1] - a[1]) * ab[0]) / length
                if off < TOL and TOL < along * length < length - TOL:
                    tris[k] = [i0, v, i2]
                    tris.append([v, i1, i2])
                    break
            k += 1
    out = np.asarray(tris, dtype=np.int64)
    p = ring[out]
    area = (p[:, 1, 0] - p[:, 0, 0]) * (p[:, 2, 1] - p[:, 0, 1]) - (p[:, 2, 0] - p[:, 0, 0]) * (
        p[:, 1, 1] - p[:, 0, 1]
    )
    out[area < 0] = out[area < 0][:, ::-1]
    return out[np.abs(area) > 1e-12]


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
