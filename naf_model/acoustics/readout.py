"""The acoustic readout of played binaural IRs: level, DRR, C50, EDT and T60, as the app shows them.

Measured on the waveform that is played (not on a random-phase inversion), with the measures the evaluation
uses: C50, EDT and T60 per ear averaged over the ears (a failed T60 or EDT is NaN), DRR both ears (direct
sound from the earlier ear's onset - 1 ms to + 2.5 ms), level the total energy of both ears in dB. `measure`
gives one of them for a batch of IRs, broadband or in one octave band; the app's metric heatmaps use it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from naf_model.acoustics import bands, decay, energy
from naf_model.conventions import SAMPLE_RATE

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


def ear_mean(values: np.ndarray) -> np.ndarray:
    """Mean over the ears (last axis, (..., 2) -> (...)) of the measurements that worked; NaN if none did."""
    ok = np.isfinite(values)
    count = ok.sum(axis=-1)
    with np.errstate(invalid="ignore"):
        return np.where(count > 0, np.where(ok, values, 0.0).sum(axis=-1) / np.maximum(count, 1), np.nan)


def measure(x: np.ndarray, what: str, band_hz: float | None = None, fs: int = SAMPLE_RATE) -> np.ndarray:
    """One of MEASURES of binaural IRs (B, 2, N) at `fs` Hz -> (B,) float64, as `ir_readout` has it; with
    `band_hz` the IRs are first restricted to that octave band (`bands.octave_band`)."""
    if what not in MEASURES:
        raise ValueError(f"unknown measure {what!r}; use one of {MEASURES}")
    x = np.asarray(x, np.float64)
    if band_hz is not None:
        x = bands.octave_band(x, band_hz, fs)
    if what == "level":
        return energy.level_db(x)
    if what == "c50":
        return decay.c50(x, fs).mean(axis=-1)
    if what == "drr":
        return energy.drr(x, fs)
    return ear_mean(decay.rt60(x, fs))


def ir_readout(ir: np.ndarray, fs: int = SAMPLE_RATE) -> IrReadout:
    """The readout of a binaural IR (2, N) at `fs` Hz."""
    x = np.asarray(ir, np.float64)[None]
    return IrReadout(
        level_db=float(energy.level_db(x)[0]),
        drr_db=float(measure(x, "drr", fs=fs)[0]),
        c50_db=float(measure(x, "c50", fs=fs)[0]),
        edt_s=float(ear_mean(decay.edt(x, fs))[0]),
        t60_s=float(measure(x, "t60", fs=fs)[0]),
    )
