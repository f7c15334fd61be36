"""Metric heatmaps from the played IR's energy envelope (`field.played_energy`) instead of the waveform: the
app's loudness, C50 and T60 heatmaps (broadband or one octave band) in a few large network calls, with no
synthesis and no waveform measured. DRR stays on the waveform: its direct window (3.5 ms) is finer than the
envelope's blocks and the pulse's spread in a band (p95 1.6 dB broadband, 4-12 dB in bands, apartment_1).

Each measure of `acoustics.readout.measure` is redone on the envelope: level the total energy, C50 the
energy before and after its split (energy inside a block spread evenly over its samples from the
gate on, the direct pulse at its sample), T60 the least-squares slope of the Schroeder curve between -5 and
-35 dB (pyroomacoustics' `measure_rt60`) read at the block edges. The onset C50 counts from is the
pulse's sample on line of sight, elsewhere the gate's (the waveform's own onset, its first sample within 20 dB
of its peak power, lies a median 2 samples after the gate in apartment_1's occluded cells). How close this
comes to measuring the played waveform: docs/benchmarks.md ("Heatmaps"); `metric_map.metric_map` of
`metric_map.plan_irs` is the waveform path.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np

from naf_model.acoustics.decay import C50_EARLY_S, T60_DECAY_DB
from naf_model.analysis.loudness import PlanGrid, Progress, over_free_cells
from naf_model.analysis.metric_map import BANDS_HZ, MetricMap, cells_to_map
from naf_model.conventions import SAMPLE_RATE
from naf_model.field.played_energy import BLOCK, PlayedEnergy

SCHROEDER_START_DB = -5.0
ENERGY_BATCH = 128
"""Cells per `field.played_energy` call: the network's own call size; 27 MB of spectrograms a call."""
T60_EDGES = 720
"""At most this many points of the Schroeder curve enter the T60 fit, evenly spaced (every block edge up to
1.04 s of IR, every other up to 2.09 s, ...): a least-squares line over 30 dB of decay, which hundreds of evenly
spaced points fix about as well as every sample (`measure_rt60`'s). apartment_1's 2.09 s field, every other edge
against every edge: T60 within 0.8 % at the p95 of 770 cells, 0.03 s instead of 0.08-0.10 s."""
FAST_METRICS = ("loudness", "c50", "t60")
"""The metrics of METRICS that `fast_metric_map` gives (the others need the waveform: `metric_map`)."""


@dataclass(frozen=True)
class PlanEnergy(PlanGrid):
    """The played IR's energy (`PlayedEnergy`) at every free cell of a `PlanGrid`, as `PlanIrs` holds IRs:
    free (H, W), listeners (M, 2) metres, emitter_xy (2,), heading_deg."""

    free: np.ndarray
    listeners: np.ndarray
    energy: PlayedEnergy
    emitter_xy: np.ndarray
    heading_deg: float


def plan_energy(field: Any, scene: Any, emitter_xy: Any, heading_deg: float = 0.0, spacing: float = 0.25,
                progress: Progress | None = None, batch_size: int = ENERGY_BATCH) -> PlanEnergy:
    """`field.played_energy` (a `NeuralAcousticField` without a late part) at every free cell of the scene's
    `spacing` grid for one emitter and heading, in batches; errors and progress as `metric_map.plan_irs`."""
    emitter, xs, ys, free, listeners, parts = over_free_cells(
        field.played_energy, scene, emitter_xy, heading_deg, spacing, progress, batch_size)
    if not parts:
        raise ValueError("no free cell on this grid")
    return PlanEnergy(xs=xs, ys=ys, free=free, listeners=listeners, energy=PlayedEnergy.concatenate(parts),
                      emitter_xy=emitter, heading_deg=float(heading_deg))


class Envelope:
    """One band of a `PlayedEnergy`, (B, 2) ears: the energy before any sample (`before`) and the totals."""

    def __init__(self, energy: PlayedEnergy, band: int) -> None:
        self.blocks = energy.blocks(band)  # (B, 2, K)
        self.pulse, self.pulse_at, self.gate = energy.pulse[:, :, band], energy.pulse_at, energy.gate
        self.total = self.blocks.sum(-1) + self.pulse
        self.n = energy.n_samples

    @functools.cached_property
    def edges(self) -> np.ndarray:
        """The diffuse energy (B, 2, K + 1) before each block edge (made when C50 or T60 asks: level does not)."""
        return np.concatenate([np.zeros(self.blocks.shape[:-1] + (1,)), np.cumsum(self.blocks, -1)], -1)

    def before(self, n: np.ndarray) -> np.ndarray:
        """Energy (B, 2) of the samples before sample n (B, 2) of each ear."""
        k = np.clip(n // BLOCK, 0, self.blocks.shape[-1] - 1)
        lo = np.maximum(k * BLOCK, self.gate)  # the diffuse energy of block k lies on [lo, next block)
        hi = (k + 1) * BLOCK
        frac = np.clip((n - lo) / np.maximum(hi - lo, 1), 0.0, 1.0)
        take = lambda a, i: np.take_along_axis(a, i[..., None], -1)[..., 0]  # noqa: E731
        diffuse = take(self.edges, k) + frac * take(self.blocks, k)
        return diffuse + self.pulse * ((self.pulse_at >= 0) & (self.pulse_at < n))

    def onset(self) -> np.ndarray:
        """The waveform's onset sample (B, 2): the direct pulse's, else the diffuse part's first."""
        return np.where(self.pulse_at >= 0, self.pulse_at, self.gate)

    def schroeder_db(self, stride: int = 1) -> np.ndarray:
        """The Schroeder curve in dB re the total at every `stride`-th block edge (B, 2, K // stride + 1), -inf
        where nothing is left."""
        edges = np.arange(0, self.edges.shape[-1], stride) * BLOCK
        taken = self.edges[..., ::stride]
        left = self.total[..., None] - taken - self.pulse[..., None] * (self.pulse_at[..., None] < edges)
        with np.errstate(divide="ignore", invalid="ignore"):
            return 10 * np.log10(np.maximum(left, 0.0) / self.total[..., None])


def t60_of(env: Envelope, fs: int = SAMPLE_RATE) -> np.ndarray:
    """T60 seconds (B, 2) as `measure_rt60` (30 dB): the least-squares line through the Schroeder curve from
    its first point below -5 dB to its last above 30 dB further down (or its last finite point), extrapolated
    to 60 dB; NaN where fewer than two points fit or the curve does not fall. The curve never rises, so the
    fitted points are one run of edges and their sums are differences of running sums."""
    stride = max(1, -(-env.blocks.shape[-1] // T60_EDGES))
    db = env.schroeder_db(stride)  # (B, 2, K // stride + 1), finite, then -inf once nothing is left
    finite = np.isfinite(db)
    n_finite = finite.sum(-1)
    take = lambda a, i: np.take_along_axis(a, i[..., None], -1)[..., 0]  # noqa: E731
    below = db < SCHROEDER_START_DB
    first = np.argmax(below, -1)
    fits = below.any(-1) & (n_finite > 0)
    end_db = np.maximum(take(db, first) - T60_DECAY_DB, take(db, np.maximum(n_finite - 1, 0)))
    past = db < end_db[..., None]
    end = np.where(past.any(-1), np.argmax(past, -1), db.shape[-1])
    t = np.arange(db.shape[-1] + 1) * (BLOCK * stride) / fs
    zero = np.zeros(db.shape[:-1] + (1,))
    sum_y = np.concatenate([zero, np.cumsum(np.where(finite, db, 0.0), -1)], -1)
    sum_ty = np.concatenate([zero, np.cumsum(np.where(finite, db, 0.0) * t[:-1], -1)], -1)
    sum_t, sum_tt = np.concatenate([[0.0], np.cumsum(t[:-1])]), np.concatenate([[0.0], np.cumsum(t[:-1] ** 2)])
    count = end - first
    st, stt = sum_t[end] - sum_t[first], sum_tt[end] - sum_tt[first]
    sy, sty = take(sum_y, end) - take(sum_y, first), take(sum_ty, end) - take(sum_ty, first)
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = (count * sty - st * sy) / (count * stt - st**2)
        value = -60.0 / slope
    return np.where(fits & (count >= 2) & np.isfinite(value) & (value > 0), value, np.nan)


def measure_energy(energy: PlayedEnergy, what: str, band_hz: int | None = None, fs: int = SAMPLE_RATE
                   ) -> np.ndarray:
    """`acoustics.readout.measure` ("level", "c50" or "t60") of the played IRs, from their energy
    (B,) float64, broadband or in the octave band `band_hz`."""
    env = Envelope(energy, 0 if band_hz is None else 1 + BANDS_HZ.index(band_hz))
    if what == "level":
        return 10 * np.log10(np.maximum(env.total.sum(-1), 1e-30))
    if what == "t60":
        t60 = t60_of(env, fs)
        ok = np.isfinite(t60)
        with np.errstate(invalid="ignore"):
            return np.where(ok.any(-1), np.where(ok, t60, 0.0).sum(-1) / np.maximum(ok.sum(-1), 1), np.nan)
    onset = env.onset()
    if what == "c50":
        split = np.minimum(onset + int(round(C50_EARLY_S * fs)), env.n)
        early = env.before(split) - env.before(onset)
        late = env.total - env.before(split)
        tiny = 1e-12 * np.maximum(env.total, 1e-300)
        return (10 * np.log10((early + tiny) / (late + tiny))).mean(-1)
    raise ValueError(f"unknown measure {what!r}")


def fast_metric_map(plan: PlanEnergy, metric: str, band_hz: int | None = None,
                    emitter_name: str = "emitter") -> MetricMap:
    """`metric_map.metric_map` from the played energy of the cells (see the module docstring): the same
    metrics (FAST_METRICS), bands, NaN cells and loudness reference. ValueError for another metric or band."""
    if metric not in FAST_METRICS:
        raise ValueError(f"no fast map of {metric!r}; use one of {FAST_METRICS} (others: `metric_map`)")
    if band_hz is not None and band_hz not in BANDS_HZ:
        raise ValueError(f"unknown octave band {band_hz!r} Hz; use one of {BANDS_HZ} or None")
    measured = measure_energy(plan.energy, "level" if metric == "loudness" else metric, band_hz)
    return cells_to_map(plan, measured, metric, band_hz, emitter_name)
