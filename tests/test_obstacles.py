"""Obstacles (boxes, prisms) in scene files: holes in the free space, a closed oriented boundary, errors,
and their physics in the simulation (occlusion, an image-source reflection, Eyring with their surfaces)."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import shapely
from simulation_helpers import band_t60s, energy

from naf_model.conventions import SAMPLE_RATE, SPEED_OF_SOUND
from naf_model.errors import PositionError, SceneError
from naf_model.scene import Scene
from naf_model.scene.examples import shoebox_scene, two_room_scene
from naf_model.scene.materials import MATERIALS
from naf_model.simulate import SimulationConfig, simulate_binaural_rirs
from naf_model.simulate.eyring import eyring_t60
from naf_model.simulate.room import newell_normal, point_on_surface, run_room, scene_walls, wall_specs

FS = SAMPLE_RATE
HEAD = 0.0875

def box(name: str, center, size, z, material: str, rotation: float | None = None) -> dict:
    """A box obstacle as a scene file holds it: footprint centre and size (m), z range (m), rotation (deg)."""
    d = {"kind": "box", "center": list(center), "size": list(size), "z": list(z), "material": material, "name": name}
    return d if rotation is None else {**d, "rotation": rotation}


def with_obstacles(scene: Scene, obstacles: list[dict]) -> Scene:
    """`scene` with its obstacles replaced by (copies of) `obstacles`."""
    return Scene.from_dict({**scene.to_dict(), "obstacles": copy.deepcopy(obstacles)})


FURNITURE = [
    box("column", (1.0, 1.5), (0.3, 0.3), (0, 2.5), "concrete"),
    box("island", (3.0, 2.2), (1.0, 0.6), (0, 0.9), "wood", rotation=20),
    {
        "kind": "prism",
        "polygon": [[2.5, 0.3], [3.5, 0.3], [3.5, 1.0], [3.0, 1.0], [3.0, 0.6], [2.5, 0.6]],
        "z": [0.7, 0.75],
        "material": "wood",
        "name": "table top",
    },
    box("wall cabinet", (0.5, 2.7), (0.6, 0.3), (1.8, 2.5), "wood"),
    box("wardrobe", (1.5, 0.5), (0.4, 0.4), (0, 1.7), "wood"),
]


def furnished(obstacles=FURNITURE) -> Scene:
    return with_obstacles(two_room_scene(), obstacles)


def test_obstacles_spanning_the_ear_height_cut_holes_and_lower_ones_do_not():
    scene = furnished()
    empty = two_room_scene()
    assert len(scene.free_space.interiors) == 2  # the column and the wardrobe; island, table, cabinet: 3-D only
    assert scene.free_space.area == pytest.approx(empty.free_space.area - 0.09 - 0.16, abs=1e-6)
    assert not scene.is_free(1.0, 1.5) and not scene.is_free(1.0, 1.75) and scene.is_free(1.0, 1.95)
    assert scene.is_free(3.0, 2.2)  # above the kitchen island
    grid = scene.sample_grid(0.25)
    assert len(grid) < len(empty.sample_grid(0.25)) and scene.is_free(grid[:, 0], grid[:, 1]).all()
    assert sum(p.area for p in scene.floor_pieces) == pytest.approx(scene.free_space.area, rel=1e-9)
    with pytest.raises(PositionError, match="inside an obstacle"):
        scene.require_free((1.0, 1.5))
    again = Scene.from_dict(scene.to_dict())
    assert again.to_dict() == scene.to_dict() and again.geometry_hash() == scene.geometry_hash()
    assert scene.geometry_hash() != empty.geometry_hash()


def test_obstacle_faces_close_the_boundary_and_face_into_the_obstacles():
    scene = furnished()
    mesh = scene.mesh()
    assert mesh.is_watertight and mesh.is_winding_consistent
    assert mesh.volume == pytest.approx(scene.volume, rel=1e-6)
    expected = empty_volume = two_room_scene().volume
    expected -= 0.09 * 2.5 + 0.6 * 0.9 + 0.05 * (0.35 + 0.5 * 0.3) + 0.18 * 0.7 + 0.16 * 1.7
    assert scene.volume == pytest.approx(expected, rel=1e-9) and scene.volume < empty_volume
    walls = wall_specs(scene.surfaces(), MATERIALS, scene.is_air)
    assert sum(s.kind == "obstacle" for s in scene.surfaces()) > 20
    for w in walls:
        # pyroomacoustics' convention: air behind the wall, no air in front of it
        p, n = point_on_surface(w.corners), newell_normal(w.corners)
        assert scene.is_air((p - 0.005 * n)[None])[0] and not scene.is_air((p + 0.005 * n)[None])[0]
    for w, s in zip(walls, scene.surfaces(), strict=True):
        np.testing.assert_array_equal(w.corners, s.corners)  # built facing out of the air
    room = run_room(walls, np.array([0.4, 0.4, 1.5]), np.array([[3.6, 1.5, 1.5]]), SimulationConfig(), 10)
    assert room.volume == pytest.approx(scene.volume, rel=1e-5)  # divergence theorem in pyroomacoustics


def _points_on(corners: np.ndarray, spacing: float = 0.1) -> np.ndarray:
    """Points (N, 3) on a grid inside a planar polygon (3, K), in its dominant plane."""
    n = newell_normal(corners)
    drop = int(np.argmax(np.abs(n)))
    keep = [i for i in range(3) if i != drop]
    flat = shapely.Polygon(corners[keep].T)
    x0, y0, x1, y1 = flat.bounds
    u, v = np.meshgrid(np.arange(x0 + 0.013, x1, spacing), np.arange(y0 + 0.017, y1, spacing))
    inside = shapely.contains_xy(flat, u.ravel(), v.ravel())
    p = np.zeros((int(inside.sum()), 3))
    p[:, keep[0]], p[:, keep[1]] = u.ravel()[inside], v.ravel()[inside]
    p[:, drop] = corners[drop, 0] - (p[:, keep] - corners[keep, 0]) @ n[keep] / n[drop]
    return p


def test_the_simulators_walls_are_fewer_face_out_of_the_air_and_see_the_same_image_sources():
    scene = furnished()
    walls = scene_walls(scene)
    assert len(walls) < len(scene.surfaces())
    assert sum(w.name.startswith("floor") for w in walls) == len(scene.rooms)  # uncut under the furniture
    for w in walls:
        p, n = _points_on(w.corners), newell_normal(w.corners)
        behind, front = scene.is_air(p - 0.005 * n), scene.is_air(p + 0.005 * n)
        assert behind.any() and not front.any(), w.name  # air behind where it touches air, never in front
    full = wall_specs(scene.surfaces(), MATERIALS, scene.is_air)
    config = SimulationConfig(ism_order=2, air_absorption=False)
    emitter, listeners = np.array([0.4, 0.4, 1.5]), np.array([[3.6, 1.5, 1.5], [1.5, 2.6, 1.5], [0.6, 1.0, 1.5]])
    fewer, every = run_room(walls, emitter, listeners, config, 10), run_room(full, emitter, listeners, config, 10)
    assert fewer.volume == pytest.approx(scene.volume, rel=1e-5)
    assert sum(len(a.delays) for a in fewer.arrivals) > 10
    for a, b in zip(fewer.arrivals, every.arrivals, strict=True):
        np.testing.assert_allclose(np.sort(a.delays), np.sort(b.delays), atol=1e-8)  # pra walls: float32
        np.testing.assert_allclose(np.sum(a.amplitudes**2, 0), np.sum(b.amplitudes**2, 0), rtol=1e-5)


def obstacle_error(obstacle: dict) -> str:
    with pytest.raises(SceneError) as info:
        furnished([obstacle])
    assert "\n" not in str(info.value)
    return str(info.value)


def test_obstacle_errors_are_one_line():
    box = {"kind": "box", "center": [1.0, 1.5], "size": [0.4, 0.4], "z": [0, 1.0], "material": "wood"}
    assert "outside every room" in obstacle_error({**box, "center": [8.0, 1.5]})
    assert "crosses a wall" in obstacle_error({**box, "center": [2.0, 0.7]})
    assert "crosses a wall" in obstacle_error({**box, "center": [0.1, 1.5]})
    assert "unknown material 'lava'" in obstacle_error({**box, "material": "lava"})
    assert "z [0.0, 3.0]" in obstacle_error({**box, "z": [0, 3.0]})
    assert "'kind'" in obstacle_error({**box, "kind": "sphere"})
    assert "unknown field 'colour'" in obstacle_error({**box, "colour": "red"})
    pair = [box, {**box, "center": [1.2, 1.5], "name": "other"}]
    with pytest.raises(SceneError, match="touch or overlap"):
        furnished(pair)


# ---- physics ---------------------------------------------------------------------------------------------
def test_every_free_point_hears_the_same_image_sources_with_the_simulators_walls():
    """The floor is uncut under standing obstacles, so pyroomacoustics' own inside test (a ray to below the
    floor, near the bounding box's low corner) miscounts points whose ray meets the floor under an obstacle
    there; run_room must not refuse them as a source or silence their image sources: every free grid point
    gets the watertight list's arrivals."""
    import pyroomacoustics as pra

    scene = furnished([*FURNITURE, box("bed", (0.5, 0.5), (0.8, 0.8), (0, 0.5), "mattress")])
    walls, full = scene_walls(scene), wall_specs(scene.surfaces(), MATERIALS, scene.is_air)
    points = np.column_stack([scene.sample_grid(0.25), np.full(len(scene.sample_grid(0.25)), 1.5)])
    room = pra.Room([pra.wall_factory(w.corners, w.absorption, w.scattering, w.name) for w in walls], fs=FS)
    misread = [i for i, p in enumerate(points) if not room.is_inside(p)]
    assert misread, "no point exercises pyroomacoustics' parity miscount; move the obstacles"
    config = SimulationConfig(ism_order=1, air_absorption=False)
    for emitter in points[misread[:2]]:  # also as the source, which pyroomacoustics would refuse
        fewer, every = run_room(walls, emitter, points, config, 10), run_room(full, emitter, points, config, 10)
        assert sum(len(fewer.arrivals[i].delays) for i in misread) > len(misread)
        for a, b in zip(fewer.arrivals, every.arrivals, strict=True):
            assert len(a.delays) == len(b.delays)
            np.testing.assert_allclose(np.sort(a.delays), np.sort(b.delays), atol=1e-8)


def big_room(obstacles: list[dict]) -> Scene:
    """12 m x 12 m x 6 m, absorbent, ears 3 m up: the first wall reflection comes late."""
    d = {**shoebox_scene(12.0, 12.0, 6.0, "acoustic_panel").to_dict(), "ear_height": 3.0}
    return Scene.from_dict({**d, "obstacles": obstacles})


def test_a_column_between_emitter_and_listener_removes_the_line_of_sight_sound():
    column = {"kind": "box", "center": [6.0, 6.0], "size": [0.6, 0.6], "z": [0, 6], "material": "concrete"}
    config = SimulationConfig(ir_seconds=0.1, n_rays=1000, head_radius=HEAD, hrtf="")
    emitter, listener = (3.0, 6.0), np.array([[9.0, 6.0]])
    t = 6.0 / SPEED_OF_SOUND
    free = simulate_binaural_rirs(big_room([]), emitter, listener, config)
    blocked = simulate_binaural_rirs(big_room([column]), emitter, listener, config)
    drop_db = 10 * np.log10(energy(free, t, t + 0.005) / energy(blocked, t, t + 0.005))
    assert drop_db >= 10.0, drop_db


def test_a_reflecting_box_adds_an_early_reflection_at_its_image_source_delay():
    """A tiled box whose face is the plane y = 8 mirrors the emitter at (3, 6) to (3, 10): path 4 sqrt(2) m
    to the listener at (7, 6). The added sound peaks there at the near (left) ear, within one sample."""
    box = {"kind": "box", "center": [5.0, 8.3], "size": [2.0, 0.6], "z": [0, 6], "material": "tiles"}
    config = SimulationConfig(ir_seconds=0.05, n_rays=500, head_radius=HEAD, ism_order=1, hrtf="")
    emitter, listener = (3.0, 6.0), np.array([[7.0, 6.0]])
    path = 4 * np.sqrt(2.0)
    walls = scene_walls(big_room([box]))
    arrivals = run_room(walls, np.array([3.0, 6.0, 3.0]), np.array([[7.0, 6.0, 3.0]]), config, 10).arrivals[0]
    assert np.min(np.abs(arrivals.delays - path / SPEED_OF_SOUND)) * FS < 1e-3
    without = simulate_binaural_rirs(big_room([]), emitter, listener, config)
    with_box = simulate_binaural_rirs(big_room([box]), emitter, listener, config)
    added = (with_box - without)[0, 0, 0].astype(np.float64)  # heading 0 (+x): the box is on the left
    psi_cos = np.cos(np.pi / 4)  # the reflection comes from 45 deg off the left ear's axis
    expected = (path - HEAD * psi_cos) / SPEED_OF_SOUND * FS
    assert abs(np.argmax(np.abs(added)) - expected) <= 1.0
    direct = round((4.0 - HEAD) / SPEED_OF_SOUND * FS)
    assert np.max(np.abs(added[: direct + 20])) < 0.01 * np.max(np.abs(added))  # the direct sound stays


def test_a_shoebox_with_a_box_inside_keeps_eyrings_reverberation_time():
    sideboard = box("sideboard", (2.6, 1.9), (1.2, 0.8), (0, 0.9), "wood")
    scene = with_obstacles(shoebox_scene(4.0, 3.0, 2.5, "glass"), [sideboard])
    listeners = np.array([[3.2, 0.6], [1.8, 0.7]])
    irs = simulate_binaural_rirs(scene, (0.8, 2.2), listeners, SimulationConfig(ir_seconds=0.8, n_rays=1500))
    assert eyring_t60(scene, 500) < eyring_t60(shoebox_scene(4.0, 3.0, 2.5, "glass"), 500)
    for band_hz in (500, 1000):
        predicted = eyring_t60(scene, band_hz)
        measured = band_t60s(irs, band_hz)
        assert abs(np.mean(measured) / predicted - 1) < 0.25, (band_hz, predicted, measured)


def test_obstacles_hold_in_oblique_and_touching_configurations():
    """A rotated box straddling the door gap between two rooms still closes the boundary."""
    post = box("post in the door", (2.0, 1.5), (0.3, 0.3), (0, 2.5), "wood", rotation=30)
    scene = with_obstacles(two_room_scene(), [post])
    assert scene.mesh().is_watertight
    assert scene.mesh().volume == pytest.approx(scene.volume, rel=1e-6)
    assert shapely.Point(2.0, 1.5).within(shapely.Polygon(scene.free_space.interiors[0]))
