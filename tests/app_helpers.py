"""Helpers shared by the app tests: real mouse drags on the plan view, tiny scenes on disk, waiting."""

from __future__ import annotations

import json
from pathlib import Path

from PyQt6.QtCore import QPoint, Qt
from PyQt6.QtTest import QTest


def drag(qtbot, view, start_xy, end_xy, steps: int = 12, pause_ms: int = 5) -> None:
    """Press at `start_xy` (metres) on the plan view's viewport, move in `steps`, release at `end_xy`."""
    viewport = view.viewport()
    p0, p1 = view.viewport_point(*start_xy), view.viewport_point(*end_xy)
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, p0)
    for i in range(1, steps + 1):
        t = i / steps
        p = QPoint(round(p0.x() + t * (p1.x() - p0.x())), round(p0.y() + t * (p1.y() - p0.y())))
        QTest.mouseMove(viewport, p)
        qtbot.wait(pause_ms)
    QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, p1)
    qtbot.wait(pause_ms)


def write_scene(scene, folder: Path) -> Path:
    """Write a scene built in code to folder/scene.json so subprocesses can load it by path."""
    path = Path(folder) / scene.name / "scene.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(scene.to_dict()))
    return path
