"""Materials of a mesh's faces: the user's JSON map of mesh names to naf materials, else a keyword table."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from naf_model.errors import SceneError
from naf_model.scene.json_file import read_json
from naf_model.scene.materials import MATERIALS
from naf_model.scene.scene import DEFAULT_MATERIALS

KEYWORDS: tuple[tuple[str, str], ...] = (
    # (keyword in a material or group name, material); the first match wins, so specific words come first
    ("plasterboard", "plasterboard"),
    ("drywall", "plasterboard"),
    ("acoustic", "acoustic_panel"),
    ("carpet", "carpet"),
    ("rug", "carpet"),
    ("curtain", "curtains"),
    ("drape", "curtains"),
    ("glass", "glass"),
    ("window", "glass"),
    ("tile", "tiles"),
    ("ceramic", "ceramic"),
    ("bath", "ceramic"),
    ("sink", "ceramic"),
    ("sofa", "upholstery"),
    ("couch", "upholstery"),
    ("upholster", "upholstery"),
    ("fabric", "upholstery"),
    ("mattress", "mattress"),
    ("bed", "mattress"),
    ("book", "bookshelf"),
    ("shelf", "bookshelf"),
    ("kitchen", "kitchen_units"),
    ("counter", "kitchen_units"),
    ("worktop", "kitchen_units"),
    ("wardrobe", "wood_furniture"),
    ("cabinet", "wood_furniture"),
    ("table", "wood_furniture"),
    ("furniture", "wood_furniture"),
    ("parquet", "wood"),
    ("wood", "wood"),
    ("brick", "brick"),
    ("concrete", "concrete"),
    ("column", "concrete"),
    ("pillar", "concrete"),
    ("plaster", "plaster"),
    ("paint", "plaster"),
)
"""The default table from mesh material/group names to naf materials (see docs/internals.md)."""


def load_material_map(path: str | Path | None) -> dict[str, str]:
    """A user's {mesh material or group name: naf material} JSON table; SceneError for unknown materials."""
    if path is None:
        return {}
    path = Path(path)
    table = read_json(path, "material map", "a table of name: material", "(saved as Latin-1?); save it as UTF-8")
    if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
        raise SceneError(f"material map {path} must be a JSON object of name: material")
    for name, material in table.items():
        if material not in MATERIALS:
            raise SceneError(
                f"material map {path}: unknown material {material!r} for {name!r}; "
                f"use one of: {', '.join(sorted(MATERIALS))}"
            )
    return dict(table)


def material_for(labels: tuple[str, str], table: dict[str, str], normal_z: float) -> str:
    """The naf material of a face with (material, group) labels: the user table by exact name, then the
    keyword table on both names, then the default for its orientation (floor, ceiling or wall)."""
    for label in labels:
        if label in table:
            return table[label]
    for label in labels:
        low = label.lower()
        for keyword, material in KEYWORDS:
            if keyword in low:
                return material
    part = "floor" if normal_z < -0.9 else "ceiling" if normal_z > 0.9 else "walls"
    return DEFAULT_MATERIALS[part]




def face_materials(labels: list[tuple[str, str]], table: dict[str, str], normals_z: np.ndarray) -> list[str]:
    """`material_for` of every face (labels (F,) pairs, normals_z (F,)), looked up once per distinct
    (labels, floor/ceiling/wall) so that a mesh of many faces and few names costs one pass."""
    parts = np.where(normals_z < -0.9, -1, np.where(normals_z > 0.9, 1, 0))
    known: dict[tuple[tuple[str, str], int], str] = {}
    out = []
    for label, part in zip(labels, parts.tolist(), strict=True):
        key = (label, part)
        if key not in known:
            known[key] = material_for(label, table, float(part))
        out.append(known[key])
    return out
