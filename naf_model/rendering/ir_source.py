"""Where rendered IRs come from: one small interface, so the simulator and the field are interchangeable.

    irs = ir_source(scene, "sim")               # -> callable
    irs(emitters (B, 2), listeners (B, 2), headings (B,)) -> (B, 2, N) float32 at 22,050 Hz

Adding a source is one function `make(scene, checkpoint=None) -> IRFunction` registered in `IR_SOURCES`.
A source computes the whole batch at once (a walk's IRs are one call), so it can share work between the batch's rows.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from tqdm import tqdm

from naf_model.conventions import SAMPLE_RATE
from naf_model.errors import NafError
from naf_model.orientation import blend_orientations

SIM_CHUNK = 32
"""Listener spots per simulator call: a walk of more shows a bar that moves per chunk."""
IRFunction = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def simulated_source(scene, checkpoint=None) -> IRFunction:
    """IRs from `naf_model.simulate.simulate_binaural_rirs` (default settings: the measured KEMAR ears and the
    room's IR length, as the default data sets), headings blended.

    Repeated listener spots are simulated once. An emitter's spots go to the simulator in chunks of
    `SIM_CHUNK` (each chunk repeats a little per-emitter set-up): a long walk shows its progress, and only one
    chunk's four orientations are held at a time.
    """
    from naf_model.simulate import SimulationConfig, simulate_binaural_rirs
    from naf_model.simulate.ir_length import room_ir_seconds

    config = SimulationConfig(ir_seconds=room_ir_seconds(scene))  # as long as the room's reverberation
    n_taps = int(round(config.ir_seconds * SAMPLE_RATE))

    def irs(emitters: np.ndarray, listeners: np.ndarray, headings: np.ndarray) -> np.ndarray:
        em = np.asarray(emitters, np.float64).reshape(-1, 2)
        li = np.asarray(listeners, np.float64).reshape(-1, 2)
        hd = np.asarray(headings, np.float64).reshape(-1)
        out = np.zeros((len(li), 2, n_taps), np.float32)
        unique_emitters, which = np.unique(em, axis=0, return_inverse=True)
        bar = tqdm(total=len(li), desc="simulating IRs", unit="IR", leave=False,
                   disable=None if len(li) > SIM_CHUNK else True)  # None: shown on a terminal only
        with bar:
            for e, emitter in enumerate(unique_emitters):
                rows = np.flatnonzero(which.reshape(-1) == e)
                spots, back = np.unique(np.round(li[rows], 6), axis=0, return_inverse=True)
                back = back.reshape(-1)
                for start in range(0, len(spots), SIM_CHUNK):
                    four = simulate_binaural_rirs(scene, emitter, spots[start : start + SIM_CHUNK], config)
                    mine = (back >= start) & (back < start + SIM_CHUNK)
                    out[rows[mine]] = blend_orientations(np.asarray(four)[back[mine] - start], hd[rows[mine]])
                    bar.update(int(mine.sum()))
        return out

    return irs


def field_source(scene, checkpoint=None) -> IRFunction:
    """IRs predicted by the scene's trained field (`checkpoint`, else the bundled one or the newest run).

    Uses the field's batch path and its listening phase (geometric direct-path delay and ITD on the
    predicted magnitudes); headings between trained orientations are blended by the field itself.
    """
    from naf_model.field import NeuralAcousticField
    from naf_model.paths import default_checkpoint

    path = checkpoint if checkpoint is not None else default_checkpoint(scene.name)
    field = NeuralAcousticField.load(path, device="cpu", scene=scene)

    def irs(emitters: np.ndarray, listeners: np.ndarray, headings: np.ndarray) -> np.ndarray:
        em = np.asarray(emitters, np.float64).reshape(-1, 2)
        li = np.asarray(listeners, np.float64).reshape(-1, 2)
        hd = np.asarray(headings, np.float64).reshape(-1)
        out = [field.impulse_responses(em[i : i + 256], li[i : i + 256], hd[i : i + 256])
               for i in range(0, len(li), 256)]  # bounded memory for long walks
        return np.concatenate(out).astype(np.float32)

    return irs


IR_SOURCES: dict[str, Callable[..., IRFunction]] = {"sim": simulated_source, "naf": field_source}
"""Source name (the `--source` choice) -> factory(scene) -> IRFunction."""


def ir_source(scene, name: str, checkpoint=None) -> IRFunction:
    """The IR function of source `name` for `scene`; NafError naming the choices for an unknown name."""
    factory = IR_SOURCES.get(name)
    if factory is None:
        raise NafError(f"unknown IR source {name!r}; choose one of {', '.join(sorted(IR_SOURCES))}")
    return factory(scene, checkpoint)
