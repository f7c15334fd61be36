"""The paper's metrics plus two room-acoustic parameters, computed the same way for every row of the table.

Spectral error compares de-normalised log-magnitudes directly. T60, C50 and EDT are measured on waveforms
that both prediction and ground truth get by the same route: magnitude x exp(i * random phase) (one fixed
seed, one phase shared by every IR) inverted with `naf_model.spectrogram.istft`. So a row's acoustic errors
come only from its magnitudes, never from how its phase was made.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from naf_model.acoustics.decay import c50, edt, rt60
from naf_model.audio.whole import LATE_LOG_CORRECTION, join_late
from naf_model.conventions import HOP, LOG_EPS, N_FREQ
from naf_model.spectrogram import istft, magnitude_from_log, random_phase
from naf_model.split import IrSplit

PAPER_PHASE_SEED = 1234
"""The paper's `to_wave`: `np.random.seed(1234)` before drawing the phase of every spectrogram."""
PAPER_MAX_MAGNITUDE = 10_000.0
"""The paper clips exp(value) - 1e-3 into [0, 10,000] before inverting."""
CHUNK_ITEMS = 64
"""Items measured at once, here and in every table's pipeline (`pipeline.QuerySet.chunks`): bounds memory at
~CHUNK_ITEMS x 2 ears x (257 x T complex + N) values."""


def waveforms_from_log(logmag: np.ndarray, n_samples: int, phase: np.ndarray) -> np.ndarray:
    """Invert log-magnitudes (..., N_FREQ, T) with `phase` (N_FREQ, T): waveforms (..., n_samples) float64."""
    return istft(magnitude_from_log(logmag) * np.exp(1j * phase), n_samples)


def paper_phase(n_frames: int) -> np.ndarray:
    """The paper's random phase for a (257, n_frames) spectrogram: legacy `np.random.seed(1234)` then
    `uniform(-pi, pi, (257, T))`, drawn from the same generator state, so the very same numbers."""
    return np.random.RandomState(PAPER_PHASE_SEED).uniform(-np.pi, np.pi, (N_FREQ + 1, n_frames))


def paper_waveforms_from_log(logmag: np.ndarray) -> np.ndarray:
    """The paper's `to_wave` without Griffin-Lim: log-magnitudes (..., N_FREQ, T) -> waveforms (..., HOP*(T-1)).

    |X| = clip(exp(value) - 1e-3, 0, 1e4), a zero Nyquist bin appended, phase `paper_phase`, inverse STFT
    (Hann 512 / hop 128, centred, no `length`: librosa's default length HOP * (T - 1)), clipped to [-1, 1].
    """
    logmag = np.asarray(logmag, np.float64)
    t = logmag.shape[-1]
    mag = np.clip(np.exp(logmag) - LOG_EPS, 0.0, PAPER_MAX_MAGNITUDE)
    mag = np.concatenate([mag, np.zeros(mag.shape[:-2] + (1, t))], axis=-2)
    return np.clip(istft(mag * np.exp(1j * paper_phase(t)), HOP * (t - 1)), -1.0, 1.0)


FIELD_LATE_OFFSET = LATE_LOG_CORRECTION - np.float32(np.euler_gamma)
"""ln band power added to a field's late part before a random-phase route joins it to the field's early part.
Those routes invert a field's E[ln |X|] as is, gamma (2.5 dB) of energy below a realisation of the same
spectrum, while its late part E[ln P] lies only LATE_LOG_CORRECTION below (0.04-1.08 dB): joined as predicted,
the late part stood 1.4-2.5 dB too loud against the early part, and the early decay read long (held-out
apartment_1, 60 pairs x 4 headings, a field of 0.93 s IRs, naf's rule: EDT error 25.3 % as joined, 11.0 %
with this offset; C50 1.78 -> 1.15 dB). At the early
part's bias the whole IR is uniformly low, as a whole-IR spectrogram was in the paper."""


def field_late_for_random_phase(late: np.ndarray | None) -> np.ndarray | None:
    """A field's late ln band powers (B, 2, 7, T) as the random-phase routes join them (FIELD_LATE_OFFSET);
    None stays None. Simulated late parts are realisations and are joined as they are."""
    return None if late is None else np.asarray(late, np.float32) + FIELD_LATE_OFFSET[:, None]


def paper_whole_waveforms(logmag: np.ndarray, late: np.ndarray | None, split: IrSplit | None) -> np.ndarray:
    """The paper's route (`paper_waveforms_from_log`) for a whole IR: its early part inverted as the paper
    inverts a spectrogram, then joined to the late part's band noise (`audio.whole.join_late`, fixed seed, the
    same for prediction and ground truth), clipped to [-1, 1]. Without a late part: the paper's route alone."""
    early = paper_waveforms_from_log(logmag)
    if late is None:
        return early
    return np.clip(join_late(early, late, split), -1.0, 1.0)


def spectral_error(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Mean |pred - gt| of log-magnitudes (B, 2, N_FREQ, T) -> (B,), in natural-log units (the paper's)."""
    diff = np.abs(np.asarray(pred, np.float32) - np.asarray(gt, np.float32))
    return diff.reshape(diff.shape[0], -1).mean(axis=1, dtype=np.float64)


@dataclass(frozen=True)
class AcousticParameters:
    """Per item and ear, measured on random-phase waveforms: t60, edt (s, NaN = failed), c50 (dB); (B, 2)."""

    t60: np.ndarray
    c50: np.ndarray
    edt: np.ndarray

    def take(self, rows: np.ndarray) -> AcousticParameters:
        """The parameters of a subset of items."""
        return AcousticParameters(self.t60[rows], self.c50[rows], self.edt[rows])


def waveform_parameters(wave: np.ndarray) -> AcousticParameters:
    """T60, C50 and EDT of waveforms (B, 2, N) as they are (no spectrogram round trip)."""
    wave = np.asarray(wave, np.float64)
    return _measured(wave[s : s + CHUNK_ITEMS] for s in range(0, len(wave), CHUNK_ITEMS))


def acoustic_parameters(
    logmag: np.ndarray, n_samples: int, seed: int = 0, progress: Callable[[int], None] | None = None,
    late: np.ndarray | None = None, split: IrSplit | None = None,
) -> AcousticParameters:
    """T60, C50 and EDT of log-magnitudes (B, 2, N_FREQ, T) inverted by the shared random phase; with a late
    part (ln band powers (B, 2, 7, T_late) and the `split`), the inverted early part joined to it
    (`audio.whole.join_late`, one fixed seed), so the measures cover the whole IR.

    `progress(n)` is called after each chunk with the number of items it held.
    """
    logmag = np.asarray(logmag)
    phase = random_phase(logmag.shape[-1], seed)

    def waves() -> Iterator[np.ndarray]:
        for start in range(0, logmag.shape[0], CHUNK_ITEMS):
            part = slice(start, start + CHUNK_ITEMS)
            if late is None:
                wave = waveforms_from_log(logmag[part], n_samples, phase)
            else:
                wave = join_late(waveforms_from_log(logmag[part], split.early_samples, phase), late[part], split)
            yield wave
            if progress is not None:
                progress(len(wave))

    return _measured(waves())


def _measured(chunks: Iterable[np.ndarray]) -> AcousticParameters:
    """T60, C50 and EDT of consecutive chunks of waveforms (b, 2, N), joined ((0, 2) each for none)."""
    parts = [(rt60(w), c50(w), edt(w)) for w in chunks]
    if not parts:
        empty = np.zeros((0, 2))
        return AcousticParameters(empty, empty, empty)
    return AcousticParameters(*(np.concatenate(p, axis=0) for p in zip(*parts, strict=True)))


def relative_error(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """|pred - gt| / gt, with 1.0 (100%) wherever either value is NaN (a failed measurement)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        err = np.abs(pred - gt) / gt
    return np.where(np.isfinite(err), err, 1.0)


@dataclass(frozen=True)
class ItemErrors:
    """Errors per item (B,), mean of the two ears: spectral (ln units), t60 and edt (fractions), c50 (dB).

    `t60_failures` counts, per item, the ears whose T60 could not be measured in prediction or ground truth.
    """

    spectral: np.ndarray
    t60: np.ndarray
    c50: np.ndarray
    edt: np.ndarray
    t60_failures: np.ndarray

    @staticmethod
    def concatenate(parts: list[ItemErrors]) -> ItemErrors:
        """Errors of consecutive chunks of items joined into one."""
        return ItemErrors(*(np.concatenate([getattr(p, f) for p in parts]) for f in ItemErrors.__dataclass_fields__))

    @staticmethod
    def mean(parts: list[ItemErrors]) -> ItemErrors:
        """Per item, the mean of several rows' errors of the same items (e.g. a simulation's seeds)."""
        return ItemErrors(*(np.mean([getattr(p, f) for p in parts], axis=0) for f in ItemErrors.__dataclass_fields__))

    def take(self, rows: np.ndarray) -> ItemErrors:
        """The errors of a subset of items."""
        return ItemErrors(*(getattr(self, f)[rows] for f in self.__dataclass_fields__))

    def summary(self) -> dict[str, float]:
        """Means over items: spectral error, T60 (%), C50 (dB) and EDT (%) errors, T60 failure rate (%)."""
        n_ears = 2
        return {
            "spectral": float(np.mean(self.spectral)),
            "t60_pct": 100 * float(np.mean(self.t60)),
            "c50_db": float(np.mean(self.c50)),
            "edt_pct": 100 * float(np.mean(self.edt)),
            "t60_fail_pct": 100 * float(np.mean(self.t60_failures)) / n_ears,
        }


def item_errors(
    pred_log: np.ndarray, gt_log: np.ndarray, gt_params: AcousticParameters, n_samples: int, seed: int = 0,
    progress: Callable[[int], None] | None = None, late: np.ndarray | None = None, split: IrSplit | None = None,
) -> ItemErrors:  # fmt: skip
    """Errors of predicted log-magnitudes (B, 2, N_FREQ, T) (and late ln band powers, as `acoustic_parameters`)
    against the ground truth and its parameters."""
    pred_params = acoustic_parameters(pred_log, n_samples, seed, progress, late=late, split=split)
    return errors_from_parameters(spectral_error(pred_log, gt_log), pred_params, gt_params, any_fail=False)


def errors_from_parameters(
    spectral: np.ndarray, pred: AcousticParameters, gt: AcousticParameters, any_fail: bool
) -> ItemErrors:
    """Per-item errors (B,) from measured parameters (B, 2).

    T60 failures: with `any_fail` (the paper's rule, `compute_T60_err_*.py`) an item whose T60 failed in
    any of its four measurements (two ears, prediction and ground truth) counts 100 %; without it each
    failed ear counts 100 % and the item is the mean of its ears (naf's earlier rule).
    """
    failed = np.isnan(pred.t60) | np.isnan(gt.t60)
    t60 = relative_error(pred.t60, gt.t60).mean(axis=1)
    if any_fail:
        t60 = np.where(failed.any(axis=1), 1.0, t60)
    c50, edt = np.abs(pred.c50 - gt.c50).mean(axis=1), relative_error(pred.edt, gt.edt).mean(axis=1)
    return ItemErrors(np.asarray(spectral, np.float64), t60, c50, edt, failed.sum(axis=1))
