"""The rows of `naf eval`: how each method's prediction is made and scored, under the paper's rules or naf's.

A `Scorer` holds the ground truth of the evaluated items (one item per pair and orientation, pair-major)
and the route from a prediction to acoustic parameters:
- `paper_field_scorer`: log-magnitudes of prediction and ground truth both inverted with the paper's random
  phase (`metrics.paper_waveforms_from_log`), any T60 failure of an item -> 100 %;
- `paper_waveform_scorer`: a method that yields waveforms (interpolation, codecs, the floor) measured on
  its waveform against the simulated waveform, any T60 failure -> 100 %;
- `naf_scorer`: naf's earlier rule, every row through a shared random phase (seed of the run) from its
  log-magnitudes, each failed ear 100 %.
Spectral error is always mean |log-magnitude - ground truth| against the data set's spectrograms.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from naf_model.evaluation import metrics

Chunk = tuple[np.ndarray, np.ndarray, np.ndarray | None]
"""(item indices (b,), log-magnitudes (b, 2, 256, T), waveforms (b, 2, N) or None)."""


@dataclass
class Scorer:
    """Scores prediction chunks of one row against the shared ground truth of every item.

    gt_log (I, 2, 256, T); gt_params measured once by the route; `to_params(log, wave)` measures a
    prediction; `any_fail` selects the paper's T60 failure rule; `progress(n)` after each chunk.
    """

    gt_log: np.ndarray
    gt_params: metrics.AcousticParameters
    to_params: Callable[[np.ndarray, np.ndarray | None], metrics.AcousticParameters]
    any_fail: bool
    progress: Callable[[int], None] | None = None

    def score(self, chunks: Iterator[Chunk]) -> metrics.ItemErrors:
        """Errors of every chunk's items, returned in item order."""
        parts, order = [], []
        for items, pred_log, pred_wave in chunks:
            spectral = metrics.spectral_error(pred_log, self.gt_log[items].astype(np.float32))
            params = self.to_params(pred_log, pred_wave)
            parts.append(
                metrics.errors_from_parameters(spectral, params, self.gt_params.take(items), self.any_fail)
            )
            order.append(items)
            if self.progress is not None:
                self.progress(len(items))
        joined = metrics.ItemErrors.concatenate(parts)
        return joined.take(np.argsort(np.concatenate(order)))


def paper_field_scorer(gt_log: np.ndarray, progress=None) -> Scorer:
    """The paper's NAF route (`compute_T60_err_NAF.py`): both sides through the seed-1234 random phase."""

    def route(log: np.ndarray, wave: np.ndarray | None) -> metrics.AcousticParameters:
        return metrics.waveform_parameters(metrics.paper_waveforms_from_log(log))

    return Scorer(gt_log, route(gt_log, None), route, True, progress)


def paper_waveform_scorer(gt_log: np.ndarray, gt_wave: np.ndarray, progress=None) -> Scorer:
    """The paper's baseline route (`compute_T60_err_baseline.py`): waveforms against the simulated
    waveform (clipped to [-1, 1] as the paper's `load_audio` does)."""

    def route(log: np.ndarray, wave: np.ndarray | None) -> metrics.AcousticParameters:
        assert wave is not None, "the waveform route needs the method's waveforms"
        return metrics.waveform_parameters(wave)

    gt = metrics.waveform_parameters(np.clip(np.asarray(gt_wave, np.float64), -1.0, 1.0))
    return Scorer(gt_log, gt, route, True, progress)


def naf_scorer(gt_log: np.ndarray, n_samples: int, seed: int, progress=None) -> Scorer:
    """naf's earlier rule: log-magnitudes through one shared random phase (seed of the run), per-ear failures."""

    def route(log: np.ndarray, wave: np.ndarray | None) -> metrics.AcousticParameters:
        return metrics.acoustic_parameters(log, n_samples, seed)

    return Scorer(gt_log, route(gt_log, None), route, False, progress)


PAPER_FIELD_RULE = (
    "paper rule (compute_T60_err_NAF.py): prediction and ground-truth log-magnitudes both inverted with "
    "the paper's random phase (np.random.seed(1234), 257 x T, clipped to [-1, 1]); an item counts 100 % "
    "if any of its four T60 measurements (2 ears x prediction, ground truth) fails"
)
PAPER_BASELINE_RULE = {
    "Nearest neighbour": "scipy NearestNDInterpolator of the training waveforms over (listener, emitter)",
    "Linear interpolation": "scipy LinearNDInterpolator(fill_value=0) of the training waveforms over "
    "(listener, emitter): silence outside the hull, which fails T60",
}
PAPER_MEASURE_RULE = (
    "T60/C50/EDT measured on the method's waveform against the simulated waveform; any T60 failure of an "
    "item -> 100 % (compute_T60_err_baseline.py)"
)
PAPER_CODEC_RULE = {
    None: "uncompressed training IRs (the paper's table has no uncompressed rows)",
    "aac": "each stereo training IR file encoded alone, `ffmpeg -i IN.wav -c:a aac -b:a 24k OUT.m4a`, "
    "decoded with `ffmpeg -i OUT.m4a -c:a pcm_f32le -ar 22050 DEC.wav` (baselines/make_data_aac.py)",
    "opus": "each stereo training IR file encoded alone, `opusenc IN.wav OUT.opus --bitrate 6 --music --comp "
    "10 --discard-comments --discard-pictures --cvbr`, decoded with `opusdec OUT.opus DEC.wav --rate 22050 "
    "--float` (baselines/make_data_opus.py)",
}
NAF_FIELD_RULE = (
    "naf's earlier rule: prediction and ground truth inverted with one shared random phase (seed of the "
    "run), each failed ear 100 %, item = mean of its ears"
)
NAF_BASELINE_RULE = {
    "Nearest neighbour": "nearest training pair in (emitter, listener) space",
    "Linear interpolation": "barycentric weights of a Delaunay triangulation in the span of the training "
    "points, the nearest pair outside the hull",
}
NAF_CODEC_RULE = {
    None: "uncompressed training IRs",
    "aac": "every IR channel a mono stream at 32 kbit/s (ffmpeg AAC-LC), peak-scaled, delay trimmed",
    "opus": "every IR channel a mono stream at 6 kbit/s (opusenc at 48 kHz via soxr), peak-scaled, delay "
    "trimmed",
}
NAF_MEASURE_RULE = "measured like the field row (its log-magnitudes through the shared random phase)"
FLOOR_PAPER_RULE = (
    "re-simulations of the same pairs with other ray-tracer seeds, measured like a baseline (waveform "
    "against waveform, any T60 failure -> 100 %); mean over the seeds, their range in the floor table"
)
FLOOR_NAF_RULE = "the same re-simulations measured by naf's earlier rule; mean over the seeds"
