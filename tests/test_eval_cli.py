"""`naf eval` end to end: a tiny simulated two-room data set, a field trained for seconds, every table row."""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest
from model_helpers import tiny_data

from naf_model.cli import main
from naf_model.data import floor, make_dataset
from naf_model.evaluation import baselines, codecs
from naf_model.networks.presets import GridConfig, preset
from naf_model.scene import save_scene
from naf_model.scene.examples import shoebox_scene, two_room_scene
from naf_model.training.train import RunOptions, train_field

TINY = tiny_data(0.5, 1.0, listeners_per_emitter=12, test_fraction=0.25, seed=1, ir_seconds=0.3, n_rays=200)


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> dict[str, Path]:
    """Scene file, data set (144 pairs, 36 held out) and a 40-step amortised field: ~10 s on one core."""
    folder = tmp_path_factory.mktemp("eval")
    scene = two_room_scene()
    scene_path = save_scene(scene, folder / "two_room" / "scene.json")
    data = make_dataset(scene, TINY, folder / "two_room.h5", workers=1, progress=False)
    base = preset("fast")
    config = dataclasses.replace(
        base,
        network=dataclasses.replace(base.network, depth=2, width=64, n_basis=8),
        grid=GridConfig(spacing=0.5, dim=8),
    )
    options = RunOptions(dataset=data, out_dir=folder / "run", steps=40, device="cpu", progress=False)
    result = train_field(config, options, scene)
    return {"scene": scene_path, "data": data, "checkpoint": result.best, "folder": folder}


def run_eval(trained: dict[str, Path], out: Path, *extra: str) -> int:
    return main(
        ["eval", "--scene", str(trained["scene"]), "--data", str(trained["data"]), "--checkpoint",
         str(trained["checkpoint"]), "--max-pairs", "8", "--floor-pairs", "4", "--out-dir", str(out), *extra]
    )  # fmt: skip


def test_eval_writes_every_row_and_caches_the_floor(trained, tmp_path, capsys) -> None:
    assert run_eval(trained, tmp_path) == 0
    printed = capsys.readouterr().out
    md, js = tmp_path / "two_room.md", tmp_path / "two_room.json"
    assert md.read_text() == printed.rstrip("\n") + "\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["two_room.json", "two_room.md"]  # no temp files
    report = json.loads(js.read_text())
    rows = {(r["method"], r["representation"]): r for r in report["rows"]}
    reps = ["raw float32"] + [c.name for c in (codecs.AAC_LC, codecs.OPUS) if codecs.missing_tools(c) is None]
    expected = {("Nearest neighbour", r) for r in reps} | {("Linear interpolation", r) for r in reps}
    assert expected <= set(rows)
    field = next(r for r in report["rows"] if r["method"] == "NAF (field)")
    floor_row = next(r for r in report["rows"] if r["method"] == "Simulation floor")
    # the field's storage is the shipped checkpoint: weights, config and stats, no optimizer state
    assert (
        0.1 * trained["checkpoint"].stat().st_size
        < 1e6 * field["storage_mb"]
        <= trained["checkpoint"].stat().st_size
    )
    assert floor_row["n_pairs"] == 4 and report["settings"]["n_test_pairs"] == 8
    for r in report["rows"]:
        values = [r["errors"][k] for k in ("spectral", "t60_pct", "c50_db", "edt_pct")]
        assert np.all(np.isfinite(values)) and min(values) >= 0, r
        assert r["floor_errors"]["n_pairs"] == 4
        assert f"| {r['method']} | {r['representation']} |" in printed
    # storage: raw float32 is N x 4 B per channel; codecs are far smaller, Opus 6 kbit/s smallest
    raw = rows[("Nearest neighbour", "raw float32")]["storage_mb"]
    n_train = report["settings"]["n_train_pairs"]
    assert raw == pytest.approx(n_train * 4 * 2 * report["settings"]["ir_length"] * 4 / 1e6)
    if ("Nearest neighbour", codecs.OPUS.name) in rows:
        opus = rows[("Nearest neighbour", codecs.OPUS.name)]
        assert opus["storage_mb"] < raw / 10
        # a 6 kbit/s codec loses the high bands: its spectral error exceeds the raw IRs'
        assert opus["errors"]["spectral"] > rows[("Nearest neighbour", "raw float32")]["errors"]["spectral"]
    assert "4 pairs simulated in this run" in " ".join(floor_row["notes"])
    cache = floor.floor_cache_path(trained["data"])
    assert cache.is_file()

    # the second run reads the repeat simulations from the cache and gives the same numbers
    again = tmp_path / "again"
    assert run_eval(trained, again, "--no-codecs") == 0
    report2 = json.loads((again / "two_room.json").read_text())
    floor2 = next(r for r in report2["rows"] if r["method"] == "Simulation floor")
    assert "0 pairs simulated in this run" in " ".join(floor2["notes"])
    assert floor2["errors"] == floor_row["errors"]
    assert report2["rows"][0]["errors"] == field["errors"]


def test_eval_rejects_a_data_set_of_another_scene(trained, tmp_path, capsys) -> None:
    other = save_scene(shoebox_scene(3.0, 2.5, 2.4), tmp_path / "shoebox" / "scene.json")
    code = main(["eval", "--scene", str(other), "--data", str(trained["data"]), "--out-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert (
        code == 2 and err.startswith("naf: error:") and "was made for scene" in err and len(err.splitlines()) == 1
    )


def test_eval_refuses_extra_pairs_given_twice(trained, tmp_path, capsys) -> None:
    """--extra naming the --data set, or one --extra twice, would give the baselines those pairs twice."""
    data = str(trained["data"])
    same = str(trained["data"].parent / ".." / trained["data"].parent.name / trained["data"].name)
    for extra in (["--extra", data], ["--extra", same]):
        code = main(["eval", "--scene", str(trained["scene"]), "--data", data, *extra, "--out-dir", str(tmp_path)])
        err = capsys.readouterr().err
        assert code == 2 and len(err.splitlines()) == 1 and "same data set as --data" in err, err
    assert not any(tmp_path.iterdir())


def test_eval_reports_a_missing_data_set(trained, tmp_path, capsys) -> None:
    code = main(["eval", "--scene", str(trained["scene"]), "--data", str(tmp_path / "none.h5")])
    assert code == 2 and "naf data make" in capsys.readouterr().err


def test_eval_offgrid_adds_the_offgrid_and_listening_sections(trained, tmp_path, capsys) -> None:
    assert run_eval(trained, tmp_path, "--no-codecs", "--offgrid", "4") == 0
    printed = capsys.readouterr().out
    report = json.loads((tmp_path / "two_room.json").read_text())
    titles = [s["title"] for s in report["played"]]
    assert titles == [
        "Listening metrics on 8 held-out pairs (on the grid)",
        "Off the grid: 4 random free pairs (paper's metrics)",
        "Listening metrics on 4 off-grid pairs",
    ]
    assert all(f"## {t}" in printed for t in titles)
    offgrid_rows = report["played"][1]["data"]["rows"]
    assert set(offgrid_rows) == {
        "NAF (field)", "Nearest neighbour, raw IRs", "Linear interpolation, raw IRs", "Second simulation, other seed"
    }
    listening_rows = report["played"][2]["data"]["rows"]
    field = listening_rows["NAF (field), listening phase"]
    assert field["n_items"] == 16 and np.isfinite(field["envelope_db"])
    on_grid = report["played"][0]["data"]["rows"]
    assert on_grid["Second simulation, other seed (4 pairs)"]["n_items"] == 16  # the floor's pairs only
    assert (trained["data"].parent / "two_room.offgrid-4-s0.h5").is_file()


def test_eval_offgrid_rays_scores_against_simulations_with_more_rays(trained, tmp_path, capsys) -> None:
    assert run_eval(trained, tmp_path, "--no-codecs", "--no-listening", "--offgrid", "4", "--offgrid-rays", "800") == 0
    printed = capsys.readouterr().out
    section = json.loads((tmp_path / "two_room.json").read_text())["played"][0]
    cache = trained["data"].parent / "two_room.offgrid-4-s0-r800.h5"
    assert section["data"]["n_rays"] == 800 and section["data"]["cache"].endswith(cache.name)
    assert "800 rays per emitter, not 200" in section["markdown"] and section["markdown"] in printed
    assert "--offgrid 4 --offgrid-rays 800" in printed  # the recorded command
    with h5py.File(cache, "r") as f:
        assert int(f.attrs["n_rays"]) == 800 and f["done"][()].all()
    cache.unlink()


def test_eval_offgrid_rays_without_offgrid_is_one_line_before_any_work(trained, tmp_path, capsys) -> None:
    assert run_eval(trained, tmp_path, "--offgrid-rays", "800") == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "give --offgrid N" in err
    assert not tmp_path.exists() or not any(tmp_path.iterdir())


def test_validation_split_scores_only_validation_pairs_and_stays_out_of_results(
    trained, tmp_path, monkeypatch
) -> None:
    """`--split validation` (recipe choices) scores the validation pairs and writes under runs/ (or a folder
    given with --out-dir), never beside the published tables."""
    from naf_model.data import DataSet
    from naf_model.evaluation.runner import EvalConfig, evaluate

    monkeypatch.setenv("NAF_RUNS_DIR", str(tmp_path / "runs"))
    with DataSet(trained["data"]) as ds:
        n_validation = len(ds.indices("validation"))
    assert n_validation > 0
    from naf_model.evaluation import RESULTS_DIR

    assert run_eval(trained, RESULTS_DIR, "--split", "validation", "--no-codecs", "--floor-pairs", "0") == 0
    assert not (RESULTS_DIR / "two_room.md").exists()
    report = json.loads((tmp_path / "runs" / "two_room" / "validation" / "two_room.json").read_text())
    # Another folder is honoured, so two fields' validation scores can sit side by side.
    mine = tmp_path / "mine"
    assert run_eval(trained, mine, "--split", "validation", "--no-codecs", "--floor-pairs", "0") == 0
    assert json.loads((mine / "two_room.json").read_text())["settings"]["split"] == "validation"
    assert report["settings"]["split"] == "validation"
    assert report["settings"]["n_test_total"] == n_validation
    assert "--split validation" in report["command"]
    config = EvalConfig(str(trained["scene"]), data=trained["data"], checkpoint=trained["checkpoint"],
                        max_pairs=4, floor_pairs=0, use_codecs=False, out_dir=None, progress=False)  # fmt: skip
    assert evaluate(config).settings["split"] == "test"


def _cache_fault(part: str, at: int, error: BaseException):
    """h5py `create_dataset` that raises `error` from call `at` on, counting only files whose name holds `part`."""
    create, calls = h5py.Group.create_dataset, [0]

    def create_dataset(group, name, *args, **kwargs):
        if part in Path(group.file.filename).name:
            calls[0] += 1
            if calls[0] >= at:
                raise error
        return create(group, name, *args, **kwargs)

    return create_dataset


@pytest.mark.parametrize("cache", ["offgrid", "floor"])
@pytest.mark.parametrize("error", ["full disk", "interrupt"])
def test_a_fault_in_a_cache_write_leaves_no_temporary_and_one_line(cache, error, trained, tmp_path, monkeypatch,
                                                                    capsys) -> None:
    """An interrupt or a full disk while the off-grid set or the floor is cached beside the data set: one line,
    the cache written before it intact, no temporary file; the same command then goes on from there."""
    data = shutil.copy(trained["data"], tmp_path / "two_room.h5")
    argv = ["eval", "--scene", str(trained["scene"]), "--data", str(data), "--checkpoint", str(trained["checkpoint"]),
            "--max-pairs", "8", "--floor-pairs", "8", "--floor-repeats", "1", "--no-codecs", "--offgrid", "8",
            "--out-dir", str(tmp_path / "out")]  # fmt: skip
    name = "two_room.offgrid-8-s0.h5" if cache == "offgrid" else "two_room.floor.h5"
    per_write = 5 if cache == "offgrid" else 2  # datasets in one write of that cache
    raised = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)) if error == "full disk" else KeyboardInterrupt()
    monkeypatch.setattr(h5py.Group, "create_dataset", _cache_fault(name, per_write + 1, raised))
    code = main(argv)
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("naf:")]
    assert "Traceback" not in err and len(lines) == 1, err
    if error == "full disk":
        assert code == 2 and "no space left on device" in lines[0] and name in lines[0], err
    else:
        assert code == 130 and lines[0] == "naf: interrupted", err
    assert not [p.name for p in tmp_path.rglob("*") if p.name.startswith(".")]  # no temporary file anywhere
    assert (tmp_path / name).is_file()  # the first emitter group's write stands
    assert not (tmp_path / "out").exists()
    with h5py.File(tmp_path / name, "r") as f:
        done = f["done"][()].sum() if cache == "offgrid" else len(f["repeat_0"]["pairs"])
    assert 0 < done < 8
    monkeypatch.undo()
    assert main(argv) == 0, capsys.readouterr().err
    with h5py.File(tmp_path / name, "r") as f:
        assert (f["done"][()].sum() if cache == "offgrid" else len(f["repeat_0"]["pairs"])) == 8


def _blended(pool, train_points, query_points, weights_of) -> np.ndarray:
    """Training IRs blended at the query pairs by one interpolation rule, one item per (pair, orientation)."""
    w = weights_of(train_points, query_points)
    wave = baselines.blend(pool.read_ir(w.used()), w, w.used())
    return wave.reshape((-1,) + wave.shape[2:])


def test_every_table_equals_a_direct_computation_and_reads_the_checkpoint_once(trained, monkeypatch) -> None:
    """Each section's numbers are the metric functions applied to the same items (field, baselines, floor, off
    the grid, listening), and one run reads the checkpoint file once."""
    import torch

    from naf_model.acoustics.interaural import direct_sound_itd
    from naf_model.data import DataSet, offgrid
    from naf_model.data.described import early_spectrogram, late_description
    from naf_model.data.extra import TrainingPairs
    from naf_model.evaluation import listening, metrics
    from naf_model.evaluation.runner import EvalConfig, evaluate
    from naf_model.field import NeuralAcousticField
    from naf_model.field.listening import line_of_sight
    from naf_model.scene import load_scene
    from naf_model.simulate import SimulationConfig
    from naf_model.spectrogram import log_magnitude

    loads, real_load = [], torch.load
    monkeypatch.setattr(torch, "load", lambda *a, **k: loads.append(a[0]) or real_load(*a, **k))
    config = EvalConfig(str(trained["scene"]), data=trained["data"], checkpoint=trained["checkpoint"], max_pairs=8,
                        floor_pairs=4, floor_repeats=2, use_codecs=False, out_dir=None, progress=False, offgrid=4,
                        device="cpu")  # fmt: skip
    report = evaluate(config)
    assert [Path(p) for p in loads] == [trained["checkpoint"]]
    monkeypatch.undo()
    rows = {(r.section, r.method, r.representation): r.errors for r in report.rows}
    played = {p["title"]: p["data"]["rows"] for p in report.played}
    scene = load_scene(str(trained["scene"]))
    # naf eval scores the module path (fused=False), so the direct computation does too
    field = NeuralAcousticField.load(trained["checkpoint"], device="cpu", scene=scene, fused=False)
    with DataSet(trained["data"]) as ds:
        test = np.sort(np.random.default_rng(0).choice(ds.indices("test"), 8, replace=False))
        pairs, n, pool = ds.pairs[test], ds.meta.ir_length, TrainingPairs(ds, [])
        e, li = np.repeat(ds.emitters[pairs[:, 0]], 4, 0), np.repeat(ds.listeners[pairs[:, 1]], 4, 0)
        h = np.tile(ds.orientations.astype(np.float64), len(test))
        gt16 = ds.read_spec(test).reshape((-1,) + ds.spec.shape[2:])  # measured as stored, float16
        gt_log = gt16.astype(np.float32)
        gt_wave = ds.read_ir(test).reshape((-1,) + ds.ir.shape[2:]).astype(np.float32)
        split, gt_late = ds.split_info, ds.read_late(test).reshape((-1,) + ds.late.shape[2:])
        assert split.has_late  # the late part is scored through its band noise, both sides alike
        pred = field.query_batch(e, li, h)
        naf_gt = metrics.acoustic_parameters(gt16, n, late=gt_late, split=split)
        expected = metrics.item_errors(pred, gt_log, naf_gt, n, split=split,  # the late part at the early's bias
                                       late=metrics.field_late_for_random_phase(field.late_log_powers(e, li, h)))
        expected = expected.summary()
        assert rows[("naf", "NAF (field)", "checkpoint (fast)")] == pytest.approx(expected | {"n_pairs": 8}, rel=1e-6)
        paper_gt = metrics.waveform_parameters(np.clip(gt_wave.astype(np.float64), -1, 1))
        query = baselines.paper_points(ds.emitters[pairs[:, 0]], ds.listeners[pairs[:, 1]])
        wave = _blended(pool, baselines.paper_points(*pool.positions()), query, baselines.paper_nearest_weights)
        spectral = metrics.spectral_error(log_magnitude(wave, ds.meta.n_frames), gt_log)
        expected = metrics.errors_from_parameters(spectral, metrics.waveform_parameters(wave), paper_gt, any_fail=True)
        assert rows[("paper", "Nearest neighbour", "raw float32")] == pytest.approx(
            expected.summary() | {"n_pairs": 8}, rel=1e-9
        )
        floor_pairs = floor.choose_floor_pairs(ds.pairs, test, 4, 0)
        items = (np.searchsorted(test, floor_pairs)[:, None] * 4 + np.arange(4)).ravel()
        seeds = [floor.floor_irs(ds, scene, floor_pairs, repeat=r).astype(np.float32) for r in range(2)]
        seeds = [s.reshape((-1,) + s.shape[2:]) for s in seeds]
        seeds = [metrics.item_errors(early_spectrogram(s, split), gt_log[items], naf_gt.take(items), n,
                                     late=late_description(s, split), split=split) for s in seeds]  # fmt: skip
        expected = metrics.ItemErrors.mean(seeds).summary() | {"n_pairs": 4}
        assert rows[("naf", "Simulation floor", "re-simulated, 2 other seeds")] == pytest.approx(expected, rel=1e-9)
        og = offgrid.offgrid_set(ds, scene, 4, 0, progress=False)
        og_gt = og.irs.reshape((-1,) + og.irs.shape[2:])
        og_log = log_magnitude(og_gt, ds.meta.n_frames)
        query = baselines.pair_points(og.emitters, og.listeners)
        wave = _blended(pool, baselines.pair_points(*pool.positions()), query, baselines.nearest_weights)
        og_params = metrics.acoustic_parameters(og_log, n, late=late_description(og_gt, split), split=split)
        expected = metrics.item_errors(log_magnitude(wave, ds.meta.n_frames), og_log, og_params, n,
                                       late=late_description(wave, split), split=split).summary()  # fmt: skip
        assert played["Off the grid: 4 random free pairs (paper's metrics)"]["Nearest neighbour, raw IRs"] == (
            pytest.approx(expected, rel=1e-9)
        )
        oe, ol = np.repeat(og.emitters, 4, 0), np.repeat(og.listeners, 4, 0)
        los, direct = line_of_sight(scene.free_space, oe, ol), np.full(len(oe), np.nan)
        oh = np.tile(ds.orientations.astype(np.float64), len(og))
        direct[los] = direct_sound_itd(oe[los], ol[los], oh[los], SimulationConfig.from_json(ds.meta.simulation))
        expected = listening.listening_errors(wave, og_gt, los, direct_itd=direct).summary()
        assert played["Listening metrics on 4 off-grid pairs"]["Nearest neighbour, raw IRs"] == pytest.approx(
            expected, rel=1e-9, nan_ok=True
        )


@pytest.mark.parametrize("argv, recorded", [
    (["--scene", "small_house", "--max-pairs", "300", "--offgrid", "40", "--device", "cpu"],
     "naf eval --scene small_house --max-pairs 300 --offgrid 40"),
    (["--scene", "cathedral", "--offgrid-rays", "48000", "--offgrid", "80"],
     "naf eval --scene cathedral --offgrid 80 --offgrid-rays 48000"),
    (["--scene", "two_room", "--no-codecs", "--max-pairs", "200", "--seed", "3", "--floor-repeats", "1", "--out-dir",
      "/tmp/x", "--no-listening", "--split", "validation", "--phase", "random"],
     "naf eval --scene two_room --floor-repeats 1 --seed 3 --no-codecs --no-listening --phase random --split "
     "validation"),
    (["--scene", "two_room", "--extra", "/tmp/b.h5", "--data", "/tmp/a.h5", "--listening", "--extra", "/tmp/c.h5"],
     "naf eval --scene two_room --data /tmp/a.h5 --listening --extra /tmp/b.h5 --extra /tmp/c.h5"),
])  # fmt: skip
def test_the_report_records_the_command_line_as_typed_normalised(argv, recorded) -> None:
    """Options in one order, defaults left out (typed or not), where it ran (--device, --out-dir) never."""
    from naf_model.cli import build_parser
    from naf_model.cli.evaluate import command_line

    assert command_line(build_parser().parse_args(["eval", *argv])) == recorded


def test_eval_on_a_data_set_without_training_waveforms_simulates_the_pairs_its_baselines_play(
    trained, tmp_path, capsys
) -> None:
    """The default data set keeps only the held-out pairs' waveforms: the training pairs the interpolation and
    codec baselines play are simulated again with the data set's own seeds (cached beside it), so every row
    equals the one scored on the same data set made with --waveforms all; --stored-only leaves them out."""
    scene = two_room_scene()
    held_out = make_dataset(scene, dataclasses.replace(TINY, waveforms="held-out"), tmp_path / "ho" / "two_room.h5",
                            workers=1, progress=False)
    assert run_eval(trained, tmp_path / "all", "--offgrid", "2") == 0
    assert run_eval(dict(trained, data=held_out), tmp_path / "out", "--offgrid", "2") == 0
    full, report = (json.loads((tmp_path / d / "two_room.json").read_text()) for d in ("all", "out"))
    key = lambda r: (r["section"], r["method"], r["representation"])  # noqa: E731
    assert {"Nearest neighbour", "Linear interpolation"} <= {r["method"] for r in report["rows"]}
    assert [(key(r), r["errors"]) for r in report["rows"]] == [(key(r), r["errors"]) for r in full["rows"]]
    assert [p["data"]["rows"] for p in report["played"]] == [p["data"]["rows"] for p in full["played"]]
    assert any("simulated again" in note for note in report["notes"])
    assert (tmp_path / "ho" / "two_room.train-irs").is_dir()

    capsys.readouterr()
    assert run_eval(dict(trained, data=held_out), tmp_path / "stored", "--offgrid", "2", "--stored-only") == 0
    report = json.loads((tmp_path / "stored" / "two_room.json").read_text())
    methods = {r["method"] for r in report["rows"]}
    assert "NAF (field)" in methods and not methods & {"Nearest neighbour", "Linear interpolation"}
    assert any("--waveforms all" in note and "--stored-only" in note for note in report["notes"])
    assert set(report["played"][1]["data"]["rows"]) == {"NAF (field)", "Second simulation, other seed"}


def test_a_field_of_whole_spectrograms_on_a_split_data_set_is_told_how_to_make_its_data(trained, tmp_path, capsys):
    """A field made before IRs were split (whole-IR spectrograms) against a data set with a late part: one line
    naming the `naf data make` command that builds data it can be scored on."""
    scene = two_room_scene()
    whole = make_dataset(scene, dataclasses.replace(TINY, late_part=False), tmp_path / "whole.h5", workers=1,
                         progress=False)
    base = preset("fast")
    config = dataclasses.replace(base, network=dataclasses.replace(base.network, depth=2, width=32, n_basis=4),
                                 grid=GridConfig(spacing=0.5, dim=4))
    result = train_field(config, RunOptions(dataset=whole, out_dir=tmp_path / "run", steps=3, device="cpu",
                                            progress=False), scene)
    assert run_eval(dict(trained, checkpoint=result.best), tmp_path / "out") == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--ir-seconds 0.3 --no-late-part --waveforms all" in err


def test_a_field_scored_on_data_of_other_ears_is_refused_in_one_line(trained, tmp_path, capsys) -> None:
    """The tiny field heard its data through the KEMAR ears: a data set of the spherical head is not its truth."""
    sim = dataclasses.replace(TINY.simulation, hrtf="", hrir=None)
    other = make_dataset(two_room_scene(), dataclasses.replace(TINY, simulation=sim), tmp_path / "two_room.h5",
                         workers=1, progress=False)
    assert run_eval(dict(trained, data=other), tmp_path / "out") == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "other ears" in err and "--hrtf" in err


def test_the_fused_accuracy_script_scores_both_paths_on_held_out_pairs(trained) -> None:
    """scripts/bench_fused_accuracy.py --data: the paper's metrics of the fused and the module path on the same
    held-out pairs, with intervals that hold their means, and a paired difference as small as the paths' own."""
    from script_helpers import load_script

    lines = load_script("bench_fused_accuracy").paper_metrics(str(trained["scene"]), str(trained["data"]), 6,
                                                              checkpoint=str(trained["checkpoint"]))
    assert lines[0].startswith("two_room: 6 held-out test pairs x 4 orientations")
    rows = [line.split(" | ") for line in lines[3:]]
    assert [(r[0].strip("| "), r[1]) for r in rows] == [(route, key) for route in ("paper", "naf")
                                                        for key in ("spectral", "t60_pct", "c50_db", "edt_pct")]
    for row in rows:
        for cell in row[2:4]:  # mean [lo, hi]
            mean, lo, hi = (float(v) for v in cell.replace("[", "").replace("]", "").replace(",", "").split())
            assert lo <= mean <= hi
        diff = float(row[4].split()[0])
        assert abs(diff) < (1e-2 if row[1] == "spectral" else 10.0), row
