""""Simulate here": the simulator (`naf_model.simulate.simulate_binaural_rirs`) for the current spot, in a
child process so that the UI and the field worker keep the GIL, and a cancel really stops it.

A QThread starts one spawned process per job and waits on its pipe; `cancel()` terminates the process.
The settings are the field's data set's (`FieldInfo.simulation`, from `Checkpoint.simulation`), so the A/B
compares like with like.
"""

from __future__ import annotations

import multiprocessing
import time
from dataclasses import dataclass

from PyQt6.QtCore import pyqtSignal

from naf_app.answers import SimulationAnswer
from naf_app.priority import BACKGROUND_NICE
from naf_app.threads import MailboxThread

POLL_S = 0.05


@dataclass(frozen=True)
class _Job:
    key: str
    emitter: tuple[float, float]
    listener: tuple[float, float]
    simulation: dict


def _simulate_in_child(conn, scene, emitter, listener, simulation: dict) -> None:
    """Child process: simulate one emitter-listener pair and send ("ok", (4, 2, N)) or ("error", text)."""
    try:
        from naf_model.simulate import simulate_binaural_rirs
        from naf_model.simulate.config import simulation_like

        irs = simulate_binaural_rirs(scene, emitter, [listener], simulation_like(scene, simulation))[0]
        conn.send(("ok", irs))
    except Exception as exc:  # reported in the parent as one line
        conn.send(("error", f"{type(exc).__name__}: {exc}".splitlines()[0]))
    finally:
        conn.close()


class SimulationWorker(MailboxThread):
    """`simulate(key, emitter, listener, simulation)`; signals progress(str), done(SimulationAnswer),
    failed(str), cancelled(). One job at a time: a new one cancels the running one."""

    NICE = BACKGROUND_NICE  # the simulator process, started from this thread at its nice level, can wait

    progress = pyqtSignal(str)
    done = pyqtSignal(object)
    failed = pyqtSignal(str)
    cancelled = pyqtSignal()

    def __init__(self, scene, parent=None) -> None:
        super().__init__(parent)
        self.scene = scene
        self._job: _Job | None = None
        self._cancel = False
        self._busy = False

    def simulate(self, key: str, emitter, listener, simulation: dict | None = None) -> None:
        """Simulate emitter `key` at `emitter` for the listener at `listener` (metres) with `simulation`
        (SimulationConfig's settings; unknown keys are ignored); a running job is cancelled."""
        with self._post():
            self._job = _Job(key, (float(emitter[0]), float(emitter[1])),
                             (float(listener[0]), float(listener[1])), dict(simulation or {}))
            self._cancel = self._busy

    def cancel(self) -> None:
        """Stop the running simulation (its process is terminated) or drop one not started yet."""
        with self._post():
            dropped, self._job = self._job is not None, None
            self._cancel = self._busy
        if dropped:
            self.cancelled.emit()

    # ---- the thread (MailboxThread) ---------------------------------------------------------------------
    def _ready(self) -> bool:
        return self._job is not None

    def _cancel_all(self) -> None:
        self._job, self._cancel = None, True

    def _take(self):
        job, self._job = self._job, None
        self._cancel, self._busy = False, True
        return job

    def _work(self, item) -> None:
        try:
            self._run_job(item)
        finally:
            with self._cond:
                self._busy = False

    def _run_job(self, job: _Job) -> None:
        start = time.perf_counter()
        ctx = multiprocessing.get_context("spawn")  # never fork a process that runs Qt and torch threads
        parent, child = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_simulate_in_child, name="naf-simulate",
                           args=(child, self.scene, job.emitter, job.listener, job.simulation), daemon=True)
        self.progress.emit("starting the simulator")
        proc.start()
        child.close()
        message = None
        shown = -1
        try:
            while message is None:
                if self._cancel:
                    proc.terminate()
                    self.cancelled.emit()
                    return
                if parent.poll(POLL_S):
                    try:
                        message = parent.recv()
                    except EOFError:
                        message = ("error", f"the simulator process ended (exit {proc.exitcode})")
                elif not proc.is_alive() and not parent.poll(0):
                    message = ("error", f"the simulator process ended (exit {proc.exitcode})")
                elif int(time.perf_counter() - start) != shown:  # one report a second, not a signal storm
                    shown = int(time.perf_counter() - start)
                    self.progress.emit(f"simulating ({shown} s)")
        finally:
            proc.join(5)
            if proc.is_alive():
                proc.kill()
                proc.join()
            parent.close()
        status, payload = message
        if status != "ok":
            self.failed.emit(f"simulation: {payload}")
            return
        self.done.emit(SimulationAnswer(job.key, job.emitter, job.listener, payload,
                                        time.perf_counter() - start))
