"""The structure probe's protocol on scenes built on the fly: targets against closed forms, the spatial split's
guard band, a probe that finds a planted linear signal and nothing in shuffled targets, block-bootstrap
intervals; and the committed probe results of the bundled scenes name their shipped checkpoints."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from naf_model.analysis import depth_ring, probe_structure, room_labels
from naf_model.analysis.blocks import block_folds, block_ids, blocks_that_fit, fold_split
from naf_model.analysis.readout import cross_fit
from naf_model.analysis.scores import accuracy_blocks, block_draws, r2_score_blocks
from naf_model.errors import NafError
from naf_model.paths import REPO_ROOT as PROJECT_ROOT
from naf_model.scene.examples import l_shaped_scene, shoebox_scene, two_room_scene

SPACING = 0.1


def test_depth_ring_matches_closed_form_in_a_shoebox():
    scene = shoebox_scene(5.0, 4.0, 3.0)
    xy = np.array([[1.0, 1.0], [2.5, 2.0], [4.0, 3.5]])
    x, y = xy[:, 0], xy[:, 1]
    right, up, left, down = 5.0 - x, 4.0 - y, x, y
    diag = np.sqrt(2.0)
    expected = np.c_[right, np.minimum(right, up) * diag, up, np.minimum(left, up) * diag, left,
                     np.minimum(left, down) * diag, down, np.minimum(right, down) * diag]
    np.testing.assert_allclose(depth_ring(scene, xy), expected, atol=1e-9)


def test_depth_ring_stops_at_internal_walls_and_passes_doors():
    scene = two_room_scene()  # 0.1 m wall at x = 2 with a 0.9 m door at y = 1.5; outer wall faces at 0.05 in
    d = depth_ring(scene, np.array([[1.0, 2.5], [1.0, 1.5]]))
    assert d[0, 0] == pytest.approx(0.95, abs=1e-6)  # to the internal wall face at x = 1.95
    assert d[1, 0] == pytest.approx(2.95, abs=1e-6)  # through the door to the far wall face at x = 3.95


def test_room_labels_follow_the_rooms():
    scene = two_room_scene()
    labels, names = room_labels(scene, np.array([[1.0, 1.0], [3.0, 2.0], [2.0, 1.5]]))
    assert names == ["left", "right"]
    assert list(labels[:2]) == [0, 1] and labels[2] in (0, 1)  # the door's middle goes to a neighbour


@pytest.mark.parametrize("block_m, n_folds, seed", [(1.0, 3, 0), (0.7, 5, 1), (2.0, 2, 2)])
def test_split_keeps_every_test_cell_more_than_one_spacing_from_training(block_m, n_folds, seed):
    xy = l_shaped_scene().sample_grid(SPACING)
    blocks = block_ids(xy, block_m)
    folds = block_folds(blocks, n_folds, seed)
    assert set(np.unique(folds)) == set(range(n_folds))
    for b in np.unique(blocks):
        assert len(np.unique(folds[blocks == b])) == 1, "a block is held out whole"
    for k in range(n_folds):
        train, test = fold_split(xy, folds, k, gap=SPACING)
        assert not (train & test).any() and train.sum() > 0.3 * len(xy) / n_folds
        gaps = np.linalg.norm(xy[test][:, None] - xy[train][None], axis=-1)
        assert gaps.min() > SPACING * 1.0001, "no test cell within one spacing of a training cell"
        dropped = ~train & ~test
        assert dropped.any(), "the guard band drops the neighbours of held-out blocks"


def test_too_few_blocks_for_the_folds_is_refused():
    xy = shoebox_scene(2.0, 2.0).sample_grid(0.25)
    with pytest.raises(NafError, match="--block"):
        block_folds(block_ids(xy, 1.5), 5)


def test_blocks_that_fit_shrink_for_a_small_plan():
    xy = two_room_scene().sample_grid(0.5)  # 4 m x 3 m: two 2 m blocks hold its cells
    block, folds = blocks_that_fit(xy, 0.5, 2.0, 5)
    assert block == 1.0 and folds == 5 and block_folds(block_ids(xy, block), folds).max() == 4
    assert blocks_that_fit(xy, 0.5, 2.0, 50) == (1.0, len(np.unique(block_ids(xy, 1.0))))
    big = l_shaped_scene().sample_grid(0.25)
    assert blocks_that_fit(big, 0.25, 2.0, 5) == (2.0, 5)


def _planted(scene, rng, noise=0.05):
    """Features holding the wall distance, the depth ring and the room linearly, plus noise dimensions."""
    from naf_model.analysis import wall_distance

    xy = scene.sample_grid(SPACING)
    rooms, names = room_labels(scene, xy)
    signal = np.c_[wall_distance(scene, xy), depth_ring(scene, xy), np.eye(len(names))[rooms]]
    spread = signal.std(axis=0)
    signal = (signal - signal.mean(axis=0)) / np.where(spread > 0, spread, 1.0)  # each part equally strong
    mixed = signal @ rng.normal(size=(signal.shape[1], 24))
    return xy, mixed + noise * rng.normal(size=mixed.shape) * mixed.std(axis=0)


def test_probe_recovers_a_planted_linear_signal_and_not_noise():
    scene, rng = two_room_scene(), np.random.default_rng(0)
    xy, planted = _planted(scene, rng)
    features = {"grid": planted, "position": rng.normal(size=planted.shape)}
    probe = probe_structure(scene, xy, features, SPACING, block_m=1.0, n_folds=3, resamples=300)
    for target in ("wall", "depth"):
        assert probe.score(target, "grid").value > 0.9
        assert probe.score(target, "position").value < 0.1  # noise features know nothing of the plan
    assert probe.score("room", "grid").value > 0.9
    assert probe.score("room", "position").value < probe.chance.value + 0.15
    s = probe.score("wall", "grid")
    assert s.low <= s.value <= s.high and s.high - s.low < 0.2
    summary = probe.to_dict()
    assert summary["results"]["wall"]["grid"]["value"] == pytest.approx(s.value, abs=1e-4)
    assert summary["differences"]["wall"]["grid - position"]["ci95"][0] > 0.5


def test_probe_finds_nothing_in_shuffled_targets():
    scene, rng = l_shaped_scene(), np.random.default_rng(1)
    xy, planted = _planted(scene, rng)
    from naf_model.analysis import wall_distance

    target = rng.permutation(wall_distance(scene, xy))
    blocks = block_ids(xy, 1.0)
    folds = block_folds(blocks, 4, 0)
    fit = cross_fit(planted, target, xy, blocks, folds, gap=SPACING)
    score = r2_score_blocks(target, fit.predicted, blocks, block_draws(blocks, 300))
    assert abs(score.value) < 0.1


def test_block_bootstrap_scores():
    blocks = np.repeat(np.arange(10), 20)
    rng = np.random.default_rng(0)
    true = rng.normal(size=200)
    draws = block_draws(blocks, 500, seed=0)
    assert draws.shape == (500, 10) and (draws.sum(axis=1) == 10).all()
    perfect = r2_score_blocks(true, true, blocks, draws)
    assert perfect.value == pytest.approx(1.0) and perfect.low == pytest.approx(1.0)
    mean_only = r2_score_blocks(true, np.full(200, true.mean()), blocks, draws)
    assert mean_only.value == pytest.approx(0.0, abs=1e-12) and mean_only.high <= 0.0 + 1e-9
    right_in_even_blocks = np.where(blocks % 2 == 0, 0, 1)  # half the blocks all right, half all wrong
    half = accuracy_blocks(np.zeros(200), right_in_even_blocks, blocks, draws)
    assert half.value == pytest.approx(0.5) and half.low < 0.5 < half.high
    assert perfect.minus(perfect).value == 0.0 and np.all(perfect.minus(perfect).draws == 0.0)


@pytest.mark.parametrize("scene", ["apartment_1", "apartment_2", "small_house"])
def test_committed_probe_names_the_shipped_checkpoint(scene):
    """Regenerate docs/results/<scene>_probe.{json,png} (command atop docs/results/probe.md) when a field changes."""
    summary = json.loads((PROJECT_ROOT / "docs" / "results" / f"{scene}_probe.json").read_text())
    checkpoint = PROJECT_ROOT / "assets" / "checkpoints" / f"{scene}.pt"
    assert summary["checkpoint"] == f"assets/checkpoints/{scene}.pt"
    assert summary["checkpoint_sha256"] == hashlib.sha256(checkpoint.read_bytes()).hexdigest()
    assert (PROJECT_ROOT / "docs" / "results" / f"{scene}_probe.png").is_file()
