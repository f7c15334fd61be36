"""The first-reflection bound (`field.reflections`) and the listening synthesis that waits for it: exact in a
shoebox, never later than any path that touches a surface of a furnished plan, and the played waveform between
the direct pulse and the bound holds the pulse alone."""

from __future__ import annotations

import numpy as np
import shapely

from naf_model.conventions import SAMPLE_RATE, SPEED_OF_SOUND
from naf_model.field.ears import SphericalHead
from naf_model.field.listening import listening_ir
from naf_model.field.reflections import EAR_MARGIN_S, FirstReflection
from naf_model.scene import Scene
from naf_model.scene.examples import shoebox_scene, two_room_scene


def _random_free(scene: Scene, n: int, seed: int) -> np.ndarray:
    """n points of the scene's free space at least 0.3 m from its boundary."""
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = scene.free_space.bounds
    out = []
    while len(out) < n:
        p = rng.uniform([x0, y0], [x1, y1])
        if scene.is_free(p[0], p[1]) and scene.free_space.exterior.distance(shapely.Point(p)) > 0.3:
            out.append(p)
    return np.array(out)


def test_the_bound_is_the_first_image_source_in_a_shoebox():
    scene = shoebox_scene(5.0, 4.0, 3.0, "plaster")
    x0, y0, x1, y1 = scene.free_space.bounds
    e, l_ = _random_free(scene, 40, 0), _random_free(scene, 40, 1)
    h = scene.ear_height
    images = []  # first-order image sources of the six planes, exact for a shoebox
    for axis, (lo, hi) in enumerate([(x0, x1), (y0, y1)]):
        for plane in (lo, hi):
            mirrored = e.copy()
            mirrored[:, axis] = 2 * plane - e[:, axis]
            images.append(np.hypot(*(mirrored - l_).T))
    d2 = np.sum((e - l_) ** 2, -1)
    images += [np.sqrt(d2 + 4 * h**2), np.sqrt(d2 + 4 * (scene.ceiling_height - h) ** 2)]
    np.testing.assert_allclose(FirstReflection.of(scene).path_m(e, l_), np.min(images, axis=0), rtol=1e-9)


def test_no_path_touching_a_surface_of_a_furnished_plan_is_shorter_than_the_bound():
    base = two_room_scene().to_dict()
    base["obstacles"] = [  # a low sofa (its top below the ears) and a tall shelf (crossing the ear plane)
        {"kind": "box", "name": "sofa", "center": [1.0, 2.2], "size": [1.2, 0.6], "z": [0, 0.85],
         "material": "upholstery"},
        {"kind": "box", "name": "shelf", "center": [3.5, 1.0], "size": [0.4, 0.8], "z": [0, 2.2],
         "material": "upholstery"},
    ]  # fmt: skip
    scene = Scene.from_dict(base)
    bound = FirstReflection.of(scene)
    e, l_ = _random_free(scene, 25, 2), _random_free(scene, 25, 3)
    ear = scene.ear_height
    e3, l3 = np.column_stack([e, np.full(len(e), ear)]), np.column_stack([l_, np.full(len(l_), ear)])
    rng = np.random.default_rng(4)
    shortest = np.full(len(e), np.inf)
    for surface in scene.simulation_surfaces():  # points spread over each polygon (fans of its triangles)
        c = surface.corners.T
        n = np.cross(c[1] - c[0], c[2] - c[0])
        facing = np.sign((e3 - c[0]) @ n) * np.sign((l3 - c[0]) @ n) >= 0  # a path leaves a face the way it came
        for k in range(1, len(c) - 1):
            w = rng.dirichlet(np.ones(3), 400)
            p = w @ np.stack([c[0], c[k], c[k + 1]])  # (400, 3)
            via = np.linalg.norm(e3[:, None] - p[None], axis=-1) + np.linalg.norm(p[None] - l3[:, None], axis=-1)
            shortest = np.where(facing, np.minimum(shortest, via.min(axis=1)), shortest)
    found = bound.path_m(e, l_)
    assert np.all(found <= shortest + 1e-9)
    assert np.all(found >= np.hypot(*(e - l_).T) - 1e-9)
    assert np.median(shortest - found) < 0.5  # a bound that says something, not the direct path


def test_the_diffuse_part_waits_for_the_first_reflection():
    n, t = 4096, 1 + 4096 // 128
    emitters, listeners, headings = np.array([[3.0, 0.0]]), np.zeros((1, 2)), np.array([90.0])  # source right
    logmag = np.full((1, 2, 256, t), np.log(0.05), np.float32)
    silent = np.full_like(logmag, np.log(1e-3))
    quiet = np.array([0.02])
    ears = SphericalHead()
    played = listening_ir(logmag, n, emitters, listeners, headings, np.array([True]), ears, False, quiet)
    pulse = listening_ir(silent, n, emitters, listeners, headings, np.array([True]), ears, False, quiet)
    old = listening_ir(logmag, n, emitters, listeners, headings, np.array([True]), ears, False)
    cut = int(np.ceil(quiet[0] * SAMPLE_RATE))
    np.testing.assert_array_equal(played[..., :cut], pulse[..., :cut])  # the pulse alone until the bound
    assert np.all(np.abs(played - pulse)[..., cut : cut + 256].max(-1) > 0.002)  # the diffuse part from it on
    np.testing.assert_allclose(played[..., cut:], old[..., cut:], atol=1e-6)  # the same after it
    assert np.abs(old[..., :cut] - pulse[..., :cut]).max() > 0.002  # without the bound the noise came earlier
    assert EAR_MARGIN_S * SPEED_OF_SOUND < 0.1
