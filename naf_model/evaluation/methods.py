"""How each row's predictions are made: the field, the interpolation baselines (paper's and naf's) and the
floor's re-simulations, each scored by a `rows.Scorer` of the run's `RowContext`."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from naf_model.data import DataSet, floor
from naf_model.data.extra import TrainingPairs
from naf_model.errors import DataError
from naf_model.evaluation import baselines, codecs, metrics, rows
from naf_model.evaluation.report import ResultRow
from naf_model.paths import project_path
from naf_model.spectrogram import log_magnitude

CHUNK_PAIRS = 16
"""Pairs predicted and scored at once (x 4 orientations): bounds memory whatever --max-pairs is."""
MB = 1e6
METRICS = ("spectral", "t60_pct", "c50_db", "edt_pct")
"""Summary keys of the four error columns."""
Scored = list[tuple[ResultRow, metrics.ItemErrors]]


@dataclass
class RowContext:
    """What every row of one run shares: the data set, the test items, the scorers and the bar."""

    ds: DataSet
    test: np.ndarray
    pool: TrainingPairs
    """The training pairs the baselines interpolate: the data set's training split and any extra pairs."""
    n_orient: int
    n_frames: int
    scorers: dict[str, rows.Scorer]
    bar: tqdm
    timing: dict[str, float]


def items_of(test: np.ndarray, pairs: np.ndarray, n_orient: int) -> np.ndarray:
    """Item indices (pair position in `test` x orientation) of the given pair indices."""
    pos = np.searchsorted(test, pairs)
    return (pos[:, None] * n_orient + np.arange(n_orient)).ravel()


def _pair_chunks(
    n_pairs: int, n_orient: int, predict: Callable[[slice], tuple[np.ndarray, np.ndarray | None]]
) -> Iterator[rows.Chunk]:
    """(items, log-magnitudes, waveforms) per chunk of pairs; `predict(slice)` -> (c, 4, 2, F, T), (c, 4, 2, N)."""
    for start in range(0, n_pairs, CHUNK_PAIRS):
        part = slice(start, min(start + CHUNK_PAIRS, n_pairs))
        log, wave = predict(part)
        items = np.arange(part.start * n_orient, part.stop * n_orient)
        flat_wave = None if wave is None else wave.reshape((-1,) + wave.shape[2:])
        yield items, log.reshape((-1,) + log.shape[2:]), flat_wave


def field_rows(config, scene, ctx: RowContext, checkpoint: Path, notes: list[str]) -> list:
    """The field under the paper's rule and under naf's earlier rule (the same predictions)."""
    from naf_model.field import NeuralAcousticField

    t0 = time.perf_counter()
    ds, test = ctx.ds, ctx.test
    field = NeuralAcousticField.load(checkpoint, device=config.device, scene=scene)
    if field.n_frames != ds.meta.n_frames:
        raise DataError(
            f"{checkpoint} predicts {field.n_frames} frames, {ds.path} holds {ds.meta.n_frames}; "
            "evaluate a field on the data set it was trained on"
        )
    selection = field.checkpoint.metrics or {}
    if "test_spectral_error" in selection and "validation_spectral_error" not in selection:
        notes.append(
            f"The field {project_path(checkpoint)} was saved by training code that measured its held-out error "
            "(and picked best.pt) on the test split; retrain with the validation split for a clean selection"
        )
    pairs = ds.pairs[test]
    emitters, listeners = ds.emitters[pairs[:, 0]], ds.listeners[pairs[:, 1]]
    headings = ds.orientations.astype(np.float64)
    n_orient = len(headings)
    query_s = [0.0]

    def predict(part: slice) -> tuple[np.ndarray, None]:
        c = part.stop - part.start
        tq = time.perf_counter()
        out = field.query_batch(
            np.repeat(emitters[part], n_orient, axis=0),
            np.repeat(listeners[part], n_orient, axis=0),
            np.tile(headings, c),
        )
        query_s[0] += time.perf_counter() - tq
        return np.asarray(out, np.float32).reshape((c, n_orient) + tuple(out.shape[1:])), None

    size, formula = _field_storage(checkpoint, field.checkpoint.training is not None)
    out = []
    for section, scorer, rule in (("paper", "paper_field", rows.PAPER_FIELD_RULE), ("naf", "naf", rows.NAF_FIELD_RULE)):
        t1 = time.perf_counter()
        errs = ctx.scorers[scorer].score(_pair_chunks(len(test), n_orient, predict))
        row = ResultRow(
            "NAF (field)", f"checkpoint ({field.preset})", size / MB, formula, len(test), {}, None,
            time.perf_counter() - t1, [], section=section, rule=rule,
        )  # fmt: skip
        out.append((row, errs))
    per_pair_ms = 1e3 * query_s[0] / (2 * len(test))
    out[0][0].notes.append(f"queries took {query_s[0] / 2:.1f} s on {field.device} ({per_pair_ms:.1f} ms/pair)")
    ctx.timing["field_s"] = time.perf_counter() - t0
    return out


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


def _blend_rows(
    ctx: RowContext,
    methods: dict[str, baselines.InterpolationWeights],
    used: np.ndarray,
    versions: list[tuple[codecs.Codec | None, np.ndarray, float, str, list[str]]],
    scorer: rows.Scorer,
    section: str,
    rule: Callable[[str, codecs.Codec | None], str],
    method_notes: dict[str, list[str]],
) -> list[tuple[ResultRow, metrics.ItemErrors]]:
    """Score every interpolation method on every version (raw or codec) of the used training IRs."""
    out = []
    for codec, irs, storage, formula, codec_notes in versions:
        name = "raw float32" if codec is None else codec.name
        for method, w in methods.items():
            t1 = time.perf_counter()

            def predict(part: slice, w=w, irs=irs) -> tuple[np.ndarray, np.ndarray]:
                sub = baselines.InterpolationWeights(w.indices[part], w.weights[part], w.fallback[part])
                wave = baselines.blend(irs, sub, used)
                return log_magnitude(wave, ctx.n_frames), wave

            errs = scorer.score(_pair_chunks(len(ctx.test), ctx.n_orient, predict))
            row = ResultRow(
                method, name, storage / MB, formula, len(ctx.test), {}, None, time.perf_counter() - t1,
                method_notes.get(method, []) + codec_notes, section=section, rule=rule(method, codec),
            )  # fmt: skip
            out.append((row, errs))
    return out


def _query_positions(ctx: RowContext) -> tuple[np.ndarray, np.ndarray]:
    pairs = ctx.ds.pairs[ctx.test]
    return ctx.ds.emitters[pairs[:, 0]], ctx.ds.listeners[pairs[:, 1]]


def _raw_storage(ctx: RowContext) -> tuple[float, str]:
    n_train, n = len(ctx.pool), ctx.ds.meta.ir_length
    return (
        n_train * ctx.n_orient * 2 * n * 4,
        f"{n_train} training pairs x {ctx.n_orient} orientations x 2 ears x {n} samples x 4 B",
    )


def _interpolation(ctx: RowContext, points, nearest, linear, rules: str) -> tuple[dict, np.ndarray, np.ndarray]:
    """Nearest and linear weights of one rule set (`points` maps (emitters, listeners) to its query space),
    the training rows they use (U,) and those rows' raw IRs (U, 4, 2, N) float16; timed as `<rules>_weights_s`."""
    train_points = points(*ctx.pool.positions())
    query_points = points(*_query_positions(ctx))
    t0 = time.perf_counter()
    methods = {
        "Nearest neighbour": nearest(train_points, query_points),
        "Linear interpolation": linear(train_points, query_points),
    }
    ctx.timing[f"{rules}_weights_s"] = time.perf_counter() - t0
    used = np.union1d(*(w.used() for w in methods.values()))
    return methods, used, ctx.pool.read_ir(used)


def paper_baseline_rows(ctx: RowContext, paper_codecs: list[codecs.Codec]) -> list:
    """The paper's nearest / linear (silence outside the hull) on raw IRs and its per-file stereo codecs."""
    methods, used, raw = _interpolation(
        ctx, baselines.paper_points, baselines.paper_nearest_weights, baselines.paper_linear_weights, "paper"
    )
    outside = 100 * methods["Linear interpolation"].fallback.mean()
    method_notes = {"Linear interpolation": [f"{outside:.1f} % of queries lie outside the hull: silence"]}
    versions = [(None, raw, *_raw_storage(ctx), [])]
    n, n_train = ctx.ds.meta.ir_length, len(ctx.pool)
    for codec in paper_codecs:
        t0 = time.perf_counter()
        rt = codecs.paper_round_trip(raw.reshape(-1, 2, n), codec)
        ctx.timing[f"paper_{codec.tool}_round_trip_s"] = time.perf_counter() - t0
        n_files = len(used) * ctx.n_orient
        storage = rt.storage_bytes * n_train / len(used)
        formula = (
            f"summed size of the {n_files:,} encoded stereo files ({rt.storage_bytes:,} B) of the {len(used)} "
            f"training pairs the baselines use, scaled x {n_train}/{len(used)} to all training pairs"
        )
        codec_notes = [
            f"decoded files are {rt.decoded_length} samples (cut to {n}); measured lag of the decoded files "
            f"{rt.delay_samples} samples at 22,050 Hz, left in place as in the paper"
        ]
        versions.append((codec, rt.decoded.reshape(raw.shape), storage, formula, codec_notes))

    def rule(method: str, codec: codecs.Codec | None) -> str:
        tool = None if codec is None else codec.tool
        return (
            f"paper rule: {rows.PAPER_BASELINE_RULE[method]}; {rows.PAPER_CODEC_RULE[tool]}; "
            f"{rows.PAPER_MEASURE_RULE}"
        )

    return _blend_rows(ctx, methods, used, versions, ctx.scorers["paper_wave"], "paper", rule, method_notes)


def naf_baseline_rows(ctx: RowContext, naf_codecs: list[codecs.Codec]) -> list:
    """naf's earlier baselines: nearest fallback outside the hull, per-channel codecs, random-phase metrics."""
    methods, used, raw = _interpolation(
        ctx, baselines.pair_points, baselines.nearest_weights, baselines.linear_weights, "naf"
    )
    fallback = 100 * methods["Linear interpolation"].fallback.mean()
    method_notes = {"Linear interpolation": [f"{fallback:.1f} % of queries outside the hull used the nearest pair"]}
    versions = [(None, raw, *_raw_storage(ctx), [])]
    n, n_train = ctx.ds.meta.ir_length, len(ctx.pool)
    for codec in naf_codecs:
        t0 = time.perf_counter()
        rt = codecs.round_trip(raw.reshape(-1, n), codec)
        ctx.timing[f"naf_{codec.tool}_round_trip_s"] = time.perf_counter() - t0
        storage = rt.storage_bytes * n_train / len(used)
        formula = (
            f"(bitstream {rt.bitstream_bytes:,} B + gains 4 B x {rt.n_signals:,} channels) of the "
            f"{len(used)} training pairs the baselines use, scaled x {n_train}/{len(used)} to all "
            f"training pairs; {rt.n_signals:,} mono streams of {n} samples + {codecs.GUARD_SAMPLES} "
            f"silent guard samples each"
        )
        codec_notes = [f"measured codec delay {rt.delay_samples} samples at 22,050 Hz, trimmed"]
        versions.append((codec, rt.decoded.reshape(raw.shape), storage, formula, codec_notes))

    def rule(method: str, codec: codecs.Codec | None) -> str:
        tool = None if codec is None else codec.tool
        parts = (rows.NAF_BASELINE_RULE[method], rows.NAF_CODEC_RULE[tool], rows.NAF_MEASURE_RULE)
        return "naf's earlier rule: " + "; ".join(parts)

    return _blend_rows(ctx, methods, used, versions, ctx.scorers["naf"], "naf", rule, method_notes)


def floor_rows(ctx: RowContext, scene, floor_pairs: np.ndarray, repeats: int, spread_out: dict) -> list:
    """The floor's pairs simulated again with `repeats` seeds, scored under both rules; mean over seeds."""
    t0 = time.perf_counter()
    done = [0] * repeats

    def simulated(repeat: int, k: int) -> None:
        done[repeat] += k
        ctx.bar.set_postfix_str(f"floor: simulated {sum(done)} pairs")

    items = items_of(ctx.test, floor_pairs, ctx.n_orient)
    waves = [
        floor.floor_irs(ctx.ds, scene, floor_pairs, lambda k, r=r: simulated(r, k), repeat=r) for r in range(repeats)
    ]
    cache = project_path(floor.floor_cache_path(ctx.ds.path))
    floor_notes = [
        f"seed {r + 1} of {repeats}: {done[r]} pairs simulated in this run, {len(floor_pairs) - done[r]} read "
        f"from the cache {cache}"
        for r in range(repeats)
    ]
    ctx.timing["floor_simulation_or_cache_s"] = time.perf_counter() - t0
    out = []
    for section, key, rule in (("paper", "paper_wave", rows.FLOOR_PAPER_RULE), ("naf", "naf", rows.FLOOR_NAF_RULE)):
        t1 = time.perf_counter()
        per_seed = []
        for irs in waves:
            wave = irs.astype(np.float32).reshape((-1,) + irs.shape[2:])  # (K * 4, 2, N), item order of `items`
            log = log_magnitude(wave, ctx.n_frames)
            per_seed.append(ctx.scorers[key].score(iter([(items, log, wave)])))
        fields = ("spectral", "t60", "c50", "edt", "t60_failures")
        mean = metrics.ItemErrors(*(np.mean([getattr(e, f) for e in per_seed], axis=0) for f in fields))
        summaries = [e.summary() for e in per_seed]
        spread_out[section] = {k: [min(s[k] for s in summaries), max(s[k] for s in summaries)] for k in METRICS}
        row = ResultRow(
            "Simulation floor", f"re-simulated, {repeats} other seeds", None, "none (a limit, not a method)",
            len(floor_pairs), {}, None, time.perf_counter() - t1,
            floor_notes if section == "paper" else [],
            section=section, rule=rule,
        )  # fmt: skip
        out.append((row, mean))
    return out
