"""The live field in the window: real mouse drags give new IRs in the IR panel and the audio engine,
the heading changes the IR, the heatmap and feature views finish and export PNGs whose colours vary."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from app_helpers import drag
from PyQt6.QtCore import QPoint, QPointF, Qt
from PyQt6.QtGui import QImage, QWheelEvent
from PyQt6.QtWidgets import QApplication

from naf_app.audio_link import AudioLink
from naf_app.exports import export_features_png, export_heatmap_png
from naf_app.window import MainWindow

WAIT_MS = 60_000


def png_colours(path, left_fraction: float = 1.0) -> int:
    """Distinct RGB colours in the left part of a PNG (the colour bar sits on the right)."""
    image = QImage(str(path)).convertToFormat(QImage.Format.Format_RGB32)
    assert not image.isNull() and image.width() > 100 and image.height() > 100
    ptr = image.constBits()
    ptr.setsize(image.sizeInBytes())
    pixels = np.frombuffer(ptr, np.uint32).reshape(image.height(), image.bytesPerLine() // 4)
    return len(np.unique(pixels[:, : int(image.width() * left_fraction)]))


@pytest.fixture
def window(qtbot, tiny_field):
    scene, _, checkpoint = tiny_field
    audio = AudioLink.open(no_audio=True)
    w = MainWindow(scene, checkpoint, device="cpu", audio=audio)
    qtbot.addWidget(w)
    w.resize(1300, 800)
    w.show()
    qtbot.waitExposed(w)
    qtbot.waitUntil(lambda: w.state.last_ir is not None, timeout=WAIT_MS)
    yield w
    w.close()


def wait_for_ir(qtbot, w, listener=None, heading=None):
    def ok():
        a = w.state.last_ir
        return a is not None and (listener is None or np.allclose(a.listener, listener, atol=1e-9)) and (
            heading is None or a.heading == pytest.approx(heading))
    qtbot.waitUntil(ok, timeout=WAIT_MS)
    return w.state.last_ir


def test_dragging_the_listener_sends_new_irs_to_the_panel_and_the_audio_engine(qtbot, window):
    w = window
    first = w.state.last_ir
    assert np.array_equal(w.audio.engine.current_ir, first.ir)
    status = w.status
    assert status.model_label.text().startswith("model: best.pt (fast)")
    assert status.device_label.text() == "device: CPU" and status.latency_label.text().endswith(" ms")
    updates_before = w.audio.ir_updates
    target = (3.1, 2.2)
    drag(qtbot, w.plan, w.state.listener, target)
    answer = wait_for_ir(qtbot, w, listener=w.state.listener)
    assert np.allclose(answer.listener, target, atol=0.03)
    assert w.audio.ir_updates > updates_before and np.array_equal(w.audio.engine.current_ir, answer.ir)
    assert w.audio.engine.stats().swaps == 0  # no stream opened (--no-audio): swaps wait for the callback
    # redraws are paced; the drop may ask once more for the same spot (a later seq, the same IR)
    qtbot.waitUntil(lambda: (w.ir_panel.shown_seq or 0) >= answer.seq, timeout=WAIT_MS)
    from naf_app.ir_panel import PLOT_POINTS, peak_envelope

    curve = w.ir_panel.curves[0]  # the waveform reduced once for drawing: every sample drawn is the IR's own
    index, values = peak_envelope(answer.ir[0])
    assert np.array_equal(curve.yData, values) and np.array_equal(values, answer.ir[0][index])
    assert len(curve.yData) <= PLOT_POINTS and curve.yData.max() == answer.ir[0].max()
    assert curve.yData.min() == answer.ir[0].min() and np.allclose(curve.xData, index * 1000 / 22_050)
    assert not np.allclose(answer.ir, first.ir), "another position gives another IR"
    assert w.ir_panel.caption.text().startswith("emitter")


def test_heading_changes_the_ir(qtbot, window):
    w = window
    before = wait_for_ir(qtbot, w, heading=0.0)
    centre = QPointF(w.plan.viewport().rect().center())
    wheel = QWheelEvent(centre, QPointF(w.plan.mapToGlobal(centre.toPoint())), QPoint(0, 0), QPoint(0, 360),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase,
                        False)
    QApplication.sendEvent(w.plan.viewport(), wheel)
    turned = wait_for_ir(qtbot, w, heading=45.0)
    assert np.allclose(turned.listener, before.listener)
    assert np.abs(turned.ir - before.ir).max() > 1e-3 * np.abs(before.ir).max()
    assert not np.allclose(turned.spec, before.spec)


def test_worker_answers_only_the_latest_request(qtbot, window):
    w = window
    worker = w.field_worker
    answered = []
    worker.answered.connect(answered.append)
    field = worker._field
    threads = []
    real = field.impulse_responses
    field.impulse_responses = lambda *a, **k: threads.append(threading.get_ident()) or real(*a, **k)
    grid = w.state.scene.sample_grid(0.25)
    seqs = [worker.request(w.state.emitter, xy, 0.0) for xy in grid[:60]]
    qtbot.waitUntil(lambda: bool(answered) and answered[-1].seq == seqs[-1], timeout=WAIT_MS)
    assert np.allclose(answered[-1].listener, grid[59])
    assert len(answered) < len(seqs), "older requests were dropped while the worker was busy"
    assert [a.seq for a in answered] == sorted(a.seq for a in answered)
    assert threads and threading.main_thread().ident not in threads, "the UI thread never runs the model"
    assert w.analysis_worker._field is not field, "the analysis thread has its own copy of the field"


def test_heatmap_follows_the_emitter_and_exports_a_png(qtbot, window, tmp_path):
    w = window
    qtbot.waitUntil(lambda: w.state.heatmap is not None and w.heatmap.visible(), timeout=WAIT_MS)
    mm = w.state.heatmap
    assert mm.metric == "loudness" and mm.band_hz is None
    assert np.allclose(mm.emitter_xy, w.state.emitter) and mm.spacing == pytest.approx(0.25)
    finite = mm.values[np.isfinite(mm.values)]
    assert finite.max() == 0.0 and np.ptp(finite) > 1.0, "loudness varies over the plan"
    samples = [w.plan.grab().toImage().pixelColor(w.plan.viewport_point(x, y)).name()
               for x, y in w.state.scene.sample_grid(1.0)]
    assert len(set(samples)) >= 3, "the drawn heatmap varies across the plan"
    new_emitter = (3.2, 0.8)
    drag(qtbot, w.plan, w.state.emitter, new_emitter)
    qtbot.waitUntil(lambda: np.allclose(w.state.heatmap.emitter_xy, w.state.emitter), timeout=WAIT_MS)
    assert np.allclose(w.state.emitter, new_emitter, atol=0.03)
    out = export_heatmap_png(w.state, tmp_path / "loudness.png")
    assert out.stat().st_size > 10_000
    assert png_colours(out, left_fraction=0.7) > 50


def test_feature_tab_computes_tsne_and_probe_and_exports_pngs(qtbot, window, tmp_path):
    w = window
    w.tabs.setCurrentWidget(w.features_tab)  # opening the tab starts the background job
    try:
        qtbot.waitUntil(lambda: w.state.features is not None, timeout=WAIT_MS)
    except qtbot.TimeoutError as exc:
        state = f"{w.features_tab.message.text()!r}, {w.messages[-3:]}"
        raise AssertionError(f"no feature views: {state}") from exc
    views = w.state.features
    assert len(views.tsne.positions) >= 8 and views.tsne.rgb.std(axis=0).min() > 0.1
    assert np.isfinite(views.probe.score("wall", "hidden").value)
    assert "R²" in w.features_tab.probe_plot.titleLabel.text
    assert "room accuracy" in w.features_tab.scores.text() and "untrained" in w.features_tab.scores.text()
    for which in ("tsne", "probe"):
        out = export_features_png(w.state, which, tmp_path / f"{which}.png")
        assert out.stat().st_size > 10_000
        assert png_colours(out, left_fraction=0.6) > 50
