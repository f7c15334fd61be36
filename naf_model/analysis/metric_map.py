"""Acoustic metrics over the floor plan for one emitter: loudness, C50, DRR or T60 of the played IR at every
free cell, broadband or in one octave band (125 Hz-8 kHz).

Two steps, so that switching the metric or the band never asks the field again: `plan_irs` gets the played
IR at every free cell (a few batched calls of an IR function, e.g. the field's `impulse_responses` with the
phase the app plays), `metric_map` measures them with the readout's own functions
(`naf_model.acoustics.readout.measure`: the numbers a cell shows are the numbers the readout shows there).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from naf_model.acoustics.readout import measure
from naf_model.analysis.loudness import PlanGrid, Progress, over_free_cells
from naf_model.conventions import LOUDNESS_FLOOR_DB, SAMPLE_RATE
from naf_model.scene.materials import OCTAVE_BANDS_HZ

IRFunction = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
"""irs(emitters (B, 2), listeners (B, 2) metres, headings (B,) degrees) -> (B, 2, N) IRs at 22,050 Hz."""

METRICS = {
    "loudness": ("loudness", "dB re map maximum", "inferno"),
    "c50": ("C50", "dB", "viridis"),
    "drr": ("DRR", "dB", "viridis"),
    "t60": ("T60", "s", "plasma"),
}
"""key: (name, unit of the colour scale, colour map)."""
BANDS_HZ = OCTAVE_BANDS_HZ
"""Octave-band centres a map can be restricted to (the materials' bands); None is broadband."""
IR_BATCH = 64
"""Cells per IR-function call: ~7 MB of float32 IRs for a 0.6 s scene."""
NEAR_SOURCE_M = 0.3
"""Cells closer than this to the emitter are left out (NaN): a point source's direct sound grows as 1/r, so
the cell under the emitter is tens of dB louder than its neighbours (37 dB at 7 mm against 14 dB at 0.25 m
in apartment_1) and alone would set the loudness scale of the whole map; the emitter's marker covers them."""
SCALE_PERCENTILES = (2.0, 98.0)
"""C50, DRR and T60 colour scales span these percentiles of the map, so a few extreme cells (a nearly silent
tail gives a huge C50) do not wash out the rest; loudness spans LOUDNESS_FLOOR_DB..0 as `loudness_map`."""


@dataclass(frozen=True)
class PlanIrs(PlanGrid):
    """The played IR at every free cell of a `PlanGrid`: free (H, W) bool, listeners (M, 2) metres (the free
    cells row by row), irs (M, 2, N) float32 at 22,050 Hz for the emitter at emitter_xy (2,) metres and the
    listener's head at heading_deg."""

    free: np.ndarray
    listeners: np.ndarray
    irs: np.ndarray
    emitter_xy: np.ndarray
    heading_deg: float


@dataclass(frozen=True)
class MetricMap(PlanGrid):
    """One metric over the plan: values (H, W) float32 in the metric's unit (METRICS), NaN outside the free
    space, within NEAR_SOURCE_M of the emitter and where the measurement failed (a T60 that cannot be fitted);
    metric a key of METRICS, band_hz an
    octave-band centre or None (broadband); emitter_xy (2,) metres, heading_deg, emitter_name for titles."""

    values: np.ndarray
    metric: str
    band_hz: int | None
    emitter_xy: np.ndarray
    heading_deg: float
    emitter_name: str = "emitter"

    @property
    def unit(self) -> str:
        return METRICS[self.metric][1]

    @property
    def label(self) -> str:
        """What the colour scale says, e.g. "C50 (dB), 1 kHz octave"."""
        return f"{METRICS[self.metric][0]} ({self.unit}), {band_name(self.band_hz)}"

    @property
    def levels(self) -> tuple[float, float]:
        """(low, high) of the colour scale (SCALE_PERCENTILES; loudness LOUDNESS_FLOOR_DB..0 dB)."""
        finite = self.values[np.isfinite(self.values)]
        if self.metric == "loudness":
            low = max(LOUDNESS_FLOOR_DB, float(finite.min())) if finite.size else LOUDNESS_FLOOR_DB
            return min(low, -1.0), 0.0
        if not finite.size:
            return 0.0, 1.0
        low, high = (float(v) for v in np.percentile(finite, SCALE_PERCENTILES))
        pad = max(1e-3, 1e-3 * abs(high)) if high - low < 1e-3 else 0.0
        return low - pad, high + pad


def band_name(band_hz: float | None) -> str:
    """"broadband", "125 Hz octave", "1 kHz octave", ..."""
    if band_hz is None:
        return "broadband"
    return f"{band_hz:g} Hz octave" if band_hz < 1000 else f"{band_hz / 1000:g} kHz octave"


def plan_irs(
    irs: IRFunction,
    scene: Any,
    emitter_xy: Any,
    heading_deg: float = 0.0,
    spacing: float = 0.25,
    progress: Progress | None = None,
    batch_size: int = IR_BATCH,
) -> PlanIrs:
    """The IRs `irs` gives at every free cell of the scene's `spacing` grid for one emitter and heading.

    emitter_xy: (2,) metres, must be free (PositionError otherwise; NafError for a bad spacing);
    progress(done, total) after each batch, in cells.
    """
    emitter, xs, ys, free, listeners, parts = over_free_cells(
        lambda e, li, h: np.asarray(irs(e, li, h), np.float32),
        scene, emitter_xy, heading_deg, spacing, progress, batch_size,
    )  # fmt: skip
    out = np.concatenate(parts) if parts else np.zeros((0, 2, 0), np.float32)
    return PlanIrs(xs=xs, ys=ys, free=free, listeners=listeners, irs=out, emitter_xy=emitter,
                   heading_deg=float(heading_deg))


def metric_map(
    plan: PlanIrs,
    metric: str,
    band_hz: int | None = None,
    progress: Progress | None = None,
    batch_size: int = IR_BATCH,
    emitter_name: str = "emitter",
    fs: int = SAMPLE_RATE,
) -> MetricMap:
    """`metric` (a key of METRICS) of each of the plan's IRs, broadband or in the octave band `band_hz` (one of
    BANDS_HZ), as `readout.measure` defines it; loudness is the level in dB re the map's maximum. Cells within
    NEAR_SOURCE_M of the emitter are NaN.

    ValueError for an unknown metric or band; progress(done, total) after each batch, in cells.
    """
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; use one of {tuple(METRICS)}")
    if band_hz is not None and band_hz not in BANDS_HZ:
        raise ValueError(f"unknown octave band {band_hz!r} Hz; use one of {BANDS_HZ} or None")
    what = "level" if metric == "loudness" else metric
    n = len(plan.irs)
    measured = np.empty(n)
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        measured[start:stop] = measure(plan.irs[start:stop], what, band_hz, fs)
        if progress is not None:
            progress(stop, n)
    return cells_to_map(plan, measured, metric, band_hz, emitter_name)


def cells_to_map(plan: Any, measured: np.ndarray, metric: str, band_hz: int | None, emitter_name: str) -> MetricMap:
    """The `MetricMap` of values `measured` (M,) at a plan's free cells (a `PlanIrs` or anything with its grid,
    free, listeners, emitter_xy and heading_deg): NaN within NEAR_SOURCE_M of the emitter, loudness re the
    loudest cell left."""
    measured = np.array(measured, np.float64)
    near = np.hypot(*(plan.listeners - plan.emitter_xy).T) < NEAR_SOURCE_M if len(measured) else np.zeros(0, bool)
    measured[near] = np.nan
    if metric == "loudness" and not near.all():
        measured -= np.nanmax(measured)
    values = np.full(plan.free.shape, np.nan, np.float32)
    values[plan.free] = measured.astype(np.float32)
    return MetricMap(xs=plan.xs, ys=plan.ys, values=values, metric=metric, band_hz=band_hz,
                     emitter_xy=plan.emitter_xy, heading_deg=plan.heading_deg, emitter_name=emitter_name)


def map_file_name(scene_name: str, mm: MetricMap) -> str:
    """A PNG name that says the metric, band, emitter and colour scale, e.g.
    "apartment_1_c50_1kHz_emitter2_scale-2.1to9.8dB.png"."""
    band = "broadband" if mm.band_hz is None else band_name(mm.band_hz).split(" octave")[0].replace(" ", "")
    low, high = mm.levels
    unit = "dBrel" if mm.metric == "loudness" else mm.unit
    return (f"{scene_name}_{mm.metric}_{band}_{mm.emitter_name.replace(' ', '')}_"
            f"scale{low:.3g}to{high:.3g}{unit}.png")
