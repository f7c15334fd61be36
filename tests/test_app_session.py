"""The remembered session: the file round-trips the whole studio state, every field of a broken file is
refused in one line before anything changes, an unreadable remembered session is set aside and the app starts
afresh, and a window whose construction fails leaves no thread running."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import soundfile as sf
from PyQt6.QtCore import QPoint, Qt

from naf_app.audio_link import AudioLink
from naf_app.session_file import check_session, load_session, session_dict
from naf_app.state import FEATURES_TAB, LISTEN_TAB, SessionState
from naf_app.window import MainWindow
from naf_model.audio import MAIN
from naf_model.errors import NafError
from naf_model.scene.examples import two_room_scene


def make_window(qtbot, session=None, audio=True):
    w = MainWindow(two_room_scene(), None, device="cpu", audio=AudioLink.open(no_audio=True) if audio else None,
                   session=session)
    qtbot.addWidget(w)
    return w


def leaves(data, prefix=""):
    """{dotted name: value} of a session dict's leaves (emitters as one leaf: their list)."""
    out = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out.update(leaves(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def test_the_session_file_round_trips_the_whole_studio_state(qtbot, tmp_path):
    tone = tmp_path / "tone.wav"
    sf.write(tone, (0.2 * np.sin(np.arange(22_050) * 0.05)).astype(np.float32), 22_050)
    w = make_window(qtbot)
    state, transport = w.state, w.studio.transport
    fresh = leaves(session_dict(state))
    # every field changed, through the controls where the window has one
    key = w.studio.add_emitter((3.2, 0.8))
    transport.gain.setValue(-3.0)
    assert w.studio.open_audio(tone, key)
    state.set_gain_db(MAIN, 2.0)
    state.move(MAIN, (1.0, 2.0), final=True)
    state.move("listener", (3.0, 2.2), final=True)
    state.set_heading(135.0)
    transport.volume.setValue(40)
    qtbot.mouseClick(transport.loop_box, Qt.MouseButton.LeftButton, pos=QPoint(8, transport.loop_box.height() // 2))
    w.heatmap_action.trigger()
    w.heatmap_controls.metric_box.setCurrentIndex(w.heatmap_controls.metric_box.findData("drr"))
    w.heatmap_controls.band_box.setCurrentIndex(w.heatmap_controls.band_box.findData(500))
    w.tabs.setCurrentIndex(1)
    saved = session_dict(state)
    changed = leaves(saved)
    assert set(changed) == set(fresh)
    same = {name for name in fresh if changed[name] == fresh[name]}
    assert same == {"version", "scene"}, f"the test must change every field of the state: {same}"
    path = w.studio.save_session(tmp_path / "mine.json")
    w.close()

    w2 = make_window(qtbot, session=path)
    try:
        st = w2.state
        assert session_dict(st) == saved
        assert st.emitter_keys == [MAIN, key] and st.selected == key and st.sounds[key] == tone
        # the widgets and the engine follow the restored state
        t2, engine = w2.studio.transport, w2.studio.engine
        assert t2.volume.value() == 40 and engine.volume == pytest.approx(0.4)
        assert not t2.loop_box.isChecked() and engine.loop is False
        assert t2.emitter_box.currentText() == key and t2.gain.value() == -3.0
        assert engine.source_gain(key) == pytest.approx(10 ** (-3 / 20))
        assert np.array_equal(engine.music_of(key).samples[:, 0], sf.read(tone, dtype="float32")[0])
        assert not w2.heatmap_action.isChecked() and not w2.heatmap_controls.show_box.isChecked()
        assert not w2.heatmap.enabled
        controls = w2.heatmap_controls
        assert (controls.metric_box.currentData(), controls.band_box.currentData()) == ("drr", 500)
        assert w2.tabs.currentIndex() == 1 and st.tab == FEATURES_TAB
    finally:
        w2.close()


VALID = {
    "version": 1, "scene": "two_room", "listener": [3.0, 2.2], "heading": 90.0,
    "emitters": [{"key": MAIN, "xy": [1.0, 1.0], "gain_db": 0.0, "sound": None}],
    "selected": MAIN, "volume": 0.5, "loop": True,
    "view": {"tab": LISTEN_TAB, "heatmap": True, "heatmap_metric": "loudness", "heatmap_band": None},
}


def _with(path: str, value):
    """VALID with the field at dotted `path` (list indices as numbers) set to `value`."""
    data = json.loads(json.dumps(VALID))
    *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
    target = data
    for p in parents:
        target = target[p]
    target[last] = value
    return data


BAD_FIELDS = [
    ("emitters", 3, "emitters"),
    ("heading", "north", "heading"),
    ("listener", [math.nan, 1.0], "listener x"),
    ("listener", [1.0, math.inf], "listener y"),
    ("listener", [1.0], "listener"),
    ("listener", [1e308, 1.0], "listener x"),  # finite, but shapely's nearest point overflowed
    ("listener", "here", "listener"),
    ("heading", True, "heading"),
    ("scene", 7, "scene"),
    ("emitters", [], "emitters"),
    ("emitters", [VALID["emitters"][0]] * 5, "emitters"),
    ("emitters.0", "emitter", "emitter 1"),
    ("emitters.0.xy", [1.0, "2"], "emitter 1 xy y"),
    ("emitters.0.xy", None, "emitter 1 xy"),
    ("emitters.0.gain_db", math.nan, "emitter 1 gain_db"),
    ("emitters.0.gain_db", "-3 dB", "emitter 1 gain_db"),
    ("emitters.0.gain_db", 1e300, "emitter 1 gain_db"),  # 10 ** (gain / 20) overflowed in the engine
    ("emitters.0.key", 2, "emitter 1 key"),
    ("emitters.0.sound", 5, "emitter 1 sound"),
    ("selected", ["emitter"], "selected"),
    ("volume", "loud", "volume"),
    ("volume", 3.0, "volume"),
    ("volume", math.nan, "volume"),
    ("loop", "yes", "loop"),
    ("view", [], "view"),
    ("view.tab", 7, "view tab"),
    ("view.tab", "mixer", "view tab"),
    ("view.heatmap", "on", "view heatmap"),
    ("view.heatmap_metric", 3, "view heatmap_metric"),
    ("view.heatmap_band", "1 kHz", "view heatmap_band"),
    ("view.heatmap_band", 1000.5, "view heatmap_band"),
]


def test_a_valid_session_passes_the_check():
    check_session(json.loads(json.dumps(VALID)))


@pytest.mark.parametrize(("field", "value", "named"), BAD_FIELDS, ids=[f"{f}={v!r}" for f, v, _ in BAD_FIELDS])
def test_every_field_of_a_broken_session_is_refused_in_one_line(tmp_path, field, value, named):
    path = tmp_path / "session.json"
    path.write_text(json.dumps(_with(field, value)))  # NaN and Infinity written as Python's json does
    with pytest.raises(NafError) as info:
        load_session(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message and named in message, message


@pytest.mark.parametrize(("field", "value"), [("emitters", 3), ("heading", "north"), ("listener", [math.nan, 1.0])],
                         ids=["emitters-a-number", "heading-a-word", "listener-nan"])
def test_an_unreadable_remembered_session_is_set_aside_and_the_app_starts_afresh(qtbot, tmp_path, field, value):
    path = tmp_path / "config" / "naf" / "session.json"
    path.parent.mkdir(parents=True)
    text = json.dumps(_with(field, value))
    path.write_text(text)
    w = make_window(qtbot, session=path, audio=False)
    try:
        (aside,) = path.parent.glob("session.json.bad-*")
        assert aside.read_text() == text, "the user's file is kept, renamed beside itself"
        notices = [m for m in w.messages if aside.name in m]
        assert len(notices) == 1 and "\n" not in notices[0] and "starting afresh" in notices[0], w.messages
        fresh = SessionState(w.state.scene)
        assert session_dict(w.state) == session_dict(fresh)
    finally:
        w.close()
    assert load_session(path)["version"] == 1, "on close a good session is remembered again"


def test_a_window_whose_start_fails_leaves_no_thread_running(qtbot, monkeypatch):
    from naf_app.threads import MailboxThread

    started = []
    real_start = MailboxThread.start
    monkeypatch.setattr(MailboxThread, "start", lambda self, *a: started.append(self) or real_start(self, *a))

    def boom(self, path):
        raise RuntimeError("injected failure after the workers started")

    monkeypatch.setattr(MainWindow, "load_checkpoint", boom)
    with pytest.raises(RuntimeError, match="injected"):
        MainWindow(two_room_scene(), "any.pt", device="cpu", audio=None)
    assert len(started) == 4 and not any(t.isRunning() for t in started)


def test_widgets_and_the_engine_follow_the_state_and_controls_change_only_the_state(qtbot):
    w = make_window(qtbot)
    try:
        state, transport, engine = w.state, w.studio.transport, w.studio.engine
        state.set_volume(0.3)
        state.set_loop(False)
        state.set_heatmap_shown(False)
        state.set_tab(FEATURES_TAB)
        state.set_playing(True)
        assert transport.volume.value() == 30 and engine.volume == pytest.approx(0.3)
        assert not transport.loop_box.isChecked() and engine.loop is False
        assert not w.heatmap_action.isChecked() and not w.heatmap_controls.show_box.isChecked()
        assert not w.heatmap.enabled and w.tabs.currentIndex() == 1
        assert engine.playing and transport.play_button.text() == "Pause"
        transport.volume.setValue(70)
        w.heatmap_controls.show_box.setChecked(True)
        w.tabs.setCurrentIndex(0)
        assert (state.volume, state.heatmap_shown, state.tab) == (0.7, True, LISTEN_TAB)
        assert w.heatmap_action.isChecked() and engine.volume == pytest.approx(0.7)
        engine.pause()  # the music ends on its own (loop off): the transport's poll tells the state
        qtbot.waitUntil(lambda: not state.playing, timeout=5_000)
        assert transport.play_button.text() == "Play"
    finally:
        w.close()
