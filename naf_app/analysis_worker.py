"""Background analysis: the heatmap (a metric map) and the feature views (t-SNE + structure probe) off the UI thread.

This thread loads its own copy of the field, so a long map never holds up the live IR worker (and no
torch module is shared between threads). One job per kind is kept: a newer request replaces a pending one
and cancels a running one at its next progress report.

A heatmap of loudness, C50 or T60 is read off the played IR's energy envelope at every free cell
(`naf_model.analysis.plan_energy`, `fast_metric_map`: the field's description, no waveform); DRR measures
the played IR (`naf_app.played.played_irs`) of every cell (`plan_irs`, `metric_map`). What a spot cost is
kept (its envelopes or IRs), so choosing another metric or band only measures again. A clicked cell's
readout measures its played waveform either way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from PyQt6.QtCore import pyqtSignal
from threadpoolctl import threadpool_limits

from naf_app.played import played_irs
from naf_app.priority import BACKGROUND_NICE
from naf_app.state import FEATURES, HEATMAP
from naf_app.threads import MailboxThread
from naf_app.worker import describe_error, load_field

FEATURE_RESAMPLES = 500
"""Bootstrap draws of the app's probe: enough for its intervals to two decimals, quick on a busy core."""


@dataclass
class _Job:
    kind: str
    params: dict = field(default_factory=dict)
    cancelled: bool = False


class _Cancelled(Exception):
    """Raised inside a progress callback to abandon a superseded job."""


class AnalysisWorker(MailboxThread):
    """Runs heatmaps and feature views. Signals: progress(kind, done, total), done(kind, result),
    failed(kind, message). Results (naf_model.analysis): MetricMap for HEATMAP, FeatureViews for FEATURES."""

    NICE = BACKGROUND_NICE  # heatmaps and feature maps wait for the listener

    progress = pyqtSignal(str, int, int)
    done = pyqtSignal(str, object)
    failed = pyqtSignal(str, str)

    def __init__(self, scene, device: str = "auto", parent=None) -> None:
        super().__init__(parent)
        self.scene = scene
        self.device = device
        self._queue: dict[str, _Job] = {}
        self._running: _Job | None = None
        self._load_path: Path | None = None
        self._field = None
        self._plans: dict[str, tuple] = {}  # "energy" / "irs": (spot key, PlanEnergy / PlanIrs) of the last spot

    def load(self, path: str | Path) -> None:
        """Use this checkpoint from now on; jobs of the old field are cancelled."""
        with self._post():
            self._load_path = Path(path)
            self._cancel_all()

    def submit(self, kind: str, **params) -> None:
        """Queue a job: HEATMAP(emitter=(x, y), heading=deg, spacing=m, metric=key, band=Hz or None,
        emitter_name=str) or FEATURES(spacing=m)."""
        assert kind in (HEATMAP, FEATURES)
        with self._post():
            self._queue[kind] = _Job(kind, params)
            if self._running is not None and self._running.kind == kind:
                self._running.cancelled = True

    # ---- the thread (MailboxThread) ---------------------------------------------------------------------
    def _ready(self) -> bool:
        return self._load_path is not None or bool(self._queue)

    def _cancel_all(self) -> None:
        self._queue.clear()
        if self._running is not None:
            self._running.cancelled = True

    def _take(self):
        # a load goes first; then the heatmap, which follows the user's hand, before the feature views
        if self._load_path is not None:
            path, self._load_path = self._load_path, None
            return path
        kind = HEATMAP if HEATMAP in self._queue else next(iter(self._queue))
        self._running = self._queue.pop(kind)
        return self._running

    def _work(self, item) -> None:
        if isinstance(item, Path):
            self._load(item)
            return
        try:
            self._run_job(item)
        finally:
            with self._cond:
                self._running = None

    def _finished(self) -> None:
        self._field = None

    def _load(self, path: Path) -> None:
        try:
            self._field, _ = load_field(path, self.scene, self.device)
            self._plans = {}
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

        if job.kind == HEATMAP:
            return self._heatmap(job.params, progress)
        spacing = job.params.get("spacing", 0.5)
        # the probe's protocol (`naf probe`), its blocks shrunk to fit a small plan and fewer bootstrap draws
        block, folds = analysis.blocks_that_fit(self.scene.sample_grid(spacing), spacing)
        return analysis.feature_views(
            self._field, self.scene, spacing=spacing, n_probe=64, seed=job.params.get("seed", 0), block_m=block,
            n_folds=folds, resamples=FEATURE_RESAMPLES, progress=progress,
        )

    def _heatmap(self, params: dict, progress):
        """The metric map of `params`; the cells' envelopes or IRs are computed only when the spot is new
        (progress then counts both steps: cells, then measurements)."""
        from naf_model import analysis

        ex, ey = params["emitter"]
        spot = (float(ex), float(ey), float(params.get("heading", 0.0)), float(params.get("spacing", 0.25)))
        metric, band, name = params.get("metric", "loudness"), params.get("band"), params.get("emitter_name", "emitter")
        if metric in analysis.FAST_METRICS:
            plan = self._plan("energy", spot, lambda: analysis.plan_energy(
                self._field, self.scene, spot[:2], spot[2], spot[3], progress=progress))
            return analysis.fast_metric_map(plan, metric, band, emitter_name=name)
        kept = self._plans.get("irs")
        steps = 1 if kept is not None and kept[0] == spot else 2
        plan = self._plan("irs", spot, lambda: analysis.plan_irs(
            played_irs(self._field), self.scene, spot[:2], spot[2], spot[3],
            progress=lambda done, total: progress(done, steps * total)))
        first = (steps - 1) * len(plan.irs)
        return analysis.metric_map(plan, metric, band, emitter_name=name,
                                   progress=lambda done, total: progress(first + done, steps * total))

    def _plan(self, kind: str, spot: tuple, compute):
        """The kept plan of `kind` at `spot`, else `compute()` (the old spot's plans freed first)."""
        kept = self._plans.get(kind)
        if kept is not None and kept[0] == spot:
            return kept[1]
        self._plans = {k: v for k, v in self._plans.items() if v[0] == spot}
        plan = compute()
        self._plans[kind] = (spot, plan)
        return plan
