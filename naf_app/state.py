"""The state of a studio session: scene, emitters (up to MAX_EMITTERS, each with its sound and gain), the
listener, heading, what is heard (field or simulation), the view (heatmap on/off, metric and band, the tab),
the transport (volume, loop, playing), the loaded field and its results, the background jobs' status and the
messages for the user.

No widgets live here (napari's model/view split): views subscribe to the signals and draw what they hand
them; user actions call the setters; the session file reads and writes this state only. Positions are
validated here so that no view can place a marker inside a wall.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PyQt6.QtCore import QObject, pyqtSignal

from naf_app.answers import IDLE, FieldInfo, IrAnswer, JobStatus, SimulationAnswer
from naf_app.placement import clear_start_points, default_placement, nearest_free_point, wrap_heading
from naf_model.audio import MAIN

MAX_EMITTERS = 4
FIELD, SIMULATION = "field", "simulation"
"""What the listener hears for the selected emitter (A/B); SIMULATION also names the simulation's job."""
LISTEN_TAB, FEATURES_TAB = "listen", "features"
TABS = (LISTEN_TAB, FEATURES_TAB)
"""The window's tabs, in order."""
LOAD, HEATMAP, FEATURES = "load", "heatmap", "features"
JOBS = (LOAD, HEATMAP, FEATURES, SIMULATION)
"""The background jobs whose status (`JobStatus`) the views show: loading a field, the heatmap, the feature
views, the simulation at the current spot."""
DEFAULT_VOLUME, DEFAULT_LOOP = 1.0, True
GAIN_RANGE_DB = (-40.0, 12.0)
"""An emitter's own gain lies in this range (the transport's box; a session file may not hold more)."""


class SessionState(QObject):
    """Emitter, listener, heading, view, transport, the loaded field and its results for one scene; a signal
    on every change.

    `placementChanged(which, final)`: which is an emitter's key ("emitter", "emitter 2", ...) or "listener";
    final is False while dragging (cheap consumers only) and True when a drag ended (expensive consumers:
    the heatmap). A new field forgets the previous field's heatmap and feature views (`fieldChanged` says
    so; the next results follow). `heatmap_metric` (a key of naf_model.analysis.METRICS) and `heatmap_band`
    (an octave-band centre in Hz or None for broadband) say what the heatmap shows. `jobChanged(kind,
    JobStatus)` for the jobs of JOBS; `said(line)` for each message to the user (also kept in `messages`).
    """

    placementChanged = pyqtSignal(str, bool)
    emittersChanged = pyqtSignal()  # one added or removed
    selectedChanged = pyqtSignal(str)
    soundChanged = pyqtSignal(str)  # key: its sound file changed
    gainChanged = pyqtSignal(str, float)  # key, dB
    simulationChanged = pyqtSignal(object)  # SimulationAnswer or None
    listenChanged = pyqtSignal(str)  # FIELD or SIMULATION
    readoutChanged = pyqtSignal(object)  # {FIELD: IrReadout, SIMULATION: IrReadout or None}
    headingChanged = pyqtSignal(float)
    fieldChanged = pyqtSignal(object)  # FieldInfo or None
    heatmapChanged = pyqtSignal(object)  # naf_model.analysis MetricMap
    heatmapChoiceChanged = pyqtSignal(str, object)  # metric, band (Hz or None)
    heatmapShownChanged = pyqtSignal(bool)
    irChanged = pyqtSignal(object)  # IrAnswer
    featuresChanged = pyqtSignal(object)  # naf_model.analysis FeatureViews
    tabChanged = pyqtSignal(str)  # one of TABS
    volumeChanged = pyqtSignal(float)  # 0..1
    loopChanged = pyqtSignal(bool)
    playingChanged = pyqtSignal(bool)
    jobChanged = pyqtSignal(str, object)  # kind (JOBS), JobStatus
    said = pyqtSignal(str)

    def __init__(self, scene, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.scene = scene
        emitter, listener = default_placement(scene)
        self._pos = {MAIN: emitter, "listener": listener}
        self.emitter_keys: list[str] = [MAIN]
        self.selected = MAIN
        self.sounds: dict[str, Path | None] = {MAIN: None}  # None: the bundled loop
        self.gains_db: dict[str, float] = {MAIN: 0.0}
        self.simulation: SimulationAnswer | None = None
        self.listen_to = FIELD
        self.readout = None
        self.heading = 0.0
        self.field: FieldInfo | None = None
        self.checkpoint: Path | None = None
        self.heatmap = None  # naf_model.analysis MetricMap
        self.heatmap_metric = "loudness"
        self.heatmap_band: int | None = None
        self.heatmap_shown = True
        self.features = None  # naf_model.analysis FeatureViews
        self.last_ir: IrAnswer | None = None
        self.tab = LISTEN_TAB
        self.volume = DEFAULT_VOLUME
        self.loop = DEFAULT_LOOP
        self.playing = False  # not remembered: a session reopens paused or as the sound card started
        self.jobs: dict[str, JobStatus] = dict.fromkeys(JOBS, IDLE)
        self.messages: list[str] = []

    @property
    def emitter(self) -> tuple[float, float]:
        """The selected emitter's position, metres."""
        return self._pos[self.selected]

    def emitter_positions(self) -> dict[str, tuple[float, float]]:
        """{key: (x, y)} of every emitter, in the order they were added."""
        return {k: self._pos[k] for k in self.emitter_keys}

    # ---- view, transport, jobs and messages -------------------------------------------------------------
    def _change(self, name: str, value, changed) -> None:
        """Set attribute `name` to `value` and emit `changed(value)`, only if it changes."""
        if value != getattr(self, name):
            setattr(self, name, value)
            changed.emit(value)

    def set_tab(self, tab: str) -> None:
        """Show tab `tab` (one of TABS)."""
        assert tab in TABS, tab
        self._change("tab", tab, self.tabChanged)

    def set_heatmap_shown(self, on: bool) -> None:
        """Show the heatmap under the plan (and compute it) or not."""
        self._change("heatmap_shown", bool(on), self.heatmapShownChanged)

    def set_volume(self, volume: float) -> None:
        """The output fader, 0..1 (clamped)."""
        self._change("volume", min(max(float(volume), 0.0), 1.0), self.volumeChanged)

    def set_loop(self, on: bool) -> None:
        """Loop the music (True) or stop at its end."""
        self._change("loop", bool(on), self.loopChanged)

    def set_playing(self, on: bool) -> None:
        """Play (True) or pause the music; also set False when the music ended (loop off)."""
        self._change("playing", bool(on), self.playingChanged)

    def set_job(self, kind: str, status: JobStatus) -> None:
        """The status of background job `kind` (one of JOBS) changed."""
        assert kind in JOBS, kind
        self.jobs[kind] = status
        self.jobChanged.emit(kind, status)

    def say(self, message: str) -> None:
        """One line for the user (the status bar shows the latest)."""
        self.messages.append(message)
        self.said.emit(message)

    # ---- emitters -------------------------------------------------------------------------------------
    def add_emitter(self, xy=None) -> str:
        """Add an emitter at `xy` (default: a free grid point about 1.5 m from the other markers, off doorways
        and furniture); returns its key.

        NafError with MAX_EMITTERS already placed."""
        from naf_model.errors import NafError

        if len(self.emitter_keys) >= MAX_EMITTERS:
            raise NafError(f"at most {MAX_EMITTERS} emitters; remove one first")
        key = next(f"emitter {n}" for n in range(2, MAX_EMITTERS + 2) if f"emitter {n}" not in self._pos)
        if xy is None:
            grid = clear_start_points(self.scene, np.asarray(self.scene.sample_grid(0.25), np.float64))
            taken = np.array([self._pos[k] for k in [*self.emitter_keys, "listener"]])
            d = np.min(np.hypot(grid[:, None, 0] - taken[None, :, 0], grid[:, None, 1] - taken[None, :, 1]), 1)
            xy = grid[int(np.argmin(np.abs(d - 1.5)))]
        point = nearest_free_point(self.scene, xy) or tuple(self._pos[MAIN])
        self._pos[key] = (float(point[0]), float(point[1]))
        self.emitter_keys.append(key)
        self.sounds[key], self.gains_db[key] = None, 0.0
        self.emittersChanged.emit()
        self.select(key)
        return key

    def remove_emitter(self, key: str) -> None:
        """Remove an emitter (the first one stays: NafError)."""
        from naf_model.errors import NafError

        if key == MAIN:
            raise NafError("the first emitter stays; remove the others")
        self.emitter_keys.remove(key)
        for table in (self._pos, self.sounds, self.gains_db):
            table.pop(key, None)
        if self.selected == key:
            self.selected = MAIN
            self.selectedChanged.emit(MAIN)
        self.emittersChanged.emit()

    def select(self, key: str) -> None:
        """Make `key` the emitter the IR panel, heatmap, readout and A/B follow."""
        if key != self.selected and key in self.emitter_keys:
            self.selected = key
            self.set_simulation(None)
            self.selectedChanged.emit(key)

    def set_sound(self, key: str, path: Path | None) -> None:
        """The audio file emitter `key` plays (None: what it started with, the bundled loop or `--music`)."""
        self.sounds[key] = None if path is None else Path(path)
        self.soundChanged.emit(key)

    def set_gain_db(self, key: str, db: float) -> None:
        """Emitter `key`'s own gain in dB."""
        if self.gains_db.get(key) != float(db):
            self.gains_db[key] = float(db)
            self.gainChanged.emit(key, float(db))

    # ---- A/B and readout ------------------------------------------------------------------------------
    def set_simulation(self, answer: SimulationAnswer | None) -> None:
        """The simulator's IRs at the current spot (None: none, or they no longer match the spot)."""
        if answer is None and self.simulation is None:
            return
        self.simulation = answer
        if answer is None and self.listen_to != FIELD:
            self.listen_to = FIELD
            self.listenChanged.emit(FIELD)
        self.simulationChanged.emit(answer)

    def set_listen_to(self, which: str) -> None:
        """Hear the field (FIELD) or the simulation (SIMULATION, only once there is one) for the selected
        emitter."""
        assert which in (FIELD, SIMULATION)
        if which == SIMULATION and self.simulation is None:
            which = FIELD
        if which != self.listen_to:
            self.listen_to = which
            self.listenChanged.emit(which)

    def set_readout(self, readout) -> None:
        self.readout = readout
        self.readoutChanged.emit(readout)

    @property
    def listener(self) -> tuple[float, float]:
        return self._pos["listener"]

    def position(self, which: str) -> tuple[float, float]:
        """Current position of "emitter" or "listener", metres."""
        return self._pos[which]

    def move(self, which: str, xy, final: bool) -> tuple[float, float]:
        """Move a marker to `xy` if it is free and return where it now is.

        While dragging (final False) a blocked position leaves the marker at its last free position; when the
        drag ends (final True) a blocked position snaps to the nearest free point.
        """
        x, y = float(xy[0]), float(xy[1])
        if not bool(self.scene.is_free(x, y)):
            snapped = nearest_free_point(self.scene, (x, y)) if final else None
            x, y = snapped if snapped is not None else self._pos[which]
        moved = (x, y) != self._pos[which]
        self._pos[which] = (x, y)
        if moved and self.simulation is not None and which in ("listener", self.simulation.key):
            self.set_simulation(None)  # the simulation was for the old spot
        if moved or final:
            self.placementChanged.emit(which, final)
        return x, y

    def set_heading(self, deg: float) -> None:
        """Point the listener's nose at `deg` degrees counter-clockwise from +x (any angle)."""
        self._change("heading", wrap_heading(deg), self.headingChanged)

    def set_field(self, info: FieldInfo | None) -> None:
        """A field was loaded (None: none is); the old field's heatmap and feature views are dropped."""
        self.field = info
        self.checkpoint = info.path if info is not None else None
        self.heatmap = None
        self.features = None
        self.fieldChanged.emit(info)

    def set_heatmap(self, mm) -> None:
        """The heatmap (a MetricMap) of the current field for one emitter, heading, metric and band."""
        self.heatmap = mm
        self.heatmapChanged.emit(mm)

    def set_heatmap_choice(self, metric: str, band_hz: int | None) -> None:
        """What the heatmap shows: `metric` (a key of METRICS), broadband (None) or one octave band (BANDS_HZ)."""
        from naf_model.analysis import BANDS_HZ, METRICS

        assert metric in METRICS and (band_hz is None or band_hz in BANDS_HZ), (metric, band_hz)
        if (metric, band_hz) != (self.heatmap_metric, self.heatmap_band):
            self.heatmap_metric, self.heatmap_band = metric, band_hz
            self.heatmapChoiceChanged.emit(metric, band_hz)

    def set_ir(self, answer: IrAnswer) -> None:
        """The newest IR the field worker answered."""
        self.last_ir = answer
        self.irChanged.emit(answer)

    def set_features(self, views) -> None:
        """The t-SNE and probe views (FeatureViews) of the current field."""
        self.features = views
        self.featuresChanged.emit(views)
