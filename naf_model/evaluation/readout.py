"""The acoustic readout of played binaural IRs: level, DRR, C50, EDT and T60, as the app shows them.

Measured on the waveform that is played (not on a random-phase inversion), with the `metrics` functions
the evaluation uses: C50, EDT and T60 per ear averaged over the ears (a failed T60 or EDT is NaN), DRR as the
listening metrics define it (`listening.drr`: both ears, direct sound from the earlier ear's onset - 1 ms to
+ 2.5 ms), level the total energy of both ears in dB. `measure` gives one of them for a batch of IRs,
broadband or in one octave band (`listening.octave_band`); the app's metric heatmaps use it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from naf_model.conventions import SAMPLE_RATE
from naf_model.evaluation import listening, metrics

MEASURES = ("level", "c50", "drr", "t60")
"""What `measure` measures: level_db, c50_db, drr_db (dB) and t60_s (s) of `IrReadout`."""


@dataclass(frozen=True)
class IrReadout:
    """level_db: 10 log10 of the energy of both ears; drr_db, c50_db in dB; edt_s, t60_s in seconds (NaN:
    the measurement failed)."""

    level_db: float
    drr_db: float
    c50_db: float
    edt_s: float
    t60_s: float


def level_db(x: np.ndarray) -> np.ndarray:
    """10 log10 of the energy of both ears of (B, 2, N) -> (B,), floored at -300 dB."""
    energy = np.square(np.asarray(x, np.float64)).sum(axis=(-1, -2))
    return 10 * np.log10(np.maximum(energy, 1e-30))


def ear_mean(values: np.ndarray) -> np.ndarray:
    """Mean over the ears (last axis, (..., 2) -> (...)) of the measurements that worked; NaN if none did."""
    ok = np.isfinite(values)
    count = ok.sum(axis=-1)
    with np.errstate(invalid="ignore"):
        return np.where(count > 0, np.where(ok, values, 0.0).sum(axis=-1) / np.maximum(count, 1), np.nan)


def measure(x: np.ndarray, what: str, band_hz: float | None = None, fs: int = SAMPLE_RATE) -> np.ndarray:
    """One of MEASURES of binaural IRs (B, 2, N) at `fs` Hz -> (B,) float64, as `ir_readout` has it; with
    `band_hz` the IRs are first restricted to that octave band (`listening.octave_band`)."""
    if what not in MEASURES:
        raise ValueError(f"unknown measure {what!r}; use one of {MEASURES}")
    x = np.asarray(x, np.float64)
    if band_hz is not None:
        x = listening.octave_band(x, band_hz, fs)
    if what == "level":
        return level_db(x)
    if what == "c50":
        return metrics.c50(x, fs).mean(axis=-1)
    if what == "drr":
        return listening.drr(x, fs)
    return ear_mean(metrics.rt60(x, fs))


def ir_readout(ir: np.ndarray, fs: int = SAMPLE_RATE) -> IrReadout:
    """The readout of a binaural IR (2, N) at `fs` Hz."""
    x = np.asarray(ir, np.float64)[None]
    return IrReadout(
        level_db=float(level_db(x)[0]),
        drr_db=float(measure(x, "drr", fs=fs)[0]),
        c50_db=float(measure(x, "c50", fs=fs)[0]),
        edt_s=float(ear_mean(metrics.edt(x, fs))[0]),
        t60_s=float(measure(x, "t60", fs=fs)[0]),
    )
