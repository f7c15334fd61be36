"""The IR panel: left/right waveforms of the latest predicted IR and their log-magnitude spectrograms.

A view of `SessionState.last_ir`: answers can arrive 50+ times a second while dragging, so `irChanged` only
schedules a redraw, at most every REDRAW_MS, of the state's newest IR (the audio engine gets every IR
straight from the worker, so this only spares the UI thread).
"""

from __future__ import annotations

import time

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QRectF, QTimer
from PyQt6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from naf_app.state import IrAnswer, SessionState
from naf_model.conventions import HOP, LOG_EPS, N_FFT, SAMPLE_RATE

EAR_COLOURS = ((40, 90, 200), (210, 60, 50))
REDRAW_MS = 40
"""At most 25 redraws per second."""


class IrPanel(QWidget):
    """Shows the state's `IrAnswer`: waveforms (2, N) against time in ms, spectrograms (2, 256, T) in kHz x ms.

    `shown_seq` is the seq of the answer drawn last (None before the first).
    """

    def __init__(self, state: SessionState, parent=None) -> None:
        super().__init__(parent)
        self.state = state
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.caption = QLabel("no impulse response yet")
        # a caption that changes length on every answer must not resize the splitter (the plan would jump)
        self.caption.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        layout.addWidget(self.caption)
        self.plots = pg.GraphicsLayoutWidget()
        self.plots.setBackground("w")
        layout.addWidget(self.plots, 1)
        self.wave_plot = self.plots.addPlot(row=0, col=0)
        self.wave_plot.setTitle("binaural IR", color="k")
        self.wave_plot.setLabel("bottom", "time (ms)", color="k")
        self.wave_plot.addLegend(offset=(-10, 10), labelTextColor="k", brush=(255, 255, 255, 200))
        self.curves = [
            self.wave_plot.plot(pen=pg.mkPen(c, width=1), name=name, antialias=False)
            for c, name in zip(EAR_COLOURS, ("left ear", "right ear"), strict=True)
        ]
        self.wave_plot.setDownsampling(auto=True, mode="peak")  # ~13k samples per ear
        self.wave_plot.setClipToView(True)
        self.spec_plots, self.spec_images = [], []
        for row, ear in enumerate(("left ear", "right ear"), start=1):
            plot = self.plots.addPlot(row=row, col=0)
            plot.setTitle(f"spectrogram, {ear} (ln magnitude)", color="k")
            plot.setLabel("left", "frequency (kHz)", color="k")
            plot.setLabel("bottom", "time (ms)", color="k")
            image = pg.ImageItem(axisOrder="row-major")
            image.setColorMap(pg.colormap.get("viridis"))
            plot.addItem(image)
            self.spec_plots.append(plot)
            self.spec_images.append(image)
        for plot in (self.wave_plot, *self.spec_plots):
            for side in ("left", "bottom"):
                plot.getAxis(side).setTextPen("k")
                plot.getAxis(side).setPen("k")
                plot.getAxis(side).enableAutoSIPrefix(False)
        self.shown_seq: int | None = None
        self._last_draw = 0.0
        self._extent: tuple[float, float] | None = None
        self._timer = QTimer(self, singleShot=True)
        self._timer.timeout.connect(self._draw_newest)
        state.irChanged.connect(self._ir_changed)

    def _ir_changed(self, _answer: IrAnswer) -> None:
        """Redraw now, or with the next redraw if the last one was under REDRAW_MS ago."""
        if self._timer.isActive():
            return
        wait_ms = REDRAW_MS - 1000.0 * (time.perf_counter() - self._last_draw)
        self._timer.start(max(0, int(wait_ms)))

    def _draw_newest(self) -> None:
        answer = self.state.last_ir
        if answer is not None and answer.seq != self.shown_seq:
            self._last_draw = time.perf_counter()
            self._draw(answer)

    def _draw(self, answer: IrAnswer) -> None:
        ir = np.asarray(answer.ir)
        t_ms = np.arange(ir.shape[-1]) * (1000.0 / SAMPLE_RATE)
        for curve, channel in zip(self.curves, ir, strict=True):
            curve.setData(t_ms, channel)
        spec = np.asarray(answer.spec)
        n_freq, n_frames = spec.shape[-2:]
        floor = float(np.log(LOG_EPS))
        top = max(float(spec.max()), floor + 1.0)
        extent = (n_frames * HOP * 1000.0 / SAMPLE_RATE, n_freq * SAMPLE_RATE / N_FFT / 1000.0)
        for image, channel in zip(self.spec_images, spec, strict=True):
            image.setImage(channel, levels=(max(floor, top - 12.0), top))
            image.setRect(QRectF(0.0, 0.0, *extent))
        if extent != self._extent:  # fixed ranges: the axes are not regenerated on every redraw
            self._extent = extent
            self.wave_plot.setXRange(0.0, t_ms[-1], padding=0.02)
            for plot in self.spec_plots:
                plot.setRange(xRange=(0.0, extent[0]), yRange=(0.0, extent[1]), padding=0.02)
        ex, ey = answer.emitter
        lx, ly = answer.listener
        self.caption.setText(
            f"emitter ({ex:.2f}, {ey:.2f}) m  listener ({lx:.2f}, {ly:.2f}) m  heading {answer.heading:.0f}°"
            f"  -  computed in {answer.latency_ms:.0f} ms"
        )
        self.shown_seq = answer.seq
