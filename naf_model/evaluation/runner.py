"""`evaluate`: score a field, the interpolation baselines and the simulation floor on held-out pairs.

Every row turns its prediction into log-magnitudes (B, 2, 256, T) and goes through the same metric path
(`metrics.item_errors`) against the data set's spectrograms, one item per (pair, orientation). Baselines
interpolate training waveforms and take `log_magnitude` of the result. The ground truth's acoustic
parameters are measured once and shared by all rows.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from tqdm import tqdm

from naf_model.conventions import SAMPLE_RATE
from naf_model.data import DataSet
from naf_model.errors import CheckpointError, DataError
from naf_model.evaluation import (
    DEFAULT_FLOOR_PAIRS,
    DEFAULT_MAX_PAIRS,
    RESULTS_DIR,
    baselines,
    codecs,
    floor,
    metrics,
    played,
)
from naf_model.evaluation.report import EvaluationReport, ResultRow, write_report
from naf_model.paths import default_checkpoint, default_dataset_path
from naf_model.spectrogram import log_magnitude

if TYPE_CHECKING:
    from naf_model.scene import Scene

CHUNK_PAIRS = 16
"""Pairs predicted and scored at once (x 4 orientations): bounds memory whatever --max-pairs is."""
MB = 1e6


@dataclass(frozen=True)
class EvalConfig:
    """What `naf eval` scores.

    scene: bundled scene name or scene file; data: data set (default `data/<scene>.h5`); checkpoint: the
    field (default `paths.default_checkpoint`: the bundled one, else the newest best.pt of the scene's runs; no
    field row if there is none); max_pairs: held-out pairs scored (a
    seeded subset when the data set has more); floor_pairs: pairs simulated twice for the floor row (0:
    no floor); use_codecs: AAC/Opus rows; seed: subset choice and random phase; out_dir: where the
    markdown and JSON go (None: not written).
    """

    scene: str
    data: Path | None = None
    checkpoint: Path | None = None
    max_pairs: int = DEFAULT_MAX_PAIRS
    floor_pairs: int = DEFAULT_FLOOR_PAIRS
    use_codecs: bool = True
    seed: int = 0
    out_dir: Path | None = RESULTS_DIR
    device: str = "auto"
    progress: bool = True
    offgrid: int = 0
    listening: bool | None = None
    """Listening metrics of the played waveforms; None: on when `offgrid` is set."""
    phase: str = "listening"
    """Phase method of the played rows (`naf_model.field.PHASE_METHODS`)."""


def evaluate(config: EvalConfig, scene: Scene | None = None) -> EvaluationReport:
    """Score every row on the held-out pairs, write the report; `scene` overrides loading `config.scene`."""
    t_start = time.perf_counter()
    if scene is None:
        from naf_model.scene import load_scene

        scene = load_scene(config.scene)
    data_path = Path(config.data) if config.data is not None else default_dataset_path(scene.name)
    with DataSet(data_path) as ds:
        report = _evaluate(config, scene, ds, t_start)
    if config.out_dir is not None:
        write_report(report, Path(config.out_dir))
    return report


class _Scorer:
    """Scores prediction chunks of one row against the shared ground truth, with one progress bar."""

    def __init__(self, gt: np.ndarray, n_samples: int, seed: int, bar: tqdm) -> None:
        self.gt, self.n_samples, self.seed, self.bar = gt, n_samples, seed, bar
        self.gt_params = metrics.acoustic_parameters(gt, n_samples, seed, bar.update)

    def score(self, chunks: Iterator[tuple[np.ndarray, np.ndarray]]) -> metrics.ItemErrors:
        """`chunks` yields (item indices (b,), predictions (b, 2, 256, T)); returns errors in item order."""
        parts, order = [], []
        for items, pred in chunks:
            parts.append(
                metrics.item_errors(
                    pred,
                    self.gt[items].astype(np.float32),
                    self.gt_params.take(items),
                    self.n_samples,
                    self.seed,
                    self.bar.update,
                )
            )
            order.append(items)
        joined = metrics.ItemErrors.concatenate(parts)
        return joined.take(np.argsort(np.concatenate(order)))


def _evaluate(config: EvalConfig, scene, ds: DataSet, t_start: float) -> EvaluationReport:
    meta = ds.meta
    if meta.scene_name != scene.name or meta.scene_hash != scene.geometry_hash():
        raise DataError(
            f"{ds.path} was made from another scene than '{scene.name}' (or an older version of it); "
            "pass --data for this scene or re-make the data set"
        )
    n, n_frames = meta.ir_length, meta.n_frames
    test_all, train = ds.indices("test"), ds.indices("train")
    if len(test_all) == 0 or len(train) == 0:
        raise DataError(f"{ds.path} needs both training and test pairs; make it with a test fraction > 0")
    rng = np.random.default_rng(config.seed)
    test = np.sort(rng.choice(test_all, min(config.max_pairs, len(test_all)), replace=False))
    n_orient = len(ds.orientations)
    timing: dict[str, float] = {}
    notes: list[str] = []

    checkpoint = _checkpoint_path(config, scene.name, notes)
    floor_pairs = floor.choose_floor_pairs(ds.pairs, test, config.floor_pairs, config.seed)
    reps = [None] + (
        [c for c in (codecs.AAC_LC, codecs.OPUS) if _codec_ok(c, notes)] if config.use_codecs else []
    )
    if len(reps) > 1:
        notes.append(
            "Codecs: each IR channel is one mono stream, peak-scaled into [-1, 1] with a float32 gain, "
            "laid end to end with silent guards, encoded and decoded once per "
            f"{codecs.MAX_SIGNALS_PER_STREAM:,} channels; AAC-LC "
            f"is ffmpeg's native encoder at {codecs.AAC_LC.kbps:g} kbit/s and 22,050 Hz (.m4a); Opus is "
            f"opusenc/opusdec at {codecs.OPUS.kbps:g} kbit/s, resampled 22,050 -> 48,000 Hz (soxr) before "
            "encoding and back after decoding; the codec delay is measured by cross-correlation and trimmed"
        )
    n_rows = (checkpoint is not None) + 2 * len(reps)
    total_items = len(test) * n_orient * (1 + n_rows) + len(floor_pairs) * n_orient
    with tqdm(total=total_items, unit="IR", desc="naf eval", disable=not config.progress) as bar:
        t0 = time.perf_counter()
        gt = ds.read_spec(test).reshape((-1,) + ds.spec.shape[2:])  # (Q * 4, 2, 256, T) float16
        scorer = _Scorer(gt, n, config.seed, bar)
        timing["ground_truth_s"] = time.perf_counter() - t0
        rows: list[tuple[ResultRow, metrics.ItemErrors]] = []
        if checkpoint is not None:
            bar.set_description("naf eval: field")
            rows.append(_field_row(config, scene, ds, test, checkpoint, scorer))
        bar.set_description("naf eval: baselines")
        rows += _baseline_rows(ds, test, train, reps, scorer, n_frames, timing)
        if len(floor_pairs):
            bar.set_description("naf eval: floor")
            rows.append(_floor_row(ds, scene, test, floor_pairs, scorer, n_frames, timing, bar))
    floor_items = _items_of(test, floor_pairs, n_orient) if len(floor_pairs) else None
    if len(floor_pairs):
        notes.append(
            "The floor row is what a second simulation of the same pair scores: its tail noise is a new "
            "draw, so a method that predicts the average spectrum (as a field does) can score below it in "
            "spectral error; if the spread were Gaussian, an oracle predicting the expected log-magnitude "
            "would score about the floor's spectral error / sqrt(2)"
        )
    result_rows = [_with_summaries(row, errs, floor_items, n_orient) for row, errs in rows]
    settings = {
        "n_test_pairs": int(len(test)),
        "n_test_total": int(len(test_all)),
        "n_train_pairs": int(len(train)),
        "n_floor_pairs": int(len(floor_pairs)),
        "orientations": n_orient,
        "ir_length": n,
        "n_frames": n_frames,
        "sample_rate": SAMPLE_RATE,
        "phase_seed": config.seed,
        "t60_decay_db": metrics.T60_DECAY_DB,
        "codec_guard_samples": codecs.GUARD_SAMPLES,
    }
    ckpt = str(checkpoint) if checkpoint is not None else None
    listen = bool(config.offgrid) if config.listening is None else config.listening
    sections = played.played_sections(
        played.PlayedConfig(config.offgrid, listen, config.phase, config.seed, config.progress),
        scene, ds, test, floor_pairs, checkpoint, config.device,
    )
    timing["total_s"] = time.perf_counter() - t_start
    return EvaluationReport(
        scene.name, str(ds.path), ckpt, settings, result_rows, timing, notes, [asdict(s) for s in sections]
    )


def _checkpoint_path(config: EvalConfig, scene_name: str, notes: list[str]) -> Path | None:
    if config.checkpoint is not None:
        return Path(config.checkpoint)
    try:
        return default_checkpoint(scene_name)
    except CheckpointError as exc:
        notes.append(f"No field row: {exc}")
        return None


def _codec_ok(codec: codecs.Codec, notes: list[str]) -> bool:
    reason = codecs.missing_tools(codec)
    if reason is not None:
        notes.append(f"No {codec.name} rows: {reason}")
    return reason is None


def _items_of(test: np.ndarray, pairs: np.ndarray, n_orient: int) -> np.ndarray:
    """Item indices (pair position in `test` x orientation) of the given pair indices."""
    pos = np.searchsorted(test, pairs)
    return (pos[:, None] * n_orient + np.arange(n_orient)).ravel()


def _with_summaries(
    row: ResultRow, errs: metrics.ItemErrors, floor_items: np.ndarray | None, n_orient: int
) -> ResultRow:
    errors = {**errs.summary(), "n_pairs": len(errs.spectral) // n_orient}
    floor_errors = None
    if floor_items is not None and row.method != "Simulation floor":
        floor_errors = {**errs.take(floor_items).summary(), "n_pairs": len(floor_items) // n_orient}
    elif row.method == "Simulation floor":
        floor_errors = errors
    return ResultRow(
        row.method,
        row.representation,
        row.storage_mb,
        row.storage_formula,
        errors["n_pairs"],
        errors,
        floor_errors,
        row.seconds,
        row.notes,
    )


def _pair_chunks(
    n_pairs: int, n_orient: int, predict: Callable[[slice], np.ndarray]
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(item indices, log-magnitudes) for consecutive chunks of pairs; `predict(slice)` -> (c, 4, 2, F, T)."""
    for start in range(0, n_pairs, CHUNK_PAIRS):
        part = slice(start, min(start + CHUNK_PAIRS, n_pairs))
        pred = predict(part)
        items = np.arange(part.start * n_orient, part.stop * n_orient)
        yield items, pred.reshape((-1,) + pred.shape[2:])


def _field_row(config, scene, ds, test, checkpoint, scorer) -> tuple[ResultRow, metrics.ItemErrors]:
    from naf_model.field import NeuralAcousticField

    t0 = time.perf_counter()
    field = NeuralAcousticField.load(checkpoint, device=config.device, scene=scene)
    if field.n_frames != ds.meta.n_frames:
        raise DataError(
            f"{checkpoint} predicts {field.n_frames} frames, {ds.path} holds {ds.meta.n_frames}; "
            "evaluate a field on the data set it was trained on"
        )
    pairs = ds.pairs[test]
    emitters, listeners = ds.emitters[pairs[:, 0]], ds.listeners[pairs[:, 1]]
    headings = ds.orientations.astype(np.float64)
    n_orient = len(headings)
    query_s = [0.0]

    def predict(part: slice) -> np.ndarray:
        c = part.stop - part.start
        tq = time.perf_counter()
        out = field.query_batch(
            np.repeat(emitters[part], n_orient, axis=0),
            np.repeat(listeners[part], n_orient, axis=0),
            np.tile(headings, c),
        )
        query_s[0] += time.perf_counter() - tq
        return np.asarray(out, np.float32).reshape((c, n_orient) + tuple(out.shape[1:]))

    errs = scorer.score(_pair_chunks(len(test), n_orient, predict))
    size, formula = _field_storage(checkpoint, field.checkpoint.training is not None)
    row = ResultRow(
        "NAF (field)",
        f"checkpoint ({field.preset})",
        size / MB,
        formula,
        len(test),
        {},
        None,
        time.perf_counter() - t0,
        [f"queries took {query_s[0]:.1f} s on {field.device} ({1e3 * query_s[0] / len(test):.1f} ms/pair)"],
    )
    return row, errs


def _field_storage(checkpoint: Path, has_training_state: bool) -> tuple[int, str]:
    """Bytes of the field as shipped (weights, config, stats), and how they were counted."""
    size = checkpoint.stat().st_size
    if not has_training_state:
        return size, f"checkpoint file size ({size:,} B)"
    from naf_model.checkpoint import export_checkpoint

    with tempfile.TemporaryDirectory(prefix="naf-eval-") as tmp:
        shipped = export_checkpoint(checkpoint, Path(tmp) / "field.pt").stat().st_size
    return (
        shipped,
        f"size of the exported checkpoint without optimizer state ({shipped:,} B; file {size:,} B)",
    )


def _baseline_rows(
    ds, test, train, reps, scorer, n_frames, timing
) -> list[tuple[ResultRow, metrics.ItemErrors]]:
    """Nearest and linear interpolation of training IRs, on raw waveforms and on each codec's round trip."""
    n, n_orient = ds.meta.ir_length, len(ds.orientations)
    train_points = baselines.pair_points(*ds.positions("train"))
    pairs = ds.pairs[test]
    query_points = baselines.pair_points(ds.emitters[pairs[:, 0]], ds.listeners[pairs[:, 1]])
    t0 = time.perf_counter()
    methods = {"Nearest neighbour": baselines.nearest_weights(train_points, query_points)}
    timing["nearest_weights_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    methods["Linear interpolation"] = baselines.linear_weights(train_points, query_points)
    timing["linear_weights_s"] = time.perf_counter() - t0
    used = np.union1d(*(w.used() for w in methods.values()))
    t0 = time.perf_counter()
    raw = ds.read_ir(train[used])  # (U, 4, 2, N) float16: only the training IRs some query needs
    timing["read_train_irs_s"] = time.perf_counter() - t0
    n_train = len(train)
    fallback = 100 * methods["Linear interpolation"].fallback.mean()
    out = []
    for codec in reps:
        t0 = time.perf_counter()
        if codec is None:
            irs, name = raw, "raw float32"
            storage = n_train * n_orient * 2 * n * 4
            formula = f"{n_train} training pairs x {n_orient} orientations x 2 ears x {n} samples x 4 B"
        else:
            rt = codecs.round_trip(raw.reshape(-1, n), codec)
            irs, name = rt.decoded.reshape(raw.shape), codec.name
            storage = rt.storage_bytes * n_train / len(used)
            formula = (
                f"(bitstream {rt.bitstream_bytes:,} B + gains 4 B x {rt.n_signals:,} channels) of the "
                f"{len(used)} training pairs the baselines use, scaled x {n_train}/{len(used)} to all "
                f"training pairs; {rt.n_signals:,} mono streams of {n} samples + {codecs.GUARD_SAMPLES} "
                f"silent guard samples each"
            )
            timing[f"{codec.tool}_round_trip_s"] = time.perf_counter() - t0
        for method, w in methods.items():
            t1 = time.perf_counter()

            def predict(part: slice, w=w, irs=irs) -> np.ndarray:
                sub = baselines.InterpolationWeights(w.indices[part], w.weights[part], w.fallback[part])
                return log_magnitude(baselines.blend(irs, sub, used), n_frames)

            errs = scorer.score(_pair_chunks(len(test), n_orient, predict))
            row_notes = []
            if method == "Linear interpolation":
                row_notes.append(f"{fallback:.1f} % of queries outside the hull used the nearest pair")
            if codec is not None:
                row_notes.append(f"measured codec delay {rt.delay_samples} samples at 22,050 Hz, trimmed")
            seconds = time.perf_counter() - t1
            out.append(
                (
                    ResultRow(method, name, storage / MB, formula, len(test), {}, None, seconds, row_notes),
                    errs,
                )
            )
    return out


def _floor_row(
    ds, scene, test, floor_pairs, scorer, n_frames, timing, bar
) -> tuple[ResultRow, metrics.ItemErrors]:
    """The same pairs simulated with another ray-tracer seed, scored like a prediction."""
    n_orient = len(ds.orientations)
    t0 = time.perf_counter()
    done = [0]

    def simulated(k: int) -> None:
        done[0] += k
        bar.set_postfix_str(f"floor: simulated {done[0]} pairs")

    irs = floor.floor_irs(ds, scene, floor_pairs, simulated)
    timing["floor_simulation_or_cache_s"] = time.perf_counter() - t0
    items = _items_of(test, floor_pairs, n_orient)
    pred = log_magnitude(irs.astype(np.float32), n_frames).reshape((-1,) + scorer.gt.shape[1:])
    errs = scorer.score(iter([(items, pred)]))
    # scored items come back in item order, which is the order of `items` (floor_pairs are sorted)
    row = ResultRow(
        "Simulation floor",
        "re-simulated, other seed",
        None,
        "none (a limit, not a method)",
        len(floor_pairs),
        {},
        None,
        time.perf_counter() - t0,
        [
            f"{done[0]} pairs simulated in this run, {len(floor_pairs) - done[0]} read from the cache "
            f"{floor.floor_cache_path(ds.path)}"
        ],
    )
    return row, errs
