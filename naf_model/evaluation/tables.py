"""The tables of one `naf eval` run as rows of the one pipeline (`pipeline.score_rows`): one pass on the grid
(the held-out pairs) for the main tables (`report.SECTIONS`) and the on-grid listening table, one pass off
the grid (`--offgrid N`) for the off-grid table and its listening table. Baselines interpolate training
pairs only."""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from naf_model.data import DataSet, floor, offgrid
from naf_model.data.described import late_description
from naf_model.data.extra import TrainingPairs
from naf_model.evaluation import codecs, metrics, pipeline, report, rows
from naf_model.evaluation.pipeline import QuerySet, Row, score_rows
from naf_model.evaluation.report import ResultRow
from naf_model.evaluation.rows import INTERPOLATIONS, LABELS, RowId, played_label
from naf_model.field.ears import ears_for
from naf_model.field.reflections import FirstReflection
from naf_model.paths import project_path
from naf_model.simulate import SimulationConfig
from naf_model.spectrogram import log_magnitude

MB = 1e6
MainRow = tuple[RowId, ResultRow, metrics.ItemErrors]  # a main-table row: identifier, display, errors per item


@dataclass
class Run:
    """What every table of one run shares: the data, the pairs scored on the grid (sorted) and the floor's,
    the field (None: no field rows), the run's seed and phase method, the notes and timings it collects."""

    scene: Any
    ds: DataSet
    pool: TrainingPairs
    test: np.ndarray
    floor_pairs: np.ndarray
    field: Any
    seed: int
    phase: str
    listening: bool
    progress: bool
    notes: list[str] = field(default_factory=list)
    timing: dict[str, float] = field(default_factory=dict)
    spill: Path = field(default_factory=lambda: Path(tempfile.gettempdir()))
    """Folder of the nameless files of training IRs the baselines blend (`evaluation.spill`)."""

    def played_rows(self, queries: QuerySet, fsrc, interp: pipeline.Interpolation | None, second) -> list[Row]:
        """The listening rows of a query set: field, simulated magnitudes, raw interpolations, a second
        simulation (`second`, a StoredSource or None), keyed by their names in the listening table. The
        direct-ITD reference and the played direct sound go through the data set's ears."""
        sim = self.ds.meta.simulation
        scorer = rows.ListeningScorer(queries, self.scene.free_space, SimulationConfig.from_json(sim))
        magnitudes = pipeline.SimulatedMagnitudes(queries, self.phase, ears_for(sim), self.scene.free_space,
                                                  FirstReflection.of(self.scene))
        out = [] if fsrc is None else [Row(played_label(RowId.FIELD, self.phase), fsrc, scorer)]
        out.append(Row(played_label(RowId.SIM_MAGNITUDES, self.phase), magnitudes, scorer))
        out += [] if interp is None else [Row(played_label(m), interp.source(m), scorer) for m in INTERPOLATIONS]
        if second is not None:
            out.append(Row(played_label(RowId.SECOND_SIM, n_pairs=len(second.positions)), second, scorer))
        return out


def grid_queries(ds: DataSet, test: np.ndarray) -> QuerySet:
    """The held-out pairs `test` with the data set's spectrograms and waveforms as ground truth."""
    pairs = ds.pairs[test]
    late = ds.read_late(test).reshape((-1,) + ds.late.shape[2:]) if ds.has_late else None  # (Q * 4, 2, 7, T')
    return QuerySet(
        ds.emitters[pairs[:, 0]], ds.listeners[pairs[:, 1]], ds.orientations.astype(np.float64),
        ds.read_spec(test).reshape((-1,) + ds.spec.shape[2:]),  # (Q * 4, 2, 256, T) float16
        # (Q * 4, 2, N) float16; None for spectrograms without waveforms (`naf data import paper`)
        ds.read_ir(test).reshape((-1,) + ds.ir.shape[2:]) if ds.has_ir.any() else None,
        late, ds.split_info if ds.has_late else None,
    )  # fmt: skip


def grid_tables(
    run: Run, paper_codecs: list[codecs.Codec], naf_codecs: list[codecs.Codec], repeats: int
) -> tuple[list[MainRow], dict[str, dict[str, list[float]]], dict | None]:
    """The main tables' rows (in table order), the floor's spread over its seeds per section, and the
    on-grid listening section (None without listening)."""
    t0 = time.perf_counter()
    queries = grid_queries(run.ds, run.test)
    scorers = {
        "paper_field": rows.paper_field_scorer(queries),
        "paper": None if queries.gt_wave is None else rows.paper_waveform_scorer(queries),
        "naf": rows.naf_scorer(queries, run.seed),
    }
    run.timing["ground_truth_s"] = time.perf_counter() - t0
    fsrc = None if run.field is None else pipeline.FieldSource(run.field, queries, run.phase)
    plan: list[Row] = [] if fsrc is None else [Row(("paper", RowId.FIELD), fsrc, scorers["paper_field"]),
                                               Row(("naf", RowId.FIELD), fsrc, scorers["naf"])]  # fmt: skip
    interps, storage = {}, {}
    with tqdm(unit="IR", desc="naf eval", disable=not run.progress) as bar:
        for rules, chosen in (("paper", paper_codecs), ("naf", naf_codecs)) if run.pool.has_waveforms else ():
            bar.set_description(f"naf eval: {rules} baselines")
            t1 = time.perf_counter()
            interps[rules] = pipeline.interpolate(run.pool, queries, rules, run.spill)
            run.timing[f"{rules}_weights_s"] = time.perf_counter() - t1
            storage[rules] = pipeline.add_codec_versions(interps[rules], rules, chosen, len(run.pool), run.timing)
            plan += [Row((rules, m, rep), interps[rules].source(m, rep), scorers[rules])
                     for rep in interps[rules].versions for m in INTERPOLATIONS]  # fmt: skip
        floor_sources, floor_notes = _floor_sources(run, queries, repeats, bar)
        plan += [Row((section, RowId.FLOOR, r), src, scorers[section])
                 for section in ("paper", "naf") for r, src in enumerate(floor_sources[:repeats])]  # fmt: skip
        second = floor_sources[0] if floor_sources else None
        played = run.played_rows(queries, fsrc, interps.get("naf"), second) if run.listening else []
        bar.total = queries.n_orient * sum(len(getattr(r.source, "positions", run.test)) for r in plan + played)
        bar.set_description("naf eval: scoring")
        t1 = time.perf_counter()
        scored = score_rows(queries, plan + played, bar.update)
    main, spread = _main_rows(run, scored[: len(plan)], storage, interps, floor_notes, repeats)
    if fsrc is not None:
        run.timing["field_s"] = sum(s.seconds for s in scored[:2])
        main[0][1].notes.append(f"queries took {fsrc.query_s:.1f} s on {run.field.device} "
                                f"({1e3 * fsrc.query_s / len(run.test):.1f} ms/pair)")  # fmt: skip
    if not played:
        return main, spread, None
    title = f"Listening metrics on {len(run.test)} held-out pairs (on the grid)"
    return main, spread, report.listening_section(title, scored[len(plan) :], time.perf_counter() - t1, run.phase)


def _floor_sources(
    run: Run, queries: QuerySet, repeats: int, bar: tqdm
) -> tuple[list[pipeline.StoredSource], list[str]]:
    """The floor's pairs simulated again (`data.floor`, cached), one source per seed of the `repeats` (the first
    seed also when only the listening table reads it), and the notes saying how many were simulated now."""
    n_seeds = max(repeats, int(run.listening)) if len(run.floor_pairs) else 0
    if n_seeds == 0:
        return [], []
    t0 = time.perf_counter()
    done = [0] * n_seeds

    def simulated(repeat: int, k: int) -> None:
        done[repeat] += k
        bar.set_postfix_str(f"floor: simulated {sum(done)} pairs")

    bar.set_description("naf eval: floor")
    positions = np.searchsorted(run.test, run.floor_pairs)
    sources = [pipeline.StoredSource(queries, floor.floor_irs(run.ds, run.scene, run.floor_pairs,
                                                              lambda k, r=r: simulated(r, k), repeat=r), positions)
               for r in range(n_seeds)]  # fmt: skip
    cache = project_path(floor.floor_cache_path(run.ds.path))
    notes = [f"seed {r + 1} of {repeats}: {done[r]} pairs simulated in this run, {len(run.floor_pairs) - done[r]} "
             f"read from the cache {cache}" for r in range(repeats)]  # fmt: skip
    run.timing["floor_simulation_or_cache_s"] = time.perf_counter() - t0
    return sources, notes


def _main_rows(
    run: Run, scored: list[pipeline.Scored], storage: dict, interps: dict, floor_notes: list[str], repeats: int
) -> tuple[list[MainRow], dict[str, dict[str, list[float]]]]:
    """The main tables' rows from their scores: field, paper baselines, naf baselines, floor per section."""
    n = len(run.test)
    by_key = {s.key: s for s in scored}
    out: list[MainRow] = []
    if run.field is not None:
        size, formula = pipeline.field_storage(run.field)
        for section in ("paper", "naf"):
            s = by_key[(section, RowId.FIELD)]
            row = ResultRow(LABELS[RowId.FIELD], f"checkpoint ({run.field.preset})", size / MB, formula, n, {},
                            None, s.seconds, [], section=section, rule=rows.FIELD_RULE[section])  # fmt: skip
            out.append((RowId.FIELD, row, s.errors))
    for rules, interp in interps.items():
        outside = 100 * interp.weights[RowId.LINEAR].fallback.mean()
        outside_note = (f"{outside:.1f} % of queries lie outside the hull: silence" if rules == "paper"
                        else f"{outside:.1f} % of queries outside the hull used the nearest pair")  # fmt: skip
        for rep, (tool, size, formula, notes) in storage[rules].items():
            for m in INTERPOLATIONS:
                s = by_key[(rules, m, rep)]
                row = ResultRow(LABELS[m], rep, size / MB, formula, n, {}, None, s.seconds,
                                ([outside_note] if m is RowId.LINEAR else []) + notes, section=rules,
                                rule=rows.baseline_rule(rules, m, tool))  # fmt: skip
                out.append((m, row, s.errors))
    spread: dict[str, dict[str, list[float]]] = {}
    for section in ("paper", "naf") if repeats > 0 and len(run.floor_pairs) else ():
        per_seed = [by_key[(section, RowId.FLOOR, r)] for r in range(repeats)]
        mean = metrics.ItemErrors.mean([s.errors for s in per_seed])
        summaries = [s.errors.summary() for s in per_seed]
        spread[section] = {k: [min(s[k] for s in summaries), max(s[k] for s in summaries)] for k in report.METRICS}
        row = ResultRow(
            LABELS[RowId.FLOOR], f"re-simulated, {repeats} other seeds", None, "none (a limit, not a method)",
            len(run.floor_pairs), {}, None, sum(s.seconds for s in per_seed),
            floor_notes if section == "paper" else [], section=section, rule=rows.FLOOR_RULE[section],
        )  # fmt: skip
        out.append((RowId.FLOOR, row, mean))
    return out, spread


def offgrid_sections(run: Run, n_pairs: int, rays: int | None = None) -> list[dict]:
    """The off-grid table (naf's rule on N fresh free pairs) and, with listening, its listening table; `rays`:
    the fresh simulations' ray count (None: the data set's)."""
    t0 = time.perf_counter()
    og = offgrid.offgrid_set(run.ds, run.scene, n_pairs, run.seed, run.progress, rays=rays)
    sim_s = time.perf_counter() - t0
    flat = og.irs.reshape((-1,) + og.irs.shape[2:])
    split = run.ds.split_info if run.ds.has_late else None
    late = None if split is None else late_description(flat, split)  # the early frames: log_magnitude's
    queries = QuerySet(og.emitters, og.listeners, run.ds.orientations.astype(np.float64),
                       log_magnitude(flat, run.ds.meta.n_frames), flat, late, split)  # fmt: skip
    scorer = rows.naf_scorer(queries, run.seed)
    interp = pipeline.interpolate(run.pool, queries, "naf", run.spill) if run.pool.has_waveforms else None
    second = pipeline.StoredSource(queries, og.floor_irs, np.arange(len(og)))
    fsrc = None if run.field is None else pipeline.FieldSource(run.field, queries, run.phase)
    plan = [] if fsrc is None else [Row(played_label(RowId.FIELD), fsrc, scorer)]
    plan += [] if interp is None else [Row(played_label(m), interp.source(m), scorer) for m in INTERPOLATIONS]
    plan.append(Row(played_label(RowId.SECOND_SIM), second, scorer))
    played = run.played_rows(queries, fsrc, interp, second) if run.listening else []
    t1 = time.perf_counter()
    scored = score_rows(queries, plan + played)
    sections = [report.offgrid_section(og, scored[: len(plan)], queries.n_orient, sim_s)]
    if played:
        title = f"Listening metrics on {len(og)} off-grid pairs" + (
            "" if og.n_rays == og.data_rays else f" against {og.n_rays:,}-ray simulations")
        sections.append(report.listening_section(title, scored[len(plan):], time.perf_counter() - t1, run.phase))
    return sections
