"""The IR panel: left/right waveforms of the latest predicted IR and their log-magnitude spectrograms, the
simulation's beside them after "Simulate here" (dashed curves, two more spectrograms), and the acoustic
readout of both. With no field loaded it shows a sentence saying how to get one instead of empty axes.

A view of `SessionState.last_ir`: answers can arrive 50+ times a second while dragging, so `irChanged` only
schedules a redraw, at most every REDRAW_MS, of the state's newest IR (the audio engine gets every IR
straight from the worker, so this only spares the UI thread). Each redraw is kept cheap, because the UI
thread holds the GIL while it paints (the audio callback and the workers wait meanwhile): the waveforms are
reduced once per IR to the min and max of PLOT_POINTS / 2 runs (`peak_envelope`; every peak stays) instead
of pyqtgraph re-downsampling them at each range change; the axes' ranges move only when the extent changes or
the peak leaves the range; the spectrograms go in as 8-bit images (no float rescale in the paint); the ear
colours are in the title, not a legend box over the curves.
"""

from __future__ import annotations

import time

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QRectF, Qt, QTimer
from PyQt6.QtWidgets import QLabel, QSizePolicy, QStackedWidget, QVBoxLayout, QWidget

from naf_app.answers import IrAnswer
from naf_app.state import FIELD, LOAD, SIMULATION, SessionState
from naf_model.conventions import HOP, LOG_EPS, N_FFT, SAMPLE_RATE

EAR_COLOURS = ((40, 90, 200), (210, 60, 50))
SIM_COLOURS = ((110, 160, 255), (255, 140, 120))
NO_FIELD_TEXT = ("No field loaded, so there is no impulse response to show yet.\n\n"
                 "Open a trained field with File > Open checkpoint..., or make one with Scripts > Make data "
                 "set and Scripts > Train a field.")
REDRAW_MS = 40
"""At most 25 redraws per second."""
PLOT_POINTS = 2000
"""Points per drawn waveform: about two per pixel of a wide panel."""
LEFT_AXIS_PX = 58
"""Width of every left axis: the rotated "frequency (kHz)" label and two-digit ticks, or "-0.25"."""
WAVE_MIN_HEIGHT = 200
"""Pixels the waveform plot keeps when the simulation's two spectrograms join the field's."""
NO_FIELD_CAPTION = "No field loaded: train one with the Scripts menu, then load it."
SPECTROGRAM_RANGE = 12.0
"""The spectrograms' colour scale spans this many ln units below the IR's loudest bin."""


class IrPanel(QWidget):
    """Shows the state's `IrAnswer`: waveforms (2, N) against time in ms, spectrograms (2, 256, T) in kHz x ms.

    `shown_seq` is the seq of the answer drawn last (None before the first).
    """

    def __init__(self, state: SessionState, parent=None) -> None:
        super().__init__(parent)
        self.state = state
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.caption = QLabel(NO_FIELD_CAPTION)
        # a caption that changes length on every answer must not resize the splitter (the plan would jump)
        self.caption.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        layout.addWidget(self.caption)
        self.readout_label = QLabel("")
        self.readout_label.setTextFormat(Qt.TextFormat.RichText)
        self.readout_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        layout.addWidget(self.readout_label)
        self.plots = pg.GraphicsLayoutWidget()
        self.plots.setBackground("w")
        self.empty_label = QLabel(NO_FIELD_TEXT)
        self.empty_label.setWordWrap(True)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.empty_label)
        self.stack.addWidget(self.plots)
        layout.addWidget(self.stack, 1)
        self.wave_plot = self.plots.addPlot(row=0, col=0)
        self.wave_plot.setTitle(_wave_title(False), color="k")
        self.wave_plot.setLabel("bottom", "time (ms)", color="k")
        self.curves = [self.wave_plot.plot(pen=pg.mkPen(c, width=1), antialias=False) for c in EAR_COLOURS]
        self.sim_curves = [
            self.wave_plot.plot(pen=pg.mkPen(c, width=1, style=Qt.PenStyle.DashLine), antialias=False)
            for c in SIM_COLOURS
        ]
        self.wave_plot.disableAutoRange()  # ranges are set by hand, only when they must change
        self._y_range = 0.0
        self.spec_plots, self.spec_images = [], []
        titles = ("field, left ear", "field, right ear", "simulation, left ear", "simulation, right ear")
        for row, ear in enumerate(titles, start=1):
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
            # a fixed width: an axis that fits itself to its tick labels relayouts the whole column, and so
            # regenerates and repaints all six axes, whenever the waveform's range changes (15-19 ms of CPU)
            plot.getAxis("left").setWidth(LEFT_AXIS_PX)
        self.plots.ci.layout.setRowMinimumHeight(0, WAVE_MIN_HEIGHT)  # room for the A/B overlay of waveforms
        self.sim_plots, self.sim_images = self.spec_plots[2:], self.spec_images[2:]
        self.spec_plots, self.spec_images = self.spec_plots[:2], self.spec_images[:2]
        for plot in self.sim_plots:
            plot.setVisible(False)
        self.shown_seq: int | None = None
        self.shown_simulation = None  # the SimulationAnswer overlaid, or None
        self._extents: dict[int, tuple[float, float]] = {}
        self._last_draw = 0.0
        self._timer = QTimer(self, singleShot=True, objectName="ir_panel_redraw")
        self._timer.timeout.connect(self._draw_newest)
        state.irChanged.connect(self._ir_changed)
        state.fieldChanged.connect(lambda info: self.stack.setCurrentIndex(0 if info is None else 1))
        state.simulationChanged.connect(lambda _answer: self._draw_simulation())
        state.headingChanged.connect(lambda _heading: self._draw_simulation())
        state.readoutChanged.connect(self._show_readout)
        state.jobChanged.connect(self._job_changed)
        state.listenChanged.connect(lambda _which: self._show_readout(self.state.readout))

    def _job_changed(self, kind: str, status) -> None:
        """The caption says a field is loading, or why there is none."""
        if kind != LOAD or self.state.last_ir is not None:
            return
        if status.busy:
            self.caption.setText("loading a field...")
        elif status.error is not None and self.state.field is None:
            self.caption.setText("No field loaded: see the status bar.")

    def _draw_simulation(self) -> None:
        """Overlay the simulation at the listener's heading, by the field's orientation rule (or remove the
        overlay)."""
        sim = self.state.simulation
        self.shown_simulation = sim
        for plot in self.sim_plots:
            plot.setVisible(sim is not None)
        self.wave_plot.setTitle(_wave_title(sim is not None), color="k")
        if sim is None:
            for curve in self.sim_curves:
                curve.setData([], [])
            return
        from naf_model.spectrogram import log_magnitude

        ir = sim.ir_at(self.state.heading)
        self._set_waves(self.sim_curves, ir)
        frames = self.state.last_ir.spec.shape[-1] if self.state.last_ir is not None else None
        spec = log_magnitude(ir, frames) if frames else log_magnitude(ir)
        self._set_images(self.sim_images, self.sim_plots, spec)

    def _show_readout(self, readout) -> None:
        if not readout:
            self.readout_label.setText("")
            return
        heard = self.state.listen_to
        rows = []
        for which in (FIELD, SIMULATION):
            r = readout.get(which)
            if r is None:
                continue
            mark = " (heard)" if which == heard else ""
            rows.append(f"<b>{which}{mark}</b>: level {r.level_db:.1f} dB, DRR {r.drr_db:.1f} dB, "
                        f"C50 {r.c50_db:.1f} dB, EDT {_seconds(r.edt_s)}, T60 {_seconds(r.t60_s)}")
        self.readout_label.setText("<br>".join(rows))

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
        self._set_waves(self.curves, ir)
        if self._set_images(self.spec_images, self.spec_plots, np.asarray(answer.spec)):
            self.wave_plot.setXRange(0.0, (ir.shape[-1] - 1) * 1000.0 / SAMPLE_RATE, padding=0.02)
        ex, ey = answer.emitter
        lx, ly = answer.listener
        self.caption.setText(
            f"emitter ({ex:.2f}, {ey:.2f}) m  listener ({lx:.2f}, {ly:.2f}) m  heading {answer.heading:.0f}°"
            f"  -  computed in {answer.latency_ms:.0f} ms"
        )
        self.shown_seq = answer.seq

    def _set_waves(self, curves, ir: np.ndarray) -> None:
        """Draw a binaural IR (2, N) as two reduced curves (`peak_envelope`) against time in ms; the y range
        grows when a peak leaves it and shrinks when the peaks fall below a third of it, else stays."""
        for curve, channel in zip(curves, ir, strict=True):
            index, values = peak_envelope(channel)
            curve.setData(index * (1000.0 / SAMPLE_RATE), values)
        peak = max((float(np.abs(c.yData).max()) for c in (*self.curves, *self.sim_curves)
                    if c.yData is not None and len(c.yData)), default=0.0)
        if peak > 0 and not 1.1 * peak <= self._y_range <= 3.0 * peak:
            self._y_range = 1.25 * peak
            self.wave_plot.setYRange(-self._y_range, self._y_range, padding=0)

    def _set_images(self, images, plots, spec: np.ndarray) -> bool:
        """Draw spectrograms (2, F, T) as 8-bit images over SPECTROGRAM_RANGE below their top; True when the
        extent changed (the ranges are then set anew, never on every redraw: regenerating axes is what costs)."""
        n_freq, n_frames = spec.shape[-2:]
        floor = float(np.log(LOG_EPS))
        top = max(float(spec.max()), floor + 1.0)
        low = max(floor, top - SPECTROGRAM_RANGE)
        extent = (n_frames * HOP * 1000.0 / SAMPLE_RATE, n_freq * SAMPLE_RATE / N_FFT / 1000.0)
        scaled = (np.asarray(spec, np.float32) - low) * np.float32(255.0 / (top - low))
        np.clip(scaled, 0.0, 255.0, out=scaled)
        for image, channel in zip(images, scaled.astype(np.uint8), strict=True):
            image.setImage(channel, levels=(0, 255))
            image.setRect(QRectF(0.0, 0.0, *extent))
        changed = extent != self._extents.get(id(images))
        if changed:
            self._extents[id(images)] = extent
            for plot in plots:
                plot.setRange(xRange=(0.0, extent[0]), yRange=(0.0, extent[1]), padding=0.02)
        return changed


def _seconds(value: float) -> str:
    return "failed" if not np.isfinite(value) else f"{value:.2f} s"


def peak_envelope(x: np.ndarray, points: int = PLOT_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """A waveform (N,) reduced for drawing: sample indices (M,) and values (M,), M <= points, the minimum and
    maximum of each of points / 2 consecutive runs in time order (so every peak is drawn, as pyqtgraph's
    "peak" downsampling draws it, but computed once per IR); x itself when N <= points."""
    x = np.asarray(x)
    n = len(x)
    if n <= points:
        return np.arange(n), x
    k = -(-n // (points // 2))
    m = -(-n // k)
    runs = np.empty(m * k, x.dtype)
    runs[:n], runs[n:] = x, x[-1]
    runs = runs.reshape(m, k)
    pair = np.sort(np.stack([runs.argmin(axis=1), runs.argmax(axis=1)], axis=1), axis=1)
    index = np.minimum((pair + k * np.arange(m)[:, None]).ravel(), n - 1)
    return index, x[index]


def _wave_title(simulation: bool) -> str:
    """The waveform plot's title, its words in the curves' colours (a legend box over the curves would be
    repainted with them at every redraw)."""
    def word(text: str, rgb) -> str:
        return f"<span style='color:#{rgb[0]:02x}{rgb[1]:02x}{rgb[2]:02x}'>{text}</span>"

    text = f"binaural IR, {word('left', EAR_COLOURS[0])} / {word('right', EAR_COLOURS[1])} ear"
    if simulation:  # short: a long title widens the panel's minimum and so the window
        text += f"; simulation {word('dashed', SIM_COLOURS[0])}"
    return text
