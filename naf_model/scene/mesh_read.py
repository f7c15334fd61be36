"""Reading a closed mesh file into labelled triangles: z up, metres, with each face's material and group name.

OBJ is read here, so that its `usemtl` materials and `g`/`o` groups survive, with a one-line SceneError for
any malformed line; every other format goes through trimesh. glTF/GLB files are y up by their
specification and are turned to z up.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import trimesh

from naf_model.errors import SceneError

Y_UP_SUFFIXES = (".glb", ".gltf")
Y_UP_TO_Z_UP = np.array([[1, 0, 0, 0], [0, 0, -1, 0], [0, 1, 0, 0], [0, 0, 0, 1]], dtype=float)
"""Rotation by +90 degrees about x: the y-up axis becomes z, and -z (glTF's forward) becomes y."""
UNITS = {"m": 1.0, "cm": 0.01, "mm": 0.001}
"""Metres per unit of the mesh file."""
MAX_EXTENT_M = 200.0
"""A mesh wider than this (in metres after `units`) is taken to be in the wrong unit."""


@dataclass(frozen=True)
class LabelledMesh:
    """Triangles of the air's boundary, z up, metres: mesh, and per face its material and group labels."""

    mesh: trimesh.Trimesh
    materials: list[str]
    groups: list[str]


def read_obj(path: Path) -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
    """Vertices (V, 3), triangles (F, 3) and per-face `usemtl` and `g`/`o` names of an OBJ (polygons fanned).

    SceneError naming the line for a vertex that is not three finite numbers or a face that names a vertex
    the file does not have (OBJ counts from 1; negative indices count back from the last vertex read).
    """
    vertices, faces, materials, groups = [], [], [], []
    material, group = "", ""
    for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        key = parts[0]
        try:
            if key == "v":
                xyz = [float(v) for v in parts[1:4]]
                if len(xyz) != 3 or not all(map(math.isfinite, xyz)):
                    raise ValueError("a vertex needs three finite numbers x y z")
                vertices.append(xyz)
            elif key == "f":
                idx = [int(p.split("/")[0]) for p in parts[1:]]
                idx = [i - 1 if i > 0 else len(vertices) + i for i in idx]
                if any(i < 0 or i >= len(vertices) for i in idx):
                    raise ValueError(f"the face names a vertex the file does not have ({len(vertices)} read so far)")
                for k in range(1, len(idx) - 1):
                    faces.append([idx[0], idx[k], idx[k + 1]])
                    materials.append(material)
                    groups.append(group)
            elif key == "usemtl":
                material = " ".join(parts[1:])
            elif key in ("g", "o"):
                group = " ".join(parts[1:])
        except ValueError as exc:
            detail = str(exc) if "vertex" in str(exc) else f"not a number in {line.strip()[:40]!r}"
            raise SceneError(f"mesh {path} line {number}: {detail}") from None
    return np.asarray(vertices, float).reshape(-1, 3), np.asarray(faces, int).reshape(-1, 3), materials, groups


def _load(path: Path) -> tuple[trimesh.Trimesh, list[str], list[str]]:
    """The triangles of any mesh file with their material and group names (one name per part if not OBJ)."""
    if path.suffix.lower() == ".obj":
        vertices, faces, materials, groups = read_obj(path)
        return trimesh.Trimesh(vertices, faces, process=False), materials, groups
    loaded = trimesh.load(path)
    parts = list(loaded.dump()) if isinstance(loaded, trimesh.Scene) else [loaded]
    parts = [p for p in parts if isinstance(p, trimesh.Trimesh)]
    names = [str(p.metadata.get("name", "")) for p in parts]
    for p in parts:
        if len(p.faces) and (p.faces.min() < 0 or p.faces.max() >= len(p.vertices)):
            raise ValueError(f"a face names a vertex the file does not have ({len(p.vertices)} vertices)")
    mesh = trimesh.util.concatenate(parts) if parts else trimesh.Trimesh()
    materials = [n for p, n in zip(parts, names, strict=True) for _ in range(len(p.faces))]
    return mesh, materials, list(materials)


def read_mesh(path: Path, up: str | None = None, units: str = "m") -> LabelledMesh:
    """The mesh at `path`, z up, in metres, with face labels; SceneError if unreadable, empty, open or huge."""
    if not path.is_file():
        raise SceneError(f"mesh file {path} does not exist")
    if units not in UNITS:
        raise SceneError(f"unknown units {units!r}; use one of: {', '.join(UNITS)}")
    try:
        mesh, materials, groups = _load(path)
    except (ValueError, IndexError, OSError, KeyError) as exc:
        raise SceneError(f"cannot read mesh {path}: {exc}") from None
    if not np.isfinite(mesh.vertices).all():
        raise SceneError(f"mesh {path} has vertices that are not finite numbers (NaN or infinity)")
    if len(mesh.faces) == 0:
        raise SceneError(f"mesh {path} has no triangles; export the room as a closed surface mesh")
    mesh.apply_scale(UNITS[units])
    if (up or ("y" if path.suffix.lower() in Y_UP_SUFFIXES else "z")) == "y":
        mesh.apply_transform(Y_UP_TO_Z_UP)
    keep = mesh.nondegenerate_faces(height=1e-9)
    mesh.update_faces(keep)
    materials = [m for m, k in zip(materials, keep, strict=True) if k]
    groups = [g for g, k in zip(groups, keep, strict=True) if k]
    mesh.merge_vertices(digits_vertex=6)
    extent = float(mesh.extents.max())
    if extent > MAX_EXTENT_M:
        hint = "mm" if extent / 1000 <= MAX_EXTENT_M else "a smaller unit"
        raise SceneError(
            f"mesh {path} is {extent:.0f} m across, too large for a dwelling; if it is in millimetres or "
            f"centimetres pass --units {hint if units == 'm' else 'mm'} (now --units {units})"
        )
    if not mesh.is_watertight:
        raise SceneError(
            f"mesh {path} is not closed (it has holes or loose edges); close it in your modelling tool "
            "so that it encloses the room's air"
        )
    if mesh.volume < 0:  # inward winding: turn it so normals point out of the air
        mesh.invert()
    return LabelledMesh(mesh, materials, groups)


