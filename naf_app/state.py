"""Model-side state of a session: scene, emitters (up to MAX_EMITTERS, each with its sound and gain), the
listener, heading, loaded field, its latest IRs, the simulation at the current spot (A/B), the acoustic
readout and analysis results (the heatmap's metric map, feature views).

No widgets live here: views read this state and subscribe to its signals (napari's model/view split), and
positions are validated here so that no view can place a marker inside a wall. Each result is held here
only; views draw what the signals hand them and read the rest from here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import shapely
from PyQt6.QtCore import QObject, pyqtSignal
from shapely.ops import nearest_points

from naf_model.audio import MAIN
from naf_model.conventions import ORIENTATIONS_DEG, WALL_CLEARANCE_M

MAX_EMITTERS = 4
PLAYED_PHASE = "listening"
"""The phase synthesis of every IR the app plays and shows (one place: naf_model.field's phase methods)."""
FIELD, SIMULATION = "field", "simulation"
"""What the listener hears for the selected emitter (A/B)."""
_SNAP_MARGIN_M = 0.03
"""Snapped points sit this far inside the free region so that floating point never puts them on its edge."""


@dataclass(frozen=True)
class FieldInfo:
    """What the status bar says about the loaded field."""

    path: Path
    scene_name: str
    preset: str
    device: str
    n_frames: int
    ir_length: int


@dataclass(frozen=True)
class IrAnswer:
    """One answered IR request: positions in metres, heading in degrees, `irs` {emitter key: (2, N) float32
    at 22,050 Hz} for every emitter (one batch), `selected` the key whose IR `ir` and ln-magnitude `spec`
    (2, 256, T) are shown, `emitters` {key: (x, y)}, `latency_ms` the worker's compute time."""

    seq: int
    emitter: tuple[float, float]
    listener: tuple[float, float]
    heading: float
    ir: np.ndarray
    spec: np.ndarray
    latency_ms: float
    selected: str = MAIN
    irs: dict = field(default_factory=dict)
    emitters: dict = field(default_factory=dict)


@dataclass(frozen=True)
class SimulationAnswer:
    """The simulator at one spot: `irs` (4, 2, N) float32 for the training orientations (ORIENTATIONS_DEG),
    for emitter `key` at `emitter` and the listener at `listener` (metres); `seconds` it took."""

    key: str
    emitter: tuple[float, float]
    listener: tuple[float, float]
    irs: np.ndarray
    seconds: float

    def orientation(self, heading: float) -> int:
        """Index of the simulated orientation nearest to `heading` degrees."""
        d = [abs((heading - o + 180.0) % 360.0 - 180.0) for o in ORIENTATIONS_DEG]
        return int(np.argmin(d))

    def ir_at(self, heading: float) -> np.ndarray:
        return self.irs[self.orientation(heading)]


def level_matched(ir: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """`ir` (2, N) scaled so its energy (both ears) equals that of `reference` (2, M): the A/B plays both
    at one level, so what differs is the sound, not the loudness."""
    e_ir = float(np.sum(np.square(ir, dtype=np.float64)))
    e_ref = float(np.sum(np.square(reference, dtype=np.float64)))
    return (ir * np.sqrt(e_ref / e_ir)).astype(np.float32) if e_ir > 0 else np.asarray(ir, np.float32)


def wrap_heading(deg: float) -> float:
    """A heading in degrees folded into [0, 360)."""
    return float(deg) % 360.0


def nearest_free_point(scene, xy) -> tuple[float, float] | None:
    """The free point (scene.is_free) closest to `xy` in metres, or None when the plan has no free space."""
    inner = scene.free_space.buffer(-(WALL_CLEARANCE_M + _SNAP_MARGIN_M))
    if inner.is_empty:
        return None
    point = shapely.Point(float(xy[0]), float(xy[1]))
    if inner.contains(point):
        return float(xy[0]), float(xy[1])
    snapped = nearest_points(inner, point)[0]
    # nearest_points lands on the shrunk boundary: step a hair towards the inside so is_free agrees.
    centre = inner.representative_point()
    for frac in (0.0, 0.01, 0.05, 0.2):
        x = snapped.x + frac * (centre.x - snapped.x)
        y = snapped.y + frac * (centre.y - snapped.y)
        if bool(scene.is_free(x, y)):
            return float(x), float(y)
    return None


DOORWAY_CLEARANCE_M = 0.6
"""The starting listener stands at least this far from every doorway (a start in a door frame confuses)."""
FURNITURE_CLEARANCE_M = 0.3
"""...and this far from every obstacle's footprint, low furniture included (a start on the sofa confuses too)."""


def clear_start_points(scene, grid: np.ndarray) -> np.ndarray:
    """The grid points (G, 2) at least DOORWAY_CLEARANCE_M from every door opening and FURNITURE_CLEARANCE_M
    from every obstacle footprint (whatever its height); the doorway rule alone, or all points, if none is."""
    from naf_model.scene.floorplan import door_opening

    points = shapely.points(grid)
    far_doors = np.ones(len(grid), bool)
    for door in getattr(scene, "doors", []):
        far_doors &= shapely.distance(shapely.LineString(door_opening(door, scene.rooms)), points) \
            >= DOORWAY_CLEARANCE_M
    far_all = far_doors.copy()
    for obstacle in getattr(scene, "obstacles", []):
        far_all &= shapely.distance(obstacle.footprint, points) >= FURNITURE_CLEARANCE_M
    for keep in (far_all, far_doors):
        if keep.any():
            return grid[keep]
    return grid


def default_placement(scene) -> tuple[tuple[float, float], tuple[float, float]]:
    """Starting emitter and listener: the emitter near the middle of the largest room, the listener the free
    grid point about 2 m from it (or the farthest one in small plans), neither in a doorway nor on furniture."""
    grid = np.asarray(scene.sample_grid(0.25), dtype=np.float64)
    if len(grid) == 0:
        raise ValueError("scene has no free grid point")
    grid = clear_start_points(scene, grid)
    rooms = [shapely.Polygon(r.polygon) for r in scene.rooms]
    centre = max(rooms, key=lambda p: p.area).representative_point() if rooms else \
        scene.free_space.representative_point()
    d_centre = np.hypot(grid[:, 0] - centre.x, grid[:, 1] - centre.y)
    emitter = grid[int(np.argmin(d_centre))]
    d = np.hypot(grid[:, 0] - emitter[0], grid[:, 1] - emitter[1])
    listener = grid[int(np.argmin(np.abs(d - min(2.0, d.max()))))]
    return (float(emitter[0]), float(emitter[1])), (float(listener[0]), float(listener[1]))


class SessionState(QObject):
    """Emitter, listener, heading, the loaded field and its results for one scene; a signal on every change.

    `placementChanged(which, final)`: which is an emitter's key ("emitter", "emitter 2", ...) or "listener";
    final is False while dragging (cheap
    consumers only) and True when a drag ended (expensive consumers: the heatmap). A new field forgets
    the previous field's heatmap and feature views (`fieldChanged` says so; the next results follow).
    `heatmap_metric` (a key of naf_model.analysis.METRICS) and `heatmap_band` (an octave-band centre in Hz or
    None for broadband) say what the heatmap shows; `heatmapChoiceChanged(metric, band)` when they change.
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
    irChanged = pyqtSignal(object)  # IrAnswer
    featuresChanged = pyqtSignal(object)  # naf_model.analysis FeatureViews

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
        self.features = None  # naf_model.analysis FeatureViews
        self.last_ir: IrAnswer | None = None

    @property
    def emitter(self) -> tuple[float, float]:
        """The selected emitter's position, metres."""
        return self._pos[self.selected]

    def emitter_positions(self) -> dict[str, tuple[float, float]]:
        """{key: (x, y)} of every emitter, in the order they were added."""
        return {k: self._pos[k] for k in self.emitter_keys}

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
        """The audio file emitter `key` plays (None: the bundled loop)."""
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
        deg = wrap_heading(deg)
        if deg != self.heading:
            self.heading = deg
            self.headingChanged.emit(deg)

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
