"""The floor plan to scale (rooms, walls, doorways, names, a metre scale bar) with draggable markers.

Dragging follows pyqtgraph's TargetItem: `sigPositionChanged` while the mouse moves (cheap: validate the
spot and ask the field worker for a new IR) and `sigPositionChangeFinished` when it is released (snap a
blocked drop to the nearest free point; expensive consumers such as the heatmap listen to the state's
`placementChanged(which, final=True)`). The mouse wheel turns the listener instead of zooming.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import shapely
from PyQt6.QtCore import QPointF, Qt
from PyQt6.QtGui import QColor, QPainterPath, QPen
from PyQt6.QtWidgets import QGraphicsPathItem

from naf_app.markers import head_path, speaker_path
from naf_app.state import SessionState
from naf_model.scene.floorplan import door_opening

WHEEL_STEP_DEG = 15.0
"""Listener turn per wheel notch (one 120-unit angleDelta)."""

EMITTER_COLOURS = ((40, 120, 230), (230, 140, 30), (170, 60, 200), (20, 170, 170))
"""One colour per emitter, in the order they were added."""

Z_FLOOR, Z_HEATMAP, Z_WALLS, Z_DOORS, Z_LABELS, Z_MARKERS = -30, -20, 0, 1, 5, 10


def polygon_path(geometry) -> QPainterPath:
    """A QPainterPath of a shapely (Multi)Polygon, holes included (odd-even fill)."""
    path = QPainterPath()
    path.setFillRule(Qt.FillRule.OddEvenFill)
    polys = getattr(geometry, "geoms", [geometry])
    for poly in polys:
        if poly.is_empty or poly.geom_type != "Polygon":
            continue
        for ring in [poly.exterior, *poly.interiors]:
            xy = np.asarray(ring.coords)
            path.moveTo(float(xy[0, 0]), float(xy[0, 1]))
            for x, y in xy[1:]:
                path.lineTo(float(x), float(y))
            path.closeSubpath()
    return path


def _shape_item(geometry, fill: QColor | None, pen: QPen | None, z: float) -> QGraphicsPathItem:
    item = QGraphicsPathItem(polygon_path(geometry))
    item.setBrush(fill if fill is not None else QColor(0, 0, 0, 0))
    item.setPen(pen if pen is not None else QPen(Qt.PenStyle.NoPen))
    item.setZValue(z)
    return item


def door_segments(scene) -> list[tuple[np.ndarray, np.ndarray]]:
    """Each doorway as the (start, end) of its opening along the wall centre line, metres."""
    return [door_opening(door, scene.rooms) for door in getattr(scene, "doors", [])]


def _label_spot(room) -> shapely.Point:
    """Where a room's name goes: near the top of the room (markers start near the middle)."""
    top = shapely.Point(room.centroid.x, room.bounds[3] - 0.45)
    return top if room.buffer(-0.3).contains(top) else room.representative_point()


class PlanView(pg.PlotWidget):
    """Plan drawing plus emitter/listener TargetItems bound to a `SessionState`."""

    def __init__(self, state: SessionState, parent=None) -> None:
        super().__init__(parent=parent, background="w")
        self.state = state
        self._syncing = False
        item = self.getPlotItem()
        item.setAspectLocked(True)
        item.hideAxis("left")
        item.hideAxis("bottom")
        item.setMenuEnabled(False)
        item.hideButtons()
        item.layout.setContentsMargins(4, 12, 4, 12)
        self.view_box = item.getViewBox()
        self.view_box.setMouseEnabled(False, False)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._draw_plan()
        self.emitter_items: dict[str, pg.TargetItem] = {}
        self.listener_item = self._marker("listener", head_path(state.heading), (30, 160, 80))
        self._sync_emitters()
        state.placementChanged.connect(self._sync_marker)
        state.headingChanged.connect(self._turn_head)
        state.emittersChanged.connect(self._sync_emitters)
        state.selectedChanged.connect(lambda _key: self._restyle_emitters())

    @property
    def emitter_item(self) -> pg.TargetItem:
        """The first emitter's marker."""
        return self.emitter_items[self.state.emitter_keys[0]]

    # drawing -------------------------------------------------------------------------------------------
    def _draw_plan(self) -> None:
        scene = self.state.scene
        floor_colour, wall_colour = QColor(246, 241, 230), QColor(60, 60, 66)
        rooms = [shapely.Polygon(r.polygon) for r in scene.rooms]
        for poly in rooms or [scene.free_space]:
            self.addItem(_shape_item(poly, floor_colour, None, Z_FLOOR))
        for wall in scene.wall_polygons():
            self.addItem(_shape_item(wall, wall_colour, QPen(wall_colour, 0), Z_WALLS))
        for ob in getattr(scene, "obstacles", []):
            # furniture spanning the ear height blocks the markers: drawn solid; lower or higher pieces faint
            solid = ob.crosses(scene.ear_height)
            fill = QColor(150, 120, 90, 230) if solid else QColor(170, 150, 125, 90)
            self.addItem(_shape_item(ob.footprint, fill, QPen(QColor(90, 70, 50), 0), Z_WALLS))
        door_pen = pg.mkPen((160, 110, 60), width=2, style=Qt.PenStyle.DashLine)
        for a, b in door_segments(scene):
            line = pg.PlotCurveItem([a[0], b[0]], [a[1], b[1]], pen=door_pen)
            line.setZValue(Z_DOORS)
            self.addItem(line)
        for room, poly in zip(scene.rooms, rooms, strict=True):
            spot = _label_spot(poly)
            label = pg.TextItem(room.name, color=(40, 35, 30), anchor=(0.5, 0.5), fill=(255, 255, 255, 170))
            label.setPos(spot.x, spot.y)
            label.setZValue(Z_LABELS)
            self.addItem(label)
        xmin, ymin, xmax, ymax = scene.bounds
        size = max(xmax - xmin, ymax - ymin)
        bar_m = 1.0 if size < 12 else 2.0 if size < 30 else 5.0
        pad = 0.04 * size
        self._draw_scale_bar(xmin, ymin - 2.0 * pad, bar_m)
        self.view_box.setRange(xRange=(xmin - pad, xmax + pad), yRange=(ymin - 3.0 * pad, ymax + pad),
                               padding=0)

    def _draw_scale_bar(self, x0: float, y0: float, length_m: float) -> None:
        """A metre bar drawn in plan coordinates below the plan, so it always matches the zoom."""
        tick = 0.12 * length_m
        xs = [x0, x0, x0 + length_m, x0 + length_m]
        ys = [y0 + tick, y0, y0, y0 + tick]
        self.scale_bar = pg.PlotCurveItem(xs, ys, pen=pg.mkPen("k", width=3))
        self.scale_bar.setZValue(Z_LABELS)
        self.addItem(self.scale_bar)
        text = pg.TextItem(f"{length_m:g} m", color="k", anchor=(0, 0.5))
        text.setPos(x0 + length_m + 0.1 * length_m, y0)
        text.setZValue(Z_LABELS)
        self.addItem(text)

    def _sync_emitters(self) -> None:
        """One speaker marker per emitter of the state (added or removed as the state says)."""
        keys = self.state.emitter_keys
        for key in [k for k in self.emitter_items if k not in keys]:
            self.removeItem(self.emitter_items.pop(key))
        for i, key in enumerate(keys):
            if key not in self.emitter_items:
                self.emitter_items[key] = self._marker(key, speaker_path(), EMITTER_COLOURS[i % 4])
        self._restyle_emitters()

    def _restyle_emitters(self) -> None:
        """The selected emitter's marker has a thick outline."""
        for key, item in self.emitter_items.items():
            item.pen = pg.mkPen((0, 0, 0) if key == self.state.selected else (20, 20, 20),
                                width=3.5 if key == self.state.selected else 1.5)
            item.currentPen = item.pen
            item.update()

    def _marker(self, which: str, symbol: QPainterPath, rgb: tuple[int, int, int]) -> pg.TargetItem:
        item = pg.TargetItem(
            pos=self.state.position(which), size=56, symbol=symbol,
            pen=pg.mkPen((20, 20, 20), width=1.5), brush=pg.mkBrush(*rgb, 230),
            hoverPen=pg.mkPen((0, 0, 0), width=2.5), hoverBrush=pg.mkBrush(*rgb, 255),
            label=which, labelOpts={"color": (20, 20, 20), "offset": (22, -18)},
        )
        item.setZValue(Z_MARKERS)
        item.sigPositionChanged.connect(lambda _item, w=which: self._dragged(w, final=False))
        item.sigPositionChangeFinished.connect(lambda _item, w=which: self._dragged(w, final=True))
        self.addItem(item)
        return item

    def marker(self, which: str) -> pg.TargetItem:
        return self.listener_item if which == "listener" else self.emitter_items[which]

    # state <-> markers ---------------------------------------------------------------------------------
    def _dragged(self, which: str, final: bool) -> None:
        if self._syncing:
            return
        if which != "listener":
            self.state.select(which)  # taking hold of an emitter selects it
        pos = self.marker(which).pos()
        accepted = self.state.move(which, (pos.x(), pos.y()), final)
        self._place(which, accepted)

    def _sync_marker(self, which: str, _final: bool) -> None:
        if which != "listener" and which not in self.emitter_items:
            return
        self._place(which, self.state.position(which))

    def _place(self, which: str, xy) -> None:
        item = self.marker(which)
        if (item.pos().x(), item.pos().y()) != tuple(xy):
            self._syncing = True
            try:
                item.setPos(float(xy[0]), float(xy[1]))
            finally:
                self._syncing = False

    def _turn_head(self, heading: float) -> None:
        self.listener_item.setSymbol(head_path(heading))
        self.listener_item.update()

    # input ---------------------------------------------------------------------------------------------
    def wheelEvent(self, ev) -> None:
        """Turn the listener: one notch up is WHEEL_STEP_DEG counter-clockwise (to the left)."""
        steps = ev.angleDelta().y() / 120.0
        if steps:
            self.state.set_heading(self.state.heading + WHEEL_STEP_DEG * steps)
        ev.accept()

    def viewport_point(self, x: float, y: float):
        """Where scene point (x, y) metres is in viewport pixels (QPoint), e.g. for QTest mouse events."""
        scene_pt = self.view_box.mapViewToScene(QPointF(float(x), float(y)))
        return self.mapFromScene(scene_pt)
