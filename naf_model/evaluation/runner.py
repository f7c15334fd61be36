"""`evaluate`: score a field, the interpolation baselines and the simulation floor on held-out test pairs
(or, for recipe choices, on the validation pairs).

Every table is rows of one pipeline (`tables`, `pipeline`); per-pair errors of the main tables give bootstrap
intervals (`bootstrap`) and the paired comparison of the field with each section's best baseline. The
checkpoint is read once per run.
"""

from __future__ import annotations

import time
from contextlib import ExitStack
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from naf_model.acoustics import decay
from naf_model.checkpoint import Checkpoint, load_checkpoint
from naf_model.conventions import ONSET_BELOW_PEAK_DB, SAMPLE_RATE
from naf_model.data import DataSet, floor
from naf_model.data.extra import FREE_SET_HINT, TrainingPairs, check_distinct, free_pairs_command, is_free_set
from naf_model.data.plan import make_command
from naf_model.errors import CheckpointError, DataError
from naf_model.evaluation import (
    DEFAULT_FLOOR_PAIRS,
    DEFAULT_MAX_PAIRS,
    FLOOR_REPEATS,
    RESULTS_DIR,
    bootstrap,
    codecs,
    metrics,
    tables,
)
from naf_model.evaluation.report import METRICS, EvaluationReport, ResultRow, write_report
from naf_model.evaluation.rows import LABELS, RowId
from naf_model.field import NeuralAcousticField
from naf_model.paths import default_checkpoint, default_dataset_path, project_path, runs_dir
from naf_model.scene import Scene, load_scene

# summary key -> (ItemErrors field, scale): the per-item values whose pair means are bootstrapped
_PER_ITEM = {"spectral": ("spectral", 1), "t60_pct": ("t60", 100.0), "c50_db": ("c50", 1), "edt_pct": ("edt", 100.0)}


@dataclass(frozen=True)
class EvalConfig:
    """What `naf eval` scores (as its options of the same names): scene: name or scene file; data (default
    `data/<scene>.h5`); checkpoint (default `paths.default_checkpoint`; no field rows without one); max_pairs: held-
    out pairs scored (a seeded subset); floor_pairs, floor_repeats: the floor's pairs and seeds (0: no floor);
    simulate_training: baselines over training pairs whose waveforms the data set does not store play them simulated
    again (`TrainingPairs.simulate_missing`); seed: subset and naf's random phase (the paper's rows use 1234);
    resamples: bootstrap resamples; out_dir: where the markdown and JSON go (None: not written); listening:
    listening metrics of the played waveforms (None: on with `offgrid`); offgrid_rays: rays per emitter of the
    off-grid simulations (None: the data set's); phase: the played rows' phase method
    (`conventions.PHASE_METHODS`); split: "test" (the published tables) or "validation" (recipe choices, never
    reading the test split); extra: extra training sets of the baselines (`naf train --extra`; empty: those the
    checkpoint names, `extra_data_for`); command: the command line the report records (the CLI's, from what was
    typed; empty for a library call)."""

    scene: str
    data: Path | None = None
    checkpoint: Path | None = None
    max_pairs: int = DEFAULT_MAX_PAIRS
    floor_pairs: int = DEFAULT_FLOOR_PAIRS
    floor_repeats: int = FLOOR_REPEATS
    use_codecs: bool = True
    simulate_training: bool = True
    seed: int = 0
    resamples: int = bootstrap.RESAMPLES
    out_dir: Path | None = RESULTS_DIR
    device: str = "auto"
    progress: bool = True
    offgrid: int = 0
    offgrid_rays: int | None = None
    listening: bool | None = None
    phase: str = "listening"
    split: str = "test"
    extra: tuple[Path, ...] = ()
    command: str = ""

    def written_to(self, scene_name: str) -> Path | None:
        """Folder of the report: `out_dir`, except that validation scores never go beside the published test
        tables: there (and with no folder given) they go to runs/<scene>/validation."""
        if self.split == "validation":
            if self.out_dir is None or Path(self.out_dir).resolve() == RESULTS_DIR.resolve():
                return runs_dir() / scene_name / "validation"
        return None if self.out_dir is None else Path(self.out_dir)


def evaluate(config: EvalConfig, scene: Scene | None = None) -> EvaluationReport:
    """Score every row on the held-out pairs of `config.split` and write the report; `scene` overrides
    loading `config.scene`."""
    t_start = time.perf_counter()
    scene = load_scene(config.scene) if scene is None else scene
    data_path = Path(config.data) if config.data is not None else default_dataset_path(scene.name)
    notes: list[str] = []
    with DataSet(data_path) as ds, ExitStack() as stack:
        # another scene's data set first: its field's extra data sets would be missing too, and that message
        # would send the user to build them for nothing
        ds.check_scene(scene)
        path = _checkpoint_path(config, scene.name, notes)
        # the run's one read of the file (a paper checkpoint's scene, min/max and statistics: the data set's)
        checkpoint = None if path is None else load_checkpoint(path, paper_data=data_path)
        extra = [stack.enter_context(DataSet(p)) for p in extra_data_for(config, checkpoint, data_path)]
        report = _evaluate(config, scene, ds, TrainingPairs(ds, extra), path, checkpoint, notes, t_start)
    if config.written_to(scene.name) is not None:
        write_report(report, config.written_to(scene.name))
    return report


def extra_data_for(config: EvalConfig, checkpoint: Checkpoint | None, data_path: Path) -> list[Path]:
    """The extra training data sets of the baselines: `config.extra`, else those the field was trained with
    (the loaded checkpoint's `extra_data`, or its members' for an ensemble) next to `data_path`, so that every
    row learns from the same pairs; DataError if one of those is missing."""
    if config.extra or checkpoint is None:
        check_distinct(data_path, config.extra)
        return [Path(p) for p in config.extra]
    names = list(checkpoint.metrics.get("extra_data", []))
    for member in checkpoint.metrics.get("members", []):  # an ensemble (`naf ensemble`): what any member saw
        names += [n for n in member.get("extra_data", []) if n not in names]
    paths = [Path(data_path).with_name(name) for name in names]
    missing = [p for p in paths if not p.is_file()]
    if missing:
        raise DataError(
            f"the field was trained with the extra pairs of {missing[0]}, which the baselines need too; make "
            f"it with `{free_pairs_command(missing[0].name)}` or pass --extra PATH"
        )
    return paths


def _evaluate(
    config: EvalConfig, scene, ds: DataSet, pool: TrainingPairs, path: Path | None, checkpoint: Checkpoint | None,
    notes: list[str], t_start: float,
) -> EvaluationReport:  # fmt: skip
    test_all, train = ds.indices(config.split), ds.indices("train")
    if len(test_all) == 0 or len(train) == 0:
        hint = FREE_SET_HINT if is_free_set(ds) else f"make it with a {config.split} fraction > 0"
        raise DataError(f"{ds.path} needs both training and {config.split} pairs; {hint}")
    rng = np.random.default_rng(config.seed)
    test = np.sort(rng.choice(test_all, min(config.max_pairs, len(test_all)), replace=False))
    n_orient = len(ds.orientations)
    n_floor, offgrid, listening = config.floor_pairs, config.offgrid, config.listening
    if getattr(scene, "derived_from", None) and (n_floor or offgrid or listening):
        notes.append(f"No floor, off-grid or listening rows: {scene.derived_from}, so nothing can be simulated "
                     "in it and its ears are not naf's")
        n_floor, offgrid, listening = 0, 0, False
    floor_pairs = floor.choose_floor_pairs(ds.pairs, test, n_floor, config.seed)
    if not ds.has_ir.any():
        notes.append(f"No interpolation or codec baselines: {ds.path} holds spectrograms only (imported without "
                     "waveforms); their rows play IRs")
    elif not pool.has_waveforms and config.simulate_training and not getattr(scene, "derived_from", None):
        pool.simulate_missing(scene, tqdm(unit="pair", desc="naf eval: training IRs simulated again",
                                          disable=not config.progress).update)  # fmt: skip
    elif not pool.has_waveforms:
        how = "" if config.simulate_training else "drop --stored-only to simulate the pairs they use again, or "
        notes.append(f"No interpolation or codec baselines: {ds.path} keeps the waveforms of its held-out pairs "
                     f"only (the default); {how}`naf data make --waveforms all` keeps the training pairs' too, "
                     "which the baselines play")
    use_codecs = config.use_codecs and pool.has_waveforms
    paper_codecs = [c for c in (codecs.PAPER_AAC, codecs.PAPER_OPUS) if use_codecs and _codec_ok(c, notes)]
    naf_codecs = [c for c in (codecs.AAC_LC, codecs.OPUS) if use_codecs and _codec_ok(c, notes)]
    fld = None if checkpoint is None else _field(config, scene, ds, path, checkpoint, notes)
    listen = bool(offgrid) if listening is None else listening
    run = tables.Run(scene, ds, pool, test, floor_pairs, fld, config.seed, config.phase, listen, config.progress,
                     notes)  # fmt: skip
    scored, floor_spread, on_grid = tables.grid_tables(run, paper_codecs, naf_codecs, config.floor_repeats)
    floor_items = None  # the items of the floor's pairs among the scored ones
    if len(floor_pairs):
        floor_items = (np.searchsorted(test, floor_pairs)[:, None] * n_orient + np.arange(n_orient)).ravel()
        notes.append(
            "The floor rows are what a second simulation of the same pair scores: its tail noise is a new "
            "draw, so a method that predicts the average spectrum (as a field does) can score below it in "
            "spectral error; if the spread were Gaussian, an oracle predicting the expected log-magnitude "
            "would score about the floor's spectral error / sqrt(2)"
        )
    draws = bootstrap.resample_indices(len(test), config.resamples, bootstrap.SEED)
    result_rows = [_with_summaries(rid, row, errs, floor_items, n_orient, draws, floor_spread.get(row.section))
                   for rid, row, errs in scored]  # fmt: skip
    comparisons = _comparisons(scored, n_orient, draws)
    played = ([] if on_grid is None else [on_grid]) + (tables.offgrid_sections(run, offgrid, config.offgrid_rays)
                                                        if offgrid else [])  # fmt: skip
    if pool.simulated:
        notes.append(f"The interpolation and codec baselines play {len(pool.simulated):,} training pairs (on and off "
                     f"the grid) whose waveforms {ds.path.name} does not store (made without --waveforms all), "
                     "simulated again with its own settings and seeds: the IRs it would have stored")
    run.timing["total_s"] = time.perf_counter() - t_start
    return EvaluationReport(
        scene.name, project_path(ds.path), None if path is None else project_path(path),
        _settings(config, ds, pool, test, test_all, floor_pairs), result_rows, run.timing, notes,
        command=config.command, comparisons=comparisons, played=played,
    )  # fmt: skip


def _settings(config: EvalConfig, ds: DataSet, pool: TrainingPairs, test, test_all, floor_pairs) -> dict:
    """What the tables were scored with, for the report's header and JSON."""
    import pyroomacoustics

    meta = ds.meta
    return {
        "split": config.split, "n_test_pairs": int(len(test)), "n_test_total": int(len(test_all)),
        "n_train_pairs": int(len(pool)), "n_extra_train_pairs": int(pool.n_extra),
        "extra_data": [project_path(src.path) for src, _ in pool.sources[1:]],
        "n_validation_pairs": int(len(ds.indices("validation"))), "validation": meta.validation_note,
        "n_floor_pairs": int(len(floor_pairs)), "floor_repeats": config.floor_repeats,
        "orientations": len(ds.orientations), "ir_length": meta.ir_length, "n_frames": meta.n_frames,
        "sample_rate": SAMPLE_RATE, "phase_seed_naf_rows": config.seed,
        "phase_seed_paper_rows": metrics.PAPER_PHASE_SEED,
        "t60_decay_db": decay.T60_DECAY_DB, "edt_range_db": decay.EDT_RANGE_DB,
        "c50_onset_below_peak_db": ONSET_BELOW_PEAK_DB, "pyroomacoustics": pyroomacoustics.__version__,
        "bootstrap_resamples": config.resamples, "bootstrap_seed": bootstrap.SEED,
        "codec_guard_samples": codecs.GUARD_SAMPLES,
        "data_command": make_command(meta.scene_name, meta.data_config),
    }  # fmt: skip


def _field(config: EvalConfig, scene, ds: DataSet, path: Path, checkpoint: Checkpoint, notes: list[str]):
    """The field of the loaded checkpoint (CheckpointError if trained on another scene, DataError if it predicts
    another frame count than the data set holds); notes a selection made on the test split."""
    field = NeuralAcousticField.from_checkpoint(checkpoint, path, device=config.device, scene=scene, fused=False)
    spherical = "" if checkpoint.simulation.get("hrtf") else " --hrtf spherical"
    if field.split != ds.split_info or field.n_frames != ds.meta.n_frames:
        seconds = field.ir_length / ds.meta.sample_rate
        hint = (f"this field predicts whole {seconds:.2f} s spectrograms (made before naf split IRs into early and "
                f"late parts): evaluate it on a data set made with `naf data make --scene {scene.name} --ir-seconds "
                f"{seconds:g} --no-late-part --waveforms all{spherical}`" if not field.split.has_late and ds.has_late
                else "evaluate a field on the data set it was trained on")
        raise DataError(f"{path} predicts {field.n_frames} frames of {field.ir_length} samples, {ds.path} holds "
                        f"{ds.meta.n_frames} of {ds.meta.ir_length}; {hint}")
    if checkpoint.simulation.get("hrtf", "") != ds.meta.simulation.get("hrtf", ""):
        raise DataError(f"{path} was trained on IRs heard through other ears than those of {ds.path} (`naf data "
                        "info` names a data set's ears); score it on data made with the same `naf data make --hrtf`")
    selection = checkpoint.metrics or {}
    if "test_spectral_error" in selection and "validation_spectral_error" not in selection:
        notes.append(
            f"The field {project_path(path)} was saved by training code that measured its held-out error "
            "(and picked best.pt) on the test split; retrain with the validation split for a clean selection"
        )
    return field


def _checkpoint_path(config: EvalConfig, scene_name: str, notes: list[str]) -> Path | None:
    """The field's checkpoint: the one given, else the scene's default (None, with a note, if there is none)."""
    if config.checkpoint is not None:
        return Path(config.checkpoint)
    try:
        return default_checkpoint(scene_name)
    except CheckpointError as exc:
        notes.append(f"No field row: {exc}")
        return None


def _codec_ok(codec: codecs.Codec, notes: list[str]) -> bool:
    """Whether the codec's tools are installed; notes why its rows are missing if not."""
    reason = codecs.missing_tools(codec)
    if reason is not None:
        notes.append(f"No {codec.name} rows: {reason}")
    return reason is None


def per_pair_errors(errs: metrics.ItemErrors, key: str, n_orient: int) -> np.ndarray:
    """Each pair's mean error (P,) of metric `key` (a `report.METRICS` key, in its table units) over its
    `n_orient` orientations: what the bootstrap intervals and paired comparisons resample."""
    name, scale = _PER_ITEM[key]
    return scale * bootstrap.per_pair(getattr(errs, name), n_orient)


def _with_summaries(
    rid: RowId, row: ResultRow, errs: metrics.ItemErrors, floor_items: np.ndarray | None, n_orient: int,
    draws: np.ndarray, spread: dict[str, list[float]] | None,
) -> ResultRow:  # fmt: skip
    """The row with its means, their bootstrap intervals over pairs and its means on the floor's pairs; the
    floor is scored on its own pairs, so its uncertainty is its spread over seeds, not an interval."""
    errors = {**errs.summary(), "n_pairs": len(errs.spectral) // n_orient}
    if rid is RowId.FLOOR:
        return replace(row, n_pairs=errors["n_pairs"], errors=errors, floor_errors=errors, spread=spread)
    floor_errors = None
    if floor_items is not None:
        floor_errors = {**errs.take(floor_items).summary(), "n_pairs": len(floor_items) // n_orient}
    intervals = {k: list(bootstrap.mean_interval(per_pair_errors(errs, k, n_orient), draws)) for k in METRICS}
    return replace(row, n_pairs=errors["n_pairs"], errors=errors, floor_errors=floor_errors, intervals=intervals)


def _comparisons(scored: list[tables.MainRow], n_orient: int, draws: np.ndarray) -> list[dict]:
    """Per section and metric: the field against the baseline with the lowest mean, paired over pairs."""
    out = []
    for section in dict.fromkeys(r.section for _, r, _ in scored):
        here = [(rid, r, e) for rid, r, e in scored if r.section == section]
        field = next((e for rid, _, e in here if rid is RowId.FIELD), None)
        candidates = [(r, e) for rid, r, e in here if rid not in (RowId.FIELD, RowId.FLOOR)]
        if field is None or not candidates:
            continue
        for key in METRICS:
            means = [float(np.mean(per_pair_errors(e, key, n_orient))) for _, e in candidates]
            best_row, best_errs = candidates[int(np.argmin(means))]
            comp = bootstrap.paired_comparison(
                key, LABELS[RowId.FIELD], per_pair_errors(field, key, n_orient),
                f"{best_row.method}, {best_row.representation}", per_pair_errors(best_errs, key, n_orient), draws,
            )  # fmt: skip
            out.append({"section": section, **asdict(comp)})
    return out
