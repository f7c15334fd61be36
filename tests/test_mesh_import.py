"""Mesh import: a closed two-room mesh with a free-standing column and material groups, made in the test."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import shapely
import trimesh

from naf_model.errors import SceneError
from naf_model.scene import load_scene
from naf_model.scene.mesh_import import ism_order_for, winding_number
from naf_model.simulate.eyring import eyring_t60, surface_area, surface_areas
from naf_model.simulate.room import newell_normal, point_on_surface, scene_walls


def write_obj(mesh: trimesh.Trimesh, labels: list[tuple[str, str]], path: Path) -> Path:
    """An OBJ with `g group` / `usemtl material` per face run, and a matching .mtl."""
    lines = [f"mtllib {path.stem}.mtl"] + [f"v {x:.6f} {y:.6f} {z:.6f}" for x, y, z in mesh.vertices]
    current = None
    for face, label in zip(mesh.faces, labels, strict=True):
        if label != current:
            lines += [f"g {label[0]}", f"usemtl {label[1]}"]
            current = label
        lines.append("f " + " ".join(str(i + 1) for i in face))
    path.write_text("\n".join(lines) + "\n")
    names = sorted({m for _, m in labels})
    path.with_suffix(".mtl").write_text("".join(f"newmtl {m}\nKd 0.8 0.8 0.8\n" for m in names))
    return path


def two_room_house(path: Path) -> Path:
    """Two 3 m x 3 m rooms (a 10 cm wall between them with a 0.9 m door), 2.5 m high, a 0.3 m column in the
    left room; floors 'kitchen'/'living' groups with tile/carpet materials, walls plaster, column concrete."""
    outer = shapely.box(0, 0, 6.1, 3)
    wall = shapely.box(3.0, 0, 3.1, 3).difference(shapely.box(3.0, 1.05, 3.1, 1.95))
    column = shapely.box(1.35, 1.35, 1.65, 1.65)
    plan = outer.difference(wall).difference(column)
    mesh = trimesh.creation.extrude_polygon(plan, 2.5)
    mesh.merge_vertices()
    centres = mesh.triangles_center
    normals = mesh.face_normals
    labels = []
    for c, n in zip(centres, normals, strict=True):
        room = "kitchen" if c[0] < 3.05 else "living"
        if n[2] < -0.9:
            labels.append((room, "floor_tile" if room == "kitchen" else "carpet"))
        elif n[2] > 0.9:
            labels.append((room, "ceiling_plaster"))
        elif column.buffer(0.01).contains(shapely.Point(c[:2])):
            labels.append(("column", "column_concrete"))
        else:
            labels.append((room, "wall_paint"))
    return write_obj(mesh, labels, path)


def test_a_two_room_mesh_with_a_column_gives_rooms_a_hole_and_materials(tmp_path):
    scene = load_scene(two_room_house(tmp_path / "house.obj"))
    assert [r.name for r in scene.rooms] == ["kitchen", "living"]
    assert len(scene.free_space.interiors) == 1
    assert not scene.is_free(1.5, 1.5) and scene.is_free(0.8, 0.8) and scene.is_free(4.5, 1.5)
    assert scene.room_at(0.8, 0.8) == "kitchen" and scene.room_at(4.5, 1.5) == "living"
    used = {s.material for s in scene.surfaces()}
    assert used == {"tiles", "carpet", "plaster", "concrete"}
    report = {(label, material) for label, material, _, _ in scene.material_report()}
    assert ("column_concrete", "concrete") in report and ("floor_tile", "tiles") in report
    # coplanar triangles merged: far fewer walls than triangles, the floor of each room one piece or two
    assert len(scene.surfaces()) < len(scene.mesh().faces) / 2
    assert scene.volume == pytest.approx((6.1 * 3 - 0.1 * 2.1 - 0.09) * 2.5, rel=1e-6)
    for w in scene_walls(scene):
        p, n = point_on_surface(w.corners), newell_normal(w.corners)
        assert scene.is_air((p - 0.01 * n)[None])[0] and not scene.is_air((p + 0.01 * n)[None])[0]
    assert 0.2 < eyring_t60(scene, 1000) < 3.0
    assert scene.geometry_hash() == load_scene(tmp_path / "house.obj").geometry_hash()


def test_a_user_material_map_overrides_the_keywords_and_unknown_materials_are_one_line(tmp_path):
    path = two_room_house(tmp_path / "house.obj")
    table = tmp_path / "map.json"
    table.write_text(json.dumps({"carpet": "wood", "column_concrete": "brick"}))
    scene = load_scene(path, materials=table)
    used = {s.material for s in scene.surfaces()}
    assert "carpet" not in used and {"wood", "brick"} <= used
    assert scene.geometry_hash() != load_scene(path).geometry_hash()
    table.write_text(json.dumps({"carpet": "lava"}))
    with pytest.raises(SceneError, match="unknown material 'lava' for 'carpet'") as info:
        load_scene(path, materials=table)
    assert "\n" not in str(info.value)


def test_bad_meshes_are_one_line_errors(tmp_path):
    path = two_room_house(tmp_path / "house.obj")
    mm = trimesh.load(path, force="mesh")
    mm.apply_scale(1000.0)
    mm.export(tmp_path / "house_mm.stl")
    with pytest.raises(SceneError, match="--units mm"):
        load_scene(tmp_path / "house_mm.stl")
    assert load_scene(tmp_path / "house_mm.stl", units="mm").area == pytest.approx(load_scene(path).area, rel=1e-4)
    low = trimesh.creation.box([4, 4, 1.0])
    low.export(tmp_path / "low.stl")
    with pytest.raises(SceneError, match="not above the ear height"):
        load_scene(tmp_path / "low.stl")
    # a closed mesh whose section at ear height is empty: two shells, the upper one floating above 1.5 m
    shells = trimesh.util.concatenate(
        [trimesh.creation.box([4, 4, 1.0]).apply_translation([0, 0, 0.5]),
         trimesh.creation.box([4, 4, 1.0]).apply_translation([0, 0, 2.5])]
    )
    shells.export(tmp_path / "gap.stl")
    with pytest.raises(SceneError, match="no air at ear height"):
        load_scene(tmp_path / "gap.stl")
    open_mesh = trimesh.load(path, force="mesh")
    open_mesh.update_faces(np.arange(1, len(open_mesh.faces)))
    open_mesh.export(tmp_path / "open.obj")
    with pytest.raises(SceneError, match="is not closed"):
        load_scene(tmp_path / "open.obj")


def test_ism_order_rule_falls_with_the_wall_count():
    assert [ism_order_for(n) for n in (6, 100, 101, 150, 151, 5000)] == [3, 3, 2, 2, 1, 1]


def _walls_as_sets(surfaces) -> list[tuple]:
    """Each surface as (material, kind, its corners rounded to 1 um, as a set), sorted: order-free comparison."""
    return sorted(
        (s.material, s.kind, tuple(sorted(map(tuple, np.round(s.corners.T, 6) + 0.0)))) for s in surfaces
    )


def test_merging_a_finely_subdivided_mesh_gives_the_walls_of_the_coarse_one():
    """Thousands of triangles per wall (the coverage union) make the same walls as two per wall (the overlay
    union): same corners, same materials, wound out of the air, areas adding up to the mesh's."""
    from naf_model.scene.coplanar import COVERAGE_MIN_FACES, merge_coplanar

    plan = shapely.box(0, 0, 6, 4).difference(shapely.box(2, 1.5, 2.4, 1.9))
    coarse = trimesh.creation.extrude_polygon(plan, 2.6)
    coarse.merge_vertices()
    fine = coarse
    for _ in range(4):
        fine = fine.subdivide()
    assert len(fine.faces) > 10 * COVERAGE_MIN_FACES

    def labels(mesh):  # carpet floor, concrete column, plaster elsewhere
        c, nz = mesh.triangles_center, mesh.face_normals[:, 2]
        column = [1.95 < x < 2.45 and 1.45 < y < 1.95 for x, y, _ in c]
        return ["carpet" if z < -0.9 else "concrete" if col and abs(z) < 0.1 else "plaster"
                for z, col in zip(nz, column, strict=True)]

    coarse_walls, fine_walls = merge_coplanar(coarse, labels(coarse)), merge_coplanar(fine, labels(fine))
    assert _walls_as_sets(fine_walls) == _walls_as_sets(coarse_walls)
    assert sum(shapely.Polygon(newell_2d(s)).area for s in fine_walls) == pytest.approx(fine.area, rel=1e-9)
    for s in fine_walls:  # wound like the mesh: the normal points out of the air
        p, n = point_on_surface(s.corners), newell_normal(s.corners)
        inside = winding_number(coarse.triangles, np.array([p - 0.01 * n, p + 0.01 * n]))
        assert inside[0] > 0.5 > inside[1]
        assert shapely.Polygon(newell_2d(s)).is_valid


def newell_2d(surface) -> np.ndarray:
    """A surface's corners in 2-D coordinates of its own plane (for areas and validity)."""
    n = newell_normal(surface.corners)
    u = np.cross(n, [1.0, 0, 0] if abs(n[0]) < 0.9 else [0, 1.0, 0])
    u /= np.linalg.norm(u)
    return np.column_stack([surface.corners.T @ u, surface.corners.T @ np.cross(n, u)])


def test_a_mesh_of_many_planes_keeps_one_wall_per_triangle_and_groups_keep_first_face_order():
    from naf_model.scene.coplanar import merge_coplanar, plane_groups

    sphere = trimesh.creation.icosphere(subdivisions=3, radius=4.0)
    walls = merge_coplanar(sphere, ["plaster"] * len(sphere.faces))
    assert len(walls) == len(sphere.faces)
    areas = surface_areas([w.corners for w in walls])  # the batched area Eyring's T60 uses
    assert areas == pytest.approx([surface_area(w.corners) for w in walls], rel=1e-12)
    assert areas.sum() == pytest.approx(sphere.area, rel=1e-5)
    for wall, triangle in zip(walls, sphere.triangles, strict=True):
        gaps = np.linalg.norm(wall.corners.T[:, None] - triangle[None], axis=-1)  # snapped to the 1 um grid
        assert wall.corners.shape == (3, 3) and gaps.min(axis=0).max() < 2e-6 and gaps.min(axis=1).max() < 2e-6
        assert np.dot(newell_normal(wall.corners), triangle.mean(axis=0)) > 0
    normals = np.array([[0, 0, 1.0], [1.0, 0, 0], [-0.0, 0, 1.0], [1.0, 0, 0]])
    groups = plane_groups(normals, np.array([2.0, 1.0, 2.00001, 1.0]), ["a", "a", "a", "b"])
    assert [g.tolist() for g in groups] == [[0, 2], [1], [3]]
