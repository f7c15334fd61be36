"""Scenes from closed meshes (anything trimesh reads): the air volume is cut at ear height to get the plan.

The mesh must enclose the air of the room (its inside is the room), z up; glTF/GLB files are y up by
their specification and are turned to z up. The floor is the lowest point, the ceiling the highest.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import shapely
import trimesh
from shapely.geometry import Polygon

from naf_model.conventions import EAR_HEIGHT_M
from naf_model.errors import SceneError
from naf_model.scene.floorplan import GRID, Room
from naf_model.scene.scene import DEFAULT_MATERIALS, Scene

Y_UP_SUFFIXES = (".glb", ".gltf")
Y_UP_TO_Z_UP = np.array([[1, 0, 0, 0], [0, 0, -1, 0], [0, 1, 0, 0], [0, 0, 0, 1]], dtype=float)
"""Rotation by +90 degrees about x: the y-up axis becomes z, and -z (glTF's forward) becomes y."""


def read_mesh(path: Path, up: str | None = None) -> trimesh.Trimesh:
    """The mesh at `path` as one z-up Trimesh; SceneError if unreadable, empty or not closed."""
    if not path.is_file():
        raise SceneError(f"mesh file {path} does not exist")
    try:
        mesh = trimesh.load(path, force="mesh", process=True)
    except Exception as exc:  # trimesh raises many exception types for broken files
        raise SceneError(f"cannot read mesh {path}: {exc}") from None
    if not isinstance(mesh, trimesh.Trimesh) or len(mesh.faces) == 0:
        raise SceneError(f"mesh {path} has no triangles; export the room as a closed surface mesh")
    mesh.merge_vertices()
    if not mesh.is_watertight:
        raise SceneError(
            f"mesh {path} is not closed (it has holes or loose edges); close it in your modelling tool "
            "so that it encloses the room's air"
        )
    if (up or ("y" if path.suffix.lower() in Y_UP_SUFFIXES else "z")) == "y":
        mesh.apply_transform(Y_UP_TO_Z_UP)
    return mesh


def plan_from_mesh(mesh: trimesh.Trimesh, ear_height: float, label: str = "the mesh") -> Polygon:
    """The cut through the closed mesh `ear_height` metres above its lowest point, as one polygon."""
    zmin = float(mesh.bounds[0, 2])
    origin = [0.0, 0.0, zmin + ear_height]
    lines = trimesh.intersections.mesh_plane(mesh, plane_normal=[0, 0, 1], plane_origin=origin)
    if len(lines) == 0:
        raise SceneError(f"{label} has no cut at ear height, {ear_height} m above its floor")
    # snap the cut segments so that their ends meet, node them, and close them into loops
    segments = shapely.union_all(shapely.linestrings(np.round(lines[:, :, :2], 6)), grid_size=GRID)
    faces = shapely.polygonize([segments])
    region = Polygon()
    for face in getattr(faces, "geoms", []):
        # even-odd over the loops: a point is inside the closed surface when it is inside an odd number
        region = shapely.symmetric_difference(region, Polygon(face.exterior), grid_size=GRID)
    region = shapely.simplify(region, 1e-6)
    if not isinstance(region, Polygon) or region.is_empty:
        n = len(getattr(region, "geoms", []))
        raise SceneError(f"{label} cut at ear height falls into {n} separate parts; give a single room")
    if region.interiors:
        raise SceneError(
            f"{label} cut at ear height has holes (pillars or free-standing walls), which pyroomacoustics "
            "cannot model; join them to an outer wall"
        )
    return region


def scene_from_mesh(path: str | Path, up: str | None = None, ear_height: float = EAR_HEIGHT_M) -> Scene:
    """A one-room scene whose free space is the mesh's section at ear height, with default materials.

    The plan is moved so the floor is at z = 0; walls have zero thickness (the mesh faces are the walls).
    """
    path = Path(path)
    mesh = read_mesh(path, up)
    height = round(float(mesh.extents[2]), 4)  # float32 formats (PLY, STL, GLB) give 2.5999999
    if height <= ear_height:
        raise SceneError(f"mesh {path} is {height:.2f} m high, not above the ear height {ear_height} m")
    plan = plan_from_mesh(mesh, ear_height, f"mesh {path}")
    room = Room(
        path.stem, plan, DEFAULT_MATERIALS["floor"], DEFAULT_MATERIALS["ceiling"], DEFAULT_MATERIALS["walls"]
    )
    return Scene(path.stem, [room], ceiling_height=height, ear_height=ear_height, wall_thickness=0.0)
