"""Free-position training pairs (`naf data make --free-pairs`, `naf train --extra`): where they lie, that grid
plans keep their keys, and that training takes them in beside the grid data set's own pairs."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from model_helpers import TINY_DATA, tiny_config, tiny_dataset

from naf_model.checkpoint import combine_checkpoints, load_checkpoint, save_checkpoint
from naf_model.cli import main
from naf_model.data import DataConfig, DataSet, make_dataset, plan_dataset
from naf_model.data.extra import TrainingPairs, free_pairs_command
from naf_model.data.plan import FREE_LISTENERS_PER_EMITTER, MIN_PAIR_DISTANCE_M, SPLIT_TRAIN
from naf_model.errors import CheckpointError, DataError
from naf_model.evaluation.runner import EvalConfig, evaluate, extra_data_for
from naf_model.scene import save_scene
from naf_model.scene.examples import two_room_scene
from naf_model.training.train import RunOptions, train_field
from naf_model.training.trainset import load_training_set

FREE = dataclasses.replace(TINY_DATA, free_pairs=10, listeners_per_emitter=4)


@pytest.fixture(scope="module")
def scene():
    return two_room_scene()


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return tiny_dataset(tmp_path_factory)


@pytest.fixture(scope="module")
def free_data(scene, tmp_path_factory) -> Path:
    return make_dataset(scene, FREE, tmp_path_factory.mktemp("free") / "free.h5", workers=1, progress=False)


def test_free_plan_draws_free_seeded_positions_all_for_training(scene):
    plan = plan_dataset(scene, FREE)
    assert len(plan.pairs) == 10 and len(plan.emitters) == 3  # 4 + 4 + 2 listeners
    assert np.bincount(plan.pairs[:, 0]).tolist() == [4, 4, 2]
    assert (plan.split == SPLIT_TRAIN).all()
    points = np.concatenate([plan.emitters, plan.listeners])
    assert scene.is_free(points[:, 0], points[:, 1]).all()
    e, li = plan.emitters[plan.pairs[:, 0]], plan.listeners[plan.pairs[:, 1]]
    assert np.hypot(*(e - li).T).min() >= MIN_PAIR_DISTANCE_M
    assert plan_dataset(scene, FREE).key == plan.key
    other = plan_dataset(scene, dataclasses.replace(FREE, seed=FREE.seed + 1))
    assert not np.allclose(other.listeners, plan.listeners)


def test_free_positions_reach_where_the_grid_does_not(scene):
    """Inside a grid no point is farther than spacing / sqrt 2 from a cell centre; free positions are, in the
    strips the grid leaves along the walls, and emitters are no longer confined to the coarse grid."""
    plan = plan_dataset(scene, dataclasses.replace(FREE, free_pairs=400, listeners_per_emitter=20))

    def grid_distance(points: np.ndarray, spacing: float) -> np.ndarray:
        grid = scene.sample_grid(spacing)
        return np.hypot(*(points[:, None] - grid[None]).transpose(2, 0, 1)).min(1)

    spacing = TINY_DATA.listener_spacing
    assert (grid_distance(plan.listeners, spacing) > spacing / np.sqrt(2)).mean() > 0.05
    assert np.median(grid_distance(plan.emitters, TINY_DATA.emitter_spacing)) > 0.1  # metres


def test_grid_plans_keep_their_keys_and_free_plans_their_own_seeds(scene):
    grid = plan_dataset(scene, TINY_DATA)
    assert "free_pairs" not in grid.to_dict()["config"]
    assert DataConfig.from_dict(grid.to_dict()["config"]).free_pairs == 0
    free = plan_dataset(scene, FREE)
    assert free.to_dict()["config"]["free_pairs"] == 10
    assert DataConfig.from_dict(free.to_dict()["config"]).free_pairs == 10
    assert free.emitter_seed(0) != grid.emitter_seed(0)


def test_extra_pairs_join_the_training_split_only(data, free_data):
    base = load_training_set(data)
    both = load_training_set(data, [free_data])
    with DataSet(free_data) as ds:
        extra = ds.read_spec(ds.indices("train"))
        assert len(both.train) == len(base.train) + len(extra)
        np.testing.assert_array_equal(both.train.spec[len(base.train) :].numpy(), extra)
        np.testing.assert_array_equal(both.train.emitters[len(base.train) :].numpy(),
                                      ds.positions("train")[0].astype(np.float32))
    assert len(both.validation) == len(base.validation)
    np.testing.assert_array_equal(both.stats.mean, base.stats.mean)
    streamed = load_training_set(data, [free_data], memory_budget=both.train.spec.numel())  # half the size
    assert streamed.streamed and len(streamed.train) == len(both.train)
    for s in range(0, len(both.train), 8):  # rows of both files, through the cache
        rows = torch.arange(s, min(s + 8, len(both.train))).flip(0)
        assert torch.equal(streamed.train.spec[rows], both.train.spec[rows])
    streamed.close()


def test_extra_pairs_of_other_settings_are_refused(scene, data, tmp_path):
    other = dataclasses.replace(FREE, simulation=dataclasses.replace(FREE.simulation, n_rays=50))
    path = make_dataset(scene, dataclasses.replace(other, free_pairs=2), tmp_path / "other.h5", workers=1,
                        progress=False)
    with pytest.raises(DataError, match="other simulator settings"):
        load_training_set(data, [path])


def test_training_with_extra_pairs_records_them(scene, data, free_data, tmp_path):
    config = tiny_config("amortised", steps=4, eval_every=2)
    result = train_field(config, RunOptions(data, tmp_path, progress=False, extra=(free_data,)), scene)
    ckpt = load_checkpoint(result.best)
    assert ckpt.metrics["extra_data"] == [free_data.name]
    assert ckpt.metrics["train_pairs"] == len(load_training_set(data).train) + 10
    again = RunOptions(data, tmp_path, steps=6, progress=False, resume=True)  # without the extra pairs
    with pytest.raises(CheckpointError, match="same --extra"):
        train_field(config, again, scene)
    result = train_field(config, dataclasses.replace(again, extra=(free_data,)), scene)
    assert result.step == 6


def test_cli_writes_free_pairs_next_to_the_data_set(scene, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NAF_DATA_DIR", str(tmp_path))
    save_scene(scene, tmp_path / "two_room.json")
    args = ["data", "make", "--scene", str(tmp_path / "two_room.json"), "--free-pairs", "3", "--ir-seconds",
            "0.15", "--rays", "100", "--workers", "1"]  # fmt: skip
    assert main(args) == 0
    with DataSet(tmp_path / "two_room.free-3.h5") as ds:
        assert len(ds) == 3 and ds.meta.data_config["free_pairs"] == 3
        assert ds.meta.data_config["listeners_per_emitter"] == FREE_LISTENERS_PER_EMITTER
    assert main([*args, "--seed", "2"]) == 0  # another draw goes beside it, not over it
    with DataSet(tmp_path / "two_room.free-3-s2.h5") as ds, DataSet(tmp_path / "two_room.free-3.h5") as first:
        assert not np.array_equal(ds.listeners, first.listeners)


def test_cli_refuses_a_missing_extra_file_in_one_line(scene, data, tmp_path, capsys):
    save_scene(scene, tmp_path / "two_room.json")
    args = ["train", "--scene", str(tmp_path / "two_room.json"), "--data", str(data),
            "--extra", str(tmp_path / "missing.h5"), "--steps", "1", "--out", str(tmp_path / "run")]  # fmt: skip
    rc = main(args)
    err = capsys.readouterr().err
    assert rc != 0 and "missing.h5" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_pool_reads_the_rows_of_both_data_sets(data, free_data):
    with DataSet(data) as ds, DataSet(free_data) as extra:
        pool = TrainingPairs(ds, [extra])
        n = len(ds.indices("train"))
        assert len(pool) == n + 10 and pool.n_extra == 10
        e, li = pool.positions()
        np.testing.assert_array_equal(li[n:], extra.positions("train")[1])
        rows = np.array([n + 3, 1, n, 0])  # mixed and out of order
        got = pool.read_ir(rows)
        np.testing.assert_array_equal(got[0], extra.read_ir(extra.indices("train")[[3]])[0])
        np.testing.assert_array_equal(got[1], ds.read_ir(ds.indices("train")[[1]])[0])
        np.testing.assert_array_equal(got[2], extra.read_ir(extra.indices("train")[[0]])[0])


def test_eval_gives_the_baselines_the_pairs_the_field_saw(scene, data, free_data, tmp_path):
    """A field trained with extra pairs is compared with baselines that interpolate the same pairs; the
    extra data set is found next to the data set, and its absence is a one-line error."""
    config = tiny_config("amortised", steps=2, eval_every=2)
    run = train_field(config, RunOptions(data, tmp_path / "run", progress=False, extra=(free_data,)), scene)
    folder = tmp_path / "data"
    folder.mkdir()
    for src in (data, free_data):
        shutil.copy(src, folder / src.name)
    eval_config = EvalConfig("two_room", data=folder / data.name, checkpoint=run.best, max_pairs=4,
                             floor_pairs=0, use_codecs=False, out_dir=None, progress=False)  # fmt: skip
    report = evaluate(eval_config, scene)
    with DataSet(data) as ds:
        assert report.settings["n_train_pairs"] == len(ds.indices("train")) + 10
    assert report.settings["n_extra_train_pairs"] == 10
    assert "10 of them from" in report.to_markdown()
    joined = tmp_path / "ensemble.pt"  # an ensemble of fields that saw the extra pairs: the same baselines
    other = train_field(config, RunOptions(data, tmp_path / "run2", seed=1, progress=False, extra=(free_data,)), scene)
    save_checkpoint(combine_checkpoints([run.best, other.best]), joined)
    joined_config = dataclasses.replace(eval_config, checkpoint=joined)
    assert extra_data_for(joined_config, load_checkpoint(joined), folder / data.name) == [folder / free_data.name]
    (folder / free_data.name).unlink()
    with pytest.raises(DataError, match="free-pairs"):
        evaluate(eval_config, scene)
    assert free_pairs_command("apartment_1.free-1000-s1.h5") == (
        "naf data make --scene apartment_1 --free-pairs 1000 --seed 1"
    )
    assert free_pairs_command("apartment_1.free-2000.h5") == "naf data make --scene apartment_1 --free-pairs 2000"


def test_a_free_set_where_a_grid_data_set_belongs_says_how_to_use_it(scene, free_data):
    with pytest.raises(DataError, match="pass it with --extra"):
        load_training_set(free_data)
    with pytest.raises(DataError, match="pass it with --extra"):
        evaluate(EvalConfig("two_room", data=free_data, checkpoint=None, out_dir=None, progress=False), scene)


class _CountingScene:
    """A scene that counts the positions `is_free` is asked about."""

    def __init__(self, scene) -> None:
        self._scene, self.asked = scene, 0

    def __getattr__(self, name: str):
        return getattr(self._scene, name)

    def is_free(self, x, y):
        self.asked += np.size(x)
        return self._scene.is_free(x, y)


def _eager_free_plan(scene, config: DataConfig) -> tuple[np.ndarray, np.ndarray]:
    """The planner as first written, `is_free` asked about every drawn position: emitters (E, 2), listeners
    (P, 2). The bundled free-pair data sets were made with these draws."""
    from naf_model.data.plan import _STREAM_FREE_POSITIONS, derived_seed

    rng = np.random.default_rng(derived_seed(config.seed, _STREAM_FREE_POSITIONS))
    x0, y0, x1, y1 = scene.bounds

    def draw(count: int) -> np.ndarray:
        found: list[np.ndarray] = []
        while sum(len(f) for f in found) < count:
            xy = np.column_stack([rng.uniform(x0, x1, 4096), rng.uniform(y0, y1, 4096)])
            found.append(xy[np.asarray(scene.is_free(xy[:, 0], xy[:, 1]), bool)])
        return np.concatenate(found)[:count]

    per = config.listeners_per_emitter
    emitters = draw(-(-config.free_pairs // per))
    listeners = []
    for e, xy in enumerate(emitters):
        want = min(per, config.free_pairs - e * per)
        chosen = np.empty((0, 2))
        while len(chosen) < want:
            more = draw(2 * want)
            chosen = np.concatenate([chosen, more[np.hypot(*(more - xy).T) >= MIN_PAIR_DISTANCE_M]])
        listeners.append(chosen[:want])
    return emitters, np.concatenate(listeners)


@pytest.mark.parametrize(("pairs", "seed"), [(1000, 0), (1000, 1), (2000, 0), (2000, 1)])
def test_the_free_planner_keeps_its_draws_and_asks_is_free_about_few_positions(pairs, seed):
    """Planning asks `is_free` only about the positions it needs (a 1,000,000-pair plan took minutes when it
    asked about all 4,096 of every round), with the very draws of the data sets made before."""
    from naf_model.scene import load_scene

    apartment = load_scene("apartment_1")
    config = dataclasses.replace(DataConfig(), free_pairs=pairs, listeners_per_emitter=FREE_LISTENERS_PER_EMITTER,
                                 seed=seed)
    counting = _CountingScene(apartment)
    plan = plan_dataset(counting, config)
    emitters, listeners = _eager_free_plan(apartment, config)
    assert np.array_equal(plan.emitters, emitters) and np.array_equal(plan.listeners, listeners)
    assert counting.asked < 8 * (len(plan.emitters) + len(plan.listeners))  # the eager planner: ~100 x


def test_a_big_free_pair_set_is_checked_against_the_disk_and_announced_before_it_is_drawn(scene, tmp_path,
                                                                                           monkeypatch, capsys):
    import shutil as shutil_module

    from naf_model.data import make as make_module

    def no_plan(*args, **kwargs):
        raise AssertionError("planned a data set the disk cannot hold")

    monkeypatch.setattr(make_module, "plan_dataset", no_plan)
    usage = shutil_module.disk_usage(tmp_path)
    monkeypatch.setattr(shutil_module, "disk_usage", lambda _: usage._replace(free=10**9))
    scene_file = save_scene(scene, tmp_path / "scene.json")
    argv = ["data", "make", "--scene", str(scene_file), "--free-pairs", "100000", "-o", str(tmp_path / "d.h5")]
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "fewer --free-pairs" in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scene.json"]

    def stop(*args, **kwargs):
        raise DataError("stopped before drawing")

    monkeypatch.setattr(make_module, "plan_dataset", stop)
    monkeypatch.setattr(shutil_module, "disk_usage", lambda _: usage._replace(free=10**15))
    assert main(argv) == 2
    said = capsys.readouterr().err.splitlines()
    assert said == ["two_room: drawing 100,000 free-position pairs...", "naf: error: stopped before drawing"], said
