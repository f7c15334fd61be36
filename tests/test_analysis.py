"""Analysis: loudness map, t-SNE colours, the structure probe and their PNGs, on tiny scenes and a tiny field.

The field tests train the `fast` preset for a few hundred steps on a simulated 4 m x 3 m shoebox (built once
per module), so they check the analysis against a real `NeuralAcousticField`, not a stand-in.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from matplotlib.image import imread

from naf_model.analysis import (
    LoudnessMap,
    feature_tsne,
    feature_views,
    loudness_map,
    plan_grid,
    probe_report,
    save_loudness_png,
    save_probe_png,
    save_tsne_png,
    structure_probe,
    tsne_colours,
    tsne_map,
    wall_distance,
)
from naf_model.analysis.loudness import ir_energy_db
from naf_model.cli import main
from naf_model.errors import NafError, PositionError
from naf_model.scene import save_scene
from naf_model.scene.examples import l_shaped_scene, shoebox_scene, two_room_scene
from naf_model.spectrogram import magnitude_from_log

torch.set_num_threads(1)


# ---- pure parts: no field needed ------------------------------------------------------------------------
def test_wall_distance_matches_closed_form_in_a_shoebox():
    scene = shoebox_scene(5.0, 4.0, 3.0)
    xy = scene.sample_grid(0.3)
    expected = np.minimum.reduce([xy[:, 0], 5.0 - xy[:, 0], xy[:, 1], 4.0 - xy[:, 1]])
    np.testing.assert_allclose(wall_distance(scene, xy), expected, atol=1e-9)


def test_wall_distance_counts_wall_thickness_and_internal_walls():
    scene = two_room_scene()  # 0.1 m walls on the 2 m x 3 m rooms' centre lines, door at (2, 1.5)
    d = wall_distance(scene, np.array([[1.0, 2.5], [1.7, 2.5], [2.0, 1.5]]))
    # (1.0, 2.5): 0.45 m to the top wall face at y = 2.95; (1.7, 2.5): 0.25 m to the internal wall face at
    # x = 1.95; (2.0, 1.5) in the door gap: 0.45 m to the jambs at y = 1.05 and 1.95
    np.testing.assert_allclose(d, [0.45, 0.25, 0.45], atol=1e-6)


def test_tsne_colours_are_in_unit_cube_and_keep_neighbours_alike():
    xy = l_shaped_scene().sample_grid(0.5)
    rng = np.random.default_rng(0)
    features = np.tanh(np.c_[xy, xy**2 / 6, np.sin(xy)] @ rng.normal(size=(6, 16)))  # smooth in position
    embedding, rgb = tsne_colours(features, seed=0)
    assert embedding.shape == (len(xy), 3) and rgb.shape == (len(xy), 3)
    np.testing.assert_allclose(rgb.min(axis=0), 0.0, atol=1e-6)
    np.testing.assert_allclose(rgb.max(axis=0), 1.0, atol=1e-6)
    # grid neighbours (0.5 m apart) get much closer colours than random pairs of positions
    gap = np.linalg.norm(xy[:, None] - xy[None], axis=-1)
    colour = np.linalg.norm(rgb[:, None] - rgb[None], axis=-1)
    neighbours = np.isclose(gap, 0.5)
    assert colour[neighbours].mean() < 0.4 * colour[~np.eye(len(xy), dtype=bool)].mean()
    assert np.array_equal(tsne_colours(features, seed=0)[1], rgb)  # seeded


def test_ir_energy_db_is_parseval_energy_of_the_magnitudes():
    rng = np.random.default_rng(0)
    log_spec = rng.normal(-4, 2, size=(3, 2, 256, 20)).astype(np.float32)
    expected = 10 * np.log10((magnitude_from_log(log_spec) ** 2).sum(axis=(1, 2, 3)))
    np.testing.assert_allclose(ir_energy_db(log_spec), expected, atol=1e-4)
    silent = np.full((1, 2, 256, 20), np.log(1e-3), np.float32)
    assert ir_energy_db(silent)[0] < -250  # silence is far below anything audible, not NaN


def test_plan_grid_rejects_bad_spacing():
    with pytest.raises(NafError, match="spacing"):
        plan_grid(shoebox_scene(), 0.0)


def test_loudness_png_has_a_heatmap_and_colour_bar(tmp_path):
    scene = two_room_scene()
    xs, ys, free = plan_grid(scene, 0.1)
    gx, gy = np.meshgrid(xs, ys)
    db = np.where(free, -3.0 * np.hypot(gx - 1.0, gy - 1.5), np.nan).astype(np.float32)
    lm = LoudnessMap(xs=xs, ys=ys, db=db, emitter_xy=np.array([1.0, 1.5]), heading_deg=0.0)
    path = save_loudness_png(scene, lm, tmp_path / "sub" / "map.png")
    _assert_colourful_png(path, min_colours=50)
    assert [p.name for p in path.parent.iterdir()] == ["map.png"]  # atomic write left no temp file


def _assert_colourful_png(path, min_colours: int) -> None:
    image = imread(path)
    assert image.ndim == 3 and image.shape[0] > 200 and image.shape[1] > 200
    colours = np.unique((image[..., :3] * 255).astype(np.uint8).reshape(-1, 3), axis=0)
    assert len(colours) >= min_colours


# ---- a real field: `fast` preset trained on a simulated shoebox ----------------------------------------
TRAIN_STEPS = 400
"""Enough for the tiny field's energies to follow distance (corr -0.9 on training pairs); ~15 s on 1 core."""


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """(scene, field, checkpoint path, training emitter): absorbent 4 m x 3 m shoebox, order-1 simulation."""
    from model_helpers import tiny_data, train_fast_on_shoebox

    from naf_model.data import DataSet
    from naf_model.field import NeuralAcousticField

    folder = tmp_path_factory.mktemp("trained")
    scene = shoebox_scene(4.0, 3.0, 2.5, material="acoustic_panel")
    config = tiny_data(0.5, 1.5, None, test_fraction=0.2, seed=1, ir_seconds=0.15, n_rays=50, ism_order=1)
    data, result = train_fast_on_shoebox(folder, scene, config, TRAIN_STEPS)
    with DataSet(data) as ds:
        emitter = ds.emitters[0]
    return (
        scene,
        NeuralAcousticField.load(result.checkpoint, device="cpu", scene=scene),
        result.checkpoint,
        emitter,
    )


def test_loudness_map_covers_exactly_the_free_cells(trained):
    scene, field, _, emitter = trained
    lm = loudness_map(field, scene, emitter, heading_deg=30.0, spacing=0.2)
    xs, ys, free = plan_grid(scene, 0.2)
    assert lm.db.shape == (len(ys), len(xs)) == free.shape
    gx, gy = np.meshgrid(lm.xs, lm.ys)
    assert np.array_equal(np.isfinite(lm.db), scene.is_free(gx, gy))
    cells = np.c_[gx[np.isfinite(lm.db)], gy[np.isfinite(lm.db)]]  # row by row, as sample_grid orders them
    np.testing.assert_allclose(cells, scene.sample_grid(0.2), atol=1e-12)
    assert np.nanmax(lm.db) == 0.0 and lm.db.dtype == np.float32


@pytest.mark.parametrize("batch_size", [256, 7])  # one batch holding the whole map; ragged batches
def test_batch_map_equals_single_queries(trained, batch_size):
    scene, field, _, emitter = trained
    lm = loudness_map(field, scene, emitter, heading_deg=45.0, spacing=0.25, batch_size=batch_size)
    rows, cols = np.nonzero(np.isfinite(lm.db))
    pick = np.linspace(0, len(rows) - 1, 12).astype(int)
    listeners = np.c_[lm.xs[cols[pick]], lm.ys[rows[pick]]]
    single = np.array([ir_energy_db(field.query(emitter, xy, 45.0)[None])[0] for xy in listeners])
    mapped = lm.db[rows[pick], cols[pick]]
    np.testing.assert_allclose(mapped - mapped[0], single - single[0], atol=1e-3)


def test_loudness_falls_off_with_distance_from_the_emitter(trained):
    scene, field, _, emitter = trained
    lm = loudness_map(field, scene, emitter, spacing=0.25)
    gx, gy = np.meshgrid(lm.xs, lm.ys)
    ok = np.isfinite(lm.db)
    distance, db = np.hypot(gx - emitter[0], gy - emitter[1])[ok], lm.db[ok]
    assert np.corrcoef(distance, db)[0, 1] < -0.5
    assert db[distance < 1.0].mean() > db[distance > 2.0].mean() + 3.0


def test_loudness_map_rejects_an_emitter_outside_the_free_space(trained):
    scene, field, _, _ = trained
    with pytest.raises(PositionError, match="emitter"):
        loudness_map(field, scene, (0.05, 1.0))


def test_feature_tsne_and_structure_probe_on_a_trained_field(trained, tmp_path):
    scene, field, _, _ = trained
    tm = feature_tsne(field, scene, spacing=0.4, n_probe=16, seed=0)
    assert tm.rgb.shape == (len(tm.positions), 3) and len(tm.positions) == len(scene.sample_grid(0.4))
    assert tm.rgb.min() >= 0.0 and tm.rgb.max() <= 1.0
    assert (tm.rgb.std(axis=0) > 0.1).all()  # colours vary across the plan
    rng_state = torch.get_rng_state()
    probe, maps = probe_report(field, scene, spacing=0.25, n_probe=8, block_m=1.0, n_folds=3, resamples=200)
    assert torch.equal(torch.get_rng_state(), rng_state)  # the untrained copy leaves the global RNG alone
    m = len(scene.sample_grid(0.25))
    assert probe.positions.shape == (m, 2) and probe.depth.shape == (m, 8)
    np.testing.assert_allclose(probe.wall, wall_distance(scene, probe.positions))
    assert set(maps) == {"position", "grid", "grid_untrained", "hidden", "hidden_untrained"}
    for (target, feature), score in probe.scores.items():
        assert np.isfinite(score.value) and score.value <= 1.0, (target, feature)
        assert score.low <= score.value + 1e-9 and score.value <= score.high + 1e-9
        assert probe.predicted[(target, feature)].shape[0] == m
    assert probe.score("room", "hidden").value == 1.0  # one room: nothing to tell apart
    assert {f for _, f in probe.scores} == set(maps)
    _assert_colourful_png(save_tsne_png(scene, tm, tmp_path / "tsne.png"), min_colours=40)
    _assert_colourful_png(save_probe_png(scene, probe, tmp_path / "probe.png", maps), min_colours=40)


def test_feature_views_equal_tsne_and_probe_from_one_feature_pass(trained):
    scene, field, _, _ = trained
    calls = []
    views = feature_views(field, scene, spacing=0.5, n_probe=8, seed=1, block_m=1.0, n_folds=3, resamples=100,
                          progress=lambda d, t: calls.append((d, t)))
    probe, features = structure_probe(field, scene, 0.5, 8, 1, 1.0, 3, 100)
    tm = tsne_map(probe.positions, features["hidden"], 0.5, seed=1)
    np.testing.assert_array_equal(views.tsne.positions, tm.positions)
    np.testing.assert_allclose(views.tsne.rgb, tm.rgb)
    for key, score in probe.scores.items():
        assert views.probe.scores[key].value == pytest.approx(score.value)
    m = len(tm.positions)
    assert calls[-2:] == [(2 * m, 2 * m), (1, 1)], "the last feature batch, then once more after the t-SNE"


def test_cli_writes_the_three_figures_and_probe_json(trained, tmp_path, capsys):
    import hashlib
    import json

    scene, _, checkpoint, emitter = trained
    scene_file = save_scene(scene, tmp_path / "shoebox" / "scene.json")
    common = ["--scene", str(scene_file), "--checkpoint", str(checkpoint), "--no-progress"]
    x, y = map(str, emitter)
    assert (
        main(["loudness", *common, "--emitter", x, y, "--heading", "90", "-o", str(tmp_path / "l.png")]) == 0
    )
    assert main(["tsne", *common, "--spacing", "0.5", "--probes", "8", "-o", str(tmp_path / "t.png")]) == 0
    out_json = tmp_path / "results" / "probe.json"
    args = ["probe", *common, "--spacing", "0.25", "--probes", "8", "--block", "1", "--folds", "3", "--resamples",
            "200", "-o", str(tmp_path / "p.png")]
    assert main([*args, "--json", str(out_json)]) == 0
    for name in ("l.png", "t.png", "p.png"):
        assert (tmp_path / name).stat().st_size > 10_000
    summary = json.loads(out_json.read_text())
    assert summary["scene"] == "shoebox" and summary["preset"] == "fast"
    assert summary["checkpoint_sha256"] == hashlib.sha256(checkpoint.read_bytes()).hexdigest()
    assert summary["n_cells"] == len(scene.sample_grid(0.25)) and summary["protocol"]["folds"] == 3
    for target in ("wall", "depth", "room"):
        assert set(summary["results"][target]) == {"position", "grid", "grid_untrained", "hidden",
                                                   "hidden_untrained"}
        assert "hidden - hidden_untrained" in summary["differences"][target]
    assert "hidden - hidden_untrained" in summary["tsne_knn_room_accuracy"]
    assert "held-out scores" in capsys.readouterr().out
    assert main([*args[:-1], str(tmp_path / "q.png"), "--block", "50"]) == 2  # one block for three folds
    assert "--block" in capsys.readouterr().err and not (tmp_path / "q.png").exists()
    assert main(["loudness", *common, "--emitter", "9", "9", "-o", str(tmp_path / "x.png")]) == 2
    assert "emitter" in capsys.readouterr().err


def test_cli_finds_the_newest_training_run_and_says_when_there_is_none(
    trained, tmp_path, monkeypatch, capsys
):
    import shutil

    scene, _, checkpoint, emitter = trained
    scene_file = save_scene(scene, tmp_path / "shoebox" / "scene.json")
    monkeypatch.setenv("NAF_RUNS_DIR", str(tmp_path / "runs"))
    args = ["loudness", "--scene", str(scene_file), "--emitter", *map(str, emitter), "--no-progress"]
    assert main([*args, "-o", str(tmp_path / "a.png")]) == 2
    assert "no checkpoint for scene 'shoebox'" in capsys.readouterr().err
    (tmp_path / "runs" / "shoebox" / "fast").mkdir(parents=True)
    shutil.copy(checkpoint, tmp_path / "runs" / "shoebox" / "fast" / "best.pt")
    assert main([*args, "-o", str(tmp_path / "b.png")]) == 0 and (tmp_path / "b.png").is_file()


def test_metric_map_of_a_trained_field_holds_the_readout_of_its_played_irs(trained):
    from functools import partial

    from naf_model.acoustics.readout import ir_readout
    from naf_model.analysis import metric_map, plan_irs

    scene, field, _, emitter = trained
    plan = plan_irs(partial(field.impulse_responses, phase="listening"), scene, emitter, 90.0, 0.5, batch_size=6)
    c50 = metric_map(plan, "c50")
    rows, cols = np.nonzero(plan.free)
    shown = np.flatnonzero(np.isfinite(c50.values[rows, cols]))  # all but the cells at the emitter
    assert len(shown) >= len(rows) - 4
    for k in (shown[0], shown[-1]):
        single = field.impulse_response(emitter, plan.listeners[k], 90.0, phase="listening")
        assert c50.values[rows[k], cols[k]] == pytest.approx(ir_readout(single).c50_db, abs=1e-3)


def test_big_spaces_get_coarser_heatmap_cells_and_flats_keep_a_quarter_metre():
    from naf_model.analysis import map_spacing
    from naf_model.analysis.loudness import MAX_MAP_CELLS
    from naf_model.scene.io import load_scene

    assert map_spacing(48.0) == 0.25 and map_spacing(156.25) == 0.25  # 2,500 cells of 0.25 m
    assert map_spacing(621.0) == 0.5  # the cathedral: 2,484 cells at 0.5 m
    assert map_spacing(10_000.0) == 2.0
    for name in ("apartment_1", "apartment_2", "small_house"):
        assert map_spacing(load_scene(name).free_space.area) == 0.25
    area = load_scene("cathedral").free_space.area
    steps = np.round(np.arange(0.25, 1.0, 0.05), 2)  # cell sizes in metres, 5 cm apart
    fitting = [float(s) for s in steps if area / s**2 <= MAX_MAP_CELLS]  # sizes whose cell count fits
    assert map_spacing(area) == fitting[0] == 0.5  # the finest size that fits: 0.45 m would give too many cells
