"""Scene invariants on tiny plans built on the fly: free space, grid, closed boundary, errors, mesh import."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
import shapely
import trimesh

from naf_model.errors import PositionError, SceneError
from naf_model.scene import MATERIALS, OCTAVE_BANDS_HZ, Scene, list_scenes, load_scene, save_scene
from naf_model.scene.examples import l_shaped_scene, shoebox_scene, two_room_scene
from naf_model.scene.mesh_read import Y_UP_TO_Z_UP
from naf_model.simulate.eyring import eyring_t60

BUNDLED = ["apartment_1", "apartment_2"]


def two_room_dict() -> dict:
    return copy.deepcopy(two_room_scene().to_dict())


def scenes() -> list[Scene]:
    return [two_room_scene(), shoebox_scene(3.0, 2.0, 2.5, "concrete"), l_shaped_scene()] + [
        load_scene(n) for n in BUNDLED
    ]


def test_materials_have_seven_bands_and_the_named_entries():
    assert len(OCTAVE_BANDS_HZ) == 7
    for name in (
        "carpet",
        "tiles",
        "plaster",
        "wood",
        "glass",
        "concrete",
        "curtains",
        "brick",
        "plasterboard",
    ):
        assert len(MATERIALS[name].absorption) == 7
    # soft furnishings absorb more high-frequency energy than hard surfaces
    assert MATERIALS["carpet"].absorption[5] > 5 * MATERIALS["tiles"].absorption[5]


def test_dict_round_trip_keeps_everything():
    for scene in scenes():
        d = scene.to_dict()
        again = Scene.from_dict(json.loads(json.dumps(d)))
        assert again.to_dict() == d
        assert again.geometry_hash() == scene.geometry_hash()
        assert again.free_space.equals(scene.free_space)


def test_hash_is_stable_ignores_the_name_and_follows_materials():
    d = two_room_dict()
    h = Scene.from_dict(d).geometry_hash()
    assert h == two_room_scene().geometry_hash() and len(h) == 64
    d["name"] = "renamed"
    assert Scene.from_dict(d).geometry_hash() == h
    d["rooms"][0]["floor"] = "wood"
    assert Scene.from_dict(d).geometry_hash() != h
    d = two_room_dict()
    d["doors"][0]["width"] = 0.8
    assert Scene.from_dict(d).geometry_hash() != h


def test_is_free_in_rooms_doors_and_not_in_or_near_walls():
    s = two_room_scene()  # interior wall on x = 2 (0.1 m thick), door 0.9 m wide centred at y = 1.5
    assert s.is_free(1.0, 1.0) and s.is_free(3.0, 2.0)
    assert s.is_free(2.0, 1.5)  # middle of the door gap
    assert not s.is_free(2.0, 0.5)  # inside the interior wall
    assert not s.is_free(0.0, 1.5)  # inside the outer wall
    assert not s.is_free(1.9, 0.5)  # 0.15 m from the interior wall face
    assert not s.is_free(1.0, 0.2)  # 0.15 m from the outer wall face
    assert s.is_free(1.0, 0.3)  # 0.25 m from it
    assert not s.is_free(-1.0, 1.0) and not s.is_free(5.0, 1.0)
    xs = np.array([[1.0, 2.0], [-1.0, 1.9]])
    ys = np.array([[1.0, 1.5], [1.0, 0.5]])
    np.testing.assert_array_equal(s.is_free(xs, ys), [[True, True], [False, False]])


def test_require_free_and_room_at():
    s = two_room_scene()
    np.testing.assert_array_equal(s.require_free([1.0, 1.0]), [1.0, 1.0])
    with pytest.raises(PositionError, match=r"emitter at \(2.00, 0.50\) is not free"):
        s.require_free((2.0, 0.5), what="emitter")
    assert s.room_at(1.0, 1.0) == "left" and s.room_at(3.0, 1.0) == "right"
    assert s.room_at(1.99, 1.5) == "left" and s.room_at(2.01, 1.5) == "right"
    assert s.room_at(2.0, 0.5) is None and s.room_at(-1.0, 0.0) is None


def test_sample_grid_is_free_deterministic_and_spaced():
    for scene in scenes():
        for spacing in (0.5, 1.0):
            grid = scene.sample_grid(spacing)
            assert grid.dtype == np.float64 and grid.ndim == 2 and grid.shape[1] == 2 and len(grid) > 0
            assert scene.is_free(grid[:, 0], grid[:, 1]).all()
            np.testing.assert_array_equal(grid, scene.sample_grid(spacing))
            order = np.lexsort((grid[:, 0], grid[:, 1]))
            np.testing.assert_array_equal(order, np.arange(len(grid)))
            xmin, ymin = scene.bounds[:2]
            offsets = (grid - [xmin, ymin]) / spacing - 0.5
            np.testing.assert_allclose(offsets, np.round(offsets), atol=1e-9)
    # a 3 m x 2 m shoebox has cells centred 0.25 m from the walls: all 6 x 4 are free at 0.5 m
    assert len(shoebox_scene(3.0, 2.0, 2.5).sample_grid(0.5)) == 24


def test_surfaces_are_a_closed_shell_of_the_free_space():
    for scene in scenes():
        surfaces = scene.surfaces()
        for s in surfaces:
            assert s.corners.shape[0] == 3 and s.corners.shape[1] >= 3 and s.material in MATERIALS
            centred = s.corners.T - s.corners.T.mean(axis=0)
            assert np.linalg.svd(centred, compute_uv=False)[2] < 1e-9  # coplanar
        mesh = scene.mesh()
        assert mesh.is_watertight and mesh.is_winding_consistent
        assert mesh.volume == pytest.approx(scene.volume, rel=1e-9)
        obstacles = sum(o.volume for o in scene.obstacles)
        assert scene.volume == pytest.approx(scene.plan.area * scene.ceiling_height - obstacles, rel=1e-12)
        if not scene.obstacles:
            assert mesh.volume == pytest.approx(scene.free_space.area * scene.ceiling_height, rel=1e-9)
        walls = [s for s in surfaces if s.kind == "wall"]
        wall_area = (
            sum(np.linalg.norm(s.corners[:2, 1] - s.corners[:2, 0]) for s in walls) * scene.ceiling_height
        )
        assert wall_area == pytest.approx(scene.plan.length * scene.ceiling_height, rel=1e-9)


def rotated(d: dict, degrees: float, shift=(3.3, -1.7)) -> dict:
    """The scene dictionary turned by `degrees` about the origin and shifted: walls become oblique."""
    a = np.radians(degrees)
    turn = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])

    def move(p):
        return [float(v) for v in turn @ np.asarray(p, float) + shift]

    d = copy.deepcopy(d)
    for r in d["rooms"]:
        r["polygon"] = [move(p) for p in r["polygon"]]
    for door in d["doors"]:
        door["at"] = move(door["at"])
    for w in d["windows"]:
        w["from"], w["to"] = move(w["from"]), move(w["to"])
    for o in d.get("obstacles", []):
        if o["kind"] == "box":
            o["center"], o["rotation"] = move(o["center"]), o.get("rotation", 0.0) + degrees
        else:
            o["polygon"] = [move(p) for p in o["polygon"]]
    return d


@pytest.mark.parametrize("degrees", [25.0, 100.0, 217.0])
def test_oblique_walls_still_give_a_closed_shell(degrees):
    for base in (two_room_scene(), load_scene("apartment_1")):
        scene = Scene.from_dict(rotated(base.to_dict(), degrees))
        mesh = scene.mesh()
        assert mesh.is_watertight
        assert mesh.volume == pytest.approx(base.volume, rel=1e-6)
        window_materials = {w.material for w in base.windows}
        windows = [s for s in scene.surfaces() if s.kind == "wall" and s.material in window_materials]
        if not base.obstacles:
            assert len(windows) == len(base.windows)
        # floor cuts around obstacles may split a window's quad; its length stays that of the window
        length = sum(np.linalg.norm(s.corners[:2, 1] - s.corners[:2, 0]) for s in windows)
        expected = sum(np.hypot(*np.subtract(w.end, w.start)) for w in base.windows)
        assert length == pytest.approx(expected, rel=1e-6)
        door = np.asarray(scene.doors[0].at)
        assert scene.is_free(*door)


def test_floor_pieces_tile_the_free_space():
    for scene in scenes():
        assert sum(p.area for p in scene.floor_pieces) == pytest.approx(scene.free_space.area, rel=1e-9)
        for kind in ("floor", "ceiling"):
            pieces = [shapely.Polygon(s.corners[:2].T) for s in scene.surfaces() if s.kind == kind]
            # obstacles standing on the floor (hanging from the ceiling) cut it; the cut pieces have no holes
            at = 0.0 if kind == "floor" else scene.ceiling_height
            cut = shapely.union_all([o.footprint for o in scene.obstacles if at in o.z])
            covered = shapely.difference(scene.plan, cut)
            if not scene.obstacles:
                assert len(pieces) == len(scene.rooms) and covered.equals(scene.free_space)
            assert all(p.is_valid and not p.interiors for p in pieces)
            assert sum(p.area for p in pieces) == pytest.approx(covered.area, rel=1e-9)
            assert shapely.union_all(pieces).symmetric_difference(covered).area < 1e-9


def test_surface_materials_follow_rooms_and_windows():
    s = two_room_scene()  # left room: plaster walls, carpet; right room: tiled walls and floor; window 1 m
    surfaces = s.surfaces()
    glass = [x for x in surfaces if x.material == "glass"]
    assert len(glass) == 1 and glass[0].kind == "wall"
    assert np.linalg.norm(glass[0].corners[:2, 1] - glass[0].corners[:2, 0]) == pytest.approx(1.0)
    assert {x.material for x in surfaces if x.kind == "floor"} == {"carpet", "tiles"}
    for x in surfaces:
        if x.kind == "wall" and x.material != "glass":
            mid = x.corners[:2, :2].mean(axis=1)
            expected = "plaster" if mid[0] < 2.0 else "tiles"  # door jambs take their own room's walls
            assert x.material == expected


def error_for(mutate) -> str:
    d = two_room_dict()
    mutate(d)
    with pytest.raises(SceneError) as info:
        Scene.from_dict(d)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_scene_errors_say_what_is_wrong():
    msg = error_for(lambda d: d["rooms"][0].update(floor="lava"))
    assert "unknown material 'lava'" in msg and "carpet" in msg and "room 'left' floor" in msg
    msg = error_for(lambda d: d["rooms"][0].update(polygon=[[0, 0], [2, 3], [2, 0], [0, 3]]))
    assert msg == "room 'left' polygon crosses itself at (1.00, 1.50)"
    msg = error_for(lambda d: d["rooms"][1].update(polygon=[[1.5, 0], [4, 0], [4, 3], [1.5, 3]]))
    assert "rooms 'left' and 'right' overlap" in msg
    msg = error_for(lambda d: d["doors"][0].update(at=[1.0, 1.5]))
    assert "door at (1.00, 1.50) is not on a wall shared by two rooms" in msg
    msg = error_for(lambda d: d["doors"][0].update(at=[2.0, 2.7]))
    assert "does not fit on the wall shared by 'left' and 'right'" in msg
    msg = error_for(lambda d: d.update(ceiling_height=0))
    assert "ceiling_height must be positive" in msg
    msg = error_for(lambda d: d.update(doors=[]))
    assert "not connected to the others by a door" in msg
    msg = error_for(lambda d: d["windows"][0].update({"from": [2.0, 0.5], "to": [2.0, 1.0]}))
    assert "is not on an outer wall" in msg


def test_a_loop_of_doors_that_encloses_a_wall_is_rejected():
    square = [[0, 0], [1, 0], [1, 1], [0, 1]]
    rooms = [
        {"name": f"r{i}{j}", "polygon": [[x * 3 + 3 * i, y * 3 + 3 * j] for x, y in square]}
        for i in (0, 1)
        for j in (0, 1)
    ]
    doors = [{"at": at, "width": 0.9} for at in ([3, 1.5], [3, 4.5], [1.5, 3], [4.5, 3])]
    with pytest.raises(SceneError, match=r"free space has a hole: the walls around \(3.00, 3.00\)"):
        Scene.from_dict({"name": "ring", "rooms": rooms, "doors": doors})
    Scene.from_dict({"name": "tree", "rooms": rooms, "doors": doors[:3]})


def test_malformed_and_unknown_scene_files(tmp_path):
    bad = tmp_path / "scene.json"
    bad.write_text('{\n  "name": "x",\n  "rooms": [\n    {"name": "a" "polygon": []}\n  ]\n}\n')
    with pytest.raises(SceneError, match=r"not valid JSON: Expecting ',' delimiter at line 4"):
        load_scene(bad)
    with pytest.raises(SceneError, match=r"unknown scene 'no_such_scene'.*apartment_1"):
        load_scene("no_such_scene")


def test_bundled_scenes_are_realistic_flats():
    assert set(BUNDLED) <= set(list_scenes())
    plan_areas = []
    for name in BUNDLED:
        scene = load_scene(name)
        assert scene.name == name
        plan_area = shapely.union_all([r.polygon for r in scene.rooms]).area
        assert 60 <= plan_area <= 90
        plan_areas.append(plan_area)
        names = " ".join(r.name for r in scene.rooms)
        for room in ("living room", "kitchen", "bedroom", "bathroom", "corridor"):
            assert room in names
        assert scene.windows and len(scene.doors) >= 4
        used = {getattr(r, p) for r in scene.rooms for p in ("floor", "ceiling", "walls")}
        used |= {w.material for w in scene.windows}
        base_materials = {m.split("_")[0] for m in used}  # "wood_furnished" is a furnished wooden floor
        assert {"carpet", "tiles", "plaster", "wood", "glass"} <= base_materials
    assert abs(plan_areas[0] - plan_areas[1]) > 5


@pytest.mark.parametrize("suffix", ["obj", "ply", "stl"])
def test_mesh_import_round_trip(tmp_path, suffix):
    scene = two_room_scene()
    path = tmp_path / f"room.{suffix}"
    scene.mesh().export(path)
    imported = load_scene(path)
    assert imported.free_space.area == pytest.approx(scene.free_space.area, rel=1e-6)
    assert imported.free_space.symmetric_difference(scene.free_space).area < 1e-4
    assert imported.ceiling_height == pytest.approx(scene.ceiling_height)
    assert imported.mesh().is_watertight


def test_glb_is_read_y_up(tmp_path):
    scene = l_shaped_scene()
    mesh = scene.mesh()
    mesh.apply_transform(np.linalg.inv(Y_UP_TO_Z_UP))  # as a glTF exporter writes it
    mesh.export(tmp_path / "room.glb")
    imported = load_scene(tmp_path / "room.glb")
    assert imported.free_space.symmetric_difference(scene.free_space).area < 1e-4
    assert imported.ceiling_height == pytest.approx(scene.ceiling_height)


def test_open_mesh_is_rejected(tmp_path):
    mesh = two_room_scene().mesh()
    mesh.update_faces(np.arange(1, len(mesh.faces)))
    mesh.export(tmp_path / "open.obj")
    with pytest.raises(SceneError, match=r"mesh .*open.obj is not closed"):
        load_scene(tmp_path / "open.obj")


def test_a_mesh_with_a_pillar_has_a_hole_and_one_in_two_parts_is_rejected(tmp_path):
    with_pillar = shapely.box(0, 0, 4, 4).difference(shapely.box(1.5, 1.5, 2.5, 2.5))
    trimesh.creation.extrude_polygon(with_pillar, 2.5).export(tmp_path / "pillar.obj")
    scene = load_scene(tmp_path / "pillar.obj")
    assert len(scene.free_space.interiors) == 1 and scene.free_space.area == pytest.approx(15.0)
    assert not scene.is_free(2.0, 2.0) and scene.is_free(0.5, 0.5)
    boxes = [
        trimesh.creation.box([2, 2, 2.5]),
        trimesh.creation.box([2, 2, 2.5]).apply_translation([3, 0, 0]),
    ]
    trimesh.util.concatenate(boxes).export(tmp_path / "two.stl")
    with pytest.raises(SceneError, match="falls into 2 separate parts"):
        load_scene(tmp_path / "two.stl")


def test_save_scene_writes_a_loadable_file(tmp_path):
    scene = two_room_scene()
    path = save_scene(scene, tmp_path / "mine" / "scene.json")
    assert [p.name for p in path.parent.iterdir()] == ["scene.json"]
    assert load_scene(path).geometry_hash() == scene.geometry_hash()
    assert load_scene(path.parent).geometry_hash() == scene.geometry_hash()


def test_the_bundled_cathedral_is_a_big_reverberant_stone_church():
    scene = load_scene("cathedral")
    assert scene.area >= 500 and scene.ceiling_height >= 12
    assert eyring_t60(scene, 500) >= 3.0
    names = {o.name for o in scene.obstacles}
    assert sum(n.startswith("column") for n in names) >= 10  # the arcades between nave and aisles
    materials = {r.walls for r in scene.rooms} | {r.floor for r in scene.rooms} | {o.material for o in scene.obstacles}
    assert {"limestone", "marble", "wooden_pews"} <= materials
    # the columns stand in the air: holes in the free space at ear height, walked round, not through
    assert not scene.is_free(np.array([4.0]), np.array([4.5]))[0] and scene.is_free(np.array([4.0]), np.array([3.5]))[0]
