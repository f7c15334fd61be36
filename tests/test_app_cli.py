"""`naf-app` command line: bad input is one line and the app keeps running where it can."""

from __future__ import annotations

import numpy as np
import pytest
from app_helpers import write_scene
from PyQt6.QtCore import QTimer
from PyQt6.QtWidgets import QApplication

from naf_app.audio_link import AudioLink
from naf_app.main import main
from naf_app.window import MainWindow
from naf_model.audio import MAIN
from naf_model.scene.examples import two_room_scene


def test_unknown_scene_is_one_stderr_line_and_exit_2(capsys):
    assert main(["--scene", "no_such_scene", "--no-audio"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("naf-app: error:") and "no_such_scene" in err[0]


def test_bad_checkpoint_and_music_are_reported_and_the_plan_stays_usable(qtbot, tmp_path, capsys):
    scene_file = write_scene(two_room_scene(), tmp_path)
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"this is not a torch checkpoint" * 10)
    music = tmp_path / "music.wav"
    music.write_text("not audio")
    seen: dict[str, object] = {}

    def inspect_and_close() -> None:
        windows = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow)]
        seen["messages"] = [m for w in windows for m in w.messages]
        seen["field"] = [w.state.field for w in windows]
        for w in windows:
            w.close()

    def poll() -> None:
        windows = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
        if windows and any("cannot load the checkpoint" in m for m in windows[0].messages):
            inspect_and_close()
        else:
            QTimer.singleShot(50, poll)

    QTimer.singleShot(50, poll)
    safety_net = QTimer(singleShot=True, interval=30_000)  # never hang the suite
    safety_net.timeout.connect(inspect_and_close)
    safety_net.start()
    code = main(["--scene", str(scene_file), "--checkpoint", str(corrupt), "--music", str(music),
                 "--no-audio", "--device", "cpu"])
    safety_net.stop()  # it must not close the windows of later tests
    assert code == 0
    assert capsys.readouterr().err == ""
    messages = seen["messages"]
    assert any(m.startswith("music:") and "music.wav" in m for m in messages), messages
    bad = [m for m in messages if "cannot load the checkpoint" in m]
    assert len(bad) == 1 and "corrupt.pt" in bad[0] and "\n" not in bad[0], messages
    assert seen["field"] == [None]


@pytest.mark.parametrize("missing", [True, False])
def test_no_checkpoint_says_how_to_train(qtbot, tmp_path, missing):
    checkpoint = tmp_path / "nothing_here.pt" if missing else None
    window = MainWindow(two_room_scene(), checkpoint, device="cpu", audio=None)
    qtbot.addWidget(window)
    if missing:
        qtbot.waitUntil(lambda: any("cannot load" in m for m in window.messages), timeout=20_000)
        assert "nothing_here.pt" in window.messages[-1]
    else:
        assert "Scripts > Train a field" in window.messages[-1]
        assert "naf train --scene two_room" in window.messages[-1]
    assert window.plan.listener_item is not None and window.state.field is None
    window.close()


def test_no_sound_card_is_one_line_and_the_engine_still_takes_irs():
    audio = AudioLink.open(no_audio=False, device="no such output device")
    assert audio.status == "audio: no sound card" and not audio.running
    assert len(audio.problems) == 1 and audio.problems[0].startswith("audio: no audio output device")
    audio.set_ir(np.zeros((2, 64), np.float32) + np.eye(1, 64, 0, np.float32))
    assert audio.ir_updates == 1 and audio.underruns() is None
    audio.close()


def test_an_emitter_whose_ir_did_not_change_is_not_posted_again():
    """Every field answer carries every emitter's IR: the unchanged ones (the emitters not dragged) cost no
    resampling, partitioning or crossfade; a changed one, an A/B switch and a re-added emitter still play."""
    audio = AudioLink.open(no_audio=True)
    audio.add_source("emitter 2")
    rng = np.random.default_rng(0)
    a, b, c = (rng.standard_normal((2, 2205)).astype(np.float32) * 0.01 for _ in range(3))
    posts = []
    engine_set_ir = audio.engine.set_ir
    audio.engine.set_ir = lambda ir, source: (posts.append(source), engine_set_ir(ir, source=source))
    audio.set_irs({MAIN: a, "emitter 2": b})
    audio.set_irs({MAIN: a.copy(), "emitter 2": c})
    assert posts == [MAIN, "emitter 2", "emitter 2"] and audio.ir_updates == 2
    audio.listen_to(MAIN, b)  # A/B: the simulation's IR for the first emitter
    audio.listen_to(MAIN, None)  # back to the field's
    audio.remove_source("emitter 2")
    audio.add_source("emitter 2")
    audio.set_irs({MAIN: a, "emitter 2": c})
    assert posts == [MAIN, "emitter 2", "emitter 2", MAIN, MAIN, "emitter 2"]
    assert np.array_equal(audio.engine.current_irs[MAIN], a)
    audio.close()


def test_checkpoint_of_another_scene_is_refused_in_one_line(qtbot, tiny_field):
    from naf_model.scene import load_scene

    _, _, checkpoint = tiny_field  # trained on two_room
    window = MainWindow(load_scene("apartment_1"), checkpoint, device="cpu", audio=None)
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: any("cannot load" in m for m in window.messages), timeout=20_000)
    message = window.messages[-1]
    assert "two_room" in message and "\n" not in message and window.state.field is None
    window.close()


def test_a_bad_music_warning_stays_in_view_until_a_sound_plays(qtbot, tmp_path):
    """`naf-app --music bad.wav`: later status messages replace the status line, not the warning."""
    import soundfile as sf

    bad = tmp_path / "bad.wav"
    bad.write_text("not audio")
    window = MainWindow(two_room_scene(), None, device="cpu", audio=AudioLink.open(no_audio=True, music=bad))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    label = window.status.warning_label
    assert label.isVisible() and "bad.wav" in label.toolTip() and "bundled loop" in label.toolTip()
    for message in ("loading a field...", "emitter moved", "no trained field"):
        window.say(message)
    assert window.statusBar().currentMessage() == "no trained field"
    assert label.isVisible() and window.status.warning.startswith("music: ") and label.text().startswith("\u26a0")
    assert label.width() <= label.fontMetrics().horizontalAdvance(label.toolTip()) + 50  # elided, not a wide bar
    good = tmp_path / "good.wav"
    sf.write(good, np.zeros((2205, 2), np.float32), 22_050)
    assert window.studio.open_audio(good)
    assert not label.isVisible() and window.status.warning == ""
    window.close()
