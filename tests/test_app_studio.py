"""The studio in the window: transport (space bar, fader, dropped file), several emitters mixed, A/B against
the simulator, the acoustic readout, recording, IR export, the empty IR panel and the remembered session.

The engine runs without a sound card (`--no-audio`): tests drive its real callback themselves, so what it
played is known block for block.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.signal
import soundfile as sf
from app_helpers import drag, write_scene
from PyQt6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PyQt6.QtGui import QDragEnterEvent, QDropEvent
from PyQt6.QtWidgets import QApplication

from naf_app.answers import level_matched
from naf_app.audio_link import AudioLink
from naf_app.exports import export_heatmap_png, heatmap_file_name
from naf_app.ir_panel import peak_envelope
from naf_app.state import FIELD, SIMULATION
from naf_app.window import MainWindow
from naf_model.acoustics import decay
from naf_model.acoustics.readout import ir_readout
from naf_model.audio import MAIN, resample_ir
from naf_model.audio.player import emitter_feed
from naf_model.conventions import SAMPLE_RATE

WAIT_MS = 120_000


def make_window(qtbot, scene, checkpoint, **kwargs):
    w = MainWindow(scene, checkpoint, device="cpu", audio=AudioLink.open(no_audio=True), **kwargs)
    qtbot.addWidget(w)
    w.resize(1400, 850)
    w.show()
    qtbot.waitExposed(w)
    if checkpoint is not None:
        qtbot.waitUntil(lambda: w.state.last_ir is not None, timeout=WAIT_MS)
    return w


@pytest.fixture
def window(qtbot, tiny_field):
    scene, _, checkpoint = tiny_field
    w = make_window(qtbot, scene, checkpoint)
    yield w
    w.close()


def run_blocks(engine, n: int) -> np.ndarray:
    """Drive the engine's real callback `n` times; the output blocks joined, (n * block, 2) float32."""
    out = np.zeros((engine.block_size, 2), np.float32)
    blocks = []
    for _ in range(n):
        engine.callback(out, engine.block_size, None, None)
        blocks.append(out.copy())
    return np.concatenate(blocks)


def wait_for_answer(qtbot, w, cond):
    qtbot.waitUntil(lambda: w.state.last_ir is not None and cond(w.state.last_ir), timeout=WAIT_MS)
    return w.state.last_ir


def test_space_bar_toggles_play(qtbot, window):
    w = window
    engine = w.studio.engine
    assert not engine.playing
    w.plan.setFocus()
    qtbot.keyClick(w.plan, Qt.Key.Key_Space)
    assert engine.playing and w.studio.transport.play_button.text() == "Pause"
    qtbot.keyClick(w.plan, Qt.Key.Key_Space)
    assert not engine.playing and w.studio.transport.play_button.text() == "Play"


def test_volume_fader_and_loop_change_the_engine(qtbot, window):
    w = window
    slider, engine = w.studio.transport.volume, w.studio.engine
    before = slider.value()
    assert engine.volume == pytest.approx(before / 100)
    qtbot.mouseClick(slider, Qt.MouseButton.LeftButton, pos=QPoint(4, slider.height() // 2))  # page down
    assert slider.value() < before and engine.volume == pytest.approx(slider.value() / 100)
    loop = engine.loop
    qtbot.mouseClick(w.studio.transport.loop_box, Qt.MouseButton.LeftButton,
                     pos=QPoint(8, w.studio.transport.loop_box.height() // 2))
    assert engine.loop is (not loop)


def test_a_dropped_wav_plays_resampled(qtbot, window, tmp_path):
    w = window
    rate = 44_100
    t = np.arange(rate) / rate
    tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    path = tmp_path / "tone.wav"
    sf.write(path, tone, rate, subtype="FLOAT")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    centre = QPointF(w.rect().center())
    enter = QDragEnterEvent(centre.toPoint(), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(w, enter)
    assert enter.isAccepted()
    drop = QDropEvent(centre, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(w, drop)
    engine = w.studio.engine
    assert engine.playing and w.state.sounds[MAIN] == path
    assert np.array_equal(engine.music_of(MAIN).samples[:, 0], tone)
    played = engine._player.source(MAIN)._music_box[:, 0]
    assert len(played) == pytest.approx(engine.sample_rate, abs=2), "resampled to the engine's rate"
    out = run_blocks(engine, 20)
    assert np.abs(out).max() > 1e-4, "the dropped file is heard through the IR"


def test_second_emitter_is_added_dragged_and_mixed(qtbot, window):
    w = window
    state = w.state
    qtbot.mouseClick(w.studio.transport.add_button, Qt.MouseButton.LeftButton)
    assert state.emitter_keys == [MAIN, "emitter 2"] and state.selected == "emitter 2"
    assert set(w.studio.engine.sources) == {MAIN, "emitter 2"}
    assert set(w.plan.emitter_items) == {MAIN, "emitter 2"}
    target = (3.2, 2.2) if state.position("emitter 2")[0] < 2.0 else (0.8, 0.8)
    calls = []
    field = w.field_worker._field
    real = field.impulse_responses
    field.impulse_responses = lambda e, *a, **k: calls.append(len(e)) or real(e, *a, **k)
    drag(qtbot, w.plan, state.position("emitter 2"), target)
    assert np.allclose(state.position("emitter 2"), target, atol=0.03)
    answer = wait_for_answer(qtbot, w, lambda a: a.selected == "emitter 2" and np.allclose(
        a.emitters["emitter 2"], state.position("emitter 2")))
    assert calls and set(calls) == {1}, "only the dragged emitter is recomputed (naf_app.worker: the other kept)"
    assert set(answer.irs) == {MAIN, "emitter 2"} and np.array_equal(answer.ir, answer.irs["emitter 2"])
    assert not np.allclose(answer.irs[MAIN], answer.irs["emitter 2"])
    state.set_gain_db("emitter 2", -6.0)
    engine = w.studio.engine
    irs = engine.current_irs
    assert all(np.array_equal(irs[k], answer.irs[k]) for k in irs)
    engine.volume = 0.05  # far below the limiter's threshold: the chain is linear
    engine.play()
    n, b, rate = 30, engine.block_size, engine.sample_rate
    out = run_blocks(engine, n).astype(np.float64)
    expected = np.zeros((n * b, 2))
    env = np.ones(n * b)
    env[:b] = (np.arange(b) + 1.0) / b  # play() fades the source in over the first block
    for key, gain in ((MAIN, 1.0), ("emitter 2", 10 ** (-6 / 20))):
        feed = emitter_feed(engine._player.source(key)._music_box)[:, 0]
        feed = np.resize(feed, n * b) * env
        ir = resample_ir(irs[key], SAMPLE_RATE, rate)
        for ear in range(2):
            expected[:, ear] += gain * scipy.signal.fftconvolve(feed, ir[ear])[: n * b]
    expected *= engine.gain * engine.volume
    assert np.abs(out).max() < 0.5
    assert np.allclose(out[b:], expected[b:], atol=1e-5), "the output is the sum of both convolutions"
    assert np.abs(expected[b:]).max() > 1e-3


def test_simulate_here_overlays_and_ab_switches_the_posted_ir(qtbot, window):
    """At a heading between two trained orientations (30 degrees) both sides of the A/B are built by the same
    rule: the field blends 0 and 90 degrees by `neighbouring_orientations` (1/3 of 90 degrees), the
    simulation's IR is its 0 and 90 degree IRs blended with the same weights, and the bar says so."""
    from naf_app.played import orientation_rule
    from naf_model.field import NeuralAcousticField
    from naf_model.orientation import neighbouring_orientations

    w = window
    w.plan.setFocus()
    for _ in range(2):
        qtbot.keyClick(w.plan, Qt.Key.Key_Left)  # 15 degrees a step, counter-clockwise
    assert w.state.heading == 30.0
    wait_for_answer(qtbot, w, lambda a: a.heading == 30.0)
    qtbot.mouseClick(w.studio.transport.simulate_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: w.state.simulation is not None, timeout=WAIT_MS)
    sim = w.state.simulation
    lower, upper, weight = neighbouring_orientations(np.array([30.0]))
    assert (int(lower[0]), int(upper[0])) == (0, 1) and weight[0] == pytest.approx(1 / 3)
    # the simulation side: the two neighbours blended linearly in angle, not the nearest one
    blended = (1 - weight[0]) * sim.irs[0] + weight[0] * sim.irs[1]
    assert np.allclose(sim.ir_at(30.0), blended, atol=1e-6) and not np.allclose(sim.ir_at(30.0), sim.irs[0])
    # the field side: its log-magnitudes at 30 degrees are its 0 and 90 degree ones blended with that weight
    field = NeuralAcousticField.load(w.state.checkpoint, device="cpu", scene=w.state.scene)
    e, li = np.array([w.state.emitter] * 3), np.array([w.state.listener] * 3)
    at0, at90, at30 = field.query_batch(e, li, np.array([0.0, 90.0, 30.0]))
    assert np.allclose(at30, (1 - weight[0]) * at0 + weight[0] * at90, atol=1e-3)
    assert not np.allclose(at30, at0, atol=1e-3)
    rule = w.studio.transport.ab_rule.text()
    assert rule == orientation_rule(30.0) and "0° (67 %)" in rule and "90° (33 %)" in rule
    assert sim.irs.shape[:2] == (4, 2) and np.allclose(sim.listener, w.state.listener)
    panel = w.ir_panel
    assert panel.shown_simulation is sim and all(p.isVisible() for p in panel.sim_plots)
    assert np.array_equal(panel.sim_curves[0].yData, peak_envelope(sim.ir_at(w.state.heading)[0])[1])
    field_ir = w.studio.engine.current_irs[MAIN]
    assert w.studio.transport.ab_button.isEnabled()
    qtbot.mouseClick(w.studio.transport.ab_button, Qt.MouseButton.LeftButton)
    assert w.state.listen_to == SIMULATION
    posted = w.studio.engine.current_irs[MAIN]
    assert np.allclose(posted, level_matched(sim.ir_at(w.state.heading), field_ir))
    assert np.sum(posted**2) == pytest.approx(np.sum(field_ir.astype(np.float64) ** 2), rel=1e-4)
    qtbot.mouseClick(w.studio.transport.ab_button, Qt.MouseButton.LeftButton)
    assert w.state.listen_to == FIELD and np.array_equal(w.studio.engine.current_irs[MAIN], field_ir)
    # the readout shows the simulation's measurements beside the field's
    qtbot.waitUntil(lambda: w.state.readout is not None and w.state.readout[SIMULATION] is not None,
                    timeout=WAIT_MS)
    assert w.state.readout[SIMULATION] == ir_readout(sim.ir_at(w.state.heading))
    assert "simulation" in panel.readout_label.text()
    # moving the listener leaves the simulated spot: back to the field
    qtbot.mouseClick(w.studio.transport.ab_button, Qt.MouseButton.LeftButton)
    drag(qtbot, w.plan, w.state.listener, (3.2, 2.3))
    assert w.state.simulation is None and w.state.listen_to == FIELD and not panel.sim_plots[0].isVisible()


def test_cancelled_simulation_stops(qtbot, window):
    w = window
    qtbot.mouseClick(w.studio.transport.simulate_button, Qt.MouseButton.LeftButton)
    assert w.studio.transport.cancel_button.isVisible()
    qtbot.mouseClick(w.studio.transport.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not w.studio.transport.cancel_button.isVisible(), timeout=WAIT_MS)
    assert w.state.simulation is None and w.messages[-1] == "simulation cancelled"


def test_readout_equals_the_metrics_of_the_played_ir(qtbot, window):
    w = window
    answer = w.state.last_ir
    qtbot.waitUntil(lambda: w.state.readout is not None and w.state.readout["seq"] == answer.seq,
                    timeout=WAIT_MS)
    r = w.state.readout[FIELD]
    ir = answer.ir.astype(np.float64)
    assert r.c50_db == pytest.approx(float(np.mean(decay.c50(ir))))
    assert r.edt_s == pytest.approx(float(np.nanmean(decay.edt(ir))))
    t60 = decay.rt60(ir)
    assert (np.isnan(r.t60_s) and np.isnan(t60).all()) or r.t60_s == pytest.approx(float(np.nanmean(t60)))
    assert r.level_db == pytest.approx(10 * np.log10(np.sum(ir**2)))
    assert r == ir_readout(answer.ir)
    assert "C50" in w.ir_panel.readout_label.text()


def test_record_writes_exactly_the_output_blocks(qtbot, window, tmp_path):
    w = window
    engine = w.studio.engine
    engine.play()
    run_blocks(engine, 5)  # played before the recording: not in the file
    w.studio.start_recording(tmp_path / "take.wav")
    assert w.studio.actions["record"].text().startswith("Stop")
    played = run_blocks(engine, 40)
    path = w.studio.stop_recording()
    run_blocks(engine, 3)
    data, rate = sf.read(path, dtype="float32", always_2d=True)
    assert rate == engine.sample_rate and np.array_equal(data, played) and np.abs(played).max() > 0
    assert not list(tmp_path.glob(".*tmp*")), "written atomically, no temporary file left"


def test_export_ir_writes_wav_and_sofa_that_read_back_equal(qtbot, window, tmp_path):
    import sofar

    w = window
    ir = w.studio.played_ir()
    wav = w.studio.export_ir(tmp_path / "ir.wav", 22_050)
    data, rate = sf.read(wav, dtype="float32", always_2d=True)
    assert rate == 22_050 and np.array_equal(data.T, ir)
    wav48 = w.studio.export_ir(tmp_path / "ir48.wav", 48_000)
    data48, rate48 = sf.read(wav48, dtype="float64", always_2d=True)
    assert rate48 == 48_000 and np.allclose(data48.T, resample_ir(ir, SAMPLE_RATE, 48_000), atol=1e-6)
    sofa = sofar.read_sofa(str(w.studio.export_ir(tmp_path / "ir.sofa", 22_050)), verbose=False)
    assert np.allclose(sofa.Data_IR[0], ir, atol=1e-7) and float(sofa.Data_SamplingRate) == 22_050
    state = w.state
    assert np.allclose(sofa.ListenerPosition[0, :2], state.listener)
    assert np.allclose(sofa.SourcePosition[0, :2], state.emitter)
    h = np.radians(state.heading)
    assert np.allclose(sofa.ListenerView[0], [np.cos(h), np.sin(h), 0.0], atol=1e-12)
    sofa48 = sofar.read_sofa(str(w.studio.export_ir(tmp_path / "ir48.sofa", 48_000)), verbose=False)
    assert float(sofa48.Data_SamplingRate) == 48_000
    assert np.allclose(sofa48.Data_IR[0], resample_ir(ir, SAMPLE_RATE, 48_000), atol=1e-7)


def test_the_export_ir_dialog_offers_every_rate_and_writes_the_chosen_one(qtbot, window, tmp_path, monkeypatch):
    import sofar

    from naf_app import studio
    from naf_app.exports import ir_export_filters

    offered = []

    def save_as(parent, title, name, filters):
        offered.append(filters)
        return str(tmp_path / "dialog.sofa"), "SOFA 96 kHz (*.sofa)"

    monkeypatch.setattr(studio.QFileDialog, "getSaveFileName", save_as)
    window.studio.actions["export_ir"].trigger()
    assert offered == [";;".join(text for text, _ in ir_export_filters())]
    assert "WAV 44,100 Hz (*.wav)" in offered[0] and "SOFA 48 kHz (*.sofa)" in offered[0]
    sofa = sofar.read_sofa(str(tmp_path / "dialog.sofa"), verbose=False)
    assert float(sofa.Data_SamplingRate) == 96_000
    assert np.array_equal(sofa.Data_IR[0], resample_ir(window.studio.played_ir(), SAMPLE_RATE, 96_000))


def test_naf_ir_writes_the_samples_of_the_apps_export_ir(qtbot, window, tmp_path, capsys):
    """Issue 30, "IRs out": `naf ir` at the app's spot (off the grid, between trained headings) writes exactly
    what File > Export IR writes, WAV and SOFA, at 22,050 and 48,000 Hz."""
    import sofar

    from naf_model.cli import main

    w = window
    state = w.state
    state.move("listener", (1.37, 2.21), final=True)
    state.set_heading(37.0)
    answer = wait_for_answer(qtbot, w, lambda a: a.heading == 37.0 and a.listener == (1.37, 2.21))
    scene_file = write_scene(state.scene, tmp_path)
    spot = ["--emitter", *(repr(float(v)) for v in state.emitter), "--listener",
            *(repr(float(v)) for v in state.listener), "--heading", repr(float(state.heading))]
    for name, rate in [("ir.wav", 22_050), ("ir48.wav", 48_000), ("ir.sofa", 22_050), ("ir48.sofa", 48_000)]:
        app = w.studio.export_ir(tmp_path / f"app_{name}", rate)
        cli = tmp_path / f"cli_{name}"
        assert main(["ir", "--scene", str(scene_file), *spot, "-o", str(cli), "--rate", str(rate),
                     "--checkpoint", str(state.field.path), "--device", "cpu"]) == 0, capsys.readouterr().err
        if name.endswith(".wav"):
            a, rate_a = sf.read(app, dtype="float32", always_2d=True)
            b, rate_b = sf.read(cli, dtype="float32", always_2d=True)
            assert rate_a == rate_b == rate and a.shape == b.shape and np.array_equal(a, b)
        else:
            a, b = (sofar.read_sofa(str(p), verbose=False) for p in (app, cli))
            assert np.array_equal(a.Data_IR, b.Data_IR) and float(b.Data_SamplingRate) == rate
            for key in ("ListenerPosition", "ListenerView", "SourcePosition", "ReceiverPosition"):
                assert np.array_equal(getattr(a, key), getattr(b, key)), key
    data, _ = sf.read(tmp_path / "cli_ir.wav", dtype="float32", always_2d=True)
    assert np.array_equal(data.T, answer.ir)  # the IR the engine was handed
    capsys.readouterr()


def choose(qtbot, box, data) -> None:
    """Pick the item of combo box `box` whose data is `data` as a user does: click the box, click the item."""
    index = box.findData(data)
    assert index >= 0, data
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton)
    view = box.view()
    qtbot.waitUntil(view.isVisible, timeout=5_000)
    qtbot.wait(QApplication.doubleClickInterval() + 100)  # the popup ignores a release this soon after opening
    rect = view.visualRect(view.model().index(index, 0))
    qtbot.mouseMove(view.viewport(), rect.center())
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: box.currentIndex() == index and not view.isVisible(), timeout=5_000)


def test_heatmap_shows_the_c50_of_the_played_irs_and_its_export_says_so(qtbot, window, tmp_path):
    from naf_app.played import PLAYED_PHASE
    from naf_model.acoustics.readout import measure
    from naf_model.field import NeuralAcousticField

    w = window
    state, controls = w.state, w.heatmap_controls
    qtbot.waitUntil(lambda: state.heatmap is not None, timeout=WAIT_MS)
    assert state.heatmap.metric == "loudness"
    choose(qtbot, controls.metric_box, "c50")
    assert (state.heatmap_metric, state.heatmap_band) == ("c50", None)
    qtbot.waitUntil(lambda: state.heatmap.metric == "c50", timeout=WAIT_MS)
    mm = state.heatmap
    assert np.allclose(mm.emitter_xy, state.emitter) and mm.emitter_name == state.selected and mm.band_hz is None
    assert w.heatmap.visible() and w.heatmap.bar.axis.labelText == "C50 (dB), broadband"
    field = NeuralAcousticField.load(state.checkpoint, device="cpu", scene=state.scene)
    rows, cols = np.nonzero(np.isfinite(mm.values))
    pick = [0, len(rows) // 2, len(rows) - 1]
    listeners = np.c_[mm.xs[cols[pick]], mm.ys[rows[pick]]]
    irs = field.impulse_responses(np.broadcast_to(mm.emitter_xy, (3, 2)), listeners, np.full(3, mm.heading_deg),
                                  phase=PLAYED_PHASE).astype(np.float64)
    expected = [float(np.mean(decay.c50(ir))) for ir in irs]  # the evaluation's C50, per ear, mean
    # the map reads the played IR's energy envelope (`analysis.fast_map`), not the waveform: within its stated
    # agreement (docs/benchmarks.md, fast heatmaps: broadband C50 p95 0.31 dB on apartment_1)
    np.testing.assert_allclose(mm.values[rows[pick], cols[pick]], expected, atol=0.5)
    choose(qtbot, controls.band_box, 1000)
    qtbot.waitUntil(lambda: state.heatmap.band_hz == 1000, timeout=WAIT_MS)
    band = state.heatmap
    np.testing.assert_allclose(band.values[rows[pick], cols[pick]], measure(irs, "c50", 1000), atol=1.0)
    assert w.heatmap.bar.axis.labelText == "C50 (dB), 1 kHz octave"
    name = heatmap_file_name(w.state)
    low, high = band.levels
    assert name.startswith(f"{state.scene.name}_c50_1kHz_emitter_scale") and name.endswith("dB.png"), name
    assert f"{low:.3g}to{high:.3g}" in name
    out = export_heatmap_png(w.state, tmp_path / name)
    assert out.stat().st_size > 10_000 and [p.name for p in tmp_path.iterdir()] == [name]


def test_no_field_shows_a_sentence_not_empty_axes(qtbot, tmp_path):
    from naf_model.scene.examples import two_room_scene

    w = make_window(qtbot, two_room_scene(), None)
    try:
        panel = w.ir_panel
        assert panel.stack.currentWidget() is panel.empty_label and panel.empty_label.isVisible()
        assert "No field loaded" in panel.empty_label.text() and not panel.plots.isVisible()
    finally:
        w.close()


def test_session_is_remembered_and_saved_and_opened(qtbot, tiny_field, tmp_path, monkeypatch):
    from naf_app.session_file import default_session_path

    scene, _, checkpoint = tiny_field
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    remembered = default_session_path()
    assert remembered == tmp_path / "config" / "naf" / "session.json"
    w = make_window(qtbot, scene, checkpoint, session=remembered)
    key = w.studio.add_emitter((3.2, 0.8))
    w.state.set_gain_db(key, -3.0)
    w.state.move("listener", (3.0, 2.2), final=True)
    w.state.set_heading(90.0)
    w.studio.transport.volume.setValue(40)
    w.state.set_heatmap_choice("drr", 500)
    saved = w.studio.save_session(tmp_path / "mine.json")
    w.close()
    data = json.loads(remembered.read_text())
    assert [e["key"] for e in data["emitters"]] == [MAIN, key] and data["heading"] == 90.0
    w2 = make_window(qtbot, scene, checkpoint, session=remembered)
    try:
        st = w2.state
        assert st.emitter_keys == [MAIN, key] and np.allclose(st.position(key), (3.2, 0.8), atol=0.03)
        assert st.gains_db[key] == -3.0 and st.heading == 90.0 and w2.studio.engine.volume == pytest.approx(0.4)
        assert np.allclose(st.listener, (3.0, 2.2), atol=0.03) and set(w2.studio.engine.sources) == {MAIN, key}
        controls = w2.heatmap_controls
        assert (st.heatmap_metric, st.heatmap_band) == ("drr", 500)
        assert (controls.metric_box.currentData(), controls.band_box.currentData()) == ("drr", 500)
        w2.studio.remove_emitter(key)
        w2.studio.open_session(saved)
        assert st.emitter_keys == [MAIN, key]
    finally:
        w2.close()


def test_playback_and_calibration_use_the_one_played_ir_function(qtbot, window):
    """What is played is named once (`naf_app.played.played_irs`): the IR the engine plays and the reference
    IRs that set its output level both come from it."""
    from naf_app.played import played_irs
    from naf_model.audio import session_gain
    from naf_model.field import NeuralAcousticField
    from naf_model.rendering.calibration import reference_irs

    w = window
    state, engine = w.state, w.studio.engine
    field = NeuralAcousticField.load(state.checkpoint, device="cpu", scene=state.scene)
    answer = state.last_ir
    played = played_irs(field)(np.array([answer.emitter]), np.array([answer.listener]), np.array([answer.heading]))
    assert np.allclose(engine.current_irs[MAIN], played[0], atol=1e-6)
    refs = reference_irs(state.scene, played_irs(field), np.array(state.emitter))
    qtbot.waitUntil(lambda: engine.gain != 1.0, timeout=WAIT_MS)  # calibrated after the load
    assert engine.gain == pytest.approx(session_gain(engine._player.music, engine.sample_rate, refs), rel=1e-5)
