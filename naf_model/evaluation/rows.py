"""The rows of `naf eval`: their identifiers and display names (here only), the rule each follows, and the
scorers that measure a prediction (`pipeline.Prediction`) against the ground truth of the same items: the
paper's NAF route, the paper's waveform route, naf's earlier rule (also the off-grid table's), and the
listening metrics of the played waveform. Spectral error is always mean |log-magnitude - ground truth|."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

import numpy as np

from naf_model.acoustics import interaural
from naf_model.evaluation import listening, metrics
from naf_model.field.listening import line_of_sight

if TYPE_CHECKING:
    from naf_model.evaluation.pipeline import Prediction, QuerySet
    from naf_model.simulate import SimulationConfig


class RowId(StrEnum):
    """What a row predicts with; its display name is `LABELS` (main tables) or `played_label`."""

    FIELD = "field"
    NEAREST = "nearest"
    LINEAR = "linear"
    FLOOR = "floor"
    SECOND_SIM = "second_sim"
    SIM_MAGNITUDES = "sim_magnitudes"


LABELS = {
    RowId.FIELD: "NAF (field)",
    RowId.NEAREST: "Nearest neighbour",
    RowId.LINEAR: "Linear interpolation",
    RowId.FLOOR: "Simulation floor",
    RowId.SECOND_SIM: "Second simulation, other seed",
    RowId.SIM_MAGNITUDES: "Simulated magnitudes",
}
"""Display names of the rows: the main tables' Method column (beside a Representation column)."""
INTERPOLATIONS = (RowId.NEAREST, RowId.LINEAR)


def played_label(row: RowId, phase: str | None = None, n_pairs: int | None = None) -> str:
    """A row's name in the off-grid and listening tables: interpolations say they blend raw IRs, synthesised
    rows name their `phase` method, a second simulation of part of the pairs (`n_pairs`) says how many."""
    name = LABELS[row]
    if row in INTERPOLATIONS:
        return f"{name}, raw IRs"
    if phase is not None and row in (RowId.FIELD, RowId.SIM_MAGNITUDES):
        return f"{name}, {phase} phase"
    return name if n_pairs is None else f"{name} ({n_pairs} pairs)"


ToParams = Callable[[np.ndarray, "np.ndarray | None", "np.ndarray | None"], metrics.AcousticParameters]
"""to_params(early log-magnitudes, late ln band powers or None, waveforms or None) -> measured parameters."""


@dataclass
class Scorer:
    """Scores predictions against the ground truth of every item: gt_log (I, 2, 256, T) (the early part's, or
    the whole IR's for data made before the late part), gt_params measured once by the route
    `to_params(log, late, wave)`; `any_fail` selects the paper's T60 failure rule."""

    gt_log: np.ndarray
    gt_params: metrics.AcousticParameters
    to_params: ToParams
    any_fail: bool

    def score(self, pred: Prediction) -> metrics.ItemErrors:
        """Errors of the prediction's items, in its item order."""
        spectral = metrics.spectral_error(pred.log, self.gt_log[pred.items].astype(np.float32))
        params = self.to_params(pred.log, pred.late, pred.wave)
        return metrics.errors_from_parameters(spectral, params, self.gt_params.take(pred.items), self.any_fail)


def paper_field_scorer(queries: QuerySet) -> Scorer:
    """The paper's NAF route (`compute_T60_err_NAF.py`): both sides through the seed-1234 random phase (and,
    for IRs with a late part, its band noise of one fixed seed: `metrics.paper_whole_waveforms`)."""
    split = queries.ir_split

    def to_params(log: np.ndarray, late: np.ndarray | None, _: np.ndarray | None) -> metrics.AcousticParameters:
        return metrics.waveform_parameters(metrics.paper_whole_waveforms(log, late, split))

    return Scorer(queries.gt_log, to_params(queries.gt_log, queries.gt_late, None), to_params, True)


def paper_waveform_scorer(queries: QuerySet) -> Scorer:
    """The paper's baseline route (`compute_T60_err_baseline.py`): the method's waveforms against the simulated
    waveform (clipped to [-1, 1] as the paper's `load_audio` does)."""
    gt = metrics.waveform_parameters(np.clip(np.asarray(queries.gt_wave, np.float64), -1.0, 1.0))
    return Scorer(queries.gt_log, gt, lambda _, __, wave: metrics.waveform_parameters(wave), True)


def naf_scorer(queries: QuerySet, seed: int) -> Scorer:
    """naf's earlier rule: log-magnitudes through one shared random phase (seed of the run), joined to the late
    part's band noise where the IRs have one, per-ear failures."""
    split = queries.ir_split

    def to_params(log: np.ndarray, late: np.ndarray | None, _: np.ndarray | None) -> metrics.AcousticParameters:
        return metrics.acoustic_parameters(log, split.ir_length, seed, late=late, split=split)

    return Scorer(queries.gt_log, to_params(queries.gt_log, queries.gt_late, None), to_params, False)


class ListeningScorer:
    """Listening errors of played waveforms against the query set's simulated ones; line of sight from
    `free_space`; the direct arrival's ITD through the ears of the data set's `simulation` settings (None:
    no such reference)."""

    def __init__(self, queries: QuerySet, free_space, simulation: SimulationConfig | None) -> None:
        self.gt_wave = queries.gt_wave
        ie, il, ih = queries.positions(slice(None))
        self.los = line_of_sight(free_space, ie, il)
        self.direct_itd = None
        if simulation is not None:
            self.direct_itd = np.full(len(ie), np.nan)
            self.direct_itd[self.los] = interaural.direct_sound_itd(ie[self.los], il[self.los], ih[self.los],
                                                                    simulation)  # fmt: skip
        self._measured: tuple[bytes, listening.Measured] | None = None

    def score(self, pred: Prediction) -> listening.ListeningErrors:
        """Errors of the prediction's played waveforms; the ground truth of a chunk is measured once."""
        items = pred.items
        gt = np.asarray(self.gt_wave[items], np.float32)
        if self._measured is None or self._measured[0] != items.tobytes():
            self._measured = (items.tobytes(), listening.measure(gt))
        ref = None if self.direct_itd is None else self.direct_itd[items]
        return listening.listening_errors(pred.play(), gt, self.los[items], self._measured[1], ref)


FIELD_RULE = {
    "paper": "paper rule (compute_T60_err_NAF.py): prediction and ground-truth log-magnitudes both inverted with "
    "the paper's random phase (np.random.seed(1234), 257 x T, clipped to [-1, 1]); an item counts 100 % "
    "if any of its four T60 measurements (2 ears x prediction, ground truth) fails",
    "naf": "naf's earlier rule: prediction and ground truth inverted with one shared random phase (seed of the "
    "run), each failed ear 100 %, item = mean of its ears",
}
PAPER_BASELINE_RULE = {
    RowId.NEAREST: "scipy NearestNDInterpolator of the training waveforms over (listener, emitter)",
    RowId.LINEAR: "scipy LinearNDInterpolator(fill_value=0) of the training waveforms over "
    "(listener, emitter): silence outside the hull, which fails T60",
}
PAPER_MEASURE_RULE = ("T60/C50/EDT measured on the method's waveform against the simulated waveform; any T60 "
                      "failure of an item -> 100 % (compute_T60_err_baseline.py)")  # fmt: skip
PAPER_CODEC_RULE = {
    None: "uncompressed training IRs (the paper's table has no uncompressed rows)",
    "aac": "each stereo training IR file encoded alone, `ffmpeg -i IN.wav -c:a aac -b:a 24k OUT.m4a`, "
    "decoded with `ffmpeg -i OUT.m4a -c:a pcm_f32le -ar 22050 DEC.wav` (baselines/make_data_aac.py)",
    "opus": "each stereo training IR file encoded alone, `opusenc IN.wav OUT.opus --bitrate 6 --music --comp "
    "10 --discard-comments --discard-pictures --cvbr`, decoded with `opusdec OUT.opus DEC.wav --rate 22050 "
    "--float` (baselines/make_data_opus.py)",
}
NAF_BASELINE_RULE = {
    RowId.NEAREST: "nearest training pair in (emitter, listener) space",
    RowId.LINEAR: "barycentric weights of a Delaunay triangulation in the span of the training points, the "
    "nearest pair outside the hull",
}
NAF_CODEC_RULE = {
    None: "uncompressed training IRs",
    "aac": "every IR channel a mono stream at 32 kbit/s (ffmpeg AAC-LC), peak-scaled, delay trimmed",
    "opus": "every IR channel a mono stream at 6 kbit/s (opusenc at 48 kHz via soxr), peak-scaled, delay trimmed",
}
NAF_MEASURE_RULE = "measured like the field row (its log-magnitudes through the shared random phase)"
FLOOR_RULE = {
    "paper": "re-simulations of the same pairs with other ray-tracer seeds, measured like a baseline (waveform "
    "against waveform, any T60 failure -> 100 %); mean over the seeds, their range in the floor table",
    "naf": "the same re-simulations measured by naf's earlier rule; mean over the seeds",
}


def baseline_rule(rules: str, method: RowId, tool: str | None) -> str:
    """The rule sentence of an interpolation row under `rules` ("paper" or "naf"), on raw IRs (tool None) or
    through the codec tool "aac" / "opus"."""
    if rules == "paper":
        return f"paper rule: {PAPER_BASELINE_RULE[method]}; {PAPER_CODEC_RULE[tool]}; {PAPER_MEASURE_RULE}"
    return "naf's earlier rule: " + "; ".join((NAF_BASELINE_RULE[method], NAF_CODEC_RULE[tool], NAF_MEASURE_RULE))
