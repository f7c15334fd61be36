"""Free-path features (`networks.free_paths`): line of sight and the shortest path round the walls, read from
the plan; a `free_paths` network trains, saves and answers through the field with them."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import shapely
import torch
from model_helpers import tiny_config, tiny_dataset

from naf_model.checkpoint import combine_checkpoints, load_checkpoint, plan_rings, save_checkpoint, shape_plan
from naf_model.errors import SceneError
from naf_model.field import NeuralAcousticField
from naf_model.field.listening import line_of_sight
from naf_model.networks.free_paths import FreePathFeatures, reflex_corners
from naf_model.scene.examples import two_room_scene
from naf_model.training.train import RunOptions, train_field

# An L-shaped room: the square [0, 4] x [0, 4] without its top-right quarter [2, 4] x [2, 4].
L_ROOM = ((0.0, 0.0), (4.0, 0.0), (4.0, 2.0), (2.0, 2.0), (2.0, 4.0), (0.0, 4.0))


def _features(rings, emitters, listeners) -> np.ndarray:
    m = FreePathFeatures(rings)
    return m(torch.tensor(emitters, dtype=torch.float32), torch.tensor(listeners, dtype=torch.float32)).numpy()


def test_the_shortest_path_round_a_corner_bends_at_the_reflex_corner():
    assert np.allclose(reflex_corners(shapely.Polygon(L_ROOM)), [[2.0, 2.0]])
    e, li = [[3.5, 1.0], [0.5, 0.5]], [[1.0, 3.5], [1.5, 1.0]]
    f = _features((L_ROOM,), e, li)
    # The first pair cannot see each other: the path goes via (2, 2).
    around = math.dist(e[0], (2, 2)) + math.dist((2, 2), li[0])
    assert f[0, 0] == 0 and f[0, 3] * 10 == pytest.approx(around, abs=1e-4)
    assert f[0, 2] * 4 == pytest.approx(around - math.dist(e[0], li[0]), abs=1e-4)
    # The second pair sees each other: no walls, no detour, the path is the straight line.
    assert f[1, 0] == 1 and f[1, 1] == 0 and f[1, 2] == 0
    assert f[1, 3] * 10 == pytest.approx(math.dist(e[1], li[1]), abs=1e-5)


def test_line_of_sight_and_walls_agree_with_the_plan_in_a_scene_with_a_door():
    scene = two_room_scene()
    rings = shape_plan(*plan_rings(scene.free_space))
    rng = np.random.default_rng(3)
    x0, y0, x1, y1 = scene.free_space.bounds
    p = rng.uniform((x0, y0), (x1, y1), (4000, 2))
    p = p[np.asarray(scene.is_free(p[:, 0], p[:, 1]), bool)][:1000]
    e, li = p[:500], p[500:1000]
    f = _features(rings, e, li)
    visible = line_of_sight(scene.free_space, e, li)
    assert 0.1 < visible.mean() < 0.9  # both kinds of pair are tested
    np.testing.assert_array_equal(f[:, 0] == 1, visible)
    assert (f[~visible, 1] > 0).all() and (f[visible, 1] == 0).all()
    # The free path is never shorter than the straight line, and longer exactly when the view is blocked.
    assert (f[~visible, 2] > 0).all() and (f[visible, 2] == 0).all()
    # Swapping emitter and listener changes nothing (reciprocity).
    np.testing.assert_allclose(_features(rings, li, e), f, atol=1e-5)


def test_a_free_paths_network_needs_the_plan():
    with pytest.raises(ValueError, match="plan"):
        FreePathFeatures(())


@pytest.fixture(scope="module")
def paths_field(tmp_path_factory):
    """A tiny `free_paths` field of the two-room scene, trained here for 40 steps."""
    base = tiny_config("amortised", steps=40, eval_every=20)
    config = dataclasses.replace(base, network=dataclasses.replace(base.network, free_paths=True))
    folder = tmp_path_factory.mktemp("paths_field")
    options = RunOptions(tiny_dataset(tmp_path_factory), folder / "run", steps=40, device="cpu", progress=False)
    return two_room_scene(), config, options, train_field(config, options, two_room_scene()).best


def test_a_free_paths_field_reads_the_plan_it_was_trained_on(paths_field):
    scene, _, _, path = paths_field
    ckpt = load_checkpoint(path)
    assert ckpt.shape.plan and ckpt.config.network.free_paths
    field = NeuralAcousticField.load(path, device="cpu", scene=scene)
    rng = np.random.default_rng(4)
    x0, y0, x1, y1 = scene.free_space.bounds
    p = rng.uniform((x0, y0), (x1, y1), (400, 2))
    p = p[np.asarray(scene.is_free(p[:, 0], p[:, 1]), bool)][:16]
    e, li = p[:8], p[8:16]
    # The field's cached, split path gives what the whole network gives, pair share included.
    model = ckpt.build_model()
    with torch.no_grad():
        whole = model.predict(torch.tensor(e, dtype=torch.float32), torch.tensor(li, dtype=torch.float32),
                              torch.zeros(8, dtype=torch.long))
    got = field.query_batch(e, li, np.zeros(8))
    np.testing.assert_allclose(got, ckpt.stats.denormalise(whole).numpy(), atol=1e-3)
    # The pair share is a real input: nonzero, and the prediction moves without it.
    with torch.no_grad():
        et, lt = torch.tensor(e, dtype=torch.float32), torch.tensor(li, dtype=torch.float32)
        share = model.pair_part(et, lt)
        first = model.endpoint(et, 0)[0] + model.endpoint(lt, 1)[0]
        skip = model.endpoint(et, 0)[1] + model.endpoint(lt, 1)[1]
        without = model.decode(model.code_from_parts((first, skip), torch.zeros(8, dtype=torch.long)))
    assert share is not None and float(share[0].abs().max()) > 0
    assert float((without - whole).abs().max()) > 1e-3
    assert field.features(e[:2], li).shape[0] == 2


def test_training_a_free_paths_preset_without_a_scene_is_refused(paths_field, tmp_path):
    _, config, options, _ = paths_field
    with pytest.raises(SceneError, match="floor plan"):
        train_field(config, dataclasses.replace(options, out_dir=tmp_path / "run"), None)


def test_an_ensemble_of_free_paths_fields_keeps_their_pair_share(paths_field, tmp_path):
    """Two members with one field's weights (joined from another field, then given the first's weights:
    `combine_checkpoints` refuses copies) predict what that field does."""
    scene, _, _, path = paths_field
    other = load_checkpoint(path)
    other.weights = {k: v + 1 if v.is_floating_point() else v for k, v in other.weights.items()}
    save_checkpoint(other, tmp_path / "other.pt")
    twice = combine_checkpoints([path, tmp_path / "other.pt"])
    twice.weights = {k: twice.weights[k.replace("members.1.", "members.0.", 1)] for k in twice.weights}
    joined = NeuralAcousticField(twice, device="cpu", scene=scene, fused=False)
    single = NeuralAcousticField.load(path, device="cpu", scene=scene, fused=False)
    e, li = np.array([[0.6, 0.6], [3.4, 2.4]]), np.array([[3.4, 0.6], [0.6, 2.4]])
    np.testing.assert_allclose(joined.query_batch(e, li, [0.0, 90.0]), single.query_batch(e, li, [0.0, 90.0]),
                               atol=2e-5)
