"""The Features tab: t-SNE colours of the field's features on the plan, and beside it the linear probe.

A view of `SessionState.features`: the analysis worker computes the `FeatureViews`, the state holds them, and
this tab draws each `featuresChanged`, clears itself on `fieldChanged` and shows the features job's progress
and error (`jobChanged`); the window exports the PNGs.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from naf_app.answers import JobStatus
from naf_app.plan_view import Z_WALLS, _shape_item
from naf_app.state import FEATURES, SessionState


def _black_axes(plot: pg.PlotItem) -> None:
    for side in ("left", "bottom"):
        plot.getAxis(side).setTextPen("k")
        plot.getAxis(side).setPen("k")
        plot.getAxis(side).enableAutoSIPrefix(False)  # metres stay metres, not "x0.001"


class FeaturesTab(QWidget):
    """t-SNE map + probe scatter. `computeRequested` asks the window to start the background job, whose
    status the tab follows in the state."""

    computeRequested = pyqtSignal()

    def __init__(self, state: SessionState, parent=None) -> None:
        super().__init__(parent)
        self.state = state
        layout = QVBoxLayout(self)
        bar = QHBoxLayout()
        self.compute_button = QPushButton("Compute")
        self.compute_button.clicked.connect(self.computeRequested.emit)
        self.export_tsne_button = QPushButton("Export t-SNE PNG...")
        self.export_probe_button = QPushButton("Export probe PNG...")
        for b in (self.export_tsne_button, self.export_probe_button):
            b.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.message = QLabel("t-SNE of the field's features at a 0.5 m grid of emitter positions")
        self.message.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        for w in (self.compute_button, self.export_tsne_button, self.export_probe_button, self.progress):
            bar.addWidget(w)
        bar.addWidget(self.message, 1)
        layout.addLayout(bar)
        self.plots = pg.GraphicsLayoutWidget()
        self.plots.setBackground("w")
        layout.addWidget(self.plots, 1)
        self.tsne_plot = self.plots.addPlot(row=0, col=0)
        self.tsne_plot.setTitle("t-SNE of features (colour = 3-D t-SNE as RGB)", color="k")
        self.tsne_plot.setAspectLocked(True)
        self.tsne_plot.setLabel("bottom", "x (m)", color="k")
        self.tsne_plot.setLabel("left", "y (m)", color="k")
        for wall in state.scene.wall_polygons():
            self.tsne_plot.addItem(_shape_item(wall, pg.mkColor(60, 60, 66), None, Z_WALLS))
        self.tsne_scatter = pg.ScatterPlotItem(pxMode=False, symbol="s", pen=None)
        self.tsne_plot.addItem(self.tsne_scatter)
        self.probe_plot = self.plots.addPlot(row=0, col=1)
        self.probe_plot.setTitle("linear probe: distance to nearest wall", color="k")
        self.probe_plot.setLabel("bottom", "true distance to wall (m)", color="k")
        self.probe_plot.setLabel("left", "predicted distance (m)", color="k")
        self.probe_plot.addLegend(offset=(10, 10), labelTextColor="k", brush=(255, 255, 255, 200))
        self.probe_train = self.probe_plot.plot([], [], pen=None, symbol="o", symbolSize=5,
                                                symbolBrush=(150, 150, 150), symbolPen=None, name="train")
        self.probe_test = self.probe_plot.plot([], [], pen=None, symbol="o", symbolSize=7,
                                               symbolBrush=(214, 64, 43), symbolPen=None, name="held out")
        dashed = pg.mkPen("k", style=Qt.PenStyle.DashLine)
        self.probe_diag = self.probe_plot.plot([], [], pen=dashed, name="y = x")
        self.plots.ci.layout.setColumnStretchFactor(0, 3)
        self.plots.ci.layout.setColumnStretchFactor(1, 2)
        for plot in (self.tsne_plot, self.probe_plot):
            _black_axes(plot)
        state.fieldChanged.connect(lambda _info: self.clear())
        state.featuresChanged.connect(self._features_changed)
        state.jobChanged.connect(self._job_changed)

    def _job_changed(self, kind: str, status: JobStatus) -> None:
        """Show the features job's progress (total 0: working, amount unknown) or its error."""
        if kind != FEATURES:
            return
        self.progress.setVisible(status.busy)
        self.compute_button.setEnabled(not status.busy)
        if status.busy:
            self.progress.setRange(0, max(status.total, 0))
            self.progress.setValue(status.done)
            self.message.setText("computing features...")
        elif status.error is not None:
            self.message.setText(status.error)

    def _features_changed(self, views) -> None:
        """Draw `FeatureViews`: tsne positions (M, 2) m with rgb (M, 3); probe true/predicted (M,) m."""
        if views is None:
            self.clear()
            return
        tsne, probe = views.tsne, views.probe
        colours = (np.clip(tsne.rgb, 0, 1) * 255).astype(int)
        self.tsne_scatter.setData(
            pos=tsne.positions, size=tsne.spacing, brush=[pg.mkBrush(*c) for c in colours],
        )
        train = probe.train_mask
        self.probe_train.setData(probe.true[train], probe.predicted[train])
        self.probe_test.setData(probe.true[~train], probe.predicted[~train])
        top = float(max(probe.true.max(), probe.predicted.max()))
        self.probe_diag.setData([0.0, top], [0.0, top])
        self.probe_plot.setTitle(f"linear probe: held-out R² = {probe.r2_test:.3f}", color="k")
        self.progress.setVisible(False)
        self.compute_button.setEnabled(True)
        for b in (self.export_tsne_button, self.export_probe_button):
            b.setEnabled(True)
        self.message.setText(
            f"{len(tsne.positions)} emitter positions; probe R² on held-out positions {probe.r2_test:.3f}"
        )

    def clear(self) -> None:
        """Forget the drawings of a previous field."""
        self.tsne_scatter.clear()
        for curve in (self.probe_train, self.probe_test, self.probe_diag):
            curve.setData([], [])
        for b in (self.export_tsne_button, self.export_probe_button):
            b.setEnabled(False)
