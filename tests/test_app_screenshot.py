"""A screenshot of the main window with the heatmap shown (bundled field when present), written to a
temporary folder; scripts/make_docs_images.py writes docs/app.png the same way."""

from __future__ import annotations

import numpy as np
import pytest

from naf_app.audio_link import AudioLink
from naf_app.screenshot import save_png, wait_and_grab
from naf_app.window import MainWindow
from naf_model.paths import bundled_checkpoint


@pytest.fixture
def field_for_screenshot(request):
    """apartment_1 with its bundled field if it is there and fits the scene, else the tests' small field."""
    from naf_model.checkpoint import load_checkpoint
    from naf_model.errors import CheckpointError
    from naf_model.scene import load_scene

    bundled, scene = bundled_checkpoint("apartment_1"), load_scene("apartment_1")
    try:
        load_checkpoint(bundled, scene_hash=scene.geometry_hash())
        return scene, bundled
    except CheckpointError:  # none shipped, or one of an older geometry of the scene
        pass
    scene, _, checkpoint = request.getfixturevalue("tiny_field")
    return scene, checkpoint


def test_screenshot_of_the_main_window_with_the_heatmap(qtbot, field_for_screenshot, tmp_path):
    scene, checkpoint = field_for_screenshot
    w = MainWindow(scene, checkpoint, device="cpu", audio=AudioLink.open(no_audio=True))
    qtbot.addWidget(w)
    w.resize(1400, 820)
    w.show()
    qtbot.waitExposed(w)
    image = wait_and_grab(w, timeout_s=120.0)
    assert w.heatmap.visible() and w.heatmap.bar.isVisible() and w.heatmap.bar.opacity() == 1.0
    origin = w.plan.mapTo(w, w.plan.rect().topLeft())
    colours = {image.pixelColor(w.plan.viewport_point(x, y) + origin).name()
               for x, y in scene.sample_grid(0.5)}
    assert len(colours) >= 5, "the heatmap shows different levels across the plan"
    out = save_png(image, tmp_path / "app.png")
    assert out.stat().st_size > 20_000 and not list(tmp_path.glob(".app.png.*")), "no temporary file left"
    assert np.isfinite(w.state.heatmap.values).any()
    w.close()
