"""The acoustic readout of one played binaural IR: level, DRR, C50, EDT and T60, as the app shows them.

Measured on the waveform that is played (not on a random-phase inversion), with the `metrics` functions
the evaluation uses: C50, EDT and T60 per ear averaged over the ears (a failed T60 or EDT is NaN), DRR as the
listening metrics define it (`listening.drr`: both ears, direct sound from the earlier ear's onset - 1 ms to
+ 2.5 ms), level the total energy of both ears in dB.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from naf_model.conventions import SAMPLE_RATE
from naf_model.evaluation import listening, metrics


@dataclass(frozen=True)
class IrReadout:
    """level_db: 10 log10 of the energy of both ears; drr_db, c50_db in dB; edt_s, t60_s in seconds (NaN:
    the measurement failed)."""

    level_db: float
    drr_db: float
    c50_db: float
    edt_s: float
    t60_s: float


def ir_readout(ir: np.ndarray, fs: int = SAMPLE_RATE) -> IrReadout:
    """The readout of a binaural IR (2, N) at `fs` Hz."""
    x = np.asarray(ir, np.float64)
    energy = float(np.square(x).sum())
    edt, t60 = _ear_mean(metrics.edt(x, fs)), _ear_mean(metrics.rt60(x, fs))
    return IrReadout(
        level_db=float(10 * np.log10(max(energy, 1e-30))),
        drr_db=float(listening.drr(x[None], fs)[0]),
        c50_db=float(np.mean(metrics.c50(x, fs))),
        edt_s=edt,
        t60_s=t60,
    )


def _ear_mean(values: np.ndarray) -> float:
    """Mean over the ears of the measurements that worked; NaN if none did."""
    ok = np.isfinite(values)
    return float(values[ok].mean()) if ok.any() else float("nan")
