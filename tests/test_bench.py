"""`naf bench`: checkpoint discovery, device setups, and an end-to-end run on a tiny checkpoint.

Timings are measured, never judged here: the tests check what was measured and reported, not how fast.
"""

from __future__ import annotations

import json
import math

import pytest
import torch

from naf_model.benchmarks.fields import (
    BenchConfig,
    BenchRow,
    bench_checkpoint,
    device_setups,
    find_checkpoints,
    markdown_table,
)
from naf_model.cli import main
from naf_model.errors import NafError
from naf_model.scene import save_scene
from naf_model.scene.examples import shoebox_scene

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """(scene, scene file, data set, checkpoint): a 3 m x 2.5 m shoebox, 4 emitters, `fast` for 6 steps."""
    from model_helpers import tiny_data, train_fast_on_shoebox

    folder = tmp_path_factory.mktemp("bench")
    scene = shoebox_scene(3.0, 2.5, 2.4, material="acoustic_panel")
    config = tiny_data(0.6, 1.2, None, test_fraction=0.25, seed=2, ir_seconds=0.1, n_rays=30, ism_order=1)
    data, result = train_fast_on_shoebox(folder, scene, config, steps=6)
    return scene, save_scene(scene, folder / "scene" / "scene.json"), data, result.checkpoint


def test_find_checkpoints_prefers_best_per_run_folder(tmp_path):
    for run, names in {
        "a": ("best.pt", "checkpoint.pt"),
        "b": ("checkpoint.pt",),
        "c": ("x.pt", "y.pt"),
    }.items():
        (tmp_path / run).mkdir()
        for name in names:
            (tmp_path / run / name).write_bytes(b"")
    found = [p.relative_to(tmp_path.resolve()).as_posix() for p in find_checkpoints([tmp_path])]
    assert found == ["a/best.pt", "b/checkpoint.pt", "c/x.pt", "c/y.pt"]
    with pytest.raises(NafError, match="no checkpoint at"):
        find_checkpoints([tmp_path / "missing.pt"])


def test_device_setups_skip_absent_cuda_and_reject_unknown_names():
    setups = device_setups(["cpu-1", "cpu", "cuda"])
    assert setups[0] == ("cpu", "cpu", 1) and setups[1][2] >= 1
    assert len(setups) == 2 + torch.cuda.is_available()
    with pytest.raises(NafError, match="unknown bench device"):
        device_setups(["tpu"])


def test_bench_checkpoint_measures_sane_numbers(tiny):
    scene, _, data, checkpoint = tiny
    config = BenchConfig(n_single=8, batch_size=8, n_batches=2, error_pairs=4, devices=("cpu-1",), data=data,
                         budget_s=1e9)  # no time budget cuts a measurement short, however slow the machine
    (row,) = bench_checkpoint(checkpoint, config, scene, log=lambda _: None)
    assert row.preset == "fast" and row.scene == "shoebox" and row.threads == 1
    assert 0 < row.network_p50_ms and 0 < row.single_p50_ms <= row.single_p99_ms
    assert row.phase_p50_ms == pytest.approx(max(row.single_p50_ms - row.network_p50_ms, 0.0))
    assert row.n_single == 8 and row.batch_irs_per_s > 0 and row.checkpoint_mb > 0.1
    assert row.map_cells == len(scene.sample_grid(0.25)) and not row.map_estimated and row.map_s > 0
    assert row.spectral is not None and 0 < row.spectral < 5 and 0 <= row.t60_pct <= 100
    table = markdown_table([row, row])
    assert table.count("\n") == 3 and "| shoebox | fast | cpu | 1 |" in table


def test_a_tight_budget_estimates_the_map_instead_of_running_it(tiny):
    scene, _, _, checkpoint = tiny
    config = BenchConfig(
        n_single=50, batch_size=8, n_batches=2, error_pairs=0, devices=("cpu-1",), budget_s=1e-4
    )
    (row,) = bench_checkpoint(checkpoint, config, scene, log=lambda _: None)
    assert row.map_estimated and row.n_single == 5  # MIN_SINGLE calls, whatever the budget
    assert "≈" in markdown_table([row])


def test_cli_bench_end_to_end_with_train_speed(tiny, tmp_path, capsys):
    _, scene_file, data, checkpoint = tiny
    out = tmp_path / "bench.json"
    status = main(
        ["bench", str(checkpoint), "--scene", str(scene_file), "--data", str(data), "--devices", "cpu-1",
         "--single", "10", "--batch", "8", "--batches", "2", "--error-pairs", "4", "--json", str(out),
         "--train-speed", "--presets", "fast", "--train-steps", "2"]
    )  # fmt: skip
    assert status == 0
    printed = capsys.readouterr().out
    assert "| scene | preset | device |" in printed and "| preset | device | steps/s |" in printed
    report = json.loads(out.read_text())
    (row,) = report["rows"]
    assert set(BenchRow.__dataclass_fields__) == set(row)
    assert row["spectral"] is not None and "held-out pairs" in row["notes"][0]
    (speed,) = report["train_speed"]
    assert speed["preset"] == "fast" and speed["sample_unit"] == "IR" and speed["samples_per_s"] > 0
    assert report["environment"]["torch"] == torch.__version__


def test_cli_bench_compares_the_fused_and_the_module_path_side_by_side(tiny, tmp_path, capsys):
    _, scene_file, _, checkpoint = tiny
    out = tmp_path / "paths.json"
    assert main(["bench", str(checkpoint), "--scene", str(scene_file), "--devices", "cpu-1", "--compare-fused",
                 "--single", "6", "--map-spacing", "0.5", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "IR p50 ms fused / module" in printed and printed.count("\n| shoebox | 1 |") == 1
    (row,) = json.loads(out.read_text())["paths"]
    assert row["n_single"] == 6 and row["threads"] == 1 and row["map_cells"] > 0
    # the timings are the benchmark's figures, not the test's: only that each path was timed and reported
    assert all(isinstance(row[k], float) and math.isfinite(row[k]) for k in ("fused_p50_ms", "module_p50_ms",
                                                                             "fused_map_irs_cpu_s"))
    assert row["spectrogram_max_diff"] < 1e-2 and row["ir_max_rel_diff"] < 1e-2
    assert isinstance(row["fast_map_cpu_s"], float) and math.isfinite(row["fast_map_cpu_s"])  # timed, not judged
    assert set(row["fast_p95"]) == {"loudness", "c50", "t60"}
    assert all(math.isfinite(v) and v >= 0 for v in row["fast_p95"].values())
    assert main(["bench", str(checkpoint), "--scene", str(scene_file), "--map-spacing", "0"]) == 2
    assert capsys.readouterr().err.startswith("naf: error: --map-spacing must be above 0")


def test_cli_bench_errors_are_one_line(tmp_path, capsys):
    assert main(["bench", str(tmp_path / "nothing.pt")]) == 2
    assert capsys.readouterr().err.startswith("naf: error: no checkpoint at")


def test_without_paths_bench_takes_each_scenes_default_field(tmp_path, monkeypatch):
    import os

    from naf_model.paths import CHECKPOINTS_DIR, default_checkpoint

    monkeypatch.setenv("NAF_RUNS_DIR", str(tmp_path))
    for age, run in enumerate(("roomy/cpu", "roomy/fast")):
        (tmp_path / run).mkdir(parents=True)
        (tmp_path / run / "best.pt").write_bytes(b"")
        os.utime(tmp_path / run / "best.pt", (1e9 + age, 1e9 + age))  # fast is the newer run
    (tmp_path / "untrained" / "fast").mkdir(parents=True)  # a run without best.pt yet: no field
    found = find_checkpoints()
    assert (tmp_path / "roomy" / "fast" / "best.pt").resolve() in found
    assert (tmp_path / "roomy" / "cpu" / "best.pt").resolve() not in found
    bundled = sorted(CHECKPOINTS_DIR.glob("*.pt"))
    assert all(default_checkpoint(p.stem).resolve() in found for p in bundled)
    assert len(found) == len(bundled) + 1
