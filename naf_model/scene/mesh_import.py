"""Scenes from closed meshes (anything trimesh reads; OBJ read here so its groups survive): rooms, interior
walls, columns and furniture, with materials from the mesh's material and group names.

The mesh is the boundary of the air (its inside is the air), z up; glTF/GLB files are y up by their
specification and are turned to z up. The floor is the lowest point, the ceiling the highest. Coplanar
triangles of one material are merged into polygons (cut into hole-free pieces, as pyroomacoustics walls
must be); these, not the triangles, are the simulator's walls. The plan is the section at ear height: it may
have holes (columns, wardrobes). Rooms are the OBJ groups (`g`) of the floor faces, else one room.

The jobs live in their own modules: `mesh_read` (files to labelled triangles), `mesh_materials` (names to
naf materials), `coplanar` (triangles to the simulator's walls); this one makes the scene of them.
"""

from __future__ import annotations

import hashlib
import json
from functools import cached_property
from pathlib import Path

import numpy as np
import shapely
import trimesh
from shapely.geometry import Polygon
from shapely.geometry.polygon import orient

from naf_model.conventions import EAR_HEIGHT_M, WALL_CLEARANCE_M
from naf_model.errors import SceneError
from naf_model.paths import file_stem
from naf_model.scene.coplanar import merge_coplanar
from naf_model.scene.floorplan import GRID, Room
from naf_model.scene.materials import MATERIALS
from naf_model.scene.mesh_materials import face_materials, load_material_map
from naf_model.scene.mesh_read import LabelledMesh, read_mesh
from naf_model.scene.scene import DEFAULT_MATERIALS, Scene, check_heights
from naf_model.scene.surface import Surface

ISM_ORDER_RULE = ((100, 3), (150, 2))
"""Image-source order from the number of simulator walls: up to 100 walls order 3 (an unfurnished flat has
about 64), up to 150 order 2 (furnished apartment_1, 136 walls: 53 CPU-s per emitter block), else 1
(furnished apartment_2, 171 walls: 46 CPU-s at order 1 against 79 at order 2).
The image-source count grows like walls**order, so a furnished mesh keeps one emitter's run near a few
seconds; `naf data make --ism-order` overrides it, the ray tracer covers the rest of the reflections."""


def ism_order_for(n_walls: int) -> int:
    """The image-source order `ISM_ORDER_RULE` picks for a scene of `n_walls` simulator walls."""
    for limit, order in ISM_ORDER_RULE:
        if n_walls <= limit:
            return order
    return 1


def winding_number(triangles: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Generalised winding number (N,) of points (N, 3) w.r.t. a closed triangle soup (F, 3, 3): about 1
    inside, 0 outside (van Oosterom & Strackee's solid angle of each triangle, summed over 4 pi)."""
    a = triangles[None, :, 0] - points[:, None]
    b = triangles[None, :, 1] - points[:, None]
    c = triangles[None, :, 2] - points[:, None]
    la, lb, lc = (np.linalg.norm(x, axis=-1) for x in (a, b, c))
    det = np.einsum("nfi,nfi->nf", a, np.cross(b, c))
    dots = la * lb * lc + np.einsum("nfi,nfi->nf", a, b) * lc
    dots += np.einsum("nfi,nfi->nf", b, c) * la + np.einsum("nfi,nfi->nf", c, a) * lb
    return np.arctan2(det, dots).sum(axis=1) / (2 * np.pi)


def plan_from_mesh(mesh: trimesh.Trimesh, ear_height: float, label: str = "the mesh") -> Polygon:
    """The section of the closed mesh `ear_height` above its lowest point: one polygon, holes allowed."""
    zmin = float(mesh.bounds[0, 2])
    origin = [0.0, 0.0, zmin + ear_height]
    lines = trimesh.intersections.mesh_plane(mesh, plane_normal=[0, 0, 1], plane_origin=origin)
    if len(lines) == 0:
        raise SceneError(
            f"{label} encloses no air at ear height, {ear_height} m above its floor; check that the mesh is "
            "the room's inside surface, z up (or y up for glTF), in metres (--units)"
        )
    segments = shapely.union_all(shapely.linestrings(np.round(lines[:, :, :2], 6)), grid_size=GRID)
    faces = shapely.polygonize([segments])
    region = Polygon()
    for face in getattr(faces, "geoms", []):
        # even-odd over the loops: inside the closed surface when inside an odd number of them
        region = shapely.symmetric_difference(region, Polygon(face.exterior), grid_size=GRID)
    region = shapely.simplify(region, 1e-6)
    if region.is_empty or region.area < 0.5:
        raise SceneError(f"{label} encloses no air at ear height, {ear_height} m above its floor")
    if not isinstance(region, Polygon):
        n = len(getattr(region, "geoms", []))
        raise SceneError(f"{label} cut at ear height falls into {n} separate parts; join the rooms with doors")
    return orient(region, 1.0)


class MeshScene(Scene):
    """A scene whose boundary is a closed mesh: surfaces are its merged faces, the plan its ear-height cut.

    Same interface as `Scene` (free space with holes, is_free, sample_grid, surfaces, mesh, geometry_hash);
    no doors or windows (they are in the geometry) and zero wall thickness (the mesh faces are the walls).
    """

    def __init__(
        self, name: str, labelled: LabelledMesh, table: dict[str, str], ear_height: float = EAR_HEIGHT_M
    ) -> None:
        name = file_stem(name)
        mesh = labelled.mesh.copy()
        mesh.apply_translation([0.0, 0.0, -float(mesh.bounds[0, 2])])
        height = round(float(mesh.extents[2]), 4)  # float32 formats (PLY, STL, GLB) give 2.5999999
        if height <= ear_height:
            raise SceneError(f"mesh {name} is {height:.2f} m high, not above the ear height {ear_height} m")
        check_heights(height, ear_height, 0.0, f"the height of mesh {name}", mesh=True)
        self.name, self.ceiling_height, self.ear_height = name, height, float(ear_height)
        self.wall_thickness, self.doors, self.windows, self.obstacles = 0.0, [], [], []
        self.defaults = dict(DEFAULT_MATERIALS)
        self._mesh = mesh
        normals_z = mesh.face_normals[:, 2]
        self.face_labels = list(zip(labelled.materials, labelled.groups, strict=True))
        self.face_materials = face_materials(self.face_labels, table, normals_z)
        self.free_space = plan_from_mesh(mesh, ear_height, f"mesh {name}")
        self.plan = Polygon(self.free_space.exterior)
        self.rooms = self._rooms(labelled.groups, normals_z)
        self._room_pieces = [
            shapely.intersection(r.polygon, self.plan, grid_size=GRID) for r in self.rooms
        ]
        self.floor_pieces = [shapely.intersection(r.polygon, self.free_space, grid_size=GRID) for r in self.rooms]
        self._clear = self.free_space.buffer(-WALL_CLEARANCE_M)
        shapely.prepare(self._clear)

    def _rooms(self, groups: list[str], normals_z: np.ndarray) -> list[Room]:
        """One room per group of the floor faces (the lowest, downward faces); else one room for all."""
        floor = np.flatnonzero((normals_z < -0.9) & (self._mesh.triangles[:, :, 2].max(axis=1) < 1e-4))
        by_group: dict[str, list[int]] = {}
        for f in floor:
            by_group.setdefault(groups[f], []).append(int(f))
        named = {g: fs for g, fs in by_group.items() if g}
        if len(named) < 2 or len(named) != len(by_group):
            return [Room(self.name, self.plan, *self._materials(floor))]
        rooms = []
        for group, faces in named.items():
            tris = self._mesh.triangles[faces][:, :, :2]
            poly = shapely.union_all([Polygon(t) for t in tris], grid_size=GRID)
            if not isinstance(poly, Polygon):
                poly = max(poly.geoms, key=lambda p: p.area)
            # the floor has holes where furniture stands on it; the room is the whole outline
            outline = orient(Polygon(poly.exterior), 1.0)
            rooms.append(Room(group.replace("_", " "), outline, *self._materials(np.asarray(faces))))
        return rooms

    def _materials(self, floor_faces: np.ndarray) -> tuple[str, str, str]:
        """(floor, ceiling, walls) materials of a room for drawing: its floor faces' most common material."""
        counts: dict[str, int] = {}
        for f in floor_faces:
            counts[self.face_materials[f]] = counts.get(self.face_materials[f], 0) + 1
        floor = max(counts, key=counts.get) if counts else DEFAULT_MATERIALS["floor"]
        return floor, DEFAULT_MATERIALS["ceiling"], DEFAULT_MATERIALS["walls"]

    @cached_property
    def _surfaces(self) -> list[Surface]:
        return merge_coplanar(self._mesh, self.face_materials)

    def simulation_surfaces(self) -> list[Surface]:
        """The simulator's walls: the merged mesh faces, as `surfaces()`."""
        return list(self._surfaces)

    @property
    def volume(self) -> float:
        """Air volume enclosed by the mesh, m^3."""
        return float(self._mesh.volume)

    def is_air(self, points: np.ndarray) -> np.ndarray:
        """(N,) bool: which points (N, 3) metres lie inside the mesh (generalised winding number > 1/2)."""
        return winding_number(self._mesh.triangles, np.atleast_2d(np.asarray(points, float))) > 0.5

    def mesh(self) -> trimesh.Trimesh:
        """The imported triangle mesh, floor at z = 0 (metres, watertight, normals out of the air)."""
        return self._mesh.copy()

    def wall_polygons(self) -> list[Polygon]:
        """No wall solids: the mesh's faces are the walls (drawn as the free-space outline)."""
        return []

    def ism_order(self) -> int:
        """The image-source order `ISM_ORDER_RULE` picks for this mesh's walls."""
        return ism_order_for(len(self._surfaces))

    def material_report(self) -> list[tuple[str, str, int, float]]:
        """(mesh label, naf material, triangles, area m2) per label, largest area first."""
        areas = self._mesh.area_faces
        rows: dict[tuple[str, str], list[float]] = {}
        for f, (labels, material) in enumerate(zip(self.face_labels, self.face_materials, strict=True)):
            label = labels[0] or labels[1] or "(unnamed)"
            row = rows.setdefault((label, material), [0, 0.0])
            row[0] += 1
            row[1] += float(areas[f])
        return sorted(((k[0], k[1], int(v[0]), v[1]) for k, v in rows.items()), key=lambda r: -r[3])

    def to_dict(self) -> dict:
        """Mesh scenes have no scene.json form."""
        raise SceneError(f"scene {self.name!r} comes from a mesh; it has no scene.json form")

    def geometry_hash(self) -> str:
        """sha256 hex of the simulator's walls (corners rounded to 0.1 mm) and their materials' coefficients."""
        h = hashlib.sha256()
        for s in self._surfaces:
            h.update(np.round(s.corners, 4).tobytes())
            m = MATERIALS[s.material]
            h.update(json.dumps([s.material, *m.absorption, m.scattering]).encode())
        h.update(json.dumps([self.ceiling_height, self.ear_height]).encode())
        return h.hexdigest()

    def __repr__(self) -> str:
        return f"MeshScene({self.name!r}, {len(self.rooms)} rooms, {self.area:.1f} m2 free)"


def scene_from_mesh(
    path: str | Path,
    up: str | None = None,
    ear_height: float = EAR_HEIGHT_M,
    materials: str | Path | None = None,
    units: str = "m",
) -> MeshScene:
    """A scene from a closed mesh file; `materials` a JSON map of mesh names to naf materials.

    Without a map, a `<stem>.materials.json` next to the mesh is used when present.
    """
    path = Path(path)
    if materials is None and path.with_suffix(".materials.json").is_file():
        materials = path.with_suffix(".materials.json")
    table = load_material_map(materials)
    return MeshScene(path.stem, read_mesh(path, up, units), table, ear_height)
