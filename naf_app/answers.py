"""What the workers hand back to the session state: the loaded field's description, an answered IR request,
a simulation at one spot, and the status of a background job (busy, progress, error). Plain frozen values:
views draw them, nothing here knows Qt.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from naf_app.played import simulated_ir_at
from naf_model.audio import MAIN


@dataclass(frozen=True)
class FieldInfo:
    """What the app knows of the loaded field: the status bar's lines and the simulator settings of its data
    set (`simulation`, what "Simulate here" must use so the A/B compares like with like)."""

    path: Path
    scene_name: str
    preset: str
    device: str
    n_frames: int
    ir_length: int
    simulation: dict = field(default_factory=dict)


@dataclass(frozen=True)
class IrAnswer:
    """One answered IR request: positions in metres, heading in degrees, `irs` {emitter key: (2, N) float32
    at 22,050 Hz} for every emitter (while a drag outruns the model, an emitter other than the selected one
    may carry its IR of up to `worker.OTHERS_MAX_AGE_S` before), `selected` the key whose IR `ir` and
    ln-magnitude `spec` (2, 256, T) are shown, `emitters` {key: (x, y)}, `latency_ms` the wall time of the
    batch that computed the selected emitter's IR (kept when a later answer reuses it)."""

    seq: int
    emitter: tuple[float, float]
    listener: tuple[float, float]
    heading: float
    ir: np.ndarray
    spec: np.ndarray
    latency_ms: float
    selected: str = MAIN
    irs: dict = field(default_factory=dict)
    emitters: dict = field(default_factory=dict)


@dataclass(frozen=True)
class SimulationAnswer:
    """The simulator at one spot: `irs` (4, 2, N) float32 for the training orientations (ORIENTATIONS_DEG),
    for emitter `key` at `emitter` and the listener at `listener` (metres); `seconds` it took."""

    key: str
    emitter: tuple[float, float]
    listener: tuple[float, float]
    irs: np.ndarray
    seconds: float

    def ir_at(self, heading: float) -> np.ndarray:
        """The simulated IR (2, N) at `heading` degrees, by the field's orientation rule (naf_app.played)."""
        return simulated_ir_at(self.irs, heading)


@dataclass(frozen=True)
class JobStatus:
    """A background job as the views show it: `busy`, its progress `done` of `total` (total 0: amount not
    known yet), a line of `text` while it runs, and the `error` of the last run (None: it did not fail)."""

    busy: bool = False
    done: int = 0
    total: int = 0
    text: str = ""
    error: str | None = None


IDLE = JobStatus()


def level_matched(ir: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """`ir` (2, N) scaled so its energy (both ears) equals that of `reference` (2, M): the A/B plays both
    at one level, so what differs is the sound, not the loudness."""
    e_ir = float(np.sum(np.square(ir, dtype=np.float64)))
    e_ref = float(np.sum(np.square(reference, dtype=np.float64)))
    return (ir * np.sqrt(e_ref / e_ir)).astype(np.float32) if e_ir > 0 else np.asarray(ir, np.float32)
