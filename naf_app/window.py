"""The main window: plan + IR panel (Listen tab), features (t-SNE and probe), Scripts menu and job dock.

Wiring only: the window owns the `SessionState`, the views, the field and analysis workers and the studio
controller (`naf_app.studio`). State changes go to the field worker (every move, newest request wins) and
the analysis worker (the heatmap when the emitter settles, the heading rests or another metric is chosen);
their answers, progress and errors come back as queued signals and go into the state, whose signals the views
(plan, heatmap, IR panel, features tab, transport, status bar) follow. The UI thread never runs the model.
"""

from __future__ import annotations

from pathlib import Path

from PyQt6.QtCore import Qt, QTimer
from PyQt6.QtGui import QAction, QKeySequence
from PyQt6.QtWidgets import QFileDialog, QMainWindow, QMessageBox, QSplitter, QTabWidget, QVBoxLayout, QWidget

from naf_app.analysis_worker import AnalysisWorker
from naf_app.answers import IDLE, FieldInfo, JobStatus
from naf_app.audio_link import AudioLink
from naf_app.exports import export_features_png, export_heatmap_png, heatmap_file_name
from naf_app.heatmap_layer import HeatmapControls, HeatmapLayer
from naf_app.ir_panel import IrPanel
from naf_app.plan_view import WHEEL_STEP_DEG, PlanView
from naf_app.scripts_menu import SCRIPTS_DIR, JobDock, ScriptsMenu
from naf_app.state import FEATURES, FEATURES_TAB, HEATMAP, LOAD, TABS, SessionState
from naf_app.status import SessionStatus
from naf_app.studio import StudioController
from naf_app.tsne_tab import FeaturesTab
from naf_app.worker import FieldWorker
from naf_model.analysis.loudness import map_spacing
from naf_model.paths import project_path

FEATURE_SPACING_M = 0.5
HEADING_SETTLE_MS = 400
"""The heatmap follows the heading once it has rested this long (a wheel spin is one recompute)."""

CONTROLS_HELP = """<b>Moving around</b><br>
Drag the <b>listener</b> (head) and the <b>emitter</b> (speaker) with the mouse. They cannot stand inside
walls or outside the plan: a drop there snaps to the nearest free spot.<br><br>
<b>Turning the listener</b><br>
Mouse wheel over the plan, or the Left/Right arrow keys (15° a step; Shift for 1°). The nose shows the
heading. Any heading works: the field was trained at 0°, 90°, 180° and 270°, and headings in between
blend the two neighbouring orientations linearly in angle.<br><br>
<b>What you see and hear</b><br>
Each move asks the field for the binaural IR at the new spot; the IR panel shows it and the audio engine
crossfades to it. The heatmap (loudness in dB re its maximum, C50, DRR or T60 of the played IR, broadband or
one octave band: the boxes above the plan) is recomputed in the background for the selected emitter when it
is dropped, the heading rests or another metric or band is chosen.<br><br>
<b>Transport and emitters</b><br>
Space plays and pauses; the fader, Loop and the meter sit in the bar above the plan. Add up to four
emitters, each with its own sound (Sound..., File &gt; Open audio..., or drop a file on the window) and
gain; the selected one (thick outline) drives the IR panel, the heatmap and the readout.<br><br>
<b>A/B</b><br>
Simulate here runs the simulator for the selected emitter and the listener; its IR is overlaid dashed and
the Hearing button switches between field and simulation, level-matched. Both sides make the IR at the
heading by the same rule (the two nearest trained orientations blended linearly in angle); the bar says
how.<br><br>
<b>No field yet?</b> Scripts &gt; Make data set, then Scripts &gt; Train a field; load the result when
the job offers it (or File &gt; Open checkpoint)."""


class MainWindow(QMainWindow):
    """The naf studio for one scene. `checkpoint` None opens the plan only, with training instructions;
    `session` a session file to reopen and to remember the session in on close (None: nothing remembered).

    Construction never leaves a worker thread running: any failure stops what was started, then re-raises.
    """

    def __init__(self, scene, checkpoint: str | Path | None = None, device: str = "auto",
                 audio: AudioLink | None = None, scene_arg: str | None = None,
                 scripts_dir: Path = SCRIPTS_DIR, session: Path | None = None) -> None:
        super().__init__()
        self._closed = False
        self.scene_arg = scene_arg or scene.name
        self.audio = audio
        self.state = SessionState(scene, self)
        try:
            self._build(device, scripts_dir, session)
            self.studio.restore_remembered()
            self.field_worker.start()
            self.analysis_worker.start()
            self.studio.start()
            if checkpoint is not None:
                self.load_checkpoint(checkpoint)
            else:
                self._no_field_message()
        except BaseException:
            if hasattr(self, "studio"):
                self.studio.session_path = None  # a failed start remembers nothing
            self.shutdown()
            raise

    # construction ---------------------------------------------------------------------------------------
    def _build(self, device: str, scripts_dir: Path, session: Path | None) -> None:
        state, audio = self.state, self.audio
        derived = getattr(state.scene, "derived_from", None)
        self.setWindowTitle(f"naf - {state.scene.name}" + (" (derived plan: no walls known)" if derived else ""))
        self.resize(1400, 820)
        self.field_worker = FieldWorker(state.scene, device, audio, self)
        self.analysis_worker = AnalysisWorker(state.scene, device, self)
        self.heatmap_spacing = map_spacing(state.scene.free_space.area)
        """Heatmap cells: 0.25 m, coarser in big spaces (`analysis.map_spacing`)."""
        self._heading_timer = QTimer(self, singleShot=True, interval=HEADING_SETTLE_MS)
        # the studio follows the state before the status bar does (see SessionStatus._sound_changed)
        self.studio = StudioController(state, audio, self, session)
        self._build_views()
        self.status = SessionStatus(state, self.statusBar(), audio)
        self.job_dock = JobDock(self)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.job_dock)
        self.job_dock.hide()
        self.scripts_menu = ScriptsMenu(self.job_dock, self._job_context, scripts_dir, self)
        self.studio.add_menus(self._build_menus(), self.menuBar())
        self.setAcceptDrops(True)
        self._connect()
        for problem in [] if audio is None else audio.problems:
            state.say(problem)
        if derived:  # imported data: the plan is a guess from the positions, and nothing can be simulated in it
            state.say(derived)

    def _build_views(self) -> None:
        self.plan = PlanView(self.state)
        self.heatmap = HeatmapLayer(self.plan, self.state)
        self.ir_panel = IrPanel(self.state)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        self.heatmap_controls = HeatmapControls(self.state, self._export_heatmap_dialog)
        plan_column = QWidget()
        column = QVBoxLayout(plan_column)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.heatmap_controls)
        column.addWidget(self.plan, 1)
        splitter.addWidget(plan_column)
        splitter.addWidget(self.ir_panel)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        self.features_tab = FeaturesTab(self.state)
        self.tabs = QTabWidget()
        self.tabs.addTab(splitter, "Listen")
        self.tabs.addTab(self.features_tab, "Features (t-SNE, probe)")
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.studio.transport)
        layout.addWidget(self.tabs, 1)
        self.setCentralWidget(central)

    def _build_menus(self):
        file_menu = self.menuBar().addMenu("&File")
        keys = QKeySequence.StandardKey
        self._action(file_menu, "&Open checkpoint...", self._open_checkpoint_dialog, keys.Open)
        self._action(file_menu, "Export &heatmap image...", self._export_heatmap_dialog)
        self._action(file_menu, "Export &t-SNE image...", lambda: self._export_dialog("tsne"))
        self._action(file_menu, "Export linear &probe image...", lambda: self._export_dialog("probe"))
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", self.close, keys.Quit)
        view_menu = self.menuBar().addMenu("&View")
        self.heatmap_action = QAction("Show &heatmap", self, checkable=True, checked=self.state.heatmap_shown)
        self.heatmap_action.toggled.connect(self.state.set_heatmap_shown)
        view_menu.addAction(self.heatmap_action)
        view_menu.addAction(self.job_dock.toggleViewAction())
        listener_menu = self.menuBar().addMenu("&Listener")
        self._action(listener_menu, "Turn &left", lambda: self.turn(WHEEL_STEP_DEG), QKeySequence("Left"))
        self._action(listener_menu, "Turn &right", lambda: self.turn(-WHEEL_STEP_DEG), QKeySequence("Right"))
        self._action(listener_menu, "Turn left 1°", lambda: self.turn(1.0), QKeySequence("Shift+Left"))
        self._action(listener_menu, "Turn right 1°", lambda: self.turn(-1.0), QKeySequence("Shift+Right"))
        self.menuBar().addMenu(self.scripts_menu)
        help_menu = self.menuBar().addMenu("&Help")
        self._action(help_menu, "&Controls", self._show_help, keys.HelpContents)
        return file_menu

    def _action(self, menu, text: str, slot, shortcut=None) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(shortcut)
        action.triggered.connect(lambda _=False: slot())
        menu.addAction(action)
        return action

    def _connect(self) -> None:
        state = self.state
        state.placementChanged.connect(self._placement_changed)
        state.headingChanged.connect(self._heading_changed)
        state.emittersChanged.connect(self.request_ir)
        state.selectedChanged.connect(self._selected_changed)
        state.heatmapChoiceChanged.connect(lambda _metric, _band: self.request_heatmap())
        state.heatmapShownChanged.connect(self._heatmap_shown_changed)
        state.tabChanged.connect(self._tab_changed)
        self.tabs.currentChanged.connect(lambda index: state.set_tab(TABS[index]))
        self._heading_timer.timeout.connect(self.request_heatmap)
        self.field_worker.loaded.connect(self._field_loaded)
        self.field_worker.loadFailed.connect(self._field_failed)
        self.field_worker.answered.connect(state.set_ir)
        self.field_worker.failed.connect(state.say)
        self.analysis_worker.progress.connect(
            lambda kind, done, total: state.set_job(kind, JobStatus(busy=True, done=done, total=total)))
        self.analysis_worker.done.connect(self._analysis_done)
        self.analysis_worker.failed.connect(self._analysis_failed)
        self.features_tab.computeRequested.connect(self.request_features)
        self.features_tab.export_tsne_button.clicked.connect(lambda: self._export_dialog("tsne"))
        self.features_tab.export_probe_button.clicked.connect(lambda: self._export_dialog("probe"))
        self.job_dock.loadRequested.connect(self.load_checkpoint)
        self.job_dock.finished.connect(self._job_finished)

    # messages -------------------------------------------------------------------------------------------
    @property
    def messages(self) -> list[str]:
        """Every line said to the user so far (the status bar shows the latest)."""
        return self.state.messages

    def say(self, message: str) -> None:
        """One line for the user (the state keeps it; the status bar shows it until the next)."""
        self.state.say(message)

    def _no_field_message(self) -> None:
        name = self.scene_arg
        self.say(f"no trained field for '{self.state.scene.name}': run Scripts > Make data set, then "
                 f"Scripts > Train a field (or `naf data make --scene {name}`, `naf train --scene {name}`)")

    # field ----------------------------------------------------------------------------------------------
    def load_checkpoint(self, path: str | Path) -> None:
        """Load a checkpoint in both workers (in the background); the status bar says how it went."""
        path = Path(path)
        self.state.set_job(LOAD, JobStatus(busy=True, text=path.name))
        self.say(f"loading {path.name}...")
        self.field_worker.load(path, emitter=self.state.emitter)
        self.analysis_worker.load(path)

    def _field_loaded(self, info: FieldInfo) -> None:
        self.state.set_field(info)
        self.state.set_job(LOAD, IDLE)
        self.say(f"loaded {project_path(info.path)} ({info.preset} field of scene '{info.scene_name}')")
        self.request_ir()
        self.request_heatmap()
        if self.state.tab == FEATURES_TAB:
            self.request_features()

    def _field_failed(self, message: str) -> None:
        kept = f"; still using {self.state.field.path.name}" if self.state.field is not None else ""
        self.state.set_job(LOAD, JobStatus(error=message))
        self.say(f"cannot load the checkpoint: {message}{kept}")

    def request_ir(self) -> None:
        """Ask for every emitter's IR at the listener (one batch); the selected one's is shown."""
        if self.state.field is not None:
            self.field_worker.request(self.state.emitter_positions(), self.state.listener, self.state.heading,
                                      self.state.selected)

    def _placement_changed(self, which: str, final: bool) -> None:
        self.request_ir()
        if which == self.state.selected and final:
            self.request_heatmap()

    def _heading_changed(self, _heading: float) -> None:
        self.request_ir()
        self._heading_timer.start()

    def _selected_changed(self, _key: str) -> None:
        self.request_ir()
        self.request_heatmap()

    def turn(self, delta_deg: float) -> None:
        """Turn the listener by `delta_deg` (positive: counter-clockwise, to the listener's left)."""
        self.state.set_heading(self.state.heading + delta_deg)

    # analysis -------------------------------------------------------------------------------------------
    def request_heatmap(self) -> None:
        """Recompute the heatmap for the selected emitter, the heading and the chosen metric and band
        (background, newest request wins)."""
        state = self.state
        if state.field is None or not state.heatmap_shown:
            return
        self.analysis_worker.submit(HEATMAP, emitter=state.emitter, heading=state.heading,
                                    spacing=self.heatmap_spacing, metric=state.heatmap_metric,
                                    band=state.heatmap_band, emitter_name=state.selected)
        state.set_job(HEATMAP, JobStatus(busy=True))

    def request_features(self) -> None:
        if self.state.field is None:
            error = "no field loaded: train one with the Scripts menu, then load it"
            self.state.set_job(FEATURES, JobStatus(error=error))
            return
        self.state.set_job(FEATURES, JobStatus(busy=True))
        self.analysis_worker.submit(FEATURES, spacing=FEATURE_SPACING_M)

    def _tab_changed(self, tab: str) -> None:
        self.tabs.setCurrentIndex(TABS.index(tab))
        if tab == FEATURES_TAB and self.state.features is None and not self.state.jobs[FEATURES].busy:
            self.request_features()

    def _heatmap_shown_changed(self, on: bool) -> None:
        self.heatmap_action.setChecked(on)
        if on:
            self.request_heatmap()

    def _analysis_done(self, kind: str, result) -> None:
        self.state.set_job(kind, IDLE)
        if kind == HEATMAP:
            self.state.set_heatmap(result)
        else:
            self.state.set_features(result)

    def _analysis_failed(self, kind: str, message: str) -> None:
        if kind == LOAD:
            return  # the field worker reports load failures
        self.state.set_job(kind, JobStatus(error=f"{kind}: {message}"))
        if kind == HEATMAP:
            self.say(f"heatmap: {message}")

    # exports --------------------------------------------------------------------------------------------
    def _save_dialog(self, title: str, default_name: str) -> str:
        path, _ = QFileDialog.getSaveFileName(self, title, default_name, "PNG images (*.png)")
        return path

    def _export_heatmap_dialog(self) -> None:
        path = self._save_dialog("Export heatmap image", heatmap_file_name(self.state))
        if path:
            self.studio.export(lambda: export_heatmap_png(self.state, path))

    def _export_dialog(self, which: str) -> None:
        path = self._save_dialog(f"Export {which} image", f"{self.state.scene.name}_{which}.png")
        if path:
            self.studio.export(lambda: export_features_png(self.state, which, path))

    def _open_checkpoint_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open checkpoint", "",
                                              "Checkpoints (*.pt);;All files (*)")
        if path:
            self.load_checkpoint(path)

    def dragEnterEvent(self, event) -> None:
        if self.studio.audio_file(event.mimeData()) is not None:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event) -> None:
        """An audio file dropped onto the window becomes the selected emitter's sound."""
        path = self.studio.audio_file(event.mimeData())
        if path is None:
            event.ignore()
            return
        self.studio.open_audio(path)
        event.acceptProposedAction()

    # scripts --------------------------------------------------------------------------------------------
    def _job_context(self) -> dict[str, str]:
        checkpoint = self.state.checkpoint
        (ex, ey), (lx, ly) = self.state.emitter, self.state.listener
        # a default walk: from the listener's spot towards the emitter, stopping 0.5 m short of it
        d = max(((ex - lx) ** 2 + (ey - ly) ** 2) ** 0.5, 1e-9)
        wx, wy = (ex - 0.5 * (ex - lx) / d, ey - 0.5 * (ey - ly) / d) if d > 0.6 else (lx, ly)
        return {"scene": self.scene_arg, "checkpoint": str(checkpoint) if checkpoint else "",
                "emitter": f"{ex:.2f} {ey:.2f}", "walk": f"{lx:.2f} {ly:.2f} {wx:.2f} {wy:.2f}"}

    def _job_finished(self, spec, exit_code: int, cancelled: bool) -> None:
        verdict = "cancelled" if cancelled else "finished" if exit_code == 0 else f"failed (exit {exit_code})"
        extra = ""
        if self.job_dock.load_button.isVisible():
            extra = ": a new checkpoint is ready, press 'Load new checkpoint' in the job dock"
        self.say(f"job '{spec.title}' {verdict}{extra}")

    def _show_help(self) -> None:
        box = QMessageBox(QMessageBox.Icon.Information, "Controls", CONTROLS_HELP, parent=self)
        box.setTextFormat(Qt.TextFormat.RichText)
        box.open()

    # shutdown -------------------------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Stop the job, every worker and the audio stream; safe to call twice, and on a window whose
        construction failed part way (whatever was built is stopped)."""
        if self._closed:
            return
        self._closed = True
        for name in ("studio", "status", "field_worker", "analysis_worker", "_heading_timer"):
            part = getattr(self, name, None)
            if part is not None:
                part.stop()
        if getattr(self, "job_dock", None) is not None:
            self.job_dock.stop_now()
        if self.audio is not None:
            self.audio.close()

    def closeEvent(self, event) -> None:
        self.shutdown()
        super().closeEvent(event)
