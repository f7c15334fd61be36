"""The studio controller, composed into the main window: transport, several emitters with their own sounds
and gains, A/B against the simulator, the acoustic readout, recording, IR export and the remembered session.

User actions change the `SessionState`; this object makes the audio engine follow the state (sounds, gains,
volume, loop, what is heard) and runs the heavy work (simulation, readout) in workers, whose progress and
errors become state that the views show. It owns its workers and the transport bar; the window owns it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PyQt6.QtCore import QObject
from PyQt6.QtGui import QAction, QKeySequence
from PyQt6.QtWidgets import QFileDialog, QWidget

from naf_app.answers import IDLE, JobStatus, SimulationAnswer, level_matched
from naf_app.exports import ir_export_filters
from naf_app.readout_worker import ReadoutWorker
from naf_app.session_file import apply_session, load_session, save_session, session_dict, set_aside
from naf_app.simulation_worker import SimulationWorker
from naf_app.state import FIELD, SIMULATION, SessionState
from naf_app.transport import TransportBar
from naf_model.errors import NafError

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".oga", ".mp3", ".aif", ".aiff")
AUDIO_FILTER = "Audio files (*.wav *.flac *.ogg *.oga *.mp3 *.aif *.aiff);;All files (*)"


class StudioController(QObject):
    """The studio's actions for `state`. `audio`: an AudioLink or None; `parent`: the window (dialogs open
    over it, the play shortcut is added to it); `session_path`: the remembered session (None: none).

    Call `add_menus()` once the menu bar exists, `start()` to start the workers, `stop()` once at the end.
    """

    def __init__(self, state: SessionState, audio, parent: QWidget, session_path: Path | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.audio = audio
        self.parent_widget = parent
        self.session_path = session_path
        self.recording_path: Path | None = None
        self.actions: dict[str, QAction] = {}
        self.transport = TransportBar(state, self, self.engine)
        self.readout_worker = ReadoutWorker(self)
        self.simulation_worker = SimulationWorker(state.scene, self)
        if self.engine is not None:  # the engine follows the state from the start (it may already play)
            self.engine.volume, self.engine.loop = state.volume, state.loop
            state.set_playing(self.engine.playing)
        self._connect()

    @property
    def engine(self):
        """The LiveAudio engine, or None without audio."""
        return None if self.audio is None else self.audio.engine

    def _connect(self) -> None:
        state = self.state
        state.soundChanged.connect(self._sound_changed)
        state.emittersChanged.connect(self._emitters_changed)
        state.gainChanged.connect(self._gain_changed)
        state.volumeChanged.connect(self._volume_changed)
        state.loopChanged.connect(self._loop_changed)
        state.playingChanged.connect(self._playing_changed)
        state.listenChanged.connect(lambda _which: self._route_ab())
        state.headingChanged.connect(lambda _h: self._route_ab())
        state.simulationChanged.connect(lambda _answer: self._submit_readout())
        state.irChanged.connect(lambda _answer: self._submit_readout())
        self.readout_worker.done.connect(state.set_readout)
        self.readout_worker.failed.connect(state.say)
        sim = self.simulation_worker
        sim.progress.connect(lambda text: state.set_job(SIMULATION, JobStatus(busy=True, text=text)))
        sim.done.connect(self._simulation_done)
        sim.failed.connect(self._simulation_failed)
        sim.cancelled.connect(self._simulation_cancelled)

    def add_menus(self, file_menu, menu_bar) -> None:
        """The studio's File entries (before the file menu's second entry) and the Transport menu."""
        first = file_menu.actions()[1] if len(file_menu.actions()) > 1 else None
        for name, text, slot, key in (
            ("open_audio", "Open &audio...", self.open_audio_dialog, None),
            ("record", "&Record...", self.record_dialog, QKeySequence("Ctrl+R")),
            ("export_ir", "Export &IR (WAV or SOFA)...", self.export_ir_dialog, None),
            ("save_session", "&Save session...", self.save_session_dialog, QKeySequence.StandardKey.Save),
            ("open_session", "Open &session...", self.open_session_dialog, None),
        ):
            file_menu.insertAction(first, self._action(name, text, slot, key))
        file_menu.insertSeparator(first)
        play = self._action("play", "&Play / pause", self.toggle_play, QKeySequence("Space"))
        menu_bar.addMenu("&Transport").addAction(play)
        self.parent_widget.addAction(play)

    def _action(self, name: str, text: str, slot, key) -> QAction:
        action = QAction(text, self.parent_widget)
        if key is not None:
            action.setShortcut(key)
        action.triggered.connect(lambda _=False: slot())
        self.actions[name] = action
        return action

    def start(self) -> None:
        self.readout_worker.start()
        self.simulation_worker.start()

    def stop(self) -> None:
        """Stop the workers and the meter, finish a recording and remember the session."""
        self.transport.stop()
        self.readout_worker.stop()
        self.simulation_worker.stop()
        if self.recording_path is not None and self.engine is not None:
            self.stop_recording()
        if self.session_path is not None:
            try:
                self.save_session(self.session_path)
            except (OSError, NafError) as exc:
                self.state.say(f"session not remembered: {exc}")

    # transport ------------------------------------------------------------------------------------------
    def toggle_play(self) -> None:
        """Play or pause the music (space bar)."""
        if self.engine is None:
            self.state.say("audio is off: nothing to play")
            return
        self.state.set_playing(not self.state.playing)

    def _playing_changed(self, on: bool) -> None:
        if self.engine is not None and self.engine.playing != on:
            self.engine.play() if on else self.engine.pause()

    def _volume_changed(self, volume: float) -> None:
        if self.engine is not None:
            self.engine.volume = volume

    def _loop_changed(self, on: bool) -> None:
        if self.engine is not None:
            self.engine.loop = on

    def open_audio_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.parent_widget, f"Sound for {self.state.selected}", "",
                                              AUDIO_FILTER)
        if path:
            self.open_audio(path)

    def open_audio(self, path: str | Path, key: str | None = None) -> bool:
        """Let emitter `key` (default: the selected one) play this file (resampled) and start playing."""
        key = key or self.state.selected
        self.state.set_sound(key, Path(path))
        if self.state.sounds.get(key) != Path(path):
            return False  # `_sound_changed` said why
        if self.engine is not None:
            self.state.set_playing(True)
        self.state.say(f"{key} plays {Path(path).name}")
        return True

    def _sound_changed(self, key: str) -> None:
        """The engine follows emitter `key`'s sound; one that does not play is said and forgotten."""
        from naf_model.audio import load_audio

        path = self.state.sounds.get(key)
        if path is None:
            return  # the sound it started with plays on
        try:
            clip = load_audio(path)
            if self.engine is not None and key in self.engine.sources:
                self.engine.set_music(clip, source=key)
        except NafError as exc:
            self.state.say(f"cannot play {path.name}: {exc}")
            self.state.set_sound(key, None)

    @staticmethod
    def audio_file(mime) -> str | None:
        """The first audio file among a drag's URLs, or None."""
        urls = mime.urls() if mime.hasUrls() else []
        return next((u.toLocalFile() for u in urls if u.toLocalFile().lower().endswith(AUDIO_SUFFIXES)), None)

    # emitters -------------------------------------------------------------------------------------------
    def add_emitter(self, xy=None) -> str | None:
        """Add an emitter (at `xy` metres, default a free spot away from the others); None at the limit."""
        try:
            return self.state.add_emitter(xy)
        except NafError as exc:
            self.state.say(str(exc))
            return None

    def remove_emitter(self, key: str) -> None:
        try:
            self.state.remove_emitter(key)
        except NafError as exc:
            self.state.say(str(exc))

    def _emitters_changed(self) -> None:
        if self.engine is None:
            return
        keys = self.state.emitter_keys
        for key in self.engine.sources:
            if key not in keys:
                self.audio.remove_source(key)
        for key in keys:
            if key not in self.engine.sources:
                self.audio.add_source(key, None, 10 ** (self.state.gains_db[key] / 20))
                if self.state.sounds.get(key) is not None:
                    self._sound_changed(key)

    def _gain_changed(self, key: str, db: float) -> None:
        if self.engine is not None and key in self.engine.sources:
            self.engine.set_source_gain(key, 10 ** (db / 20))

    # A/B against the simulator --------------------------------------------------------------------------
    def simulate_here(self) -> None:
        """Run the simulator for the selected emitter and the listener (child process, cancellable) with the
        loaded field's data-set settings."""
        state = self.state
        if state.field is None:
            state.say("load a field first: the simulation uses its data set's settings")
            return
        state.set_job(SIMULATION, JobStatus(busy=True, text="starting the simulator"))
        self.simulation_worker.simulate(state.selected, state.emitter, state.listener, state.field.simulation)

    def cancel_simulation(self) -> None:
        self.simulation_worker.cancel()

    def _simulation_done(self, answer: SimulationAnswer) -> None:
        state = self.state
        state.set_job(SIMULATION, IDLE)
        if answer.key != state.selected or not np.allclose(answer.emitter, state.emitter) or \
                not np.allclose(answer.listener, state.listener):
            state.say("simulation finished for a spot you have left: press Simulate here again")
            return
        state.set_simulation(answer)
        state.say(f"simulated in {answer.seconds:.1f} s: the IR panel overlays it; A/B switches what you hear")

    def _simulation_failed(self, message: str) -> None:
        self.state.set_job(SIMULATION, JobStatus(error=message))
        self.state.say(message)

    def _simulation_cancelled(self) -> None:
        self.state.set_job(SIMULATION, IDLE)
        self.state.say("simulation cancelled")

    def played_simulation_ir(self) -> np.ndarray | None:
        """The simulation's IR at the heading (`naf_app.played`: the field's orientation rule), level-matched
        to the field's IR of the selected emitter, or None without a simulation or a field IR."""
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
        played = self.played_simulation_ir() if self.state.listen_to == SIMULATION else None
        self.audio.listen_to(self.state.selected, played)

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
        self.actions["record"].setText("Stop &recording")
        self.state.say(f"recording to {self.recording_path.name}... (File > Stop recording)")

    def stop_recording(self) -> Path:
        """Write what was played since `start_recording` as a 2-channel float WAV, atomically."""
        import soundfile as sf

        from naf_model.atomic import atomic_path

        samples = self.engine.stop_recording()
        path, self.recording_path = self.recording_path, None
        self.actions["record"].setText("&Record...")
        with atomic_path(path) as tmp:
            sf.write(tmp, samples, self.engine.sample_rate, format="WAV", subtype="FLOAT")
        self.state.say(f"wrote {path} ({len(samples) / self.engine.sample_rate:.1f} s)")
        return path

    def record_dialog(self) -> None:
        if self.recording_path is not None:
            self.export(self.stop_recording)
            return
        path, _ = QFileDialog.getSaveFileName(self.parent_widget, "Record to",
                                              f"{self.state.scene.name}_take.wav", "WAV files (*.wav)")
        if path:
            self.export(lambda: self.start_recording(path) or path)

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
        """Write the played IR as a WAV (.wav) or a SOFA file (.sofa) at `rate` (22,050, 44,100, 48,000 or
        96,000 Hz), through the writer `naf ir` uses (`ir_files.write_ir_file`): for the field, the same file."""
        from naf_model.audio.ir_files import check_export, write_ir_file

        path, state = Path(path), self.state
        check_export(path, rate)  # a wrong name is refused before the IR is asked for
        heard = FIELD if state.listen_to == FIELD else "simulation (level-matched)"
        return write_ir_file(path, self.played_ir(), state.emitter, state.listener, state.heading,
                             float(state.scene.ear_height), rate,
                             comment=f"scene {state.scene.name}, {state.selected}, {heard}")

    def export_ir_dialog(self) -> None:
        filters = ir_export_filters()
        path, chosen = QFileDialog.getSaveFileName(
            self.parent_widget, "Export IR",
            f"{self.state.scene.name}_{self.state.selected.replace(' ', '')}_ir.wav",
            ";;".join(text for text, _ in filters))
        if path:
            rate = dict(filters).get(chosen, filters[0][1])
            self.export(lambda: self.export_ir(path, rate))

    def export(self, write) -> None:
        """Run `write()` (returns what it wrote) and say how it went in one line."""
        try:
            self.state.say(f"wrote {write()}")
        except (NafError, OSError) as exc:
            self.state.say(f"export failed: {exc}")

    # session --------------------------------------------------------------------------------------------
    def save_session(self, path: str | Path) -> Path:
        return save_session(path, session_dict(self.state))

    def open_session(self, path: str | Path) -> None:
        """Put a session file's settings into the state; NafError (one line, nothing changed) if unreadable."""
        for problem in apply_session(self.state, load_session(path)):
            self.state.say(problem)

    def save_session_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self.parent_widget, "Save session", "session.json",
                                              "Sessions (*.json)")
        if path:
            self.export(lambda: self.save_session(path))

    def open_session_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.parent_widget, "Open session", "", "Sessions (*.json)")
        if path:
            try:
                self.open_session(path)
            except NafError as exc:
                self.state.say(str(exc))

    def restore_remembered(self) -> None:
        """Reopen the remembered session, if there is one; one that cannot be read is set aside (renamed
        beside itself) with one line naming it, and the session starts afresh."""
        path = self.session_path
        if path is None or not path.is_file():
            return
        try:
            data = load_session(path)
        except NafError as exc:
            try:
                aside = set_aside(path)
            except OSError as move_error:
                self.state.say(f"{exc}; starting afresh (could not set it aside: {move_error})")
                return
            self.state.say(f"{exc}; set aside as {aside.name}, starting afresh")
            return
        for problem in apply_session(self.state, data):
            self.state.say(problem)
