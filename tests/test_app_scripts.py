"""Scripts menu: a job runs to completion from its form and offers its checkpoint; another is cancelled."""

from __future__ import annotations

from app_helpers import write_scene
from PyQt6.QtWidgets import QDialogButtonBox

from naf_app.window import MainWindow

JOB_MS = 120_000


def test_training_job_runs_from_its_form_and_offers_the_new_checkpoint(qtbot, tiny_field, tmp_path):
    scene, dataset, _ = tiny_field
    scene_file = write_scene(scene, tmp_path)
    w = MainWindow(scene, None, device="cpu", scene_arg=str(scene_file))
    qtbot.addWidget(w)
    w.show()
    titles = [a.text() for a in w.scripts_menu.actions()]
    assert {"Make data set...", "Train a field...", "Evaluate...", "Export loudness images...",
            "Render a walk..."} <= set(titles)
    form = w.scripts_menu.open_form(w.scripts_menu.spec("train.py"))
    assert form.editors["--scene"].text() == str(scene_file), "defaults come from the app"
    form.editors["--data"].setText(str(dataset))
    form.editors["--out"].setText(str(tmp_path / "run"))
    form.editors["--steps"].setValue(20)
    form.editors["--device"].setCurrentText("cpu")
    finished = []
    w.job_dock.finished.connect(lambda spec, code, cancelled: finished.append((spec.title, code, cancelled)))
    form.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok).click()
    assert w.job_dock.running() and w.job_dock.isVisible()
    qtbot.waitUntil(lambda: bool(finished), timeout=JOB_MS)
    log = w.job_dock.log.toPlainText()
    assert finished == [("Train a field", 0, False)], log
    assert w.job_dock.progress.value() == w.job_dock.progress.maximum() == 1
    new = tmp_path / "run" / "best.pt"
    assert ("checkpoint", str(new)) in w.job_dock.results and new.is_file()
    assert w.job_dock.load_button.isVisible() and "Load new checkpoint" in w.messages[-1]
    w.job_dock.load_button.click()
    qtbot.waitUntil(lambda: w.state.field is not None, timeout=JOB_MS)
    assert w.state.field.path == new
    w.close()


def test_a_running_job_can_be_cancelled(qtbot, tmp_path):
    from naf_model.scene import load_scene

    w = MainWindow(load_scene("apartment_1"), None, device="cpu")
    qtbot.addWidget(w)
    spec = w.scripts_menu.spec("make_dataset.py")
    finished = []
    w.job_dock.finished.connect(lambda spec, code, cancelled: finished.append((code, cancelled)))
    assert w.job_dock.start(spec, {"--scene": "apartment_1", "--output": str(tmp_path / "a1.h5"),
                                   "--workers": 1})
    assert not w.job_dock.start(spec, {}), "one job at a time"
    qtbot.waitUntil(lambda: "$ " in w.job_dock.log.toPlainText(), timeout=5_000)
    qtbot.wait(1500)  # let it get going
    assert w.job_dock.running()
    w.job_dock.cancel()
    qtbot.waitUntil(lambda: bool(finished), timeout=10_000)
    assert finished[0][1] is True
    assert not w.job_dock.running() and not w.job_dock.load_button.isVisible()
    assert "cancelled" in w.job_dock.title.text()
    assert not (tmp_path / "a1.h5").exists()
    w.close()
