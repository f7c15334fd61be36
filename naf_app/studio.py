"""The studio half of the main window: transport, several emitters with their own sounds and gains, A/B
against the simulator, the acoustic readout, recording, IR export, drag-and-drop and the remembered session.

A mixin of `MainWindow` (which owns the views, workers and menus); everything here goes through the
`SessionState` and the AudioLink, and the heavy work (simulation, readout) runs in workers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PyQt6.QtGui import QAction, QKeySequence
from PyQt6.QtWidgets import QFileDialog

from naf_app.readout_worker import ReadoutWorker
from naf_app.session_file import apply_session, load_session, save_session, session_dict
from naf_app.simulation_worker import SimulationWorker
from naf_app.state import FIELD, SIMULATION, level_matched
from naf_app.status import MUSIC_WARNING
from naf_app.transport import TransportBar
from naf_model.audio import MAIN
from naf_model.errors import NafError

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".oga", ".mp3", ".aif", ".aiff")
AUDIO_FILTER = "Audio files (*.wav *.flac *.ogg *.oga *.mp3 *.aif *.aiff);;All files (*)"


class StudioActions:
    """Mixed into MainWindow: call `_build_studio()` after the views and menus exist."""

    @property
    def engine(self):
        """The LiveAudio engine, or None without audio."""
        return None if self.audio is None else self.audio.engine

    def _build_studio(self, file_menu, session_path: Path | None) -> None:
        self.session_path = session_path
        self.transport = TransportBar(self.state, self, self.engine)
        self.readout_worker = ReadoutWorker(self)
        self.simulation_worker = SimulationWorker(self.state.scene, self)
        self.recording_path: Path | None = None
        self.setAcceptDrops(True)
        first = file_menu.actions()[1] if len(file_menu.actions()) > 1 else None
        self.studio_actions = {}
        for name, text, slot, key in (
            ("open_audio", "Open &audio...", self.open_audio_dialog, None),
            ("record", "&Record...", self.record_dialog, QKeySequence("Ctrl+R")),
            ("export_ir", "Export &IR (WAV or SOFA)...", self.export_ir_dialog, None),
            ("save_session", "&Save session...", self.save_session_dialog, QKeySequence.StandardKey.Save),
            ("open_session", "Open &session...", self.open_session_dialog, None),
        ):
            action = QAction(text, self)
            if key is not None:
                action.setShortcut(key)
            action.triggered.connect(lambda _=False, s=slot: s())
            file_menu.insertAction(first, action)
            self.studio_actions[name] = action
        file_menu.insertSeparator(first)
        transport_menu = self.menuBar().addMenu("&Transport")
        self.play_action = QAction("&Play / pause", self)
        self.play_action.setShortcut(QKeySequence("Space"))
        self.play_action.triggered.connect(lambda _=False: self.toggle_play())
        transport_menu.addAction(self.play_action)
        self.addAction(self.play_action)
        self.state.emittersChanged.connect(self._emitters_changed)
        self.state.selectedChanged.connect(self._selected_changed)
        self.state.gainChanged.connect(self._gain_changed)
        self.state.listenChanged.connect(lambda _which: self._route_ab())
        self.state.headingChanged.connect(lambda _h: self._route_ab())
        self.state.simulationChanged.connect(lambda _answer: self._submit_readout())
        self.state.irChanged.connect(lambda _answer: self._submit_readout())
        self.readout_worker.done.connect(self.state.set_readout)
        self.readout_worker.failed.connect(self.say)
        self.simulation_worker.progress.connect(self.transport.simulation_busy)
        self.simulation_worker.done.connect(self._simulation_done)
        self.simulation_worker.failed.connect(self._simulation_failed)
        self.simulation_worker.cancelled.connect(self._simulation_cancelled)
        self.readout_worker.start()
        self.simulation_worker.start()

    # transport ------------------------------------------------------------------------------------------
    def toggle_play(self) -> None:
        """Play or pause the music (space bar)."""
        engine = self.engine
        if engine is None:
            self.say("audio is off: nothing to play")
            return
        engine.pause() if engine.playing else engine.play()
        self.transport.show_playing(engine.playing)

    def open_audio_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, f"Sound for {self.state.selected}", "", AUDIO_FILTER)
        if path:
            self.open_audio(path)

    def open_audio(self, path: str | Path, key: str | None = None) -> bool:
        """Let emitter `key` (default: the selected one) play this file (resampled) and start playing."""
        key = key or self.state.selected
        problem = self.set_emitter_sound(key, Path(path))
        if problem:
            self.say(problem)
            return False
        if self.engine is not None and not self.engine.playing:
            self.toggle_play()
        self.say(f"{key} plays {Path(path).name}")
        return True

    def set_emitter_sound(self, key: str, path: Path) -> str | None:
        """Load `path` for emitter `key`; returns a one-line problem or None."""
        from naf_model.audio import load_audio

        try:
            clip = load_audio(path)
            if self.engine is not None:
                self.engine.set_music(clip, source=key)
        except NafError as exc:
            return f"cannot play {path.name}: {exc}"
        self.state.set_sound(key, path)
        if key == MAIN:
            self.status.clear_warning(MUSIC_WARNING)  # the bad --music file is replaced
        return None

    def dragEnterEvent(self, event) -> None:
        urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
        if any(u.toLocalFile().lower().endswith(AUDIO_SUFFIXES) for u in urls):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event) -> None:
        """An audio file dropped onto the window becomes the selected emitter's sound."""
        for url in event.mimeData().urls():
            local = url.toLocalFile()
            if local.lower().endswith(AUDIO_SUFFIXES):
                self.open_audio(local)
                event.acceptProposedAction()
                return
        event.ignore()

    # emitters -------------------------------------------------------------------------------------------
    def add_emitter(self, xy=None) -> str | None:
        """Add an emitter (at `xy` metres, default a free spot away from the others); None at the limit."""
        try:
            return self.state.add_emitter(xy)
        except NafError as exc:
            self.say(str(exc))
            return None

    def remove_emitter(self, key: str) -> None:
        try:
            self.state.remove_emitter(key)
        except NafError as exc:
            self.say(str(exc))

    def _emitters_changed(self) -> None:
        if self.audio is not None and self.engine is not None:
            keys = self.state.emitter_keys
            for key in self.engine.sources:
                if key not in keys:
                    self.audio.remove_source(key)
            for key in keys:
                if key not in self.engine.sources:
                    self.audio.add_source(key, None, 10 ** (self.state.gains_db[key] / 20))
        self.request_ir()

    def _selected_changed(self, _key: str) -> None:
        self.request_ir()
        self.request_heatmap()

    def _gain_changed(self, key: str, db: float) -> None:
        if self.engine is not None and key in self.engine.sources:
            self.engine.set_source_gain(key, 10 ** (db / 20))

    # A/B against the simulator --------------------------------------------------------------------------
    def simulate_here(self) -> None:
        """Run the simulator for the selected emitter and the listener (child process, cancellable)."""
        if self.state.field is None:
            self.say("load a field first: the simulation uses its data set's settings")
            return
        settings = dict(self.field_worker.simulation_settings or {})
        self.transport.simulation_busy("starting the simulator")
        self.simulation_worker.simulate(self.state.selected, self.state.emitter, self.state.listener,
                                        settings)

    def cancel_simulation(self) -> None:
        self.simulation_worker.cancel()

    def _simulation_done(self, answer) -> None:
        self.transport.simulation_busy(None)
        state = self.state
        if answer.key != state.selected or not np.allclose(answer.emitter, state.emitter) or \
                not np.allclose(answer.listener, state.listener):
            self.say("simulation finished for a spot you have left: press Simulate here again")
            return
        state.set_simulation(answer)
        self.say(f"simulated in {answer.seconds:.1f} s: the IR panel overlays it; A/B switches what you hear")

    def _simulation_failed(self, message: str) -> None:
        self.transport.simulation_busy(None)
        self.say(message)

    def _simulation_cancelled(self) -> None:
        self.transport.simulation_busy(None)
        self.say("simulation cancelled")

    def played_simulation_ir(self) -> np.ndarray | None:
        """The simulation's IR at the nearest simulated orientation, level-matched to the field's IR of the
        selected emitter, or None without a simulation or a field IR."""
        sim = self.state.simulation
        field_ir = None if self.audio is None else self.audio.field_ir(self.state.selected)
        if field_ir is None and self.state.last_ir is not None:
            field_ir = self.state.last_ir.ir
        if sim is None or field_ir is None:
            return None
        return level_matched(sim.ir_at(self.state.heading), field_ir)

    def _route_ab(self) -> None:
        if self.audio is None:
            return
        key = self.state.selected
        played = self.played_simulation_ir() if self.state.listen_to == SIMULATION else None
        self.audio.listen_to(key, played)

    def _submit_readout(self) -> None:
        answer, sim = self.state.last_ir, self.state.simulation
        if answer is None:
            return
        self.readout_worker.submit(answer.seq, answer.ir, None if sim is None else sim.ir_at(self.state.heading))

    # record and export ----------------------------------------------------------------------------------
    def start_recording(self, path: str | Path) -> None:
        """Keep every output block from now on; `stop_recording` writes them to `path` (WAV)."""
        if self.engine is None:
            raise NafError("audio is off: nothing to record")
        self.recording_path = Path(path)
        self.engine.start_recording()
        self.studio_actions["record"].setText("Stop &recording")
        self.say(f"recording to {self.recording_path.name}... (File > Stop recording)")

    def stop_recording(self) -> Path:
        """Write what was played since `start_recording` as a 2-channel float WAV, atomically."""
        import soundfile as sf

        from naf_model.atomic import atomic_path

        samples = self.engine.stop_recording()
        path, self.recording_path = self.recording_path, None
        self.studio_actions["record"].setText("&Record...")
        with atomic_path(path) as tmp:
            sf.write(tmp, samples, self.engine.sample_rate, format="WAV", subtype="FLOAT")
        self.say(f"wrote {path} ({len(samples) / self.engine.sample_rate:.1f} s)")
        return path

    def record_dialog(self) -> None:
        if self.recording_path is not None:
            self._export(self.stop_recording)
            return
        path, _ = QFileDialog.getSaveFileName(self, "Record to", f"{self.state.scene.name}_take.wav",
                                              "WAV files (*.wav)")
        if path:
            self._export(lambda: self.start_recording(path) or path)

    def played_ir(self) -> np.ndarray:
        """The binaural IR (2, N) at 22,050 Hz heard for the selected emitter (field, or simulation on B)."""
        if self.state.listen_to == SIMULATION and self.state.simulation is not None:
            played = self.played_simulation_ir()
            if played is not None:
                return played
        if self.state.last_ir is None:
            raise NafError("no impulse response yet: load a field first")
        return self.state.last_ir.ir

    def export_ir(self, path: str | Path, rate: int = 22_050) -> Path:
        """Write the played IR as a WAV (.wav) or a SOFA file (.sofa) at `rate` (22,050 or 48,000 Hz)."""
        from naf_model.audio.ir_files import write_ir_sofa, write_ir_wav

        path, ir, state = Path(path), self.played_ir(), self.state
        if path.suffix.lower() == ".sofa":
            heard = FIELD if state.listen_to == FIELD else "simulation (level-matched)"
            return write_ir_sofa(path, ir, state.emitter, state.listener, state.heading,
                                 float(state.scene.ear_height), rate,
                                 comment=f"scene {state.scene.name}, {state.selected}, {heard}")
        if path.suffix.lower() != ".wav":
            raise NafError(f"cannot export {path.name}: use a .wav or .sofa file name")
        return write_ir_wav(path, ir, rate)

    def export_ir_dialog(self) -> None:
        path, chosen = QFileDialog.getSaveFileName(
            self, "Export IR", f"{self.state.scene.name}_{self.state.selected.replace(' ', '')}_ir.wav",
            "WAV 22,050 Hz (*.wav);;WAV 48 kHz (*.wav);;SOFA 22,050 Hz (*.sofa);;SOFA 48 kHz (*.sofa)")
        if path:
            rate = 48_000 if "48" in chosen else 22_050
            self._export(lambda: self.export_ir(path, rate))

    # session --------------------------------------------------------------------------------------------
    def save_session(self, path: str | Path) -> Path:
        return save_session(path, session_dict(self))

    def open_session(self, path: str | Path) -> None:
        for problem in apply_session(self, load_session(path)):
            self.say(problem)

    def save_session_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save session", "session.json", "Sessions (*.json)")
        if path:
            self._export(lambda: self.save_session(path))

    def open_session_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open session", "", "Sessions (*.json)")
        if path:
            try:
                self.open_session(path)
            except NafError as exc:
                self.say(str(exc))

    def _restore_session(self) -> None:
        """Reopen the remembered session, if there is one for this scene."""
        if self.session_path is None or not self.session_path.is_file():
            return
        try:
            self.open_session(self.session_path)
        except NafError as exc:
            self.say(f"{exc}; starting afresh")

    def _stop_studio(self) -> None:
        self.transport.stop()
        self.readout_worker.stop()
        self.simulation_worker.stop()
        if self.recording_path is not None and self.engine is not None:
            self.stop_recording()
        if self.session_path is not None:
            try:
                self.save_session(self.session_path)
            except OSError as exc:
                self.say(f"session not remembered: {exc}")
