"""`naf ir`: binaural IRs at one spot or over a grid of listener positions, out to a WAV or one SOFA file.

    spots = IrSpots.grid(scene, emitter=(2, 2), spacing=0.5, headings=(0, 90, 180, 270))
    export_irs("room.sofa", ir_source(scene, "naf"), spots, scene, rate=48_000)

The IRs are the source's (`ir_source`): for the field, `played_irs`, the very function whose IR the app plays
and exports, and one spot goes through the app's own writer (`ir_files.write_ir_file`), so `naf ir` at a spot
writes the samples of the app's Export IR there (at one torch thread count and device: the network's sums may
round differently on others). A set is asked for `IR_CHUNK` listener positions at a time (all their headings in
one call, so the simulator simulates a spot once), with a bar per position; it is refused before any work when
its samples would pass MAX_EXPORT_BYTES.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from naf_model.audio.ir_files import check_export, write_ir_file, write_irs_sofa
from naf_model.errors import AudioError, PositionError
from naf_model.rendering.ir_source import IRFunction
from naf_model.rendering.render import IR_CHUNK

MAX_EXPORT_BYTES = 2 << 30
"""Largest set of IR samples one export holds in memory (float64 at the output rate, as sofar writes them):
2 GiB, e.g. 500 positions x 4 headings of 2.7 s IRs at 48 kHz."""


@dataclass(frozen=True, eq=False)
class IrSpots:
    """Where IRs are asked for: one `emitter` (2,) metres, listener `positions` (P, 2) metres, `headings` (H,)
    degrees counter-clockwise from +x. Measurements are position-major: row p * H + h is position p at
    heading h."""

    emitter: np.ndarray
    positions: np.ndarray
    headings: np.ndarray

    @classmethod
    def grid(cls, scene, emitter, spacing: float, headings) -> IrSpots:
        """The free cell centres of the scene's `spacing` grid (`Scene.sample_grid`, row by row) as listener
        positions; PositionError when the grid has no free cell."""
        positions = np.asarray(scene.sample_grid(spacing), np.float64).reshape(-1, 2)
        if len(positions) == 0:
            raise PositionError(f"a {spacing:g} m grid has no free cell in scene {scene.name!r}; use a finer --grid")
        return cls(np.asarray(emitter, np.float64).reshape(2), positions, np.asarray(headings, np.float64))

    @property
    def count(self) -> int:
        """Measurements M = positions x headings."""
        return len(self.positions) * len(self.headings)

    def rows(self, start: int = 0, stop: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Emitters (K, 2), listeners (K, 2) and headings (K,) of positions start..stop, position-major."""
        positions = self.positions[start:stop]
        h = len(self.headings)
        return (np.broadcast_to(self.emitter, (len(positions) * h, 2)), np.repeat(positions, h, axis=0),
                np.tile(self.headings, len(positions)))


def check_export_size(spots: IrSpots, n_samples: int, rate: int) -> None:
    """AudioError (one line, before any work) when the set's samples at `rate` pass MAX_EXPORT_BYTES."""
    from naf_model.conventions import SAMPLE_RATE

    size = spots.count * 2 * int(np.ceil(n_samples * rate / SAMPLE_RATE)) * 8
    if size > MAX_EXPORT_BYTES:
        raise AudioError(
            f"{spots.count:,} IRs of {n_samples / SAMPLE_RATE:.2f} s at {rate} Hz are {size / 2**30:.1f} GiB, more "
            f"than {MAX_EXPORT_BYTES / 2**30:.0f} GiB; use a coarser --grid, fewer --headings or a lower --rate"
        )


def compute_irs(irs: IRFunction, spots: IrSpots, progress: bool | None = None) -> np.ndarray:
    """The IRs (M, 2, N) float32 at 22,050 Hz of every measurement of `spots`, asked for `IR_CHUNK` positions
    (with all their headings) at a time; a bar counts positions when there are several (`progress` None: on a
    terminal only)."""
    batches = []
    n = len(spots.positions)
    with tqdm(total=n, desc="IRs", unit="position", disable=True if n <= 1 else progress) as bar:
        for start in range(0, n, IR_CHUNK):
            batches.append(np.asarray(irs(*spots.rows(start, start + IR_CHUNK)), np.float32))
            bar.update(min(IR_CHUNK, n - start))
    return np.concatenate(batches)


def export_irs(path: str | os.PathLike, irs: IRFunction, spots: IrSpots, scene, rate: int, comment: str = "",
               progress: bool | None = None) -> Path:
    """Compute the IRs of `spots` from `irs` and write them to `path`: one measurement as the app's Export IR
    writes it (`write_ir_file`: .wav or .sofa), several as one SOFA file (`write_irs_sofa`), positions at the
    scene's ear height. The file type, rate and size are checked first (AudioError, nothing computed); an
    `irs` that says its `n_samples` has its size checked too."""
    check_export(path, rate, spots.count)
    n_samples = getattr(irs, "n_samples", None)
    if n_samples is not None:
        check_export_size(spots, int(n_samples), rate)
    out = compute_irs(irs, spots, progress)
    emitters, listeners, headings = spots.rows()
    height = float(scene.ear_height)
    if spots.count == 1:
        return write_ir_file(path, out[0], spots.emitter, listeners[0], float(headings[0]), height, rate, comment)
    return write_irs_sofa(path, out, emitters, listeners, headings, height, rate, comment=comment)
