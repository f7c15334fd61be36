"""A picture of the main window as a user sees it once the field has answered: IR panel and heatmap.

`scripts/make_docs_images.py` writes docs/app.png with it; the screenshot test writes to a temporary folder.
"""

from __future__ import annotations

import time
from pathlib import Path

from PyQt6.QtGui import QImage
from PyQt6.QtWidgets import QApplication

from naf_app.window import MainWindow
from naf_model.atomic import atomic_path

SETTLE_S = 0.2
"""Extra time after the last result arrives, for the pending redraws (the IR panel paces its own)."""


def window_ready(window: MainWindow) -> bool:
    """The field has answered: the heatmap and an IR are in the state."""
    return window.state.heatmap is not None and window.state.last_ir is not None


def wait_and_grab(window: MainWindow, timeout_s: float = 120.0) -> QImage:
    """Process events until `window_ready` (TimeoutError after `timeout_s`), let it settle, grab the window."""
    wait_for(lambda: window_ready(window), timeout_s, f"no heatmap and IR after {timeout_s:.0f} s", window)
    return grab_settled(window)


def wait_for(ready, timeout_s: float, what: str, window: MainWindow | None = None) -> None:
    """Process events until `ready()` is true; TimeoutError(`what` and the window's last message) after
    `timeout_s`."""
    app = QApplication.instance()
    deadline = time.monotonic() + timeout_s
    while not ready():
        if time.monotonic() > deadline:
            last = window.messages[-1:] if window is not None else []
            raise TimeoutError(f"{what}: {last}")
        app.processEvents()
        time.sleep(0.01)


def grab_settled(window: MainWindow) -> QImage:
    """The window's picture after SETTLE_S more of event processing (the paced redraws land)."""
    app = QApplication.instance()
    settle = time.monotonic() + SETTLE_S
    while time.monotonic() < settle:
        app.processEvents()
        time.sleep(0.01)
    return window.grab().toImage()


def save_png(image: QImage, path: str | Path) -> Path:
    """Write `image` to `path` as PNG atomically (`naf_model.atomic`: temporary file beside it, then a rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        if not image.save(str(tmp), "PNG"):
            raise OSError(f"could not write {path}")
    return path
