"""`evaluate`: score a field, the interpolation baselines and the simulation floor on held-out test pairs.

Two sections of rows (see `report.SECTIONS`): the paper's protocol (its baselines, codecs and T60 rules,
`rows.paper_*_scorer`) and naf's earlier rules (`rows.naf_scorer`). Every row is scored per item (pair x
orientation) against the data set's spectrograms and the ground truth's parameters, measured once per
scorer; per-pair errors give bootstrap intervals (`bootstrap`) and the paired comparison of the field with
each section's best baseline. Baselines interpolate the training pairs only (never validation or test).
"""


from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from tqdm import tqdm

from naf_model.conventions import SAMPLE_RATE
from naf_model.data import DataSet
from naf_model.errors import DataError
from naf_model.evaluation import (
    DEFAULT_FLOOR_PAIRS,
    DEFAULT_MAX_PAIRS,
    RESULTS_DIR,
    baselines,
    bootstrap,
    codecs,
    floor,
    metrics,
    rows,
)
from naf_model.evaluation.report import EvaluationReport, ResultRow, write_report
from naf_model.paths import REPO_ROOT, bundled_checkpoint, default_dataset_path
from naf_model.spectrogram import log_magnitude

if TYPE_CHECKING:
    from naf_model.scene import Scene

CHUNK_PAIRS = 16
"""Pairs predicted and scored at once (x 4 orientations): bounds memory whatever --max-pairs is."""
MB = 1e6
METRICS = ("spectral", "t60_pct", "c50_db", "edt_pct")
_PER_ITEM = {"spectral": ("spectral", 1.0), "t60_pct": ("t60", 100.0), "c50_db": ("c50", 1.0),
             "edt_pct": ("edt", 100.0)}  # fmt: skip
"""Summary key -> (ItemErrors field, scale): the per-item values whose pair means are bootstrapped."""


@dataclass(frozen=True)
class EvalConfig:
    """What `naf eval` scores.

    scene: bundled scene name or scene file; data: data set (default `data/<scene>.h5`); checkpoint: the
    field (default the bundled one; no field row if there is none); max_pairs: held-out test pairs scored
    (a seeded subset when the data set has more); floor_pairs: pairs simulated again for the floor rows
    (0: no floor); floor_repeats: seeds of those re-simulations; use_codecs: AAC/Opus rows; seed: subset
    choice and naf's random phase (the paper's rows use the paper's seed 1234); resamples: bootstrap
    resamples; out_dir: where the markdown and JSON go (None: not written).
    """

    scene: str
    data: Path | None = None
    checkpoint: Path | None = None
    max_pairs: int = DEFAULT_MAX_PAIRS
    floor_pairs: int = DEFAULT_FLOOR_PAIRS
    floor_repeats: int = floor.FLOOR_REPEATS
    use_codecs: bool = True
    seed: int = 0
    resamples: int = bootstrap.RESAMPLES
    out_dir: Path | None = RESULTS_DIR
    device: str = "auto"
    progress: bool = True

    def command(self) -> str:
        """The `naf eval` command line that reproduces this configuration (paths as given)."""
        parts = ["naf eval", f"--scene {self.scene}"]
        if self.data is not None:
            parts.append(f"--data {project_path(self.data)}")
        if self.checkpoint is not None:
            parts.append(f"--checkpoint {project_path(self.checkpoint)}")
        defaults = EvalConfig(self.scene)
        for name, flag in (("max_pairs", "--max-pairs"), ("floor_pairs", "--floor-pairs"),
                           ("floor_repeats", "--floor-repeats"), ("seed", "--seed"), ("resamples", "--resamples")):
            if getattr(self, name) != getattr(defaults, name):
                parts.append(f"{flag} {getattr(self, name)}")  # fmt: skip
        if not self.use_codecs:
            parts.append("--no-codecs")
        return " ".join(parts)


def project_path(path: str | os.PathLike[str]) -> str:
    """`path` relative to the project root when it lies inside it (symlinks not followed), else as given."""
    absolute = Path(os.path.abspath(path))
    try:
        return str(absolute.relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def evaluate(config: EvalConfig, scene: Scene | None = None) -> EvaluationReport:
    """Score every row on the held-out test pairs, write the report; `scene` overrides loading `config.scene`."""
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


@dataclass
class _Context:
    """What every row of one run shares: the data set, the test items, the scorers and the bar."""

    ds: DataSet
    test: np.ndarray
    train: np.ndarray
    n_orient: int
    n_frames: int
    scorers: dict[str, rows.Scorer]
    bar: tqdm
    timing: dict[str, float]


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
    paper_codecs = [c for c in (codecs.PAPER_AAC, codecs.PAPER_OPUS) if config.use_codecs and _codec_ok(c, notes)]
    naf_codecs = [c for c in (codecs.AAC_LC, codecs.OPUS) if config.use_codecs and _codec_ok(c, notes)]
    n_rows = 2 * (checkpoint is not None) + 2 * (2 + len(paper_codecs) + len(naf_codecs))
    n_items = len(test) * n_orient
    total = n_items * n_rows + 2 * len(floor_pairs) * n_orient * config.floor_repeats
    with tqdm(total=total, unit="IR", desc="naf eval", disable=not config.progress) as bar:
        t0 = time.perf_counter()
        gt_log = ds.read_spec(test).reshape((-1,) + ds.spec.shape[2:])  # (Q * 4, 2, 256, T) float16
        gt_wave = ds.read_ir(test).reshape((-1,) + ds.ir.shape[2:])  # (Q * 4, 2, N) float16
        scorers = {
            "paper_field": rows.paper_field_scorer(gt_log, bar.update),
            "paper_wave": rows.paper_waveform_scorer(gt_log, gt_wave, bar.update),
            "naf": rows.naf_scorer(gt_log, n, config.seed, bar.update),
        }
        timing["ground_truth_s"] = time.perf_counter() - t0
        ctx = _Context(ds, test, train, n_orient, n_frames, scorers, bar, timing)
        scored: list[tuple[ResultRow, metrics.ItemErrors]] = []
        if checkpoint is not None:
            bar.set_description("naf eval: field")
            scored += _field_rows(config, scene, ctx, checkpoint, notes)
        bar.set_description("naf eval: paper baselines")
        scored += _paper_baseline_rows(ctx, paper_codecs)
        bar.set_description("naf eval: naf baselines")
        scored += _naf_baseline_rows(ctx, naf_codecs)
        floor_spread: dict[str, dict[str, list[float]]] = {}
        if len(floor_pairs) and config.floor_repeats > 0:
            bar.set_description("naf eval: floor")
            scored += _floor_rows(ctx, scene, floor_pairs, config.floor_repeats, floor_spread)
    floor_items = _items_of(test, floor_pairs, n_orient) if len(floor_pairs) else None
    if floor_items is not None:
        notes.append(
            "The floor rows are what a second simulation of the same pair scores: its tail noise is a new "
            "draw, so a method that predicts the average spectrum (as a field does) can score below it in "
            "spectral error; if the spread were Gaussian, an oracle predicting the expected log-magnitude "
            "would score about the floor's spectral error / sqrt(2)"
        )
    draws = bootstrap.resample_indices(len(test), config.resamples, bootstrap.SEED)
    result_rows = [
        _with_summaries(row, errs, floor_items, n_orient, draws, floor_spread.get(row.section))
        for row, errs in scored
    ]
    comparisons = _comparisons(scored, n_orient, draws)
    timing["total_s"] = time.perf_counter() - t_start
    import pyroomacoustics

    settings = {
        "n_test_pairs": int(len(test)),
        "n_test_total": int(len(test_all)),
        "n_train_pairs": int(len(train)),
        "n_validation_pairs": int(len(ds.indices("validation"))),
        "validation": meta.validation_note,
        "n_floor_pairs": int(len(floor_pairs)),
        "floor_repeats": config.floor_repeats,
        "orientations": n_orient,
        "ir_length": n,
        "n_frames": n_frames,
        "sample_rate": SAMPLE_RATE,
        "phase_seed_naf_rows": config.seed,
        "phase_seed_paper_rows": metrics.PAPER_PHASE_SEED,
        "t60_decay_db": metrics.T60_DECAY_DB,
        "edt_range_db": metrics.EDT_RANGE_DB,
        "c50_onset_below_peak_db": metrics.ONSET_BELOW_PEAK_DB,
        "pyroomacoustics": pyroomacoustics.__version__,
        "bootstrap_resamples": config.resamples,
        "bootstrap_seed": bootstrap.SEED,
        "codec_guard_samples": codecs.GUARD_SAMPLES,
    }
    ckpt = project_path(checkpoint) if checkpoint is not None else None
    return EvaluationReport(
        scene.name, project_path(ds.path), ckpt, settings, result_rows, timing, notes,
        command=config.command(), comparisons=comparisons,
    )  # fmt: skip


def _checkpoint_path(config: EvalConfig, scene_name: str, notes: list[str]) -> Path | None:
    if config.checkpoint is not None:
        return Path(config.checkpoint)
    bundled = bundled_checkpoint(scene_name)
    if bundled.is_file():
        return bundled
    notes.append(f"No field row: no checkpoint given and none bundled at {project_path(bundled)}; pass --checkpoint")
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


def _per_pair(errs: metrics.ItemErrors, key: str, n_orient: int) -> np.ndarray:
    name, scale = _PER_ITEM[key]
    return scale * bootstrap.per_pair(getattr(errs, name), n_orient)


def _with_summaries(
    row: ResultRow,
    errs: metrics.ItemErrors,
    floor_items: np.ndarray | None,
    n_orient: int,
    draws: np.ndarray,
    spread: dict[str, list[float]] | None,
) -> ResultRow:
    errors = {**errs.summary(), "n_pairs": len(errs.spectral) // n_orient}
    is_floor = row.method == "Simulation floor"
    floor_errors = None
    if is_floor:
        floor_errors = errors
    elif floor_items is not None:
        floor_errors = {**errs.take(floor_items).summary(), "n_pairs": len(floor_items) // n_orient}
    intervals = {}
    if not is_floor:  # the floor is scored on its own pairs; its uncertainty is its spread over seeds
        intervals = {k: list(bootstrap.mean_interval(_per_pair(errs, k, n_orient), draws)) for k in METRICS}
    return replace(
        row, n_pairs=errors["n_pairs"], errors=errors, floor_errors=floor_errors, intervals=intervals,
        spread=spread if is_floor else None,
    )  # fmt: skip


def _comparisons(
    scored: list[tuple[ResultRow, metrics.ItemErrors]], n_orient: int, draws: np.ndarray
) -> list[dict]:
    """Per section and metric: the field against the baseline with the lowest mean, paired over pairs."""
    from dataclasses import asdict

    out = []
    for section in dict.fromkeys(r.section for r, _ in scored):
        here = [(r, e) for r, e in scored if r.section == section]
        field = next(((r, e) for r, e in here if r.method == "NAF (field)"), None)
        candidates = [(r, e) for r, e in here if r.method not in ("NAF (field)", "Simulation floor")]
        if field is None or not candidates:
            continue
        for key in METRICS:
            means = [float(np.mean(_per_pair(e, key, n_orient))) for _, e in candidates]
            best_row, best_errs = candidates[int(np.argmin(means))]
            comp = bootstrap.paired_comparison(
                key, "NAF (field)", _per_pair(field[1], key, n_orient),
                f"{best_row.method}, {best_row.representation}", _per_pair(best_errs, key, n_orient), draws,
            )  # fmt: skip
            out.append({"section": section, **asdict(comp)})
    return out


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


def _field_rows(config, scene, ctx: _Context, checkpoint: Path, notes: list[str]) -> list:
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
    from naf_model.model.checkpoint import export_checkpoint

    with tempfile.TemporaryDirectory(prefix="naf-eval-") as tmp:
        shipped = export_checkpoint(checkpoint, Path(tmp) / "field.pt").stat().st_size
    return (
        shipped,
        f"size of the exported checkpoint without optimizer state ({shipped:,} B; file {size:,} B)",
    )


def _blend_rows(
    ctx: _Context,
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


def _query_positions(ctx: _Context) -> tuple[np.ndarray, np.ndarray]:
    pairs = ctx.ds.pairs[ctx.test]
    return ctx.ds.emitters[pairs[:, 0]], ctx.ds.listeners[pairs[:, 1]]


def _raw_storage(ctx: _Context) -> tuple[float, str]:
    n_train, n = len(ctx.train), ctx.ds.meta.ir_length
    return (
        n_train * ctx.n_orient * 2 * n * 4,
        f"{n_train} training pairs x {ctx.n_orient} orientations x 2 ears x {n} samples x 4 B",
    )


def _paper_baseline_rows(ctx: _Context, paper_codecs: list[codecs.Codec]) -> list:
    """The paper's nearest / linear (silence outside the hull) on raw IRs and its per-file stereo codecs."""
    train_points = baselines.paper_points(*ctx.ds.positions("train"))
    query_points = baselines.paper_points(*_query_positions(ctx))
    t0 = time.perf_counter()
    methods = {
        "Nearest neighbour": baselines.paper_nearest_weights(train_points, query_points),
        "Linear interpolation": baselines.paper_linear_weights(train_points, query_points),
    }
    ctx.timing["paper_weights_s"] = time.perf_counter() - t0
    used = np.union1d(*(w.used() for w in methods.values()))
    raw = ctx.ds.read_ir(ctx.train[used])  # (U, 4, 2, N) float16
    outside = 100 * methods["Linear interpolation"].fallback.mean()
    method_notes = {"Linear interpolation": [f"{outside:.1f} % of queries lie outside the hull: silence"]}
    versions = [(None, raw, *_raw_storage(ctx), [])]
    n, n_train = ctx.ds.meta.ir_length, len(ctx.train)
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


def _naf_baseline_rows(ctx: _Context, naf_codecs: list[codecs.Codec]) -> list:
    """naf's earlier baselines: nearest fallback outside the hull, per-channel codecs, random-phase metrics."""
    train_points = baselines.pair_points(*ctx.ds.positions("train"))
    query_points = baselines.pair_points(*_query_positions(ctx))
    t0 = time.perf_counter()
    methods = {
        "Nearest neighbour": baselines.nearest_weights(train_points, query_points),
        "Linear interpolation": baselines.linear_weights(train_points, query_points),
    }
    ctx.timing["naf_weights_s"] = time.perf_counter() - t0
    used = np.union1d(*(w.used() for w in methods.values()))
    raw = ctx.ds.read_ir(ctx.train[used])
    fallback = 100 * methods["Linear interpolation"].fallback.mean()
    method_notes = {"Linear interpolation": [f"{fallback:.1f} % of queries outside the hull used the nearest pair"]}
    versions = [(None, raw, *_raw_storage(ctx), [])]
    n, n_train = ctx.ds.meta.ir_length, len(ctx.train)
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


def _floor_rows(ctx: _Context, scene, floor_pairs: np.ndarray, repeats: int, spread_out: dict) -> list:
    """The floor's pairs simulated again with `repeats` seeds, scored under both rules; mean over seeds."""
    t0 = time.perf_counter()
    done = [0] * repeats

    def simulated(repeat: int, k: int) -> None:
        done[repeat] += k
        ctx.bar.set_postfix_str(f"floor: simulated {sum(done)} pairs")

    items = _items_of(ctx.test, floor_pairs, ctx.n_orient)
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
            floor_notes,
            section=section, rule=rule,
        )  # fmt: skip
        out.append((row, mean))
    return out
