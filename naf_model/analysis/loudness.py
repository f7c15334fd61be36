"""Loudness over the floor plan for one emitter: a heatmap of predicted IR energy, in dB re the map's maximum.

The whole map goes through the field's batch path (a few `query_batch` calls), so a map at 0.25 m costs
about as much as a handful of batched network evaluations, not one Python call per position.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from naf_model.conventions import LOG_EPS

Progress = Callable[[int, int], None]
"""progress(done, total): called after each batch so a worker thread or tqdm bar can follow along."""

DEFAULT_BATCH = 256
"""Positions per `query_batch` call: ~60 MB of float32 spectrograms for a 0.6 s scene, fast on CPU and GPU."""


@dataclass(frozen=True)
class PlanGrid:
    """A regular grid of cells over the plan: xs (W,) cell-centre x in metres, ys (H,) cell-centre y in metres
    (increasing); the maps of this package hold (H, W) values on it."""

    xs: np.ndarray
    ys: np.ndarray

    @property
    def spacing(self) -> float:
        """Grid spacing in metres."""
        return float(self.xs[1] - self.xs[0]) if len(self.xs) > 1 else float("nan")

    @property
    def extent(self) -> tuple[float, float, float, float]:
        """(left, right, bottom, top) of the cells in metres, as matplotlib's `imshow(extent=...)` wants."""
        h = self.spacing / 2 if len(self.xs) > 1 else 0.5
        return (self.xs[0] - h, self.xs[-1] + h, self.ys[0] - h, self.ys[-1] + h)


@dataclass(frozen=True)
class LoudnessMap(PlanGrid):
    """Loudness on a regular plan grid (`PlanGrid` xs, ys).

    db: (H, W) float32, dB re the map's maximum (so <= 0), NaN where the cell centre is not free space;
    emitter_xy: (2,) metres; heading_deg: listener head orientation used for every cell.
    """

    db: np.ndarray
    emitter_xy: np.ndarray
    heading_deg: float


def plan_grid(scene: Any, spacing: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The map's cells: `scene.grid_cells(spacing)`, xs (W,), ys (H,) metres and free (H, W) bool.

    The scene's own grid rule, so the free cells are exactly `scene.sample_grid(spacing)`; a bad spacing
    raises SceneError (a NafError).
    """
    return scene.grid_cells(spacing)


def free_cells(xs: np.ndarray, ys: np.ndarray, free: np.ndarray) -> np.ndarray:
    """Centres (M, 2) metres of the free cells of a `plan_grid`, row by row (the order `db[free]` has)."""
    gx, gy = np.meshgrid(xs, ys)
    return np.stack([gx[free], gy[free]], axis=1)


def ir_energy_db(log_spec: np.ndarray) -> np.ndarray:
    """Energy of each IR in dB (arbitrary reference) from log-magnitude spectrograms.

    log_spec: (B, 2, F, T) values ln(|X| + 1e-3); returns (B,) float64, 10 log10 of the sum of |X|^2 over both
    ears, all bins and frames (by Parseval, proportional to the waveform energy). This is
    `magnitude_from_log` done in float32 and in place: 4x faster, which is most of a map's time on CPU.
    """
    mag = np.exp(np.asarray(log_spec, dtype=np.float32))
    mag -= np.float32(LOG_EPS)
    np.maximum(mag, 0.0, out=mag)
    np.square(mag, out=mag)
    energy = mag.reshape(len(mag), -1).sum(axis=1, dtype=np.float64)
    return 10.0 * np.log10(np.maximum(energy, 1e-30))


MAP_SPACING_M = 0.25
"""The heatmaps' cell size where the scene is small enough (every bundled flat)."""
MAX_MAP_CELLS = 2500
"""Big spaces get coarser heatmap cells, so that a map has at most about this many: the cathedral's 621 m2 at
0.25 m are 9,385 cells, ~10 CPU-s and ~3 GB for the played energy of one map; at 0.5 m 2,390 cells, ~2.5 CPU-s and
~0.7 GB (docs/benchmarks.md)."""


def map_spacing(free_area_m2: float, finest: float = MAP_SPACING_M, max_cells: int = MAX_MAP_CELLS) -> float:
    """The heatmap cell size for a free floor of `free_area_m2`: `finest`, or the next 5 cm step above it that
    keeps about `max_cells` cells."""
    need = float(np.sqrt(max(free_area_m2, 0.0) / max_cells))
    return max(finest, float(np.ceil(round(need / 0.05, 6)) * 0.05))


def over_free_cells(
    query: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray],
    scene: Any,
    emitter_xy: Any,
    heading_deg: float,
    spacing: float,
    progress: Progress | None,
    batch_size: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[np.ndarray]]:
    """`query(emitters (b, 2), listeners (b, 2), headings (b,))` for one emitter at every free cell of the
    scene's `spacing` grid, in batches: (emitter (2,), xs, ys, free, listeners (N, 2), per-batch results).

    The emitter must be free (PositionError), the spacing sane (NafError); progress(done, total) in cells.
    """
    emitter = np.asarray(scene.require_free(emitter_xy, what="emitter"), dtype=np.float64)
    xs, ys, free = plan_grid(scene, spacing)
    listeners = free_cells(xs, ys, free)
    n = len(listeners)
    parts = []
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        b = stop - start
        parts.append(query(np.broadcast_to(emitter, (b, 2)), listeners[start:stop], np.full(b, float(heading_deg))))
        if progress is not None:
            progress(stop, n)
    return emitter, xs, ys, free, listeners, parts


def loudness_map(
    field: Any,
    scene: Any,
    emitter_xy: Any,
    heading_deg: float = 0.0,
    spacing: float = 0.25,
    progress: Progress | None = None,
    batch_size: int = DEFAULT_BATCH,
) -> LoudnessMap:
    """Predicted loudness at every free cell of a `spacing` grid for a fixed emitter and head orientation.

    field: a `NeuralAcousticField` (only `query_batch` is used); emitter_xy: (2,) metres, must be free.
    Raises `PositionError` for an emitter outside the free space, `NafError` for a bad spacing.
    """
    emitter, xs, ys, free, _, parts = over_free_cells(
        lambda e, li, h: ir_energy_db(np.asarray(field.query_batch(e, li, h))),
        scene, emitter_xy, heading_deg, spacing, progress, batch_size,
    )  # fmt: skip
    n = int(free.sum())
    energy_db = np.concatenate(parts) if parts else np.empty(0)
    db = np.full(free.shape, np.nan, dtype=np.float32)
    if n:
        db[free] = (energy_db - energy_db.max()).astype(np.float32)
    return LoudnessMap(xs=xs, ys=ys, db=db, emitter_xy=emitter, heading_deg=float(heading_deg))
