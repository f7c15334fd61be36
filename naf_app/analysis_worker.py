"""Background analysis: the loudness map and the feature views (t-SNE + linear probe) off the UI thread.

This thread loads its own copy of the field, so a long map never holds up the live IR worker (and no
torch module is shared between threads). One job per kind is kept: a newer request replaces a pending one
and cancels a running one at its next progress report.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from PyQt6.QtCore import QThread, pyqtSignal
from threadpoolctl import threadpool_limits

from naf_app.worker import describe_error, load_field

LOUDNESS = "loudness"
FEATURES = "features"


@dataclass
class _Job:
    kind: str
    params: dict = field(default_factory=dict)
    cancelled: bool = False


class _Cancelled(Exception):
    """Raised inside a progress callback to abandon a superseded job."""


class AnalysisWorker(QThread):
    """Runs loudness maps and feature views. Signals: progress(kind, done, total), done(kind, result),
    failed(kind, message). Results (naf_model.analysis): LoudnessMap for "loudness", FeatureViews for
    "features"."""

    progress = pyqtSignal(str, int, int)
    done = pyqtSignal(str, object)
    failed = pyqtSignal(str, str)

    def __init__(self, scene, device: str = "auto", parent=None) -> None:
        super().__init__(parent)
        self.scene = scene
        self.device = device
        self._cond = threading.Condition()
        self._queue: dict[str, _Job] = {}
        self._running: _Job | None = None
        self._load_path: Path | None = None
        self._stopping = False
        self._field = None

    def load(self, path: str | Path) -> None:
        """Use this checkpoint from now on; jobs of the old field are cancelled."""
        with self._cond:
            self._load_path = Path(path)
            self._queue.clear()
            if self._running is not None:
                self._running.cancelled = True
            self._cond.notify()

    def submit(self, kind: str, **params) -> None:
        """Queue a job: LOUDNESS(emitter=(x, y), heading=deg, spacing=m) or FEATURES(spacing=m)."""
        assert kind in (LOUDNESS, FEATURES)
        with self._cond:
            self._queue[kind] = _Job(kind, params)
            if self._running is not None and self._running.kind == kind:
                self._running.cancelled = True
            self._cond.notify()

    def stop(self) -> None:
        """Cancel everything and wait for the thread to end."""
        with self._cond:
            self._stopping = True
            self._queue.clear()
            if self._running is not None:
                self._running.cancelled = True
            self._cond.notify()
        self.wait()

    def run(self) -> None:
        while True:
            with self._cond:
                while not self._stopping and self._load_path is None and not self._queue:
                    self._cond.wait()
                if self._stopping:
                    break
                path, self._load_path = self._load_path, None
                job = None
                if path is None:
                    kind = LOUDNESS if LOUDNESS in self._queue else next(iter(self._queue))
                    job = self._running = self._queue.pop(kind)
            if path is not None:
                self._load(path)
                continue
            try:
                self._run_job(job)
            finally:
                with self._cond:
                    self._running = None
        self._field = None

    def _load(self, path: Path) -> None:
        try:
            self._field, _ = load_field(path, self.scene, self.device)
        except Exception as exc:  # the field worker reports it; the previous field, if any, stays
            self.failed.emit("load", describe_error(exc))

    def _run_job(self, job: _Job) -> None:
        if self._field is None:
            self.failed.emit(job.kind, "no field loaded: train one (Scripts menu) or open a checkpoint")
            return

        def progress(done: int, total: int) -> None:
            if job.cancelled:
                raise _Cancelled
            self.progress.emit(job.kind, int(done), int(total))

        try:
            # One OpenMP thread for t-SNE and friends: on a small CPU the live IR worker and the UI need the
            # other core, and spinning OpenMP teams on a busy machine can slow a job down a hundredfold.
            with threadpool_limits(limits=1, user_api="openmp"):
                result = self._compute(job, progress)
        except _Cancelled:
            return
        except Exception as exc:
            self.failed.emit(job.kind, describe_error(exc))
            return
        if not job.cancelled:
            self.done.emit(job.kind, result)

    def _compute(self, job: _Job, progress):
        from naf_model import analysis

        if job.kind == LOUDNESS:
            return analysis.loudness_map(
                self._field, self.scene, job.params["emitter"], heading_deg=job.params.get("heading", 0.0),
                spacing=job.params.get("spacing", 0.25), progress=progress,
            )
        return analysis.feature_views(
            self._field, self.scene, spacing=job.params.get("spacing", 0.5), n_probe=64,
            seed=job.params.get("seed", 0), progress=progress,
        )
