"""Helpers shared by the app tests: real mouse drags on the plan view, tiny scenes on disk, waiting."""

from __future__ import annotations

import json
from pathlib import Path

from PyQt6.QtCore import Qt
from PyQt6.QtTest import QTest


def drag(qtbot, view, start_xy, end_xy, steps: int = 12, pause_ms: int = 5) -> None:
    """Press at `start_xy` (metres) on the plan view's viewport, move in `steps`, release at `end_xy`."""
    viewport = view.viewport()
    (x0, y0), (x1, y1) = start_xy, end_xy
    QTest.mouseMove(viewport, view.viewport_point(x0, y0))  # hover first, as a hand would
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     view.viewport_point(x0, y0))
    for i in range(1, steps + 1):
        t = i / steps
        QTest.mouseMove(viewport, view.viewport_point(x0 + t * (x1 - x0), y0 + t * (y1 - y0)))
        qtbot.wait(pause_ms)
    QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                       view.viewport_point(x1, y1))
    qtbot.wait(pause_ms)


def write_scene(scene, folder: Path) -> Path:
    """Write a scene built in code to folder/scene.json so subprocesses can load it by path."""
    path = Path(folder) / scene.name / "scene.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(scene.to_dict()))
    return path
