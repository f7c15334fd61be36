"""Write the bundled mesh scene assets/scenes/small_house/small_house.obj (+ .mtl) from our own geometry.

A 45 m2 two-room house (a living room with a kitchen corner and a free-standing column, a bedroom), its
furniture as solids, built as a floor plan in code and exported as the closed boundary of its air: one OBJ
group (`g`) per room or piece of furniture, one `usemtl` per naf material, so the mesh path (groups ->
rooms, material names -> materials, holes at ear height) runs end to end on a bundled scene.

    python scripts/make_mesh_scene.py            # rewrites the asset
    python scripts/make_mesh_scene.py --check    # fails if the asset differs from what it would write
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from naf_model.paths import SCENES_DIR
from naf_model.scene import Scene
from naf_model.scene.boundary import surfaces_mesh
from naf_model.simulate.room import newell_normal

NAME = "small_house"


def _box(name: str, center: tuple, size: tuple, z: tuple, material: str) -> dict:
    """An axis-aligned box obstacle as a scene file holds it."""
    return {"kind": "box", "name": name, "center": list(center), "size": list(size), "z": list(z), "material": material}


PLAN = {
    "name": NAME,
    "ceiling_height": 2.5,
    "wall_thickness": 0.15,
    "rooms": [
        {"name": "living room", "polygon": [[0, 0], [6.0, 0], [6.0, 4.6], [0, 4.6]], "floor": "wood"},
        {"name": "bedroom", "polygon": [[6.0, 0], [10.0, 0], [10.0, 4.6], [6.0, 4.6]], "floor": "carpet"},
    ],
    "doors": [{"at": [6.0, 3.6], "width": 0.9}],
    "windows": [
        {"from": [1.0, 0.0], "to": [3.4, 0.0], "material": "glass"},
        {"from": [0.0, 1.6], "to": [0.0, 3.2], "material": "glass"},
        {"from": [7.2, 0.0], "to": [8.8, 0.0], "material": "curtains"},
    ],
    "obstacles": [
        # name, footprint centre and size (m), z range (m), material
        _box("column", (3.2, 2.4), (0.3, 0.3), (0, 2.5), "concrete"),
        _box("sofa", (1.6, 3.95), (2.0, 0.85), (0, 0.85), "upholstery"),
        _box("kitchen counter", (5.6, 1.7), (0.6, 2.6), (0, 0.9), "kitchen_units"),
        _box("dining table", (4.2, 3.7), (1.4, 0.8), (0.72, 0.76), "wood_furniture"),
        _box("bed", (8.0, 1.3), (1.6, 2.0), (0, 0.55), "mattress"),
        _box("wardrobe", (9.6, 3.2), (0.6, 1.8), (0, 2.2), "wood_furniture"),
    ],
}


def house() -> Scene:
    """The house as a floor-plan scene (the source of the mesh)."""
    return Scene.from_dict(PLAN)


def obj_text(scene: Scene) -> tuple[str, str]:
    """(OBJ, MTL) text: every surface ear-clipped into triangles, grouped by room or obstacle, by material."""
    runs: dict[tuple[str, str], list[np.ndarray]] = {}
    for s in scene.surfaces():
        n = newell_normal(s.corners)
        inside = s.corners.mean(axis=1) - 0.05 * n  # just inside the air, to find the room
        if s.kind == "obstacle":
            group = next(o.name for o in scene.obstacles if o.footprint.buffer(0.06).contains(_pt(inside)))
        else:
            group = scene.room_at(*inside[:2]) or scene.rooms[0].name
        runs.setdefault((group.replace(" ", "_"), s.material), []).append(s)
    vertices: list[str] = []
    index: dict[tuple, int] = {}
    faces = [f"mtllib {NAME}.mtl"]
    for (group, material), surfaces in runs.items():
        faces += [f"g {group}", f"usemtl {material}"]
        mesh = surfaces_mesh(surfaces)
        for tri in mesh.faces:
            ids = []
            for v in mesh.vertices[tri]:
                key = tuple(np.round(v, 6))
                if key not in index:
                    index[key] = len(index) + 1
                    vertices.append(f"v {key[0]:.6f} {key[1]:.6f} {key[2]:.6f}")
                ids.append(index[key])
            faces.append("f " + " ".join(map(str, ids)))
    header = [f"# {NAME}: written by scripts/make_mesh_scene.py; the closed boundary of the air, z up, metres"]
    mtl = "".join(f"newmtl {m}\nKd 0.8 0.8 0.8\n" for m in sorted({m for _, m in runs}))
    return "\n".join(header + vertices + faces) + "\n", mtl


def _pt(p: np.ndarray):
    import shapely

    return shapely.Point(float(p[0]), float(p[1]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="compare with the asset instead of writing it")
    parser.add_argument("--out-dir", type=Path, default=SCENES_DIR / NAME)
    args = parser.parse_args(argv)
    obj, mtl = obj_text(house())
    paths = {args.out_dir / f"{NAME}.obj": obj, args.out_dir / f"{NAME}.mtl": mtl}
    if args.check:
        stale = [p for p, text in paths.items() if not p.is_file() or p.read_text() != text]
        for p in stale:
            print(f"{p} is out of date; run scripts/make_mesh_scene.py", file=sys.stderr)
        return 1 if stale else 0
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for p, text in paths.items():
        p.write_text(text)
        print(f"wrote {p}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
