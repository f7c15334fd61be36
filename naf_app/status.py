"""The status bar's permanent part: warnings, loaded model, device, last IR latency, audio health, heatmap
progress. A warning (the `--music` file could not be played) stays in view until its cause is gone, where a
`showMessage` line would be replaced by the next message at once.

A view of `SessionState`: the model and device labels follow `fieldChanged`; the latency label shows the
newest IR's compute time a few times a second (answers come 50 times a second while dragging: a label set
that often relayouts the status bar for nothing); the audio label polls the engine's counters; the progress
bar follows the heatmap's job (`jobChanged`); the message line shows each `said` line; the music warning
goes when the first emitter gets a sound that plays (`soundChanged`).
"""

from __future__ import annotations

from PyQt6.QtCore import Qt, QTimer
from PyQt6.QtWidgets import QLabel, QProgressBar, QStatusBar

from naf_app.answers import FieldInfo, IrAnswer, JobStatus
from naf_app.state import HEATMAP, SessionState
from naf_model.audio import MAIN

AUDIO_POLL_MS = 500
MUSIC_WARNING = "music"
"""Key of the warning that the `--music` file is not played; cleared when the main emitter gets a sound that
plays."""
WARNING_WIDTH_PX = 420
"""Longer warnings are elided; the tooltip holds the whole text."""
LATENCY_POLL_MS = 250


class SessionStatus:
    """Labels and a progress bar added to `bar`; `audio` is an AudioLink or None."""

    def __init__(self, state: SessionState, bar: QStatusBar, audio=None) -> None:
        self.audio = audio
        self.model_label = QLabel("model: none")
        self.device_label = QLabel("device: -")
        self.latency_label = QLabel("IR: - ms")
        self.audio_label = QLabel(audio.status if audio is not None else "audio: off")
        self.warning_label = QLabel()
        self.warning_label.setStyleSheet("color: #b04a00; font-weight: bold;")
        self.warning_label.setVisible(False)
        self._warnings: dict[str, str] = {}
        bar.addPermanentWidget(self.warning_label)  # first, so it sits left of the other labels
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(180)
        self.progress.setFormat("heatmap %p%")
        self.progress.setVisible(False)
        self.progress.setMaximumHeight(self.model_label.sizeHint().height())  # showing it must not relayout
        for w in (self.progress, self.model_label, self.device_label, self.latency_label, self.audio_label):
            bar.addPermanentWidget(w)
        self.audio_timer = QTimer(bar, interval=AUDIO_POLL_MS, objectName="audio_status_poll")
        self.audio_timer.timeout.connect(self._update_audio_label)
        self.audio_timer.start()
        self.state = state
        self._latency_seq: int | None = None
        self.latency_timer = QTimer(bar, interval=LATENCY_POLL_MS, objectName="latency_status_poll")
        self.latency_timer.timeout.connect(self._show_latency)
        self.latency_timer.start()
        state.fieldChanged.connect(self._field_changed)
        state.jobChanged.connect(self._job_changed)
        state.said.connect(bar.showMessage)
        state.soundChanged.connect(self._sound_changed)
        if audio is not None and audio.music_problem:
            self.warn(MUSIC_WARNING, audio.music_problem)

    def warn(self, key: str, text: str) -> None:
        """Keep `text` in view (replacing the earlier warning of the same `key`) until `clear_warning(key)`."""
        self._warnings[key] = text
        self._show_warnings()

    def clear_warning(self, key: str) -> None:
        """The cause of warning `key` is gone."""
        if self._warnings.pop(key, None) is not None:
            self._show_warnings()

    @property
    def warning(self) -> str:
        """The warnings in view, whole, joined by '; ' ('' when none)."""
        return "; ".join(self._warnings.values())

    def _show_warnings(self) -> None:
        text = self.warning
        shown = self.warning_label.fontMetrics().elidedText(f"\u26a0 {text}", Qt.TextElideMode.ElideRight,
                                                            WARNING_WIDTH_PX)
        self.warning_label.setText(shown)
        self.warning_label.setToolTip(text)
        self.warning_label.setVisible(bool(text))

    def _field_changed(self, info: FieldInfo | None) -> None:
        if info is None:
            self.model_label.setText("model: none")
            self.device_label.setText("device: -")
            return
        self.model_label.setText(f"model: {info.path.name} ({info.preset})")
        self.device_label.setText(f"device: {'CUDA' if info.device.startswith('cuda') else 'CPU'}")

    def _show_latency(self) -> None:
        answer: IrAnswer | None = self.state.last_ir
        if answer is not None and answer.seq != self._latency_seq:
            self._latency_seq = answer.seq
            self.latency_label.setText(f"IR: {answer.latency_ms:.0f} ms")

    def _job_changed(self, kind: str, status: JobStatus) -> None:
        """The heatmap's progress (total 0: amount unknown until its first report)."""
        if kind != HEATMAP:
            return
        self.progress.setVisible(status.busy)
        if status.busy:
            self.progress.setRange(0, max(status.total, 0))
            self.progress.setValue(status.done)

    def _sound_changed(self, key: str) -> None:
        # whoever loads sounds has already forgotten one that does not play (their slot runs first)
        if key == MAIN and self.state.sounds.get(MAIN) is not None:
            self.clear_warning(MUSIC_WARNING)

    def _update_audio_label(self) -> None:
        if self.audio is None:
            return
        underruns = self.audio.underruns()
        text = self.audio.status if underruns is None else f"audio: on, {underruns} underruns"
        self.audio_label.setText(text)

    def stop(self) -> None:
        self.audio_timer.stop()
        self.latency_timer.stop()
