"""The Features tab: t-SNE colours of the field's features on the plan, and beside it the structure probe
(`naf probe`'s protocol: held-out blocks, untrained and position-only controls, 95 % intervals).

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


def score_table(probe) -> str:
    """An HTML table of a `StructureProbe`: one row per target, one column per feature set, each score with its
    95 % interval; the room row ends with the chance level."""
    from naf_model.analysis.probe import FEATURES, TARGETS

    names = [f for f in FEATURES if ("wall", f) in probe.scores]
    head = "".join(f"<th>{n.replace('_', ' ')}</th>" for n in names)
    rows = []
    for target in TARGETS:
        cells = "".join(
            f"<td>{s.value:.2f} [{s.low:.2f}, {s.high:.2f}]</td>" for s in (probe.score(target, n) for n in names)
        )
        label = {"wall": "wall distance R²", "depth": "depth ring R²", "room": "room accuracy"}[target]
        extra = f"<td>chance {probe.chance.value:.2f}</td>" if target == "room" else "<td></td>"
        rows.append(f"<tr><td><b>{label}</b></td>{cells}{extra}</tr>")
    return f"<table cellspacing='6'><tr><th></th>{head}<th></th></tr>{''.join(rows)}</table>"


class FeaturesTab(QWidget):
    """t-SNE map + probe scatter and score table. `computeRequested` asks the window to start the background job, whose
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
        self.probe_plot.setTitle("structure probe: distance to nearest wall, held-out blocks", color="k")
        self.probe_plot.setLabel("bottom", "true distance to wall (m)", color="k")
        self.probe_plot.setLabel("left", "held-out prediction (m)", color="k")
        self.probe_plot.addLegend(offset=(10, 10), labelTextColor="k", brush=(255, 255, 255, 200))
        self.probe_untrained = self.probe_plot.plot([], [], pen=None, symbol="o", symbolSize=5,
                                                    symbolBrush=(150, 150, 150), symbolPen=None,
                                                    name="untrained network")
        self.probe_trained = self.probe_plot.plot([], [], pen=None, symbol="o", symbolSize=6,
                                                  symbolBrush=(214, 64, 43), symbolPen=None, name="trained network")
        dashed = pg.mkPen("k", style=Qt.PenStyle.DashLine)
        self.probe_diag = self.probe_plot.plot([], [], pen=dashed, name="y = x")
        self.scores = QLabel("")
        self.scores.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(self.scores)
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
        truth = probe.wall
        trained, untrained = probe.predicted[("wall", "hidden")], probe.predicted[("wall", "hidden_untrained")]
        self.probe_untrained.setData(truth, untrained)
        self.probe_trained.setData(truth, trained)
        top = float(max(truth.max(), trained.max(), untrained.max()))
        self.probe_diag.setData([0.0, top], [0.0, top])
        wall = probe.score("wall", "hidden")
        self.probe_plot.setTitle(f"wall distance, held-out R² {wall.value:.2f} [{wall.low:.2f}, {wall.high:.2f}]",
                                 color="k")
        self.scores.setText(score_table(probe))
        self.progress.setVisible(False)
        self.compute_button.setEnabled(True)
        for b in (self.export_tsne_button, self.export_probe_button):
            b.setEnabled(True)
        self.message.setText(
            f"{len(tsne.positions)} cells, {probe.settings['folds']} folds of {probe.settings['block_m']:g} m "
            "blocks; scores on held-out blocks with 95 % intervals"
        )

    def clear(self) -> None:
        """Forget the drawings of a previous field."""
        self.tsne_scatter.clear()
        for curve in (self.probe_untrained, self.probe_trained, self.probe_diag):
            curve.setData([], [])
        self.scores.setText("")
        for b in (self.export_tsne_button, self.export_probe_button):
            b.setEnabled(False)
