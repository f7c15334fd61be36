"""Listening metrics: what the played waveform does against the simulated one, sample for sample.

The paper's metrics invert prediction and ground truth with one shared random phase, so they cannot see how
the played IR was made. These compare the waveform that is actually played (B, 2, N) with the simulated
waveform of the same pair and head orientation (B, 2, N), both at 22,050 Hz:

- envelope: mean |dB difference| of the energy in consecutive 50 ms windows (from time zero, per ear),
  over the windows where the ground truth is within ENVELOPE_RANGE_DB of its loudest window;
- level and late bias: signed dB of the total energy and of the energy after the ground truth's onset +
  50 ms (both ears; positive = played is louder);
- DRR: |error| in dB of the direct-to-reverberant ratio, direct = own onset - 1 ms .. onset + 2.5 ms;
- C50, EDT, T60 measured with `acoustics.decay` (C50 |dB|, EDT and T60 relative, failures count 100 %);
- ITD: |error| in microseconds of the difference of the two ears' direct-sound onsets
  (`acoustics.interaural.interaural_delay`), line-of-sight items only, against the simulated waveform's ITD
  and against the direct arrival's alone (`acoustics.interaural.direct_sound_itd`; why both: docs/metrics.md);
- ILD: |error| in dB of the left/right energy ratio of the whole IR per octave band (500 Hz .. 8 kHz);
- band T60: T60 relative error per octave band 250 Hz .. 4 kHz (`acoustics.bands.octave_band`, smooth bands),
  where reverberation is heard; a long tail whose low or high bands decay wrongly shows here, not broadband.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from naf_model.acoustics import decay
from naf_model.acoustics.bands import octave_band
from naf_model.acoustics.energy import drr, energy_after, ratio_db, window_energies
from naf_model.acoustics.interaural import ILD_BANDS_HZ, band_ild, interaural_delay
from naf_model.conventions import SAMPLE_RATE
from naf_model.evaluation import metrics

BAND_T60_HZ = (250, 500, 1000, 2000, 4000)
"""Octave bands whose T60 the listening metrics score."""
ENVELOPE_RANGE_DB = 50.0
LATE_AFTER_S = 0.050
SUMMARY_KEYS = (
    ("envelope_db", "Envelope (dB) ↓", "{:.2f}"),
    ("level_bias_db", "Level bias (dB)", "{:+.2f}"),
    ("late_bias_db", "Late bias (dB)", "{:+.2f}"),
    ("drr_db", "DRR (dB) ↓", "{:.2f}"),
    ("c50_db", "C50 (dB) ↓", "{:.2f}"),
    ("edt_pct", "EDT (%) ↓", "{:.1f}"),
    ("t60_pct", "T60 (%) ↓", "{:.1f}"),
    ("itd_us", "ITD (µs) ↓", "{:.0f}"),
    ("itd_direct_us", "ITD vs direct (µs) ↓", "{:.0f}"),
) + tuple((f"ild_{f}_db", f"ILD {f if f < 1000 else f // 1000}{'' if f < 1000 else 'k'} (dB) ↓", "{:.2f}")
          for f in ILD_BANDS_HZ) + tuple(
    (f"t60_{f}_pct", f"T60 {f if f < 1000 else f // 1000}{'' if f < 1000 else 'k'} (%) ↓", "{:.1f}")
    for f in BAND_T60_HZ)


def envelope_error(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Mean |dB| difference of 50 ms window energies (B, 2, N) -> (B,), windows within ENVELOPE_RANGE_DB of
    the ground truth's loudest window of that ear."""
    ep, eg = window_energies(pred), window_energies(gt)
    gt_db = 10 * np.log10(np.maximum(eg, 1e-30))
    keep = gt_db >= gt_db.max(axis=-1, keepdims=True) - ENVELOPE_RANGE_DB
    floor = eg.max(axis=-1, keepdims=True) * 10 ** (-2 * ENVELOPE_RANGE_DB / 10)
    err = np.abs(ratio_db(np.maximum(ep, floor), eg))
    return (err * keep).sum(axis=(-1, -2)) / keep.sum(axis=(-1, -2))


@dataclass(frozen=True)
class ListeningErrors:
    """Per item (B,): envelope, drr, c50 (dB |error|), level and late (signed dB), edt and t60 (fractions),
    itd and itd_direct (seconds |error| against the simulated waveform's ITD and against the direct arrival's,
    `direct_sound_itd`; NaN where not line of sight), ild (B, bands) dB |error|."""

    envelope: np.ndarray
    level: np.ndarray
    late: np.ndarray
    drr: np.ndarray
    c50: np.ndarray
    edt: np.ndarray
    t60: np.ndarray
    itd: np.ndarray
    itd_direct: np.ndarray
    ild: np.ndarray
    t60_bands: np.ndarray

    @staticmethod
    def concatenate(parts: list[ListeningErrors]) -> ListeningErrors:
        """Errors of consecutive chunks joined."""
        names = ListeningErrors.__dataclass_fields__
        return ListeningErrors(*(np.concatenate([getattr(p, f) for p in parts]) for f in names))

    def summary(self) -> dict[str, float]:
        """Means over items, in the units of SUMMARY_KEYS (ITD in µs over line-of-sight items only)."""
        los = np.isfinite(self.itd)
        means = (("envelope_db", self.envelope), ("level_bias_db", self.level), ("late_bias_db", self.late),
                 ("drr_db", self.drr), ("c50_db", self.c50))  # fmt: skip
        out = {key: float(np.mean(v)) for key, v in means}
        out |= {"edt_pct": 100 * float(np.mean(self.edt)), "t60_pct": 100 * float(np.mean(self.t60))}
        for key, v in (("itd_us", self.itd), ("itd_direct_us", self.itd_direct)):
            out[key] = 1e6 * float(np.mean(v[los])) if los.any() else float("nan")
        out |= {"n_items": int(len(self.envelope)), "n_los_items": int(los.sum())}
        out |= {f"t60_{f}_pct": 100 * float(np.mean(self.t60_bands[:, k])) for k, f in enumerate(BAND_T60_HZ)}
        return out | {f"ild_{f}_db": float(np.mean(self.ild[:, k])) for k, f in enumerate(ILD_BANDS_HZ)}


@dataclass(frozen=True)
class Measured:
    """What `listening_errors` measures on waveforms (B, 2, N): kept to score many rows against one truth."""

    onset: np.ndarray
    total: np.ndarray
    drr: np.ndarray
    c50: np.ndarray
    edt: np.ndarray
    t60: np.ndarray
    itd: np.ndarray
    ild: np.ndarray
    band_t60: np.ndarray
    """(B, 2, len(BAND_T60_HZ)) seconds, NaN where the fit fails."""


def measure(x: np.ndarray) -> Measured:
    """The parameters of waveforms (B, 2, N) used by `listening_errors`."""
    x = np.asarray(x, np.float64)
    band_t60 = np.stack([decay.rt60(octave_band(x, f)) for f in BAND_T60_HZ], axis=-1)
    return Measured(
        decay.first_onset(x), np.square(x).sum(axis=(1, 2)), drr(x), decay.c50(x), decay.edt(x),
        decay.rt60(x), interaural_delay(x), band_ild(x), band_t60,
    )


def listening_errors(
    pred: np.ndarray,
    gt: np.ndarray,
    line_of_sight: np.ndarray,
    gt_measured: Measured | None = None,
    direct_itd: np.ndarray | None = None,
) -> ListeningErrors:
    """Errors of played waveforms `pred` against simulated `gt`, both (B, 2, N); line_of_sight (B,) bool
    selects the items whose ITD is scored; direct_itd (B,) s the direct arrival's ITD (`direct_sound_itd`;
    None: not known, e.g. a SOFA head, and itd_direct is NaN)."""
    gt_m = gt_measured if gt_measured is not None else measure(gt)
    p = measure(pred)
    los = np.asarray(line_of_sight, bool)
    reference = np.full(len(los), np.nan) if direct_itd is None else np.asarray(direct_itd, np.float64)
    late_start = gt_m.onset + int(round(LATE_AFTER_S * SAMPLE_RATE))
    return ListeningErrors(
        envelope=envelope_error(pred, gt),
        level=ratio_db(p.total, gt_m.total),
        late=ratio_db(energy_after(pred, late_start), energy_after(gt, late_start)),
        drr=np.abs(p.drr - gt_m.drr),
        c50=np.abs(p.c50 - gt_m.c50).mean(-1),
        edt=metrics.relative_error(p.edt, gt_m.edt).mean(-1),
        t60=metrics.relative_error(p.t60, gt_m.t60).mean(-1),
        itd=np.where(los, np.abs(p.itd - gt_m.itd), np.nan),
        itd_direct=np.where(los, np.abs(p.itd - reference), np.nan),
        ild=np.abs(p.ild - gt_m.ild),
        t60_bands=metrics.relative_error(p.band_t60, gt_m.band_t60).mean(1),
    )
