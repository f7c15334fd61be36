"""Data set build, resume, shards and reader on a tiny two-room scene with few rays and short IRs.

The IRs (0.25 s) are long enough for a late part after the two-room scene's early part (its longest direct
path plus 0.1 s), so every build here holds both; the room itself would need 2.66 s."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from naf_model.cli import main
from naf_model.data import DataConfig, DataSet, make_dataset, merge_shards, plan_dataset
from naf_model.data.assemble import check_output
from naf_model.data.budget import (
    ON_DISK_FRACTION,
    RoomCost,
    block_cpu_seconds,
    data_bytes,
    describe_cpu_seconds,
    format_minutes,
    pair_bytes,
    room_cost,
    simulation_minutes,
)
from naf_model.data.described import early_spectrogram, late_description
from naf_model.data.parts import parts_folder
from naf_model.data.pilot import decay_end_s
from naf_model.data.plan import SPLIT_TEST, SPLIT_TRAIN, SPLIT_VALIDATION
from naf_model.data.stats import RunningMoments
from naf_model.errors import DataError
from naf_model.scene import Scene, save_scene
from naf_model.scene.examples import shoebox_scene, two_room_scene
from naf_model.simulate import SimulationConfig
from naf_model.simulate.ir_length import longest_path_seconds, needed_ir_length, read_pilot
from naf_model.spectrogram import frames_for_length, log_magnitude
from naf_model.split import ir_split, no_split

IR_SECONDS, RAYS = 0.25, 100
TINY = DataConfig(
    listener_spacing=0.8,
    emitter_spacing=1.2,
    listeners_per_emitter=4,
    seed=3,
    simulation=SimulationConfig(ir_seconds=IR_SECONDS, n_rays=RAYS),
)
TINY_CLI = [
    "--listener-spacing", "0.8", "--emitter-spacing", "1.2", "--listeners-per-emitter", "4", "--seed", "3",
    "--ir-seconds", str(IR_SECONDS), "--rays", str(RAYS),
]  # fmt: skip


def content(path: Path) -> dict[str, object]:
    """Every dataset's values and dtype and every attribute of an HDF5 file, for exact comparison."""
    found: dict[str, object] = {f"attr:{k}": v for k, v in h5py.File(path, "r").attrs.items()}
    with h5py.File(path, "r") as f:

        def add(name: str, obj: object) -> None:
            if isinstance(obj, h5py.Dataset):
                found[name] = (obj.dtype.str, obj[()])

        f.visititems(add)
    return found


def assert_same_content(a: Path, b: Path) -> None:
    ca, cb = content(a), content(b)
    assert ca.keys() == cb.keys()
    for key in ca:
        va, vb = ca[key], cb[key]
        if isinstance(va, tuple):
            assert va[0] == vb[0], key
            np.testing.assert_array_equal(va[1], vb[1], err_msg=key)
        else:
            assert np.array_equal(va, vb), (key, va, vb)


@pytest.fixture(scope="module")
def scene():
    return two_room_scene()


@pytest.fixture(scope="module")
def built(scene, tmp_path_factory) -> Path:
    """One uninterrupted build of the tiny data set, shared by the read-only tests."""
    return make_dataset(scene, TINY, tmp_path_factory.mktemp("built") / "tiny.h5", workers=1, progress=False)


@pytest.fixture(scope="module")
def built_all(scene, tmp_path_factory) -> Path:
    """The same plan with every pair's waveform (`--waveforms all`)."""
    return make_dataset(scene, dataclasses.replace(TINY, waveforms="all"),
                        tmp_path_factory.mktemp("built_all") / "tiny_all.h5", workers=1, progress=False)


def test_layout_shapes_and_dtypes(built, scene):
    plan = plan_dataset(scene, TINY)
    n = round(IR_SECONDS * 22_050)
    split = ir_split(n, longest_path_seconds(scene))
    t, t_late = split.early_frames, split.late_frames
    assert split.has_late and t < frames_for_length(n) and t_late > 0  # the tiny IRs have both parts
    p, e, l = len(plan.pairs), len(plan.emitters), len(plan.listeners)
    assert e >= 4 and p == 4 * e  # every emitter has more than 4 eligible listeners in this plan
    expected = {
        "emitters": ((e, 2), np.float64), "listeners": ((l, 2), np.float64),
        "pairs": ((p, 2), np.int32), "orientations": ((4,), np.float32), "split": ((p,), np.uint8),
        "spec": ((p, 4, 2, 256, t), np.float16), "ir": ((p, 4, 2, n), np.float16), "done": ((e,), np.bool_),
        "late": ((p, 4, 2, 7, t_late), np.float16), "has_ir": ((p,), np.bool_),
        "stats/mean": ((256, t), np.float32), "stats/std": ((256, t), np.float32),
        "stats/late_mean": ((7, t_late), np.float32), "stats/late_std": ((7, t_late), np.float32),
    }  # fmt: skip
    with h5py.File(built, "r") as f:
        for name, (shape, dtype) in expected.items():
            assert f[name].shape == shape and f[name].dtype == dtype, name
        assert f["spec"].chunks == (1, 4, 2, 256, t) and f["spec"].compression is not None
        assert f["late"].chunks == (1, 4, 2, 7, t_late) and f["ir"].chunks == (1, 4, 2, n)
        a = f.attrs
        stft = (a["format_version"], a["sample_rate"], a["n_fft"], a["hop"], a["n_freq"])
        assert stft == (3, 22050, 512, 128, 256)
        assert (a["n_frames"], a["ir_length"], a["seed"], bool(a["complete"])) == (t, n, 3, True)
        assert (a["late_start"], a["fade"], a["late_frame"], a["waveforms"]) == (
            split.late_start, split.fade, split.late_frame, "held-out")
        np.testing.assert_array_equal(f["has_ir"][()], plan.split != SPLIT_TRAIN)
        assert a["scene_name"] == "two_room" and a["scene_hash"] == scene.geometry_hash()
        assert SimulationConfig.from_json(a["simulation"]) == dataclasses.replace(TINY.simulation, seed=3)
        np.testing.assert_array_equal(f["orientations"][()], [0, 90, 180, 270])
        pairs = f["pairs"][()]
        dist = np.hypot(*(f["emitters"][()][pairs[:, 0]] - f["listeners"][()][pairs[:, 1]]).T)
        assert dist.min() >= 0.25 and np.all(f["done"][()])
        assert np.all(np.isfinite(f["spec"][()])) and np.all(np.isfinite(f["late"][()]))
        assert np.abs(f["ir"][()]).max() > 0
    with DataSet(built) as ds:
        assert ds.split_info == split and ds.has_late and ds.late.shape == expected["late"][0]
        assert (ds.meta.n_frames, ds.meta.ir_length) == (t, n)
        assert ds.read_late([2, 0, 2]).shape == (3, 4, 2, 7, t_late)
        np.testing.assert_array_equal(ds.read_late([2, 0, 2])[1], ds.late[0])
        assert ds.late_stats.mean.shape == ds.late_stats.std.shape == (7, t_late)
    assert not parts_folder(built).exists()


def test_split_fraction_and_seeded_determinism(scene):
    a, b = plan_dataset(scene, TINY), plan_dataset(scene, TINY)
    assert a.key == b.key and np.array_equal(a.split, b.split) and np.array_equal(a.pairs, b.pairs)
    assert (a.split == SPLIT_TEST).sum() == round(0.1 * len(a.pairs))
    big = DataConfig(listener_spacing=0.4, emitter_spacing=0.8, listeners_per_emitter=None, seed=0)
    c, d = plan_dataset(scene, big), plan_dataset(scene, DataConfig(**{**big.__dict__, "seed": 1}))
    assert 0.09 < (c.split == SPLIT_TEST).mean() < 0.11 and np.array_equal(c.pairs, d.pairs)
    assert not np.array_equal(c.split, d.split) and c.key != d.key
    # Seeds derived per emitter do not depend on which other emitters run, so shards agree.
    assert len({c.emitter_seed(i) for i in range(len(c.emitters))}) == len(c.emitters)


def test_train_validation_and_test_are_disjoint_and_cover_every_pair(scene):
    config = DataConfig(listener_spacing=0.4, emitter_spacing=0.8, listeners_per_emitter=None, seed=5)
    plan = plan_dataset(scene, config)
    parts = [set(np.flatnonzero(plan.split == code)) for code in (SPLIT_TRAIN, SPLIT_VALIDATION, SPLIT_TEST)]
    train, validation, test = parts
    assert not (train & validation or train & test or validation & test)
    assert train | validation | test == set(range(len(plan.pairs)))
    assert len(validation) == round(0.05 * (len(train) + len(validation))) > 0
    # carving validation never moves a test pair: the test split is the one a plan without validation has
    no_val = plan_dataset(scene, dataclasses.replace(config, validation_fraction=0.0))
    assert set(np.flatnonzero(no_val.split == SPLIT_TEST)) == test and not np.any(no_val.split == 2)
    other = plan_dataset(scene, dataclasses.replace(config, validation_fraction=0.2))
    assert set(np.flatnonzero(other.split == SPLIT_TEST)) == test and other.key != plan.key


def write_format_2(source: Path, out: Path) -> Path:
    """What `naf data make` wrote before the late part (format 2), from a format 3 file with every waveform:
    whole-IR spectrograms and their stats, no late part, no has_ir, no split attributes."""
    shutil.copy(source, out)
    with h5py.File(out, "r+") as f:
        ir = f["ir"][()]
        whole = log_magnitude(ir.astype(np.float32)).astype(np.float16)
        train = whole[f["split"][()] == SPLIT_TRAIN].astype(np.float64).reshape((-1,) + whole.shape[-2:])
        for name in ("spec", "late", "has_ir", "stats/mean", "stats/std", "stats/late_mean", "stats/late_std"):
            del f[name]
        f.create_dataset("spec", data=whole, chunks=(1,) + whole.shape[1:], compression="gzip")
        f.create_dataset("stats/mean", data=train.mean(0).astype(np.float32))
        f.create_dataset("stats/std", data=np.maximum(train.std(0), 1e-3).astype(np.float32))
        for name in ("late_start", "fade", "late_frame", "waveforms"):
            del f.attrs[name]
        f.attrs["n_frames"] = whole.shape[-1]
        f.attrs["format_version"] = 2
    return out


def test_a_format_2_data_set_still_opens_whole_and_without_a_late_part(built_all, tmp_path):
    old = write_format_2(built_all, tmp_path / "old2.h5")
    with DataSet(old) as ds, DataSet(built_all) as new:
        n = ds.meta.ir_length
        assert ds.split_info == no_split(n) and not ds.split_info.has_late and not ds.has_late
        assert ds.meta.n_frames == frames_for_length(n) == ds.spec.shape[-1] > new.meta.n_frames
        assert ds.late_stats is None and ds.has_ir.all() and ds.meta.waveforms == "all"
        with pytest.raises(DataError, match="format 2 data set without a late part") as err:
            ds.late  # noqa: B018
        assert "\n" not in str(err.value)
        np.testing.assert_array_equal(ds.read_ir([1, 0]), new.read_ir([1, 0]))
        # the new early spectrogram is the head of the old whole-IR one
        np.testing.assert_array_equal(ds.read_spec([3])[..., : new.meta.n_frames], new.read_spec([3]))
        assert ds.stats.mean.shape == (256, frames_for_length(n))
        assert "none" in ds.summary()["late frames"]


def test_a_format_1_data_set_gets_the_same_validation_split_on_read(scene, built_all, tmp_path):
    old = write_format_2(built_all, tmp_path / "old.h5")
    with h5py.File(old, "r+") as f:  # what `naf data make` wrote before the validation split existed
        stored = f["split"][()]
        f["split"][...] = np.where(stored == SPLIT_TEST, SPLIT_TEST, SPLIT_TRAIN)
        f.attrs["format_version"] = 1
        del f.attrs["validation_fraction"]
    with DataSet(built_all) as new_ds, DataSet(old) as old_ds:
        np.testing.assert_array_equal(old_ds.split, new_ds.split)
        for name in ("train", "validation", "test"):
            np.testing.assert_array_equal(old_ds.indices(name), new_ds.indices(name))
        assert "derived on read" in old_ds.summary()["validation split"]
        assert "stored in the data set" in new_ds.summary()["validation split"]
    # `naf data make` of these settings rebuilds an old file only when told to, and says why
    with pytest.raises(DataError, match="holds a format 1 data set .* pass --overwrite to rebuild it as format 3"):
        check_output(old, plan_dataset(scene, TINY), overwrite=False)
    assert not check_output(old, plan_dataset(scene, TINY), overwrite=True)


def test_stats_equal_numpy_over_training_spectrograms_and_late_envelopes(built):
    with DataSet(built) as ds:
        train = ds.read_spec(ds.indices("train")).astype(np.float64)
        samples = train.reshape(-1, 256, ds.meta.n_frames)  # all orientations and ears pooled
        stats = ds.stats
        np.testing.assert_allclose(stats.mean, samples.mean(axis=0), rtol=0, atol=1e-5)
        np.testing.assert_allclose(stats.std, np.maximum(samples.std(axis=0), 1e-3), rtol=1e-5, atol=1e-6)
        late = ds.read_late(ds.indices("train")).astype(np.float64).reshape(-1, 7, ds.split_info.late_frames)
        late_stats = ds.late_stats
        np.testing.assert_allclose(late_stats.mean, late.mean(axis=0), rtol=0, atol=1e-4)
        np.testing.assert_allclose(late_stats.std, np.maximum(late.std(axis=0), 1e-3), rtol=1e-5, atol=1e-5)
        assert late_stats.mean.dtype == late_stats.std.dtype == np.float32
        n_split = sum(len(ds.indices(s)) for s in ("train", "validation", "test"))
        assert n_split == len(ds) and len(ds.indices("validation")) > 0


def test_held_out_pairs_keep_their_waveforms_and_training_pairs_take_no_space(built, built_all):
    with DataSet(built) as ds, DataSet(built_all) as every:
        train, held = ds.indices("train"), np.flatnonzero(ds.split != SPLIT_TRAIN)
        assert len(train) and len(held)
        np.testing.assert_array_equal(ds.has_ir, ds.split != SPLIT_TRAIN)
        assert every.has_ir.all() and every.meta.waveforms == "all" and ds.meta.waveforms == "held-out"
        np.testing.assert_array_equal(ds.read_ir(held[::-1]), every.read_ir(held[::-1]))
        with pytest.raises(DataError, match=f"not of 1 requested training pair \\({train[0]}\\).*--waveforms all"
                           ) as err:
            ds.read_ir([held[0], train[0], held[0]])
        assert "\n" not in str(err.value)
        with pytest.raises(DataError, match=f"not of {len(train)} requested training pairs"):
            ds.read_ir()
        for name in ("spec", "late"):  # everything else is the same
            np.testing.assert_array_equal(ds._file[name][()], every._file[name][()], err_msg=name)
        np.testing.assert_array_equal(ds.late_stats.std, every.late_stats.std)
        # HDF5 allocates the chunks written, one per pair: none for the training pairs
        assert ds.ir.id.get_num_chunks() == len(held) and every.ir.id.get_num_chunks() == len(every)
        train_bytes = sum(every.ir.id.get_chunk_info_by_coord((int(i), 0, 0, 0)).size for i in train)
        assert "held-out: " in ds.summary()["waveforms"] and every.summary()["waveforms"].startswith("all ")
    assert built_all.stat().st_size - built.stat().st_size >= 0.95 * train_bytes > 0


def test_the_default_ir_length_covers_the_rooms_decay(tmp_path):
    """`naf data make` without --ir-seconds simulates as long as the room needs: the slowest band's late
    envelope falls by about what Eyring's T60 says over the stored late part."""
    scene = shoebox_scene(3.0, 2.5, 2.4, "tiles_furnished")  # Eyring T60 0.66 s at 125 Hz: more than 0.6 s
    need = needed_ir_length(scene)
    out = tmp_path / "room.h5"
    args = ["data", "make", "--scene", str(save_scene(scene, tmp_path / "room.json")), "-o", str(out),
            "--listener-spacing", "0.8", "--emitter-spacing", "1.2", "--listeners-per-emitter", "2", "--rays", "100",
            "--workers", "1"]  # fmt: skip
    assert main(args) == 0
    # lengths below are of the IRs (seconds of sound), not timings: the pilot measured it, never below Eyring's
    pilot = read_pilot(scene)
    assert pilot is not None and pilot.pairs == 12 and pilot.seconds >= need.seconds
    with DataSet(out) as ds:
        seconds = ds.meta.ir_length / 22_050
        assert seconds == pytest.approx(pilot.seconds) and seconds > 0.6
        assert np.all(decay_end_s(ds.read_ir(np.flatnonzero(ds.has_ir))[:, 0].astype(np.float64)) <= seconds)
        split = ds.split_info
        slowest = [125, 250, 500, 1000, 2000, 4000, 8000].index(need.band_hz)
        level_db = 10 * np.log10(np.e) * ds.read_late().astype(np.float64)[..., slowest, :].mean(axis=(0, 1, 2))
        fallen = level_db[0] - level_db[-3:].mean()
        eyring = 60 * (split.ir_length - split.late_start - 2 * split.late_frame) / 22_050 / need.band_t60_s
        assert fallen > 0.75 * eyring > 35, (fallen, eyring)


def test_plan_only_prints_the_plan_and_simulates_nothing(tmp_path, capsys):
    """`--plan-only`: the plan and length lines and how to build, no pilot, no parts, no file, nothing cached."""
    scene = shoebox_scene(3.1, 2.6, 2.4, "tiles_furnished")  # no other test's: no pilot of it is cached
    out = tmp_path / "room.h5"
    args = ["data", "make", "--scene", str(save_scene(scene, tmp_path / "room.json")), "-o", str(out),
            "--listener-spacing", "0.8", "--emitter-spacing", "1.2", "--plan-only"]  # fmt: skip
    assert main(args) == 0
    captured = capsys.readouterr()
    assert "pairs, ~" in captured.err and "on 1 worker" not in captured.out
    assert "IRs " in captured.err and "pilot simulation" in captured.err
    assert f"without --plan-only builds {out}" in captured.out
    assert read_pilot(scene) is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["room.json"]


def test_irs_too_short_for_a_late_part_are_all_early(scene, tmp_path):
    short = dataclasses.replace(TINY, simulation=SimulationConfig(ir_seconds=0.1, n_rays=RAYS))
    out = make_dataset(scene, short, tmp_path / "short.h5", workers=1, progress=False)
    with DataSet(out) as ds:
        n = ds.meta.ir_length
        assert not ds.has_late and ds.split_info.late_start == n and ds.late_stats is None
        assert ds.meta.n_frames == frames_for_length(n) and ds.late.shape == (len(ds), 4, 2, 7, 0)
        assert ds.read_late([1, 0]).shape == (2, 4, 2, 7, 0)
        assert ds.summary()["late frames"] == "none (no late part)"


def test_no_late_part_stores_the_whole_ir_as_one_spectrogram(scene, tmp_path, capsys):
    """`--no-late-part`: the layout of fields made before the split (whole-IR spectrograms), asked for by name."""
    out = tmp_path / "whole.h5"
    assert main(["data", "make", "--scene", str(save_scene(scene, tmp_path / "s" / "scene.json")), *TINY_CLI,
                 "--no-late-part", "-o", str(out), "--workers", "1"]) == 0
    with DataSet(out) as ds:
        n = ds.meta.ir_length
        assert not ds.has_late and ds.split_info == no_split(n) and ds.meta.n_frames == frames_for_length(n)
        assert ds.meta.data_config["late_part"] is False


def test_running_moments_merge_blocks_exactly():
    rng = np.random.default_rng(0)
    blocks = [rng.normal(5.0, 2.0, (n, 3, 4)) for n in (1, 7, 0, 30)]
    moments = RunningMoments((3, 4))
    for block in blocks:
        moments.add(block)
    everything = np.concatenate(blocks)
    np.testing.assert_allclose(moments.mean, everything.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(moments.std, everything.std(axis=0), rtol=1e-12)


def test_spectrogram_and_late_part_describe_the_stored_ir(built_all):
    with DataSet(built_all) as ds:
        ir, spec = ds.read_ir([0, 5, 2, 5]), ds.read_spec([0, 5, 2, 5])
        np.testing.assert_array_equal(spec[3], ds.spec[5])  # any order, repeats allowed
        np.testing.assert_array_equal(ir[2], ds.ir[2])
        # the early frames are the head of the WHOLE IR's STFT: the frames near the split see the real signal
        whole = log_magnitude(ir.astype(np.float32))
        again = whole[..., : ds.meta.n_frames]
        np.testing.assert_array_equal(again, early_spectrogram(ir, ds.split_info))
        assert not np.allclose(again[..., -1], log_magnitude(ir[..., : ds.split_info.early_samples])[..., -1])
        # float16 rounding of values in [-7, 2]: half a step is at most 2^-9
        np.testing.assert_allclose(spec.astype(np.float32), again, rtol=0, atol=2.0**-8)
        assert again.max() > np.log(1e-3) + 3  # not silence
        late = ds.read_late([0, 5, 2, 5]).astype(np.float32)
        expected = late_description(ir, ds.split_info)
        # float16 of ln powers in [-33, 0]: half a step is at most 2^-6 (0.07 dB)
        np.testing.assert_allclose(late, expected, rtol=0, atol=2.0**-6)
        assert late.shape == (4, 4, 2, 7, ds.split_info.late_frames) and late.max() > np.log(1e-14) + 10
        emitters, listeners = ds.positions("all")
        np.testing.assert_array_equal(emitters[[0, 5, 2]], ds.emitters[ds.pairs[[0, 5, 2], 0]])
        assert listeners.shape == (len(ds), 2)


def test_shards_then_merge_equal_single_make(scene, built, tmp_path):
    out = tmp_path / "sharded.h5"
    folders = []
    for i in range(2):
        folder = make_dataset(
            scene, TINY, tmp_path / f"node{i}" / "x.h5", workers=1, shard=(i, 2), progress=False
        )
        folders.append(folder)
    with pytest.raises(DataError, match="missing"):
        merge_shards(out, folders[:1], progress=False)
    merge_shards(out, folders, progress=False)
    assert_same_content(out, built)  # late, has_ir and the held-out waveforms included
    with DataSet(out) as merged, DataSet(built) as single:
        assert merged.has_late and not merged.has_ir.all()
        np.testing.assert_array_equal(merged.has_ir, single.has_ir)
        assert merged.ir.id.get_num_chunks() == int(merged.has_ir.sum())
    assert not any(f.exists() for f in folders)


def test_array_job_shards_then_merge_by_the_command_line(scene, built, tmp_path, capsys):
    """The cluster recipe of the README: array tasks `naf data make --shard $i/2` writing into one shared
    output's parts folder, then one `naf data merge`; the same file as a single build."""
    scene_file = str(save_scene(scene, tmp_path / "scene.json"))
    out = tmp_path / "shared" / "tiny.h5"
    make = ["data", "make", "--scene", scene_file, "-o", str(out), "--workers", "1", *TINY_CLI]
    assert main([*make, "--shard", "1/2"]) == 0
    assert "run `naf data merge`" in capsys.readouterr().out and not out.exists()
    assert main(["data", "merge", "-o", str(out)]) == 2  # shard 0 is not done yet: refused in one line
    err = capsys.readouterr().err.strip()
    assert "missing" in err and "\n" not in err and not out.exists()
    assert main([*make, "--shard", "0/2"]) == 0
    assert main(["data", "merge", "-o", str(out)]) == 0
    assert_same_content(out, built)
    assert not parts_folder(out).exists()


def test_parts_of_an_older_format_are_refused_then_discarded_with_overwrite(scene, built, tmp_path):
    out = tmp_path / "old_parts.h5"
    parts = parts_folder(out)
    parts.mkdir()
    old_plan = plan_dataset(scene, TINY).to_dict()
    old_plan["format_version"] = 2
    (parts / "plan.json").write_text(json.dumps(old_plan))
    (parts / "emitter_00000.npz").write_bytes(b"an old part")
    with pytest.raises(DataError, match="holds parts of data set format 2, this naf makes format 3") as err:
        make_dataset(scene, TINY, out, workers=1, progress=False)
    assert "\n" not in str(err.value)
    make_dataset(scene, TINY, out, workers=1, overwrite=True, progress=False)
    assert_same_content(out, built)


def test_kill_then_resume_gives_identical_content(scene, built, tmp_path):
    scene_file = save_scene(scene, tmp_path / "scene.json")
    out = tmp_path / "killed.h5"
    parts = parts_folder(out)
    cmd = [sys.executable, "-m", "naf_model", "data", "make", "--scene", str(scene_file), "-o", str(out),
           "--workers", "1", "--keep-parts", *TINY_CLI]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 120
    try:
        while not list(parts.glob("emitter_*.npz")):
            assert proc.poll() is None and time.monotonic() < deadline, "make ended before writing a part"
            time.sleep(0.005)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    finished = sorted(parts.glob("emitter_*.npz"))
    assert 1 <= len(finished) < len(plan_dataset(scene, TINY).emitters)
    assert not out.exists()
    first = finished[0].stat()
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert_same_content(out, built)
    again = finished[0].stat()
    assert (again.st_ino, again.st_mtime_ns) == (first.st_ino, first.st_mtime_ns)  # not simulated twice


def test_parallel_workers_give_the_same_content(scene, built, tmp_path):
    out = make_dataset(scene, TINY, tmp_path / "parallel.h5", workers=2, progress=False)
    assert_same_content(out, built)


def test_other_settings_at_output_need_overwrite(scene, built, tmp_path):
    out = tmp_path / "x.h5"
    shutil.copy(built, out)
    assert make_dataset(scene, TINY, out, workers=1, progress=False) == out  # already complete: kept
    other = DataConfig(**{**TINY.__dict__, "seed": 4})
    with pytest.raises(DataError, match="--overwrite"):
        make_dataset(scene, other, out, workers=1, progress=False)
    with pytest.raises(DataError, match="--overwrite"):
        make_dataset(shoebox_scene(3.0, 2.5, 2.4), TINY, out, workers=1, progress=False)
    make_dataset(scene, other, out, workers=1, overwrite=True, progress=False)
    assert DataSet(out).meta.seed == 4


def test_reader_errors_are_one_line(built, tmp_path, scene):
    with pytest.raises(DataError, match="does not exist"):
        DataSet(tmp_path / "none.h5")
    truncated = tmp_path / "truncated.h5"
    truncated.write_bytes(built.read_bytes()[: built.stat().st_size // 2])
    with pytest.raises(DataError, match="truncated or not an HDF5 file") as err:
        DataSet(truncated)
    assert "\n" not in str(err.value)
    other_stft = tmp_path / "hop.h5"
    shutil.copy(built, other_stft)
    with h5py.File(other_stft, "a") as f:
        f.attrs["hop"] = 256
    with pytest.raises(DataError, match="hop=256"):
        DataSet(other_stft)
    with DataSet(built) as ds:
        ds.check_scene(scene)
        with pytest.raises(DataError, match="made for scene 'two_room', not 'shoebox"):
            ds.check_scene(shoebox_scene())
        with pytest.raises(DataError, match="another geometry"):
            ds.check_scene(Scene.from_dict({**shoebox_scene().to_dict(), "name": scene.name}))


def test_cli_unknown_scene_and_info(built, capsys):
    assert main(["data", "make", "--scene", "no_such_scene"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("naf: error: unknown scene") and "\n" not in err
    assert main(["data", "info", str(built)]) == 0
    out = capsys.readouterr().out
    assert "two_room" in out and "test pairs" in out and "size MB" in out
    for line in ("IR seconds: 0.25", "early frames: 27", "late frames: 14 of 220 samples", "waveforms: held-out: "):
        assert line in out, out


def test_the_simulation_time_estimate_grows_with_walls_rays_order_listeners_and_reverb():
    """The cost model's arithmetic (`budget.block_cpu_seconds`), not a timing: nothing here is measured."""
    room = RoomCost(walls=64, ism_order=3, reflections_per_s=200.0, ray_life_s=1.0)
    base = {"listeners": 60, "rays": 3000, "ir_seconds": 0.6}
    reference = block_cpu_seconds(room, **base)
    for name, more in [("listeners", 120), ("rays", 6000), ("ir_seconds", 1.2)]:
        assert block_cpu_seconds(room, **{**base, name: more}) > reference, name
    for name, more in [("walls", 136), ("ism_order", 4), ("reflections_per_s", 400.0)]:
        assert block_cpu_seconds(dataclasses.replace(room, **{name: more}), **base) > reference, name
    # rays die once 70 dB down: past that, a longer IR adds rendering only
    short_lived = dataclasses.replace(room, ray_life_s=0.5)
    traced = block_cpu_seconds(room, **{**base, "ir_seconds": 1.0}) - block_cpu_seconds(room, **base)
    untraced = block_cpu_seconds(short_lived, **{**base, "ir_seconds": 1.0}) - block_cpu_seconds(short_lived, **base)
    assert 0 < untraced < traced


def test_the_room_cost_follows_the_mean_free_path_and_the_decay():
    small, big = shoebox_scene(4.0, 3.0), shoebox_scene(12.0, 9.0)
    small_cost, big_cost = room_cost(small, 3), room_cost(big, 3)
    # c S / 4V: the small room's rays meet walls more often
    assert small_cost.reflections_per_s > big_cost.reflections_per_s > 0
    assert big_cost.ray_life_s > small_cost.ray_life_s > 0  # same materials, longer decay in the bigger room
    assert small_cost.walls == len(small.simulation_surfaces()) and small_cost.ism_order == 3


def test_the_simulation_minutes_share_blocks_over_workers():
    reference = block_cpu_seconds(RoomCost(64, 3), 60, 3000, 0.6)
    blocks = [reference] * 10
    assert simulation_minutes(blocks, 2) == pytest.approx(simulation_minutes(blocks, 1) / 2)
    assert simulation_minutes(blocks[:1], 8) == pytest.approx(reference / 60)  # one block is not shared out
    assert [format_minutes(m) for m in (0.4, 20.2, 300)] == ["<1 min", "~21 min", "~5.0 h"]
    assert describe_cpu_seconds(60, 3.0) == pytest.approx(5 * describe_cpu_seconds(60, 0.6))
    assert describe_cpu_seconds(60, 0.6) > 0


def test_the_size_estimate_counts_the_early_and_late_parts_and_only_the_stored_waveforms():
    split = ir_split(round(3.0 * 22_050), 0.02)
    described = 4 * 2 * (256 * split.early_frames + 7 * split.late_frames) * 2  # float16
    waveform = 4 * 2 * split.ir_length * 2
    assert pair_bytes(split, waveform=False) == described and pair_bytes(split) == described + waveform
    assert data_bytes(100, 15, split) == 100 * described + 15 * waveform
    assert 6 * described < waveform  # why only the held-out pairs keep theirs by default


def test_make_prints_the_minutes_it_will_take(scene, built, capsys):
    make_dataset(scene, TINY, built, workers=2, progress=True)  # already complete: the plan line, nothing run
    plan_line = capsys.readouterr().err.splitlines()[0]
    assert plan_line.startswith("two_room: ") and " pairs, ~" in plan_line
    held = int((plan_dataset(scene, TINY).split != SPLIT_TRAIN).sum())
    raw, disk = re.search(r" pairs, ~([0-9,]+) MB before compression, ~([0-9,]+) MB on disk \(", plan_line).groups()
    share = ON_DISK_FRACTION * int(raw.replace(",", ""))  # of the rounded raw figure: one MB of rounding either way
    assert int(disk.replace(",", "")) in {round(share) - 1, round(share), round(share) + 1}
    assert f"MB on disk (waveforms of the {held} held-out pairs only; --waveforms all for every pair)" in plan_line
    timed = (r"(the cost model's Xeon-fitted seconds; a pilot simulation times this CPU|timed for this CPU: [0-9.]+x "
             r"the cost model's seconds, (pilot simulation of .+|build of .+|median of .+ timed here))")
    assert re.search(rf" min on 2 workers \({timed}\)$", plan_line), plan_line


def test_make_says_the_ir_length_and_what_it_cuts_of_the_rooms_decay(scene, built, capsys):
    make_dataset(scene, TINY, built, workers=1, progress=True)  # already complete: the plan lines only
    line = capsys.readouterr().err.splitlines()[1]
    need = needed_ir_length(scene)
    assert line.startswith(f"IRs {IR_SECONDS:.2f} s; the {need.band_hz} Hz band needs {need.band_t60_s:.2f} s"), line
    assert f"cut at about -{need.kept_db(IR_SECONDS):.1f} dB" in line
    assert line.endswith(f"(use --ir-seconds auto for {need.auto_seconds:.2f} s)")


def test_info_reads_the_values_of_a_spread_of_pairs_and_refuses_non_finite_ones(built, tmp_path, capsys):
    """A data set whose values are NaN opens (shapes and stats are fine); `naf data info` reads them."""
    from naf_model.data.check import check_values, checked_pairs

    assert checked_pairs(10, limit=20).tolist() == list(range(10))
    spread = checked_pairs(1_000_000, limit=5)
    assert len(spread) == 5 and spread[0] == 0 and spread[-1] == 999_999  # first and last always read
    assert np.all(np.abs(np.diff(spread) - 250_000) <= 1)  # spread evenly
    with DataSet(built) as ds:
        good = check_values(ds)
        last = len(ds) - 1
    assert good.checked == good.total == last + 1 and "all pairs read" in good.summary()
    broken = tmp_path / "nan_ir.h5"
    shutil.copy(built, broken)
    with h5py.File(broken, "a") as f:
        held = int(np.flatnonzero(f["has_ir"][()])[0])  # a pair with a stored waveform
        row = f["ir"][held]
        row[2, 1, 5] = np.inf
        f["ir"][held] = row
    with DataSet(broken) as ds:
        with pytest.raises(DataError, match=f"NaN or infinite IRs in 1 of the {last + 1} pairs read \\(pair {held} "):
            check_values(ds)
        assert check_values(ds, limit=2).checked == 2  # pairs 0 and last only: a sample, bounded in memory
    late = tmp_path / "nan_late.h5"
    shutil.copy(built, late)
    with h5py.File(late, "a") as f:
        row = f["late"][last]
        row[0, 1, 3, 2] = np.nan
        f["late"][last] = row
    with DataSet(late) as ds, pytest.raises(DataError, match=f"NaN or infinite late envelopes in 1 of .*pair {last} "):
        check_values(ds)
    assert main(["data", "info", str(broken)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and len(captured.err.strip().splitlines()) == 1


def test_the_make_command_of_stored_settings_names_what_differs_from_the_defaults():
    from naf_model.data.plan import make_command

    assert make_command("flat", {"listener_spacing": 0.5, "emitter_spacing": 1.0, "listeners_per_emitter": 60,
                                 "seed": 0, "waveforms": "held-out"}) == "naf data make --scene flat"  # fmt: skip
    big = {"listener_spacing": 0.5, "emitter_spacing": 3.0, "listeners_per_emitter": 40, "seed": 2,
           "waveforms": "all", "late_part": False}  # fmt: skip
    assert make_command("cathedral", big) == ("naf data make --scene cathedral --emitter-spacing 3 "
                                              "--listeners-per-emitter 40 --seed 2 --waveforms all --no-late-part")
    free = {"free_pairs": 1000, "listeners_per_emitter": 20, "seed": 0, "waveforms": "all"}
    assert make_command("flat", free) == "naf data make --scene flat --free-pairs 1000 --waveforms all"
    every = make_command("flat", {"listeners_per_emitter": None})
    assert every == "naf data make --scene flat --listeners-per-emitter all"
