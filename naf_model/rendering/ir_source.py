"""Where rendered IRs come from: one small interface, so the simulator and the field are interchangeable.

    irs = ir_source(scene, "sim")               # -> callable with `n_samples`
    irs(emitters (B, 2), listeners (B, 2), headings (B,)) -> (B, 2, N) float32 at 22,050 Hz

Adding a source is one function `make(scene, checkpoint=None, device="cpu") -> IRFunction` registered in
`IR_SOURCES`. A source computes the whole batch at once (a walk's IRs are one call), so it can share work between
the batch's rows. Both sources say their IR length (`n_samples`) before computing anything, so a command can size
its output first.

A simulation follows the field it stands beside: where a checkpoint is known (`--checkpoint`, else the scene's
default one, `paths.default_checkpoint`) the simulator uses that field's data-set settings - its ears, IR length,
rays and image-source order (`simulate.config.simulation_like`) - so a render or an exported IR of `sim`
compares like with like with `naf`; without one it uses the data defaults (measured KEMAR ears, the room's IR
length).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
from tqdm import tqdm

from naf_model.conventions import PHASE_METHODS, SAMPLE_RATE
from naf_model.errors import CheckpointError, NafError
from naf_model.orientation import blend_orientations

SIM_CHUNK = 32
"""Listener spots per simulator call: a walk of more shows a bar that moves per chunk."""
FIELD_CHUNK = 256
"""Rows per call of the field (bounded memory for long walks and grids)."""
PLAYED_PHASE = PHASE_METHODS[0]
"""The phase synthesis of every field IR that is played or exported: the field's default ("listening"), the one
the app, `naf render`, `naf walk`, `naf ir` and `naf eval`'s played rows use."""
IRFunction = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def played_irs(field) -> IRFunction:
    """The field's IR function as played: (emitters (B, 2), listeners (B, 2), headings (B,)) -> (B, 2, N)
    float32 at 22,050 Hz, phase PLAYED_PHASE. The app's playback, calibration, heatmap and IR export, and the
    `naf` field source all use it, so an exported IR is the one heard."""
    return partial(field.impulse_responses, phase=PLAYED_PHASE)


def known_checkpoint(scene, checkpoint=None) -> Path | None:
    """The field a simulation stands beside: `checkpoint` if given, else the scene's default
    (`paths.default_checkpoint`), None when the scene has none."""
    from naf_model.paths import default_checkpoint

    if checkpoint is not None:
        return Path(checkpoint)
    try:
        return default_checkpoint(scene.name)
    except CheckpointError:
        return None


def simulation_config(scene, checkpoint=None):
    """The `SimulationConfig` of a sim source: the known checkpoint's data-set settings (`known_checkpoint`;
    CheckpointError if it is unreadable or of another scene), else the data defaults (`simulation_like`)."""
    from naf_model.checkpoint import load_checkpoint
    from naf_model.simulate.config import simulation_like

    path = known_checkpoint(scene, checkpoint)
    settings = None if path is None else load_checkpoint(path, scene_hash=scene.geometry_hash()).simulation
    return simulation_like(scene, settings)


class SimulatedIRs:
    """IRs from `naf_model.simulate.simulate_binaural_rirs` with `config`, headings blended.

    Repeated listener spots are simulated once. An emitter's spots go to the simulator in chunks of
    `SIM_CHUNK` (each chunk repeats a little per-emitter set-up): a long walk shows its progress, and only one
    chunk's four orientations are held at a time.
    """

    def __init__(self, scene, config) -> None:
        self.scene, self.config = scene, config
        self.n_samples = int(round(config.ir_seconds * SAMPLE_RATE))

    def __call__(self, emitters: np.ndarray, listeners: np.ndarray, headings: np.ndarray) -> np.ndarray:
        from naf_model.simulate import simulate_binaural_rirs

        em = np.asarray(emitters, np.float64).reshape(-1, 2)
        li = np.asarray(listeners, np.float64).reshape(-1, 2)
        hd = np.asarray(headings, np.float64).reshape(-1)
        out = np.zeros((len(li), 2, self.n_samples), np.float32)
        unique_emitters, which = np.unique(em, axis=0, return_inverse=True)
        bar = tqdm(total=len(li), desc="simulating IRs", unit="IR", leave=False,
                   disable=None if len(li) > SIM_CHUNK else True)  # None: shown on a terminal only
        with bar:
            for e, emitter in enumerate(unique_emitters):
                rows = np.flatnonzero(which.reshape(-1) == e)
                spots, back = np.unique(np.round(li[rows], 6), axis=0, return_inverse=True)
                back = back.reshape(-1)
                for start in range(0, len(spots), SIM_CHUNK):
                    four = simulate_binaural_rirs(self.scene, emitter, spots[start : start + SIM_CHUNK], self.config)
                    mine = (back >= start) & (back < start + SIM_CHUNK)
                    out[rows[mine]] = blend_orientations(np.asarray(four)[back[mine] - start], hd[rows[mine]])
                    bar.update(int(mine.sum()))
        return out


def simulated_source(scene, checkpoint=None, device: str = "cpu") -> SimulatedIRs:
    """IRs simulated with the settings of the field beside them (`simulation_config`); `device` is unused
    (the simulator runs on the CPU)."""
    return SimulatedIRs(scene, simulation_config(scene, checkpoint))


class FieldIRs:
    """IRs predicted by a loaded field, as played (`played_irs`), FIELD_CHUNK rows per call; headings between
    trained orientations are blended by the field itself."""

    def __init__(self, field) -> None:
        self.field = field
        self.n_samples = int(field.ir_length)

    def __call__(self, emitters: np.ndarray, listeners: np.ndarray, headings: np.ndarray) -> np.ndarray:
        em = np.asarray(emitters, np.float64).reshape(-1, 2)
        li = np.asarray(listeners, np.float64).reshape(-1, 2)
        hd = np.asarray(headings, np.float64).reshape(-1)
        play = played_irs(self.field)
        out = [play(em[i : i + FIELD_CHUNK], li[i : i + FIELD_CHUNK], hd[i : i + FIELD_CHUNK])
               for i in range(0, len(li), FIELD_CHUNK)]
        return np.concatenate(out).astype(np.float32, copy=False)


def field_source(scene, checkpoint=None, device: str = "cpu") -> FieldIRs:
    """IRs predicted by the scene's trained field (`checkpoint`, else the bundled one or the newest run) on
    `device`: the field's batch path and its listening phase (geometric direct-path delay and ITD on the
    predicted magnitudes)."""
    from naf_model.field import NeuralAcousticField
    from naf_model.paths import default_checkpoint

    path = checkpoint if checkpoint is not None else default_checkpoint(scene.name)
    return FieldIRs(NeuralAcousticField.load(path, device=device, scene=scene))


IR_SOURCES: dict[str, Callable[..., IRFunction]] = {"sim": simulated_source, "naf": field_source}
"""Source name (the `--source` choice) -> factory(scene, checkpoint=None, device="cpu") -> IRFunction."""


def ir_source(scene, name: str, checkpoint=None, device: str = "cpu") -> IRFunction:
    """The IR function of source `name` for `scene`; NafError naming the choices for an unknown name."""
    factory = IR_SOURCES.get(name)
    if factory is None:
        raise NafError(f"unknown IR source {name!r}; choose one of {', '.join(sorted(IR_SOURCES))}")
    return factory(scene, checkpoint, device)
