"""The transport bar: play/pause, volume, loop, the output level meter, the emitters (add, remove, select,
sound, gain) and the A/B controls (Simulate here, cancel, field/simulation).

Widgets only: each control sets the `SessionState` or calls the studio controller; every control follows
the state's signals (volume, loop, emitters, gain, what is heard, the simulation's job) and the A/B label
says which orientation rule both sides use. Buttons take no keyboard focus, so the space bar always reaches
the play shortcut.
"""

from __future__ import annotations

import math

from PyQt6.QtCore import Qt, QTimer
from PyQt6.QtGui import QColor, QPainter
from PyQt6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QWidget,
)

from naf_app.played import orientation_rule
from naf_app.state import FIELD, GAIN_RANGE_DB, MAX_EMITTERS, SIMULATION, SessionState

METER_FLOOR_DB = -60.0
METER_POLL_MS = 50


def _button(text: str, checkable: bool = False) -> QPushButton:
    button = QPushButton(text)
    button.setCheckable(checkable)
    button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    return button


class LevelMeter(QWidget):
    """Two bars (left, right) of the engine's output peak in dBFS, from METER_FLOOR_DB to 0.

    Painted by hand and only when a bar moves by a whole dB: a QProgressBar repaints itself synchronously on
    every `setValue`, which at the meter's poll rate was a tenth of the UI thread's time while music played.
    """

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setFixedSize(120, 16)
        self.db = [METER_FLOOR_DB, METER_FLOOR_DB]
        self._shown = (int(METER_FLOOR_DB), int(METER_FLOOR_DB))

    def show_peak(self, peak) -> None:
        """`peak` (2,) linear full scale."""
        for i, value in enumerate(peak):
            db = 20 * math.log10(value) if value > 0 else METER_FLOOR_DB
            self.db[i] = max(METER_FLOOR_DB, min(0.0, db))
        shown = (int(round(self.db[0])), int(round(self.db[1])))
        if shown != self._shown:
            self._shown = shown
            self.update()  # coalesced with the window's next paint

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        w, h = self.width(), (self.height() - 2) // 2
        for i, db in enumerate(self._shown):
            y = i * (h + 2)
            painter.fillRect(0, y, w, h, QColor(225, 225, 225))
            fill = int(round(w * (db - METER_FLOOR_DB) / -METER_FLOOR_DB))
            colour = QColor(200, 60, 40) if db > -3 else QColor(60, 170, 80)
            painter.fillRect(0, y, fill, h, colour)
        painter.end()


class TransportBar(QWidget):
    """The bar above the plan and IR panel. `studio` (the StudioController) provides toggle_play,
    open_audio_dialog, add_emitter, remove_emitter, simulate_here, cancel_simulation; `engine` is a LiveAudio
    or None (the meter and the play button read it)."""

    def __init__(self, state: SessionState, studio, engine, parent=None) -> None:
        super().__init__(parent)
        self.state = state
        self.engine = engine
        row = QHBoxLayout(self)
        row.setContentsMargins(6, 2, 6, 2)
        self.play_button = _button("Play", checkable=True)
        self.play_button.clicked.connect(lambda _=False: studio.toggle_play())
        self.volume = QSlider(Qt.Orientation.Horizontal)
        self.volume.setRange(0, 100)
        self.volume.setFixedWidth(120)
        self.volume.setToolTip("volume")
        self.volume.valueChanged.connect(lambda value: state.set_volume(value / 100.0))
        self.loop_box = QCheckBox("Loop")
        self.loop_box.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.loop_box.toggled.connect(state.set_loop)
        self.meter = LevelMeter()
        self.emitter_box = QComboBox()
        self.emitter_box.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.emitter_box.setMinimumContentsLength(len("emitter 4"))  # sized at start for "emitter" only, the
        self.emitter_box.setSizeAdjustPolicy(  # keys added later were drawn cut to "emitter"
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.emitter_box.currentTextChanged.connect(lambda key: key and state.select(key))
        self.add_button = _button("Add emitter")
        self.add_button.clicked.connect(lambda _=False: studio.add_emitter())
        self.remove_button = _button("Remove")
        self.remove_button.clicked.connect(lambda _=False: studio.remove_emitter(state.selected))
        self.sound_button = _button("Sound...")
        self.sound_button.clicked.connect(lambda _=False: studio.open_audio_dialog())
        self.gain = QDoubleSpinBox()
        self.gain.setRange(*GAIN_RANGE_DB)
        self.gain.setSuffix(" dB")
        self.gain.setSingleStep(1.0)
        self.gain.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.gain.valueChanged.connect(lambda db: state.set_gain_db(state.selected, db))
        self.simulate_button = _button("Simulate here")
        self.simulate_button.clicked.connect(lambda _=False: studio.simulate_here())
        self.cancel_button = _button("Cancel")
        self.cancel_button.clicked.connect(lambda _=False: studio.cancel_simulation())
        self.cancel_button.setVisible(False)
        self.sim_progress = QLabel("")
        # fixed widths: a bar that grows while a simulation runs would widen the window for good
        self.sim_progress.setFixedWidth(self.sim_progress.fontMetrics().horizontalAdvance("simulating (9999 s)"))
        self.ab_button = _button("Hearing: field", checkable=True)
        self.ab_button.setToolTip("A/B: switch what you hear between the field and the simulation "
                                  "(level-matched)")
        self.ab_button.setEnabled(False)
        self.ab_button.setFixedWidth(self.ab_button.fontMetrics().horizontalAdvance(f"Hearing: {SIMULATION}") + 24)
        self.ab_button.toggled.connect(lambda on: state.set_listen_to(SIMULATION if on else FIELD))
        self.ab_rule = QLabel("")
        self.ab_rule.setToolTip("how both sides of the A/B make the IR at the listener's heading from the "
                                "trained orientations 0, 90, 180 and 270 degrees")
        self.ab_rule.setFixedWidth(self.ab_rule.fontMetrics().horizontalAdvance(orientation_rule(45.0)) + 8)
        for w in (self.play_button, QLabel("Volume"), self.volume, self.loop_box, self.meter,
                  QLabel("  Emitter"), self.emitter_box, self.add_button, self.remove_button,
                  self.sound_button, self.gain, QLabel("  "), self.simulate_button, self.cancel_button,
                  self.sim_progress, self.ab_button, self.ab_rule):
            row.addWidget(w)
        row.addStretch(1)
        self._meter_timer = QTimer(self, interval=METER_POLL_MS, objectName="level_meter_poll")
        self._meter_timer.timeout.connect(self._poll_meter)
        self._volume_changed(state.volume)
        self._loop_changed(state.loop)
        self.show_playing(state.playing)
        if engine is not None:
            self._meter_timer.start()
        else:
            for w in (self.play_button, self.volume, self.loop_box, self.sound_button):
                w.setEnabled(False)
        state.emittersChanged.connect(self._emitters_changed)
        state.selectedChanged.connect(self._selected_changed)
        state.gainChanged.connect(lambda key, db: self._selected_changed(state.selected))
        state.simulationChanged.connect(self._simulation_changed)
        state.listenChanged.connect(self._listen_changed)
        state.headingChanged.connect(lambda _heading: self._show_rule())
        state.volumeChanged.connect(self._volume_changed)
        state.loopChanged.connect(self._loop_changed)
        state.playingChanged.connect(self.show_playing)
        state.jobChanged.connect(self._job_changed)
        self._emitters_changed()

    # state views ----------------------------------------------------------------------------------------
    def _volume_changed(self, volume: float) -> None:
        self.volume.blockSignals(True)
        self.volume.setValue(int(round(100 * volume)))
        self.volume.blockSignals(False)

    def _loop_changed(self, on: bool) -> None:
        self.loop_box.blockSignals(True)
        self.loop_box.setChecked(on)
        self.loop_box.blockSignals(False)

    def show_playing(self, playing: bool) -> None:
        self.play_button.setChecked(playing)
        self.play_button.setText("Pause" if playing else "Play")

    def _poll_meter(self) -> None:
        self.meter.show_peak(self.engine.peak)
        if self.state.playing and not self.engine.playing:  # the music ended (loop off): the state hears of it
            self.state.set_playing(False)

    def _emitters_changed(self) -> None:
        keys = self.state.emitter_keys
        self.emitter_box.blockSignals(True)
        self.emitter_box.clear()
        self.emitter_box.addItems(keys)
        self.emitter_box.blockSignals(False)
        self.add_button.setEnabled(len(keys) < MAX_EMITTERS)
        self._selected_changed(self.state.selected)

    def _selected_changed(self, key: str) -> None:
        self.emitter_box.blockSignals(True)
        self.emitter_box.setCurrentText(key)
        self.emitter_box.blockSignals(False)
        self.remove_button.setEnabled(key != self.state.emitter_keys[0])
        self.gain.blockSignals(True)
        self.gain.setValue(self.state.gains_db.get(key, 0.0))
        self.gain.blockSignals(False)

    def _job_changed(self, kind: str, status) -> None:
        """Show the simulation's progress while it runs: Cancel takes the place of Simulate here."""
        if kind != SIMULATION:
            return
        # hidden before the other shows, or the bar is briefly wider than the window, which then keeps that
        # width as its minimum
        shown, hidden = (self.cancel_button, self.simulate_button) if status.busy else (self.simulate_button,
                                                                                       self.cancel_button)
        hidden.setVisible(False)
        shown.setVisible(True)
        self.sim_progress.setText(status.text if status.busy else "")

    def _simulation_changed(self, answer) -> None:
        self.ab_button.setEnabled(answer is not None)
        self._show_rule()

    def _show_rule(self) -> None:
        """While there is a simulation: how both sides make the IR at the heading (the same rule)."""
        sim = self.state.simulation is not None
        self.ab_rule.setText(orientation_rule(self.state.heading) if sim else "")

    def _listen_changed(self, which: str) -> None:
        self.ab_button.blockSignals(True)
        self.ab_button.setChecked(which == SIMULATION)
        self.ab_button.blockSignals(False)
        self.ab_button.setText(f"Hearing: {which}")

    def stop(self) -> None:
        self._meter_timer.stop()
