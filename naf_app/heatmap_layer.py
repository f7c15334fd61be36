"""The heatmap drawn under the plan (loudness, C50, DRR or T60, broadband or one octave band) with its colour
bar, and the bar of controls above the plan that chooses what it shows.

A view of `SessionState`: it draws each `heatmapChanged` map (colour bar labelled with the map's metric, unit
and band, scale `MetricMap.levels` as in the exported PNG) and fades when the emitter moves, the heading turns
or another metric is chosen, until the map for the new spot or choice arrives.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QRectF, Qt
from PyQt6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QPushButton, QWidget

from naf_app.plan_view import Z_HEATMAP, PlanView
from naf_app.state import SessionState
from naf_model.conventions import LOUDNESS_FLOOR_DB

OPACITY, STALE_OPACITY = 0.9, 0.4
"""A map for an emitter, heading or choice that has since changed is drawn faded until the new one arrives."""


class HeatmapLayer:
    """An ImageItem in the plan view and a ColorBarItem beside it, drawing the state's heatmaps.

    While the state's `heatmap_shown` is off (the View menu's switch) it is hidden and new maps are not drawn.
    """

    def __init__(self, view: PlanView, state: SessionState) -> None:
        self.view = view
        self.state = state
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setZValue(Z_HEATMAP)
        self.image.setOpacity(OPACITY)
        view.addItem(self.image)
        self.bar = pg.ColorBarItem(values=(LOUDNESS_FLOOR_DB, 0.0), colorMap="inferno", interactive=False, width=18)
        self.bar.setImageItem(self.image, insert_in=view.getPlotItem())
        self.bar.axis.setTextPen("k")
        self.bar.axis.setPen("k")
        self.bar.axis.setLabel("loudness (dB re map maximum), broadband", color="#000")
        self._cmap = "inferno"
        self.enabled = state.heatmap_shown
        self.drawn = False  # an image is loaded (from this or an earlier field)
        self.set_visible(False)
        state.heatmapChanged.connect(self._heatmap_changed)
        state.placementChanged.connect(self._placement_changed)
        state.headingChanged.connect(lambda _heading: self.set_stale())
        state.selectedChanged.connect(lambda _key: self.set_stale())
        state.heatmapChoiceChanged.connect(lambda _metric, _band: self.set_stale())
        state.heatmapShownChanged.connect(self.set_enabled)

    def set_enabled(self, on: bool) -> None:
        """Switch the layer on (showing the last drawn map, if any) or off (hidden, maps not drawn)."""
        self.enabled = on
        self.set_visible(on and self.drawn)

    def _placement_changed(self, which: str, _final: bool) -> None:
        if which == self.state.selected:
            self.set_stale()

    def _heatmap_changed(self, mm) -> None:
        if self.enabled and mm is not None:
            self.show_map(mm)

    def show_map(self, mm) -> None:
        """Draw `mm` (MetricMap: xs (W,), ys (H,), values (H, W) with NaN outside the free space)."""
        from naf_model.analysis import METRICS

        values = np.asarray(mm.values, dtype=np.float32)
        low, high = mm.levels
        self.image.setImage(np.where(np.isfinite(values), np.clip(values, low, high), np.nan), autoLevels=False)
        left, right, bottom, top = mm.extent
        self.image.setRect(QRectF(left, bottom, right - left, top - bottom))
        cmap = METRICS[mm.metric][2]
        if cmap != self._cmap:
            self.bar.setColorMap(pg.colormap.get(cmap))
            self._cmap = cmap
        self.bar.setLevels((low, high))
        self.bar.axis.setLabel(mm.label, color="#000")
        self.image.setOpacity(OPACITY)
        self.drawn = True
        self.set_visible(True)

    def set_stale(self) -> None:
        """Fade the map: the emitter, heading or choice it was computed for has changed."""
        if self.image.opacity() != STALE_OPACITY:  # every drag step lands here: repaint only once
            self.image.setOpacity(STALE_OPACITY)

    def set_visible(self, visible: bool) -> None:
        """Show or hide the map; the colour bar keeps its place (transparent) so the plan never shifts."""
        self.image.setVisible(visible)
        self.bar.setOpacity(1.0 if visible else 0.0)

    def visible(self) -> bool:
        return self.image.isVisible() and self.bar.opacity() > 0


class HeatmapControls(QWidget):
    """Above the plan: show the heatmap (the View menu's switch), its metric and band, export it.

    `metric_box` items carry METRICS keys as data, `band_box` items the band centre in Hz (None: broadband);
    choosing one sets `SessionState.set_heatmap_choice`. `show_box` sets `SessionState.set_heatmap_shown`;
    all three follow the state. `export_button` calls `export`.
    """

    def __init__(self, state: SessionState, export, parent=None) -> None:
        from naf_model.analysis import BANDS_HZ, METRICS, band_name

        super().__init__(parent)
        self.state = state
        row = QHBoxLayout(self)
        row.setContentsMargins(6, 2, 6, 2)
        self.show_box = QCheckBox("Heatmap")
        self.show_box.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.show_box.setChecked(state.heatmap_shown)
        self.show_box.toggled.connect(state.set_heatmap_shown)
        state.heatmapShownChanged.connect(self.show_box.setChecked)
        self.metric_box = QComboBox()
        for key, (name, unit, _cmap) in METRICS.items():
            self.metric_box.addItem(f"{name} ({unit})" if key != "loudness" else "loudness (dB)", key)
        self.band_box = QComboBox()
        self.band_box.addItem("broadband", None)
        for fc in BANDS_HZ:
            self.band_box.addItem(band_name(fc), fc)
        for box in (self.metric_box, self.band_box):
            box.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the space bar and arrows stay with the window
            box.currentIndexChanged.connect(lambda _index: self._chosen())
        self.export_button = QPushButton("Export image...")
        self.export_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.export_button.clicked.connect(lambda _=False: export())
        for w in (self.show_box, QLabel("metric"), self.metric_box, QLabel("band"), self.band_box,
                  self.export_button):
            row.addWidget(w)
        row.addStretch(1)
        state.heatmapChoiceChanged.connect(self._show_choice)

    def _chosen(self) -> None:
        self.state.set_heatmap_choice(self.metric_box.currentData(), self.band_box.currentData())

    def _show_choice(self, metric: str, band_hz) -> None:
        """Follow the state (a reopened session): select the matching items without echoing back."""
        for box, value in ((self.metric_box, metric), (self.band_box, band_hz)):
            box.blockSignals(True)
            box.setCurrentIndex(max(0, box.findData(value)))
            box.blockSignals(False)
