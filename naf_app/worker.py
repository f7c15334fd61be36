"""The field worker: one QThread owns the NeuralAcousticField and answers only the latest IR request.

The UI thread never runs the model. Every marker move posts a request into a one-slot mailbox (a newer
request replaces an unanswered one), so while a drag outruns the model the worker always computes the
newest position and older ones are dropped. Each answer goes straight from the worker thread to the IR
sink (the audio engine's crossfaded swap) and to the UI through a queued signal.

Within an answer the listener comes first: the selected emitter's IR (the one dragged, or the one shown) is
computed alone and posted to the audio before the others; an emitter whose position, the listener and the
heading are those of its last answer is not recomputed; and while a newer request already waits (a drag
outrunning the model) the other emitters keep their last IRs unless those are older than OTHERS_MAX_AGE_S,
so a drag among several emitters costs about one IR per answer and the rest follow several times a second.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PyQt6.QtCore import pyqtSignal

from naf_app.answers import FieldInfo, IrAnswer
from naf_app.played import played_irs
from naf_app.priority import FIELD_NICE
from naf_app.threads import MailboxThread
from naf_model.audio import MAIN
from naf_model.errors import NafError
from naf_model.rendering.calibration import reference_irs

OTHERS_MAX_AGE_S = 0.1
"""While newer requests wait, an emitter other than the selected one keeps its last IR at most this long."""


@dataclass(frozen=True)
class IrRequest:
    """Where to evaluate the field: `emitters` {key: (x, y)} and the listener in metres, heading in degrees,
    `selected` the emitter whose IR is shown; seq orders requests."""

    seq: int
    emitters: dict
    listener: tuple[float, float]
    heading: float
    selected: str = MAIN


def load_field(path: Path, scene, device: str):
    """Load a checkpoint for `scene` (CheckpointError on a corrupt file or another scene) and describe it."""
    from naf_model.field import NeuralAcousticField

    field = NeuralAcousticField.load(path, device=device, scene=scene)
    info = FieldInfo(
        path=Path(path),
        scene_name=str(field.scene_name),
        preset=str(field.preset),
        device=str(field.device),
        n_frames=int(field.n_frames),
        ir_length=int(field.ir_length),
        simulation=dict(field.checkpoint.simulation or {}),
    )
    return field, info


def describe_error(exc: BaseException) -> str:
    """One line for the status bar: a NafError's own message, else the exception type and message."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return text if isinstance(exc, NafError) else f"{type(exc).__name__}: {text}"


class FieldWorker(MailboxThread):
    """Owns the field; `load()` and `request()` may be called from the UI thread at any rate.

    Signals: loaded(FieldInfo, with its data set's simulation settings), loadFailed(str), answered(IrAnswer),
    failed(str). `audio` (an AudioLink or None) gets `set_irs({key: ir})` in this thread with each new set of
    (2, N) float32 IRs (all emitters, one batch of `played_irs`) before `answered` is emitted, and
    `calibrate(irs)` once per loaded field.
    """

    loaded = pyqtSignal(object)
    loadFailed = pyqtSignal(str)
    answered = pyqtSignal(object)
    failed = pyqtSignal(str)
    NICE = FIELD_NICE  # the render thread and the UI first: an answer late by a block is not heard, a gap is

    def __init__(self, scene, device: str = "auto", audio=None, parent=None) -> None:
        super().__init__(parent)
        self.scene = scene
        self.device = device
        self.audio = audio
        self._pending: IrRequest | None = None
        self._load_path: Path | None = None
        self._calibrate_at: tuple[float, float] | None = None
        self._seq = 0
        self._field = None
        self._answered: dict[str, tuple[tuple, np.ndarray, float]] = {}  # key -> (where, IR, when computed)
        self._compute_ms: dict[str, float] = {}  # key -> wall ms of the batch that computed its IR
        self._noise: dict[str, int] = {MAIN: 0}  # key -> the noise realisation its IRs play (`noise_of`)
        self.answered_count = 0
        self.dropped_count = 0
        self.computed_irs = 0

    def load(self, path: str | Path, emitter=None) -> None:
        """Load a checkpoint in the worker thread (pending IR requests wait for it); with `emitter` (metres)
        the audio gain is calibrated on IRs around that emitter."""
        with self._post():
            self._load_path = Path(path)
            self._calibrate_at = None if emitter is None else (float(emitter[0]), float(emitter[1]))

    def request(self, emitters, listener, heading: float, selected: str = MAIN) -> int:
        """Ask for the IRs of `emitters` ({key: (x, y)}, or one (x, y) for the first emitter) at the listener
        (metres) and heading (degrees); returns the request's seq."""
        if not isinstance(emitters, dict):
            emitters = {MAIN: emitters}
        emitters = {k: (float(xy[0]), float(xy[1])) for k, xy in emitters.items()}
        if selected not in emitters:
            selected = next(iter(emitters))
        with self._post():
            self._seq += 1
            if self._pending is not None:
                self.dropped_count += 1
            self._pending = IrRequest(
                self._seq, emitters, (float(listener[0]), float(listener[1])), float(heading), selected,
            )
            return self._seq

    # ---- the thread (MailboxThread) ---------------------------------------------------------------------
    def _ready(self) -> bool:
        return self._load_path is not None or self._pending is not None

    def _take(self):
        # a load goes first: pending requests wait for its field
        if self._load_path is not None:
            path, self._load_path = self._load_path, None
            return path, self._calibrate_at, None
        request, self._pending = self._pending, None
        return None, None, request

    def _work(self, item) -> None:
        path, calibrate_at, request = item
        if path is not None:
            self._load(path, calibrate_at)
        elif self._field is not None:
            self._answer(request)

    def _finished(self) -> None:
        self._field = None

    def _load(self, path: Path, calibrate_at) -> None:
        try:
            self._field, info = load_field(path, self.scene, self.device)
        except Exception as exc:  # a corrupt file can raise anything from pickle or torch: report, keep going
            self.loadFailed.emit(describe_error(exc))  # and keep answering with the previous field, if any
            return
        self._answered.clear()
        self._compute_ms.clear()
        self.loaded.emit(info)
        if self.audio is not None and calibrate_at is not None:
            try:
                self.audio.calibrate(reference_irs(self.scene, played_irs(self._field), calibrate_at))
            except Exception as exc:
                self.failed.emit(f"audio calibration: {describe_error(exc)}")

    def _newer_waiting(self) -> bool:
        with self._cond:
            return self._pending is not None

    def noise_of(self, key: str) -> int:
        """The listening noise realisation emitter `key` plays (`NeuralAcousticField.impulse_responses`): the
        first emitter 0 (what `naf ir` and one IR alone play), every other the lowest one no emitter holds, kept
        while it lives. Emitters sharing one would add their tails in amplitude (one clip in step: 5 dB over
        four separate sources' power sum in a room)."""
        if key not in self._noise:
            held = set(self._noise.values())
            self._noise[key] = next(v for v in range(len(held) + 1) if v not in held)
        return self._noise[key]

    def _forget_noise(self, keys) -> None:
        """Free the realisations of emitters no longer asked for (the first keeps 0), and their kept IRs: one
        back under the same key may get another realisation."""
        for key in [k for k in self._noise if k != MAIN and k not in keys]:
            del self._noise[key]
            self._answered.pop(key, None)
            self._compute_ms.pop(key, None)

    def _compute(self, keys: list[str], where: dict) -> None:
        """The played IRs of emitters `keys` at `where` {key: (emitter, listener, heading)}, one batch, kept."""
        if not keys:
            return
        start = time.perf_counter()
        batch = np.asarray(
            played_irs(self._field)(np.array([where[k][0] for k in keys]), np.array([where[k][1] for k in keys]),
                                    np.array([where[k][2] for k in keys]),
                                    noise=np.array([self.noise_of(k) for k in keys])),
            dtype=np.float32,
        )
        ms = 1000.0 * (time.perf_counter() - start)
        now = time.monotonic()
        self.computed_irs += len(keys)
        for k, ir in zip(keys, batch, strict=True):
            self._answered[k] = (where[k], ir, now)
            self._compute_ms[k] = ms

    def _answer(self, request: IrRequest) -> None:
        from naf_model.spectrogram import log_magnitude

        where = {k: (xy, request.listener, request.heading) for k, xy in request.emitters.items()}
        self._forget_noise(where)
        stale = [k for k in where if k not in self._answered or self._answered[k][0] != where[k]]
        others = [k for k in stale if k != request.selected]
        try:
            if request.selected in stale:  # the listener's IR first, posted before the others are computed
                self._compute([request.selected], where)
                if self.audio is not None:
                    self.audio.set_irs({request.selected: self._answered[request.selected][1]})
            if others and self._newer_waiting():
                now = time.monotonic()
                others = [k for k in others if k not in self._answered
                          or now - self._answered[k][2] >= OTHERS_MAX_AGE_S]
            self._compute(others, where)
        except Exception as exc:
            self.failed.emit(describe_error(exc))
            return
        latency_ms = self._compute_ms[request.selected]  # its own IR's compute time, also when reused
        irs = {k: self._answered[k][1] for k in request.emitters}
        if self.audio is not None:
            try:
                self.audio.set_irs(irs)  # IRs it plays already are skipped there
            except NafError as exc:
                self.failed.emit(describe_error(exc))
        ir = irs[request.selected]
        spec = log_magnitude(ir)  # the whole played IR (a field's own spectrogram covers only its early part)
        self.answered_count += 1
        self.answered.emit(IrAnswer(request.seq, request.emitters[request.selected], request.listener,
                                    request.heading, ir, spec, latency_ms, request.selected, irs,
                                    dict(request.emitters)))
