"""How each row's predictions are made (`pipeline.Source`): the field, interpolation of training IRs (the
paper's rules and naf's, raw or through a codec), stored simulations (the floor's, the off-grid second run)
and the simulator's own magnitudes played through a phase method."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from naf_model.data.extra import TrainingPairs
from naf_model.evaluation import baselines, codecs
from naf_model.evaluation.pipeline import Prediction, QuerySet
from naf_model.evaluation.rows import RowId
from naf_model.spectrogram import log_magnitude

Weights = Callable[[np.ndarray, np.ndarray], baselines.InterpolationWeights]
RULES: dict[str, tuple[Callable[[np.ndarray, np.ndarray], np.ndarray], Weights, Weights]] = {
    "paper": (baselines.paper_points, baselines.paper_nearest_weights, baselines.paper_linear_weights),
    "naf": (baselines.pair_points, baselines.nearest_weights, baselines.linear_weights),
}
"""Rule set -> (query space of a pair, nearest weights, linear weights)."""


class FieldSource:
    """The field's log-magnitudes of every item; played through `phase` (`field.listening.synthesize`, what
    `NeuralAcousticField.impulse_responses` plays). `query_s` sums the time spent in the network."""

    def __init__(self, fld, queries: QuerySet, phase: str) -> None:
        self.field, self.queries, self.phase, self.query_s = fld, queries, phase, 0.0

    def predict(self, part: slice) -> Prediction:
        from naf_model.field.listening import synthesize

        ie, il, ih = self.queries.positions(part)
        t0 = time.perf_counter()
        log = np.asarray(self.field.query_batch(ie, il, ih), np.float32)
        self.query_s += time.perf_counter() - t0
        fld = self.field

        def play() -> np.ndarray:
            return synthesize(self.phase, log, ie, il, ih, fld.ir_length, fld.head_radius, fld.scene.free_space)

        return Prediction(self.queries.items(part), log, None, play)


@dataclass
class Interpolation:
    """Nearest and linear weights of one rule set at the pairs of one query set, the training rows they use
    (U,) and those rows' raw IRs (U, 4, 2, N) float16: computed once, blended for every version and table."""

    queries: QuerySet
    weights: dict[RowId, baselines.InterpolationWeights]
    used: np.ndarray
    raw: np.ndarray
    n_frames: int
    versions: dict[str, np.ndarray] = field(default_factory=dict)
    """Training IRs (U, 4, 2, N) per representation ("raw float32" and each codec's name)."""

    def source(self, method: RowId, representation: str = "raw float32") -> BlendSource:
        """The blends of one method and one version of the training IRs."""
        irs = self.raw if representation == "raw float32" else self.versions[representation]
        return BlendSource(self, self.weights[method], irs)


def interpolate(pool: TrainingPairs, queries: QuerySet, rules: str, n_frames: int) -> Interpolation:
    """The `rules` ("paper" or "naf") interpolation of the pool's training pairs at the query set's pairs."""
    points, nearest, linear = RULES[rules]
    train, query = points(*pool.positions()), points(queries.emitters, queries.listeners)
    weights = {RowId.NEAREST: nearest(train, query), RowId.LINEAR: linear(train, query)}
    used = np.union1d(*(w.used() for w in weights.values()))
    return Interpolation(queries, weights, used, pool.read_ir(used), n_frames)


class BlendSource:
    """Weighted sums of one version of the training IRs (`baselines.blend`), played as they are."""

    def __init__(self, interp: Interpolation, w: baselines.InterpolationWeights, irs: np.ndarray) -> None:
        self.interp, self.w, self.irs = interp, w, irs

    def predict(self, part: slice) -> Prediction:
        w = self.w
        sub = baselines.InterpolationWeights(w.indices[part], w.weights[part], w.fallback[part])
        wave = baselines.blend(self.irs, sub, self.interp.used)
        wave = wave.reshape((-1,) + wave.shape[2:])
        return Prediction(self.interp.queries.items(part), log_magnitude(wave, self.interp.n_frames), wave)


class StoredSource:
    """Simulated IRs (K, 4, 2, N) of some pairs of the query set (their positions (K,), sorted)."""

    def __init__(self, queries: QuerySet, irs: np.ndarray, positions: np.ndarray, n_frames: int) -> None:
        self.queries, self.irs, self.positions, self.n_frames = queries, irs, np.asarray(positions), n_frames

    def predict(self, part: slice) -> Prediction | None:
        mine = np.flatnonzero((self.positions >= part.start) & (self.positions < part.stop))
        if not len(mine):
            return None
        wave = self.irs[mine].astype(np.float32)
        wave = wave.reshape((-1,) + wave.shape[2:])
        return Prediction(self.queries.items(self.positions[mine]), log_magnitude(wave, self.n_frames), wave)


class SimulatedMagnitudes:
    """The simulator's own magnitudes (of the query set's ground truth) played through `phase`: what the phase
    method costs even with perfect magnitudes."""

    def __init__(self, queries: QuerySet, phase: str, n_frames: int, head_radius: float, free_space) -> None:
        self.queries, self.phase, self.n_frames = queries, phase, n_frames
        self.head_radius, self.free_space = head_radius, free_space

    def predict(self, part: slice) -> Prediction:
        from naf_model.field.listening import synthesize

        items = self.queries.items(part)
        gt = np.asarray(self.queries.gt_wave[items], np.float32)
        ie, il, ih = self.queries.positions(part)

        def play() -> np.ndarray:
            log = log_magnitude(gt, self.n_frames)
            return synthesize(self.phase, log, ie, il, ih, gt.shape[-1], self.head_radius, self.free_space,
                              log_mean=False)  # fmt: skip

        return Prediction(items, None, None, play)


def add_codec_versions(interp: Interpolation, rules: str, chosen: list[codecs.Codec], n_train: int,
                       timing: dict[str, float]) -> dict[str, tuple[str | None, float, str, list[str]]]:  # fmt: skip
    """Round-trip the used training IRs through each codec (the paper's per-file stereo rule or naf's
    per-channel streams) into `interp.versions`; per version name: (codec tool or None for the raw IRs,
    storage bytes, formula, notes)."""
    raw, used = interp.raw, interp.used
    n_orient, n = raw.shape[1], raw.shape[-1]
    interp.versions["raw float32"] = raw
    out = {"raw float32": (None, n_train * n_orient * 2 * n * 4,
                           f"{n_train} training pairs x {n_orient} orientations x 2 ears x {n} samples x 4 B", [])}
    for codec in chosen:
        t0 = time.perf_counter()
        if rules == "paper":
            rt = codecs.paper_round_trip(raw.reshape(-1, 2, n), codec)
            formula = (
                f"summed size of the {len(used) * n_orient:,} encoded stereo files ({rt.storage_bytes:,} B) of "
                f"the {len(used)} training pairs the baselines use, scaled x {n_train}/{len(used)} to all "
                "training pairs"
            )
            notes = [f"decoded files are {rt.decoded_length} samples (cut to {n}); measured lag of the decoded "
                     f"files {rt.delay_samples} samples at 22,050 Hz, left in place as in the paper"]  # fmt: skip
        else:
            rt = codecs.round_trip(raw.reshape(-1, n), codec)
            formula = (
                f"(bitstream {rt.bitstream_bytes:,} B + gains 4 B x {rt.n_signals:,} channels) of the "
                f"{len(used)} training pairs the baselines use, scaled x {n_train}/{len(used)} to all "
                f"training pairs; {rt.n_signals:,} mono streams of {n} samples + {codecs.GUARD_SAMPLES} "
                f"silent guard samples each"
            )
            notes = [f"measured codec delay {rt.delay_samples} samples at 22,050 Hz, trimmed"]
        timing[f"{rules}_{codec.tool}_round_trip_s"] = time.perf_counter() - t0
        interp.versions[codec.name] = rt.decoded.reshape(raw.shape)
        out[codec.name] = (codec.tool, rt.storage_bytes * n_train / len(used), formula, notes)
    return out


def field_storage(fld) -> tuple[int, str]:
    """Bytes of the field as shipped (weights, config, stats), and how they were counted: the checkpoint
    file's size, or, for a training checkpoint, the size of its export (written from the loaded checkpoint,
    the file is not read again)."""
    size = Path(fld.path).stat().st_size
    if fld.checkpoint.training is None:
        return size, f"checkpoint file size ({size:,} B)"
    from naf_model.checkpoint import save_checkpoint

    weights = {k: v.detach().clone().contiguous() for k, v in fld.checkpoint.weights.items()}
    with tempfile.TemporaryDirectory(prefix="naf-eval-") as tmp:
        shipped = save_checkpoint(replace(fld.checkpoint, training=None, weights=weights), Path(tmp) / "field.pt")
        n = shipped.stat().st_size
    return n, f"size of the exported checkpoint without optimizer state ({n:,} B; file {size:,} B)"
