"""NeuralAcousticField on a tiny simulated scene: batch = single, cached = uncached, heading blending,
position errors, waveforms and their phase, features, and a trained fast field beating nearest neighbour."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch
from model_helpers import tiny_config, tiny_dataset

from naf_model.conventions import SAMPLE_RATE, SPEED_OF_SOUND
from naf_model.data import DataSet
from naf_model.errors import CheckpointError, PositionError
from naf_model.field import PHASE_METHODS, NeuralAcousticField
from naf_model.field.phase import ear_delays, geometric_phase_ir, overlap_add
from naf_model.scene.examples import shoebox_scene, two_room_scene
from naf_model.spectrogram import istft, log_magnitude
from naf_model.training.train import RunOptions, train_field

SCENE = two_room_scene()


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return tiny_dataset(tmp_path_factory)


@pytest.fixture(scope="module")
def fast(data, tmp_path_factory) -> NeuralAcousticField:
    out = tmp_path_factory.mktemp("fast")
    train_field(tiny_config("amortised", steps=300, eval_every=300), RunOptions(data, out, progress=False), SCENE)
    return NeuralAcousticField.load(out / "checkpoint.pt", device="cpu", scene=SCENE)


@pytest.fixture(scope="module")
def pixel(data, tmp_path_factory) -> NeuralAcousticField:
    out = tmp_path_factory.mktemp("pixel")
    train_field(tiny_config("pixel", steps=2, eval_every=2), RunOptions(data, out, progress=False), SCENE)
    return NeuralAcousticField.load(out / "checkpoint.pt", device="cpu")  # plan check from the checkpoint


def _positions(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    grid = SCENE.sample_grid(0.3)
    rng = np.random.default_rng(seed)
    return (
        grid[rng.integers(len(grid), size=n)],
        grid[rng.integers(len(grid), size=n)],
        rng.uniform(0, 360, n),
    )


@pytest.mark.parametrize("name", ["fast", "pixel"])
def test_batch_equals_single_and_cache_is_invisible(name, request):
    field = request.getfixturevalue(name)
    e, l_, h = _positions(3)
    batch = field.query_batch(e, l_, h)
    assert batch.shape == (3, 2, 256, field.n_frames) and batch.dtype == np.float32
    single = np.stack([field.query(e[i], l_[i], h[i]) for i in range(3)])
    np.testing.assert_allclose(batch, single, atol=1e-5)
    cached = field.query(e[0], l_[1], h[2])  # the emitter's share comes from the cache
    field.clear_cache()
    np.testing.assert_allclose(field.query(e[0], l_[1], h[2]), cached, atol=1e-6)


def test_repeated_emitter_batch_is_computed_once_and_agrees(fast):
    e, l_, _ = _positions(40, seed=1)
    one = np.broadcast_to(e[0], l_.shape)
    fast.clear_cache()
    batch = fast.query_batch(one, l_, np.zeros(40))
    np.testing.assert_allclose(batch[7], fast.query(e[0], l_[7], 0.0), atol=1e-5)


def test_headings_blend_neighbouring_orientations(fast):
    e, l_, _ = _positions(1, seed=2)
    at = {h: fast.query(e[0], l_[0], h) for h in (0.0, 30.0, 90.0, 360.0, -90.0, 270.0)}
    np.testing.assert_allclose(at[30.0], (2 * at[0.0] + at[90.0]) / 3, atol=1e-5)
    np.testing.assert_allclose(at[360.0], at[0.0], atol=1e-6)
    np.testing.assert_allclose(at[-90.0], at[270.0], atol=1e-6)


@pytest.mark.parametrize("name", ["fast", "pixel"])
def test_positions_outside_the_plan_raise(name, request):
    field = request.getfixturevalue(name)
    inside = SCENE.sample_grid(0.5)[0]
    for bad in ([2.0, 1.5 + 1.2], [2.0, 0.4], [-1.0, 1.0], [9.0, 9.0]):  # in the partition wall, off the plan
        with pytest.raises(PositionError, match="outside the free space"):
            field.query(bad, inside, 0.0)
        with pytest.raises(PositionError, match="listener"):
            field.impulse_response(inside, bad, 0.0)


def test_loading_against_another_scene_fails(fast):
    with pytest.raises(CheckpointError, match="other geometry"):
        NeuralAcousticField.load(fast.path, scene=shoebox_scene())


def test_impulse_responses_phase_methods(fast):
    e, l_, h = _positions(2, seed=3)
    for phase in PHASE_METHODS:
        batch = fast.impulse_responses(e, l_, h, phase=phase)
        assert batch.shape == (2, 2, fast.ir_length) and np.all(np.isfinite(batch))
        np.testing.assert_allclose(batch[1], fast.impulse_response(e[1], l_[1], h[1], phase=phase), atol=1e-5)
    delays = ear_delays(e, l_, h)
    geometric = fast.impulse_responses(e, l_, h)
    for b in range(2):
        for ear in range(2):
            onset = int(np.ceil((delays[b, ear] - 0.001) * SAMPLE_RATE))
            assert np.all(geometric[b, ear, :onset] == 0)  # causal: silent before the direct sound
    with pytest.raises(ValueError, match="phase"):
        fast.impulse_response(e[0], l_[0], 0.0, phase="cepstral")


def test_geometric_phase_places_a_pulse_at_the_direct_path_and_itd():
    # A source 2 m straight to the left of a listener facing +x: the left ear hears it first.
    delays = ear_delays(np.array([[0.0, 2.0]]), np.array([[0.0, 0.0]]), np.array([0.0]))
    itd = delays[0, 1] - delays[0, 0]
    assert delays[0, 0] < 2.0 / SPEED_OF_SOUND < delays[0, 1]
    assert itd == pytest.approx(0.0875 * (np.pi / 2 + 1) / SPEED_OF_SOUND, rel=1e-6)  # Woodworth, 90 degrees
    n = 2048
    pulses = np.zeros((1, 2, n))
    at = np.round(delays[0] * SAMPLE_RATE).astype(int)
    pulses[0, 0, at[0]], pulses[0, 1, at[1]] = 1.0, 0.5
    x = geometric_phase_ir(log_magnitude(pulses), n, at[None] / SAMPLE_RATE)
    assert np.argmax(np.abs(x[0, 0])) == at[0] and np.argmax(np.abs(x[0, 1])) == at[1]
    np.testing.assert_allclose(np.abs(x[0]).max(-1), [1.0, 0.5], rtol=0.02)


def test_fast_overlap_add_equals_the_reference_istft():
    rng = np.random.default_rng(0)
    spec = rng.standard_normal((3, 256, 20)) + 1j * rng.standard_normal((3, 256, 20))
    np.testing.assert_allclose(overlap_add(spec, 2500), istft(spec, 2500), atol=1e-5)


@pytest.mark.parametrize("name", ["fast", "pixel"])
def test_features_shape_and_dependence_on_emitter(name, request):
    field = request.getfixturevalue(name)
    e, l_, _ = _positions(5, seed=4)
    f = field.features(e, l_[:3])
    assert f.shape == (5, 64) and np.all(np.isfinite(f))
    assert np.abs(f[0] - f[1]).max() > 0
    np.testing.assert_allclose(field.features(e[:1], l_[:3]), f[:1], atol=1e-5)


def test_trained_fast_field_beats_nearest_neighbour(fast, data):
    with DataSet(data) as ds:
        te, tl = ds.positions("test")
        ge, gl = ds.positions("train")
        truth = ds.read_spec(ds.indices("test")).astype(np.float32)  # (n, 4, 2, F, T)
        train = ds.read_spec(ds.indices("train")).astype(np.float32)
    key = np.concatenate([ge, gl], 1)
    nearest = np.argmin(((np.concatenate([te, tl], 1)[:, None] - key[None]) ** 2).sum(-1), axis=1)
    nn_error = np.abs(train[nearest] - truth).mean()
    n = len(te)
    pred = fast.query_batch(np.repeat(te, 4, 0), np.repeat(tl, 4, 0), np.tile([0.0, 90.0, 180.0, 270.0], n))
    field_error = np.abs(pred.reshape(truth.shape) - truth).mean()
    assert field_error < nn_error, (field_error, nn_error)


def test_delay_aligned_field_agrees_with_its_network(data, tmp_path):
    """The field's folded, shifted decode equals the network's forward pass for delay-aligned models,
    headings blend and batches agree with single queries."""
    config = tiny_config("amortised", steps=20, eval_every=20)
    config = dataclasses.replace(config, network=dataclasses.replace(config.network, align_delay=True))
    train_field(config, RunOptions(data, tmp_path, progress=False), SCENE)
    field = NeuralAcousticField.load(tmp_path / "checkpoint.pt", device="cpu", scene=SCENE)
    e, l_, _ = _positions(4, seed=5)
    with torch.no_grad():
        net = field.model(
            torch.as_tensor(e, dtype=torch.float32),
            torch.as_tensor(l_, dtype=torch.float32),
            torch.tensor([0, 1, 2, 3]),
        )
    expected = field.checkpoint.stats.denormalise(net).numpy()
    batch = field.query_batch(e, l_, np.array([0.0, 90.0, 180.0, 270.0]))
    np.testing.assert_allclose(batch, expected, atol=1e-4)
    np.testing.assert_allclose(field.query(e[2], l_[2], 180.0), expected[2], atol=1e-4)
    halfway = field.query(e[0], l_[0], 45.0)
    assert np.abs(halfway - expected[0]).max() > 0


def _column_scene():
    from naf_model.scene import Scene

    d = shoebox_scene(4.0, 3.0, 2.5).to_dict()
    d["obstacles"] = [{"kind": "box", "center": [2.0, 1.5], "size": [0.6, 0.6], "z": [0, 2.5], "material": "concrete"}]
    return Scene.from_dict(d)


def test_a_field_trained_on_a_scene_with_a_column_rejects_the_column_without_the_scene(tmp_path):
    from naf_model.data import DataConfig, make_dataset
    from naf_model.simulate import SimulationConfig

    scene = _column_scene()
    config = DataConfig(
        listener_spacing=0.8,
        emitter_spacing=1.6,
        listeners_per_emitter=6,
        test_fraction=0.2,
        seed=1,
        simulation=SimulationConfig(ir_seconds=0.1, n_rays=100),
    )
    data = make_dataset(scene, config, tmp_path / "column.h5", workers=1, progress=False)
    train_field(tiny_config("pixel", steps=2, eval_every=2), RunOptions(data, tmp_path / "run", progress=False), scene)
    field = NeuralAcousticField.load(tmp_path / "run" / "checkpoint.pt", device="cpu")  # no scene: the plan
    assert len(field.checkpoint.plan_holes) == 1
    free = scene.sample_grid(0.5)[0]
    for bad in ([2.0, 1.5], [2.0 + 0.3 + 0.1, 1.5], [1.75, 1.25]):  # in the column, or within 0.2 m of it
        assert not scene.is_free(*bad)
        with pytest.raises(PositionError, match="outside the free space"):
            field.query(bad, free, 0.0)
    good = [2.0 + 0.3 + 0.25, 1.5]
    assert scene.is_free(*good)
    assert field.query(good, free, 0.0).shape == (2, 256, field.n_frames)


def test_checkpoints_without_stored_holes_read_as_before(pixel, tmp_path):
    payload = pixel.checkpoint.to_payload()
    assert payload["plan_holes"] == []  # two_room has no obstacles
    del payload["plan_holes"]  # a checkpoint written before holes were stored
    torch.save(payload, tmp_path / "old.pt")
    old = NeuralAcousticField.load(tmp_path / "old.pt", device="cpu")
    assert old.checkpoint.plan_holes == [] and old.checkpoint.plan == pixel.checkpoint.plan
    e, l_, h = _positions(4, seed=5)
    np.testing.assert_array_equal(old.query_batch(e, l_, h), pixel.query_batch(e, l_, h))
    with pytest.raises(PositionError, match="outside the free space"):
        old.query([2.0, 0.4], e[0], 0.0)


def test_plan_holes_survive_a_round_trip_and_cut_the_plan(pixel, tmp_path):
    from naf_model.checkpoint import load_checkpoint, plan_rings, save_checkpoint

    exterior, holes = plan_rings(_column_scene().free_space)
    ckpt = dataclasses.replace(pixel.checkpoint, plan_holes=holes)
    save_checkpoint(ckpt, tmp_path / "holes.pt")
    back = load_checkpoint(tmp_path / "holes.pt")
    assert back.plan_holes == holes and len(holes) == 1 and len(holes[0]) == 5
    poly = back.plan_polygon()
    assert len(poly.interiors) == 1 and abs(poly.area - (pixel.checkpoint.plan_polygon().area - 0.36)) < 1e-6
    assert exterior[0] == exterior[-1]


SHIPPED = Path(__file__).resolve().parents[1] / "assets" / "checkpoints" / "apartment_1.pt"


def test_the_shipped_apartment_1_field_loads_with_its_scene_and_without(tmp_path):
    from naf_model.scene import load_scene

    scene = load_scene("apartment_1")
    with_scene = NeuralAcousticField.load(SHIPPED, device="cpu", scene=scene)
    alone = NeuralAcousticField.load(SHIPPED, device="cpu")
    assert len(alone.checkpoint.plan_holes) == len(scene.free_space.interiors) == 3  # furnished: 3 holes
    assert abs(alone.checkpoint.plan_polygon().area - scene.free_space.area) < 1e-6
    grid = scene.sample_grid(1.0)
    e, l_ = grid[:3], grid[-3:]
    np.testing.assert_array_equal(
        alone.query_batch(e, l_, [0.0, 45.0, 90.0]), with_scene.query_batch(e, l_, [0.0, 45.0, 90.0])
    )
