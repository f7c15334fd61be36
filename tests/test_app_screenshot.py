"""Writes docs/app.png: the main window with the loudness heatmap shown (bundled field when present)."""

from __future__ import annotations

import os

import numpy as np
import pytest

from naf_app.audio_link import AudioLink
from naf_app.window import MainWindow
from naf_model.paths import REPO_ROOT, bundled_checkpoint

SCREENSHOT = REPO_ROOT / "docs" / "app.png"


@pytest.fixture
def field_for_screenshot(request):
    """apartment_1 with its bundled field if it is there, else the small field trained by the tests."""
    from naf_model.scene import load_scene

    bundled = bundled_checkpoint("apartment_1")
    if bundled.is_file():
        return load_scene("apartment_1"), bundled
    scene, _, checkpoint = request.getfixturevalue("tiny_field")
    return scene, checkpoint


def test_screenshot_of_the_main_window_with_the_heatmap(qtbot, field_for_screenshot):
    scene, checkpoint = field_for_screenshot
    w = MainWindow(scene, checkpoint, device="cpu", audio=AudioLink.open(no_audio=True))
    qtbot.addWidget(w)
    w.resize(1400, 820)
    w.show()
    qtbot.waitExposed(w)
    qtbot.waitUntil(lambda: w.state.loudness is not None and w.state.last_ir is not None, timeout=120_000)
    qtbot.wait(200)
    assert w.heatmap.visible() and w.heatmap.bar.isVisible() and w.heatmap.bar.opacity() == 1.0
    image = w.grab().toImage()
    origin = w.plan.mapTo(w, w.plan.rect().topLeft())
    colours = {image.pixelColor(w.plan.viewport_point(x, y) + origin).name()
               for x, y in scene.sample_grid(0.5)}
    assert len(colours) >= 5, "the heatmap shows different levels across the plan"
    SCREENSHOT.parent.mkdir(exist_ok=True)
    tmp = SCREENSHOT.with_name(".app.png.tmp")
    assert image.save(str(tmp), "PNG")
    os.replace(tmp, SCREENSHOT)
    assert SCREENSHOT.stat().st_size > 20_000
    assert np.isfinite(w.state.loudness.db).any()
    w.close()
