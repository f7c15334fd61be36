"""The readout worker: level, DRR, C50, EDT and T60 of the played IR (and the simulation's) off the UI thread.

One QThread with a one-slot mailbox: while a drag outruns it, only the newest IR is measured
(`naf_model.acoustics.readout.ir_readout`, which runs the evaluation's own metric functions), and at most
one every MIN_INTERVAL_S: a reader cannot follow faster, and the T60 fit is Python code that holds the GIL,
which the UI thread and the audio callback need while a drag is running.
"""

from __future__ import annotations

import time

import numpy as np
from PyQt6.QtCore import pyqtSignal

from naf_app.priority import BACKGROUND_NICE
from naf_app.state import FIELD, SIMULATION
from naf_app.threads import MailboxThread
from naf_app.worker import describe_error

MIN_INTERVAL_S = 0.2


class ReadoutWorker(MailboxThread):
    """`submit(seq, field_ir, simulation_ir)`; signals done({"seq", FIELD: IrReadout, SIMULATION: IrReadout
    or None}) and failed(str)."""

    NICE = BACKGROUND_NICE  # readouts wait for the listener

    done = pyqtSignal(object)
    failed = pyqtSignal(str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._pending: tuple[int, np.ndarray, np.ndarray | None] | None = None
        self._last_start = -1e9

    def submit(self, seq: int, field_ir: np.ndarray, simulation_ir: np.ndarray | None = None) -> None:
        """Measure these binaural IRs (2, N) at 22,050 Hz; a newer submission replaces a waiting one."""
        with self._post():
            self._pending = (seq, field_ir, simulation_ir)

    def _rest(self) -> float:
        """Seconds until the next measurement may start (at most one every MIN_INTERVAL_S)."""
        return self._last_start + MIN_INTERVAL_S - time.monotonic()

    def _ready(self) -> bool:
        return self._pending is not None and self._rest() <= 0

    def _idle_timeout(self) -> float | None:
        return None if self._pending is None else max(self._rest(), 0.0)

    def _take(self):
        item, self._pending = self._pending, None
        self._last_start = time.monotonic()
        return item

    def _work(self, item) -> None:
        from naf_model.acoustics.readout import ir_readout

        seq, field_ir, sim_ir = item
        try:
            result = {"seq": seq, FIELD: ir_readout(field_ir),
                      SIMULATION: None if sim_ir is None else ir_readout(sim_ir)}
        except Exception as exc:  # a measurement bug must not end the thread
            self.failed.emit(f"readout: {describe_error(exc)}")
            return
        self.done.emit(result)
