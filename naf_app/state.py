"""Model-side state of a session: scene, emitter, listener, heading, loaded field, its latest IR and analysis
results (loudness map, feature views).

No widgets live here: views read this state and subscribe to its signals (napari's model/view split), and
positions are validated here so that no view can place a marker inside a wall. Each result is held here
only; views draw what the signals hand them and read the rest from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
from PyQt6.QtCore import QObject, pyqtSignal
from shapely.ops import nearest_points

from naf_model.conventions import WALL_CLEARANCE_M

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
    """One answered IR request: positions in metres, heading in degrees, `ir` (2, N) float32 at 22,050 Hz,
    `spec` (2, 256, T) float32 ln-magnitude of that IR, `latency_ms` the worker's compute time."""

    seq: int
    emitter: tuple[float, float]
    listener: tuple[float, float]
    heading: float
    ir: np.ndarray
    spec: np.ndarray
    latency_ms: float


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


def default_placement(scene) -> tuple[tuple[float, float], tuple[float, float]]:
    """Starting emitter and listener: the emitter near the middle of the largest room, the listener the free
    grid point about 2 m from it (or the farthest one in small plans)."""
    grid = np.asarray(scene.sample_grid(0.25), dtype=np.float64)
    if len(grid) == 0:
        raise ValueError("scene has no free grid point")
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

    `placementChanged(which, final)`: which is "emitter" or "listener"; final is False while dragging (cheap
    consumers only) and True when a drag ended (expensive consumers: the loudness map). A new field forgets
    the previous field's loudness map and feature views (`fieldChanged` says so; the next results follow).
    """

    placementChanged = pyqtSignal(str, bool)
    headingChanged = pyqtSignal(float)
    fieldChanged = pyqtSignal(object)  # FieldInfo or None
    loudnessChanged = pyqtSignal(object)  # naf_model.analysis LoudnessMap
    irChanged = pyqtSignal(object)  # IrAnswer
    featuresChanged = pyqtSignal(object)  # naf_model.analysis FeatureViews

    def __init__(self, scene, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.scene = scene
        emitter, listener = default_placement(scene)
        self._pos = {"emitter": emitter, "listener": listener}
        self.heading = 0.0
        self.field: FieldInfo | None = None
        self.checkpoint: Path | None = None
        self.loudness = None  # naf_model.analysis LoudnessMap
        self.features = None  # naf_model.analysis FeatureViews
        self.last_ir: IrAnswer | None = None

    @property
    def emitter(self) -> tuple[float, float]:
        return self._pos["emitter"]

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
        """A field was loaded (None: none is); the old field's loudness map and feature views are dropped."""
        self.field = info
        self.checkpoint = info.path if info is not None else None
        self.loudness = None
        self.features = None
        self.fieldChanged.emit(info)

    def set_loudness(self, lm) -> None:
        """The loudness map (LoudnessMap) of the current field for one emitter and heading."""
        self.loudness = lm
        self.loudnessChanged.emit(lm)

    def set_ir(self, answer: IrAnswer) -> None:
        """The newest IR the field worker answered."""
        self.last_ir = answer
        self.irChanged.emit(answer)

    def set_features(self, views) -> None:
        """The t-SNE and probe views (FeatureViews) of the current field."""
        self.features = views
        self.featuresChanged.emit(views)
