"""The mesh path end to end: a closed two-room mesh with a column and material groups, made in the test,
through `naf scene show`, `naf data make`, `naf train`, `naf eval` and the app's window."""

from __future__ import annotations

from test_mesh_import import two_room_house

from naf_model.cli import main
from naf_model.scene import load_scene


def test_a_mesh_scene_runs_from_plan_to_app(tmp_path, capsys, qtbot):
    mesh = two_room_house(tmp_path / "house.obj")
    assert main(["scene", "show", str(mesh), "-o", str(tmp_path / "plan.png"), "--grid", "0.5"]) == 0
    shown = capsys.readouterr().out
    assert (tmp_path / "plan.png").stat().st_size > 10_000
    assert "1 holes at ear height" in shown and "column_concrete" in shown and "concrete" in shown
    data = tmp_path / "house.h5"
    assert main(
        ["data", "make", "--scene", str(mesh), "-o", str(data), "--workers", "1", "--listener-spacing", "1.0",
         "--emitter-spacing", "2.0", "--listeners-per-emitter", "6", "--ir-seconds", "0.2", "--rays", "100",
         "--waveforms", "all"]  # naf eval's interpolation baselines read the training pairs' waveforms
    ) == 0  # fmt: skip
    run = tmp_path / "run"
    assert main(
        ["train", "--scene", str(mesh), "--data", str(data), "--steps", "3", "--out", str(run), "--device",
         "cpu", "--no-progress"]
    ) == 0  # fmt: skip
    checkpoint = run / "best.pt"
    assert checkpoint.is_file()
    assert main(
        ["eval", "--scene", str(mesh), "--data", str(data), "--checkpoint", str(checkpoint), "--max-pairs", "4",
         "--floor-pairs", "2", "--no-codecs", "--out-dir", str(tmp_path / "results")]
    ) == 0  # fmt: skip
    assert (tmp_path / "results" / "house.md").is_file()

    from naf_app.window import MainWindow

    window = MainWindow(load_scene(mesh), checkpoint, device="cpu", audio=None)
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: window.state.field is not None, timeout=60_000)
    assert not window.state.scene.is_free(1.5, 1.5)  # the column
    window.close()
