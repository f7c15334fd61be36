"""The loudness heatmap drawn under the plan, with its colour bar in dB re the map's maximum.

A view of `SessionState`: it draws each `loudnessChanged` map and fades when the emitter moves or the
heading turns (`placementChanged`, `headingChanged`) until the map for the new spot arrives.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QRectF

from naf_app.plan_view import Z_HEATMAP, PlanView
from naf_app.state import SessionState
from naf_model.conventions import LOUDNESS_FLOOR_DB

OPACITY, STALE_OPACITY = 0.9, 0.4
"""A map for an emitter or heading that has since changed is drawn faded until the new one arrives."""
FLOOR_DB = LOUDNESS_FLOOR_DB
"""Levels below this share the darkest colour (naf_model.conventions, as in save_loudness_png)."""


class HeatmapLayer:
    """An ImageItem in the plan view and a ColorBarItem beside it, drawing the state's loudness maps.

    While disabled (`set_enabled(False)`, the View menu's switch) it is hidden and new maps are not drawn.
    """

    def __init__(self, view: PlanView, state: SessionState) -> None:
        self.view = view
        self.state = state
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setZValue(Z_HEATMAP)
        self.image.setOpacity(OPACITY)
        view.addItem(self.image)
        self.bar = pg.ColorBarItem(values=(FLOOR_DB, 0.0), colorMap="inferno", interactive=False,
                                   width=18)
        self.bar.setImageItem(self.image, insert_in=view.getPlotItem())
        self.bar.axis.setTextPen("k")
        self.bar.axis.setPen("k")
        self.bar.axis.setLabel("loudness (dB re map maximum)", color="#000")
        self.enabled = True
        self.drawn = False  # an image is loaded (from this or an earlier field)
        self.set_visible(False)
        state.loudnessChanged.connect(self._loudness_changed)
        state.placementChanged.connect(self._placement_changed)
        state.headingChanged.connect(lambda _heading: self.set_stale())
        state.selectedChanged.connect(lambda _key: self.set_stale())

    def set_enabled(self, on: bool) -> None:
        """Switch the layer on (showing the last drawn map, if any) or off (hidden, maps not drawn)."""
        self.enabled = on
        self.set_visible(on and self.drawn)

    def _placement_changed(self, which: str, _final: bool) -> None:
        if which == self.state.selected:
            self.set_stale()

    def _loudness_changed(self, lm) -> None:
        if self.enabled and lm is not None:
            self.show_map(lm)

    def show_map(self, lm) -> None:
        """Draw `lm` (LoudnessMap: xs (W,), ys (H,), db (H, W) with NaN outside the free space)."""
        db = np.asarray(lm.db, dtype=np.float32)
        finite = db[np.isfinite(db)]
        low = max(FLOOR_DB, float(finite.min())) if finite.size else FLOOR_DB
        low = min(low, -1.0)
        self.image.setImage(np.where(np.isfinite(db), np.maximum(db, low), np.nan), autoLevels=False)
        left, right, bottom, top = lm.extent
        self.image.setRect(QRectF(left, bottom, right - left, top - bottom))
        self.bar.setLevels((low, 0.0))
        self.image.setOpacity(OPACITY)
        self.drawn = True
        self.set_visible(True)

    def set_stale(self) -> None:
        """Fade the map: the emitter or heading it was computed for has changed."""
        self.image.setOpacity(STALE_OPACITY)

    def set_visible(self, visible: bool) -> None:
        """Show or hide the map; the colour bar keeps its place (transparent) so the plan never shifts."""
        self.image.setVisible(visible)
        self.bar.setOpacity(1.0 if visible else 0.0)

    def visible(self) -> bool:
        return self.image.isVisible() and self.bar.opacity() > 0
