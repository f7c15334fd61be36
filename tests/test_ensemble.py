"""Field ensembles: `naf ensemble` joins trained fields into one whose prediction is their mean."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from naf_model.checkpoint import combine_checkpoints, load_checkpoint, save_checkpoint
from naf_model.cli import main
from naf_model.errors import CheckpointError
from naf_model.field import NeuralAcousticField


@pytest.fixture(scope="module")
def two_fields(tiny_field, tmp_path_factory):
    """The tiny field and a second one with other weights (each weight moved by seeded noise)."""
    scene, dataset, path = tiny_field
    other = load_checkpoint(path)
    g = torch.Generator().manual_seed(5)
    other.weights = {
        k: v + 0.05 * v.std().nan_to_num(0.0) * torch.randn(v.shape, generator=g) if v.is_floating_point() else v
        for k, v in other.weights.items()
    }
    second = tmp_path_factory.mktemp("ensemble") / "second.pt"
    save_checkpoint(other, second)
    return scene, path, second


def _points(scene, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = scene.free_space.bounds
    out = []
    while len(out) < n:
        p = rng.uniform((x0, y0), (x1, y1))
        if scene.is_free(p[:1], p[1:])[0]:
            out.append(p)
    return np.array(out)


def test_an_ensemble_predicts_the_mean_of_its_members_at_any_heading(two_fields, tmp_path):
    scene, a, b = two_fields
    out = tmp_path / "joined.pt"
    assert main([str(p) for p in ("ensemble", a, b)] + ["-o", str(out)]) == 0
    fields = [NeuralAcousticField.load(p, device="cpu", scene=scene, fused=False) for p in (a, b, out)]
    e, li = _points(scene, 6, 0), _points(scene, 6, 1)
    headings = np.array([0.0, 90.0, 45.0, 200.0, 315.0, 10.0])
    pa, pb, pj = (f.query_batch(e, li, headings) for f in fields)
    assert np.abs(pa - pb).max() > 1e-2  # the members really differ
    np.testing.assert_allclose(pj, (pa + pb) / 2, atol=2e-5)
    assert fields[2].preset == "fast_x2"
    assert fields[2].features(e[:2], li).shape == (2, 2 * fields[0].features(e[:2], li).shape[1])
    ckpt = load_checkpoint(out)
    assert ckpt.training is None and [m["path"] for m in ckpt.metrics["members"]] == [str(a), str(b)]


def test_an_ensemble_of_one_field_twice_is_that_field(two_fields, tmp_path):
    """Built by hand: `combine_checkpoints` refuses copies (next test)."""
    scene, a, b = two_fields
    twice = combine_checkpoints([a, b])
    twice.weights = {k: twice.weights[k.replace("members.1.", "members.0.", 1)] for k in twice.weights}
    joined = NeuralAcousticField(twice, device="cpu", scene=scene, fused=False)
    single = NeuralAcousticField.load(a, device="cpu", scene=scene, fused=False)
    e, li = _points(scene, 3, 2), _points(scene, 3, 3)
    np.testing.assert_allclose(joined.query_batch(e, li, [30.0] * 3), single.query_batch(e, li, [30.0] * 3),
                               atol=2e-5)
    wave = joined.impulse_responses(e, li, [30.0] * 3)
    assert wave.shape == single.impulse_responses(e, li, [30.0] * 3).shape and np.isfinite(wave).all()


def test_a_field_given_twice_is_refused(two_fields, tmp_path, capsys):
    """The same file (by path, or by another name for it) or a copy with equal weights: an ensemble of copies
    costs K times one field and predicts what it does."""
    _, a, b = two_fields
    (tmp_path / "link.pt").symlink_to(a)
    copy = tmp_path / "copy.pt"
    copy.write_bytes(a.read_bytes())
    for members, needle in [([a, a], "given twice"), ([a, tmp_path / "link.pt"], "one file"),
                            ([a, b, copy], "same weights")]:
        out = tmp_path / "never.pt"
        assert main(["ensemble", *map(str, members), "-o", str(out)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and needle in err[0] and not out.exists(), err


def test_fields_of_other_data_cannot_be_joined(two_fields, tmp_path, capsys):
    _, a, _ = two_fields
    other = load_checkpoint(a)
    other.stats = dataclasses.replace(other.stats, mean=other.stats.mean + 1.0)
    save_checkpoint(other, tmp_path / "other_stats.pt")
    with pytest.raises(CheckpointError, match="normalisation statistics"):
        combine_checkpoints([a, tmp_path / "other_stats.pt"])
    other = load_checkpoint(a)
    other.scene_hash = "0" * 40
    save_checkpoint(other, tmp_path / "other_scene.pt")
    out = tmp_path / "never.pt"
    assert main(["ensemble", str(a), str(tmp_path / "other_scene.pt"), "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot be joined" in err[0] and not out.exists()
    assert main(["ensemble", str(a), "-o", str(out)]) == 2
    assert "two or more" in capsys.readouterr().err and not out.exists()


def test_an_ensemble_preset_is_not_trained_as_a_whole(two_fields, tmp_path):
    from naf_model.networks import preset
    from naf_model.training.train import RunOptions, train_field

    fast = preset("fast")
    config = dataclasses.replace(fast, network=dataclasses.replace(fast.network, members=2))
    with pytest.raises(CheckpointError, match="naf ensemble"):
        train_field(config, RunOptions(dataset=tmp_path / "none.h5", out_dir=tmp_path / "run", steps=1))
    from naf_model.networks import FieldShape, build_network
    from naf_model.networks.base import AcousticNetwork, TrainableNetwork

    network = build_network(config, FieldShape((0.0, 0.0, 2.0, 2.0), n_frames=8))
    assert isinstance(network, AcousticNetwork) and not isinstance(network, TrainableNetwork)
