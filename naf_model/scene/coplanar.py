"""The simulator's walls of a mesh: coplanar triangles of one material merged into hole-free polygons.

A mesh's faces are grouped by (material, normal rounded to 1e-4, plane offset rounded to 0.1 mm) in one
numpy pass; the groups keep the order of their first face. Each group's triangles are projected into their
plane, snapped to the 1 um grid and unioned: groups of a few faces with one GEOS call for all groups of
the same size, large groups (a finely subdivided wall) as a coverage union, which needs no overlay because
a closed mesh's triangles meet edge to edge (checked by area; an overlay union where they do not). The
polygons are cut into hole-free parts (pyroomacoustics walls must be simple) and lifted back to 3-D,
corners counter-clockwise about the group's normal, i.e. wound like the mesh.
"""

from __future__ import annotations

import numpy as np
import shapely
import trimesh
from shapely.geometry import Polygon
from tqdm import tqdm

from naf_model.scene.boundary import hole_free_parts
from naf_model.scene.floorplan import GRID
from naf_model.scene.surface import Surface

COVERAGE_MIN_FACES = 256
"""Groups of at least this many triangles are unioned as a coverage (linear time) instead of by overlay."""
PROGRESS_MIN_FACES = 50_000
"""Meshes with at least this many faces to snap show a progress bar (a 327k-face mesh takes ~10-20 s)."""
SNAP_CHUNK = 20_000
MIN_PART_AREA_M2 = 1e-8
"""Polygons smaller than this (slivers of the snapping) are not walls."""


def plane_groups(normals: np.ndarray, offsets: np.ndarray, materials: list[str]) -> list[np.ndarray]:
    """Face indices of each (material, plane) group, in the order of each group's first face.

    normals (F, 3) unit vectors, offsets (F,) metres (normal . point), materials (F,) names. Normals are
    rounded to 4 decimals, offsets to 4 decimals as Python's `round` does (so the keys, and the walls, are
    the ones earlier versions made); -0.0 and 0.0 are one key.
    """
    if len(normals) == 0:
        return []
    _, material_codes = np.unique(np.asarray(materials, dtype=str), return_inverse=True)
    rounded_offsets = np.array([round(float(o), 4) for o in offsets], dtype=np.float64)
    keys = np.column_stack([material_codes.reshape(-1), np.round(normals, 4), rounded_offsets]) + 0.0
    _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    rank = np.empty(len(first), dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(first))
    group_of_face = rank[inverse]
    order = np.argsort(group_of_face, kind="stable")
    bounds = np.flatnonzero(np.diff(group_of_face[order])) + 1
    return np.split(order, bounds)


def _plane_bases(n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors u, v (G, 3) spanning the planes of unit normals n (G, 3), with u x v = n."""
    helper = np.where(np.abs(n[:, :1]) < 0.9, [[1.0, 0.0, 0.0]], [[0.0, 1.0, 0.0]])
    u = np.cross(helper, n)
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    return u, np.cross(n, u)


def _snapped_groups(flat: np.ndarray, groups: list[np.ndarray], bar: tqdm) -> list[shapely.Geometry]:
    """The union of each group's 2-D triangles (F, 3, 2) on the 1 um grid: one geometry per group.

    Groups below COVERAGE_MIN_FACES go through GEOS's snapping and overlay exactly as a per-group
    `union_all(set_precision(...), grid_size)` would (a lone triangle's union is itself), so meshes keep the
    walls, and the geometry hashes, they had; the large ones are snapped by numpy and coverage-unioned.
    `bar` counts the snapped faces.
    """
    sizes = np.array([len(f) for f in groups])
    small = np.concatenate([f for f in groups if len(f) < COVERAGE_MIN_FACES] or [np.zeros(0, np.int64)])
    snapped = np.empty(len(flat), dtype=object)
    for start in range(0, len(small), SNAP_CHUNK):  # set_precision is elementwise: chunks change nothing
        rows = small[start : start + SNAP_CHUNK]
        snapped[rows] = shapely.set_precision(shapely.polygons(flat[rows]), GRID)
        bar.update(len(rows))
    regions: list[shapely.Geometry | None] = [None] * len(groups)
    for size in np.unique(sizes):
        members = np.flatnonzero(sizes == size)
        if size == 0:  # every triangle was flat in its plane
            for g in members:
                regions[g] = Polygon()
        elif size == 1:
            for g in members:
                regions[g] = snapped[groups[g][0]]
        elif size < COVERAGE_MIN_FACES:  # one vectorised overlay union per row of same-size groups
            table = np.stack([snapped[groups[g]] for g in members])
            for g, region in zip(members, shapely.union_all(table, grid_size=GRID, axis=1), strict=True):
                regions[g] = region
        else:
            for g in members:
                regions[g] = _coverage_union(shapely.polygons(np.round(flat[groups[g]] / GRID) * GRID))
                bar.update(size)
    return regions


def _coverage_union(tris: np.ndarray) -> shapely.Geometry:
    """Union of triangles that meet edge to edge (a closed mesh's), without an overlay; overlay if they overlap."""
    tris = tris[shapely.area(tris) > 0]  # slivers that snapping flattened
    region = shapely.coverage_union_all(tris)
    if abs(region.area - float(shapely.area(tris).sum())) <= 1e-9 * max(region.area, 1.0) and region.is_valid:
        return region
    return shapely.union_all(tris, grid_size=GRID)


def _lift(rings: list[Polygon], planes: np.ndarray, d: np.ndarray, n: np.ndarray, u: np.ndarray,
          v: np.ndarray) -> list[np.ndarray]:
    """(3, K) corners of hole-free plane polygons (their exterior, counter-clockwise in (u, v)), each lifted into
    the plane of its group `planes[i]`, in one numpy pass."""
    if not rings:
        return []
    exteriors = shapely.get_exterior_ring(np.asarray(rings, dtype=object))
    coords, which = shapely.get_coordinates(exteriors, return_index=True)
    lengths = np.bincount(which, minlength=len(rings)) - 1  # without the closing point
    starts = np.concatenate([[0], np.cumsum(lengths + 1)[:-1]])
    ring = np.repeat(np.arange(len(rings)), lengths)
    j = np.arange(len(ring)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    ccw = shapely.is_ccw(exteriors)[ring]
    j = np.where(ccw, j, (lengths[ring] - j) % lengths[ring])  # a reversed ring keeps its first point
    xy = coords[starts[ring] + j]
    g = planes[ring]
    points = d[g, None] * n[g] + u[g] * xy[:, :1] + v[g] * xy[:, 1:]
    return [np.ascontiguousarray(p.T) for p in np.split(points, np.cumsum(lengths)[:-1])]


def merge_coplanar(mesh: trimesh.Trimesh, face_materials: list[str]) -> list[Surface]:
    """Coplanar triangles of one material merged into hole-free polygons, corners wound like the mesh."""
    normals = mesh.face_normals
    offsets = np.einsum("ij,ij->i", normals, mesh.triangles[:, 0])
    groups = plane_groups(normals, offsets, face_materials)
    n = np.array([normals[f[0]] if len(f) == 1 else normals[f].mean(axis=0) for f in groups]).reshape(-1, 3)
    n /= np.linalg.norm(n, axis=1, keepdims=True)
    d = np.array([offsets[f[0]] if len(f) == 1 else np.mean(offsets[f]) for f in groups])
    u, v = _plane_bases(n)
    group_of_face = np.empty(len(normals), dtype=np.int64)
    for g, faces in enumerate(groups):
        group_of_face[faces] = g
    tris, fu, fv = mesh.triangles, u[group_of_face], v[group_of_face]
    flat = np.stack([np.einsum("fki,fi->fk", tris, fu), np.einsum("fki,fi->fk", tris, fv)], axis=-1)
    e1, e2 = flat[:, 1] - flat[:, 0], flat[:, 2] - flat[:, 0]
    area = 0.5 * np.abs(e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0])
    groups_2d = [f[area[f] > 0] for f in groups]
    with tqdm(total=len(flat), unit="face", desc="mesh faces into walls", leave=False,
              disable=len(flat) < PROGRESS_MIN_FACES) as bar:  # the snapping is most of a big mesh's time
        regions = _snapped_groups(flat, groups_2d, bar)
    parts, planes = shapely.get_parts(np.asarray(regions, dtype=object), return_index=True)
    keep = (shapely.get_type_id(parts) == shapely.GeometryType.POLYGON) & (shapely.area(parts) >= MIN_PART_AREA_M2)
    parts, planes = shapely.simplify(parts[keep], 1e-7), planes[keep]
    simple = (shapely.get_num_interior_rings(parts) == 0) & (shapely.area(parts) >= 1e-9)
    pieces: list[list[Polygon]] = [[p] if ok else hole_free_parts(p) for p, ok in zip(parts, simple, strict=True)]
    flat_pieces = [q for piece in pieces for q in piece]
    owner = np.repeat(planes, [len(piece) for piece in pieces]).astype(np.int64)
    corners = _lift(flat_pieces, owner, d, n, u, v)
    kinds = np.where(n[:, 2] < -0.9, "floor", np.where(n[:, 2] > 0.9, "ceiling", "wall"))
    return [
        Surface(c, face_materials[groups[g][0]], str(kinds[g])) for c, g in zip(corners, owner, strict=True)
    ]
