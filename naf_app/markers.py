"""Marker shapes for the plan: a loudspeaker for the emitter, a head with a nose for the listener.

TargetItem draws its symbol in screen pixels (y pointing down), centred at (0, 0) within a unit box, so a
heading of `deg` counter-clockwise from +x in scene coordinates points the nose at (cos, -sin) here.
"""

from __future__ import annotations

import math

from PyQt6.QtCore import QPointF
from PyQt6.QtGui import QPainterPath, QPolygonF, QTransform

_BUILD_SCALE = 100.0
"""Paths are combined at 100x and scaled down: Qt flattens curves with an absolute tolerance, which at
unit size would turn circles into jagged polygons."""


def _polygon(points: list[tuple[float, float]]) -> QPainterPath:
    path = QPainterPath()
    path.addPolygon(QPolygonF([QPointF(_BUILD_SCALE * x, _BUILD_SCALE * y) for x, y in points]))
    path.closeSubpath()
    return path


def _circle(x: float, y: float, rx: float, ry: float) -> QPainterPath:
    path = QPainterPath()
    path.addEllipse(QPointF(_BUILD_SCALE * x, _BUILD_SCALE * y), _BUILD_SCALE * rx, _BUILD_SCALE * ry)
    return path


def _to_unit(path: QPainterPath) -> QPainterPath:
    return QTransform.fromScale(1.0 / _BUILD_SCALE, 1.0 / _BUILD_SCALE).map(path.simplified())


def speaker_path() -> QPainterPath:
    """A loudspeaker: a box with a cone opening to the right, centred at the origin, unit size."""
    box = _polygon([(-0.5, -0.22), (-0.18, -0.22), (-0.18, 0.22), (-0.5, 0.22)])
    cone = _polygon([(-0.2, -0.22), (0.3, -0.5), (0.3, 0.5), (-0.2, 0.22)])
    return _to_unit(box.united(cone))


def head_path(heading_deg: float) -> QPainterPath:
    """A head seen from above: a round head with a nose pointing along `heading_deg` (degrees CCW from +x)."""
    a = math.radians(heading_deg)
    ux, uy = math.cos(a), -math.sin(a)  # screen y points down
    px, py = -uy, ux
    head = _circle(0.0, 0.0, 0.24, 0.24)
    nose = _polygon([
        (0.5 * ux, 0.5 * uy),
        (0.12 * ux + 0.13 * px, 0.12 * uy + 0.13 * py),
        (0.12 * ux - 0.13 * px, 0.12 * uy - 0.13 * py),
    ])
    path = head.united(nose)
    for side in (1.0, -1.0):  # ears, so left and right are visible too
        path = path.united(_circle(side * 0.25 * px, side * 0.25 * py, 0.05, 0.08))
    return _to_unit(path)
