"""Plan view: markers dragged with real mouse events, blocked by walls, listener turned by wheel and keys."""

from __future__ import annotations

import math

import numpy as np
import pytest
from app_helpers import drag
from PyQt6.QtCore import QPoint, QPointF, Qt
from PyQt6.QtGui import QWheelEvent
from PyQt6.QtTest import QTest
from PyQt6.QtWidgets import QApplication

from naf_app.placement import nearest_free_point
from naf_app.state import SessionState
from naf_app.window import MainWindow
from naf_model.scene.examples import two_room_scene


@pytest.fixture
def window(qtbot):
    w = MainWindow(two_room_scene(), checkpoint=None, device="cpu", audio=None)
    qtbot.addWidget(w)
    w.resize(1100, 700)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.close()


def test_listener_follows_a_real_mouse_drag(qtbot, window):
    state, view = window.state, window.plan
    moves = []
    state.placementChanged.connect(lambda which, final: moves.append((which, final)))
    target = (3.2, 1.0)  # in the right-hand room, through the door
    assert state.scene.is_free(*target)
    drag(qtbot, view, state.listener, target)
    assert np.allclose(state.listener, target, atol=0.03)
    marker = view.listener_item.pos()
    assert np.allclose((marker.x(), marker.y()), state.listener)
    assert moves.count(("listener", False)) >= 5, "every mouse move while dragging is a position change"
    assert moves[-1] == ("listener", True), "the drag ends with one finished change"


def test_marker_cannot_be_dropped_inside_a_wall(qtbot, window):
    state, view = window.state, window.plan
    wall = (2.0, 0.4)  # on the wall between the rooms, away from the door
    assert not state.scene.is_free(*wall)
    drag(qtbot, view, state.emitter, wall)
    x, y = state.emitter
    assert state.scene.is_free(x, y)
    marker = view.emitter_item.pos()
    assert np.allclose((marker.x(), marker.y()), (x, y))
    assert math.hypot(x - wall[0], y - wall[1]) < 0.6, "it stays near the wall it was pushed against"


def test_snap_to_nearest_free_point_outside_the_plan():
    scene = two_room_scene()
    x, y = nearest_free_point(scene, (5.5, 1.5))  # far right of the plan
    assert scene.is_free(x, y)
    assert 3.5 < x < 4.0 and abs(y - 1.5) < 0.05
    state = SessionState(scene)
    assert state.move("listener", (-3.0, -3.0), final=False) == state.listener  # blocked drag: stays put
    settled = state.move("listener", (-3.0, -3.0), final=True)
    assert scene.is_free(*settled) and settled[0] < 0.5 and settled[1] < 0.5


def test_wheel_and_arrow_keys_turn_the_listener(qtbot, window):
    state, view = window.state, window.plan
    assert state.heading == 0.0
    centre = QPointF(view.viewport().rect().center())
    wheel = QWheelEvent(centre, QPointF(view.mapToGlobal(centre.toPoint())), QPoint(0, 0), QPoint(0, 240),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase,
                        False)
    QApplication.sendEvent(view.viewport(), wheel)
    assert state.heading == pytest.approx(30.0)
    view.setFocus()
    QTest.keyClick(view, Qt.Key.Key_Right)
    assert state.heading == pytest.approx(15.0)
    QTest.keyClick(view, Qt.Key.Key_Right)
    QTest.keyClick(view, Qt.Key.Key_Right)
    assert state.heading == pytest.approx(345.0), "headings wrap to [0, 360)"
    QTest.keyClick(view, Qt.Key.Key_Left, Qt.KeyboardModifier.ShiftModifier)
    assert state.heading == pytest.approx(346.0)


@pytest.mark.parametrize("name", ["apartment_1", "apartment_2", "small_house"])
def test_default_markers_start_free_off_doorways_and_furniture(name):
    import shapely

    from naf_app.placement import DOORWAY_CLEARANCE_M, FURNITURE_CLEARANCE_M, default_placement
    from naf_app.state import SessionState
    from naf_model.scene import load_scene
    from naf_model.scene.floorplan import door_opening

    scene = load_scene(name)
    state = SessionState(scene)
    added = state.add_emitter()
    markers = [*default_placement(scene), state.position(added)]
    for xy in markers:
        assert scene.is_free(*xy), (name, xy)
        point = shapely.Point(xy)
        for door in scene.doors:
            assert shapely.LineString(door_opening(door, scene.rooms)).distance(point) >= \
                DOORWAY_CLEARANCE_M - 1e-9, (name, xy, "doorway")
        for obstacle in scene.obstacles:  # low furniture too: nobody starts standing on the sofa
            assert obstacle.footprint.distance(point) >= FURNITURE_CLEARANCE_M - 1e-9, (name, xy, "furniture")
    assert state.position("emitter") == markers[0] and state.listener == markers[1]


def test_peak_envelope_keeps_every_peak_in_time_order():
    from naf_app.ir_panel import peak_envelope

    rng = np.random.default_rng(3)
    x = rng.standard_normal(13_230)
    index, values = peak_envelope(x, 2000)
    assert len(index) <= 2000 and np.all(np.diff(index) >= 0) and np.array_equal(values, x[index])
    k = -(-len(x) // 1000)
    for run in range(0, len(x), k):  # each run's extremes are drawn
        piece = x[run : run + k]
        assert piece.max() in values and piece.min() in values
    short = rng.standard_normal(500)
    assert np.array_equal(peak_envelope(short, 2000)[1], short)
