"""scripts/density_curve.py: each point is a real `naf train` run on a thinned training split, read back into
the table and plot; a finished point is not trained again; bad points are one line before any work."""

from __future__ import annotations

import json

import pytest
from model_helpers import tiny_dataset
from script_helpers import load_script

from naf_model.scene import save_scene
from naf_model.scene.examples import two_room_scene


def _module():
    return load_script("density_curve")


def test_the_curve_trains_each_point_on_its_share_of_the_pairs_and_reuses_finished_runs(tmp_path_factory, tmp_path):
    data = tiny_dataset(tmp_path_factory)
    scene = save_scene(two_room_scene(), tmp_path / "two_room" / "scene.json")
    curve = _module()
    argv = ["--scene", str(scene), "--data", str(data), "--steps", "4", "--out", str(tmp_path / "d"),
            "--points", "1,1", "0.5,1", "1,0.5"]  # fmt: skip
    assert curve.main(argv) == 0
    table = json.loads((tmp_path / "d" / "density.json").read_text())
    pairs = {(r["emitter_fraction"], r["listener_fraction"]): r for r in table["rows"]}
    assert pairs[(0.5, 1.0)]["train_pairs"] < pairs[(1.0, 1.0)]["train_pairs"]
    assert pairs[(0.5, 1.0)]["emitters"] < pairs[(1.0, 1.0)]["emitters"] == pairs[(1.0, 0.5)]["emitters"]
    assert all(r["best_step"] in (1, 2, 3, 4) for r in table["rows"])  # a step number of the 4-step runs
    assert all(r["spectral"] > 0 and r["late_db"] > 0 for r in table["rows"])
    png = (tmp_path / "d" / "density.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 1000  # a real image file, not an empty one
    logged = (tmp_path / "d" / "e0.5_l1" / "log.jsonl").read_text()
    assert curve.main(argv) == 0  # every point finished: read again, not trained again
    assert (tmp_path / "d" / "e0.5_l1" / "log.jsonl").read_text() == logged


@pytest.mark.parametrize("point", ["2,1", "0,1", "1", "a,b"])
def test_a_bad_point_is_one_line(point, tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        _module().main(["--scene", "apartment_1", "--out", str(tmp_path), "--points", point])
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "--points" in err[-1] and "Traceback" not in "".join(err)
