"""The tables of one `naf eval` run, each a list of rows of the one pipeline (`pipeline.score_rows`).

On the grid (the held-out pairs of the split) one pass scores the main tables (`report.SECTIONS`: the
paper's rules and naf's earlier rules) - the field, nearest / linear interpolation of raw and codec training
IRs, the floor's re-simulations - and, with listening, the played waveforms of the field, of the simulated
magnitudes, of the raw interpolations and of a second simulation. Off the grid (`--offgrid N`) one pass
scores the field, the raw interpolations and the second simulation under naf's rule and, with listening,
the same played rows. Every method predicts each item once; the baselines interpolate training pairs only.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from tqdm import tqdm

from naf_model.data import DataSet, floor, offgrid
from naf_model.data.extra import TrainingPairs
from naf_model.evaluation import codecs, methods, metrics, report, rows
from naf_model.evaluation.methods import FieldSource, SimulatedMagnitudes, StoredSource
from naf_model.evaluation.pipeline import QuerySet, Row, Scored, score_rows
from naf_model.evaluation.report import ResultRow
from naf_model.evaluation.rows import INTERPOLATIONS, LABELS, RowId, played_label
from naf_model.paths import project_path
from naf_model.spectrogram import log_magnitude

MB = 1e6
MainRow = tuple[RowId, ResultRow, metrics.ItemErrors]
"""A main-table row: its identifier, its display and its errors per item."""


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
    grid: QuerySet | None = None
    """The held-out pairs' query set, once `grid_tables` has read it."""

    @property
    def n_frames(self) -> int:
        return self.ds.meta.n_frames

    def listening_scorer(self, queries: QuerySet) -> rows.ListeningScorer:
        """The listening scorer of a query set; the direct-ITD reference only for the spherical head."""
        sim = self.ds.meta.simulation
        head = None if sim.get("hrtf") else float(sim.get("head_radius", 0.0875))
        return rows.ListeningScorer(queries, self.scene.free_space, head)

    def played_rows(self, queries: QuerySet, fsrc, interp: methods.Interpolation, second) -> list[Row]:
        """The listening rows of a query set: field, simulated magnitudes, raw interpolations, a second
        simulation (`second`, a StoredSource or None), keyed by their names in the listening table."""
        scorer = self.listening_scorer(queries)
        head = float(self.ds.meta.simulation.get("head_radius", 0.0875))
        magnitudes = SimulatedMagnitudes(queries, self.phase, self.n_frames, head, self.scene.free_space)
        out = [] if fsrc is None else [Row(played_label(RowId.FIELD, self.phase), fsrc, scorer)]
        out.append(Row(played_label(RowId.SIM_MAGNITUDES, self.phase), magnitudes, scorer))
        out += [Row(played_label(m), interp.source(m), scorer) for m in INTERPOLATIONS]
        if second is not None:
            out.append(Row(played_label(RowId.SECOND_SIM, n_pairs=len(second.positions)), second, scorer))
        return out


def grid_queries(ds: DataSet, test: np.ndarray) -> QuerySet:
    """The held-out pairs `test` with the data set's spectrograms and waveforms as ground truth."""
    pairs = ds.pairs[test]
    return QuerySet(
        ds.emitters[pairs[:, 0]], ds.listeners[pairs[:, 1]], ds.orientations.astype(np.float64),
        ds.read_spec(test).reshape((-1,) + ds.spec.shape[2:]),  # (Q * 4, 2, 256, T) float16
        ds.read_ir(test).reshape((-1,) + ds.ir.shape[2:]),  # (Q * 4, 2, N) float16
    )  # fmt: skip


def grid_tables(
    run: Run, paper_codecs: list[codecs.Codec], naf_codecs: list[codecs.Codec], repeats: int
) -> tuple[list[MainRow], dict[str, dict[str, list[float]]], dict | None]:
    """The main tables' rows (in table order), the floor's spread over its seeds per section, and the
    on-grid listening section (None without listening)."""
    t0 = time.perf_counter()
    queries = run.grid = grid_queries(run.ds, run.test)
    scorers = {
        "paper_field": rows.paper_field_scorer(queries.gt_log),
        "paper": rows.paper_waveform_scorer(queries.gt_log, queries.gt_wave),
        "naf": rows.naf_scorer(queries.gt_log, run.ds.meta.ir_length, run.seed),
    }
    run.timing["ground_truth_s"] = time.perf_counter() - t0
    fsrc = None if run.field is None else FieldSource(run.field, queries, run.phase)
    if fsrc is not None:
        run.timing["field_s"] = 0.0
    plan: list[Row] = [] if fsrc is None else [Row(("paper", RowId.FIELD), fsrc, scorers["paper_field"]),
                                               Row(("naf", RowId.FIELD), fsrc, scorers["naf"])]  # fmt: skip
    interps, storage = {}, {}
    for rules, chosen in (("paper", paper_codecs), ("naf", naf_codecs)):
        t1 = time.perf_counter()
        interps[rules] = methods.interpolate(run.pool, queries, rules, run.n_frames)
        run.timing[f"{rules}_weights_s"] = time.perf_counter() - t1
        storage[rules] = methods.add_codec_versions(interps[rules], rules, chosen, len(run.pool), run.timing)
        plan += [Row((rules, m, rep), interps[rules].source(m, rep), scorers[rules])
                 for rep in interps[rules].versions for m in INTERPOLATIONS]  # fmt: skip
    n_items = len(queries) * queries.n_orient
    with tqdm(total=0, unit="IR", desc="naf eval", disable=not run.progress) as bar:
        floor_sources, floor_notes = _floor_sources(run, queries, repeats, bar)
        plan += [Row((section, RowId.FLOOR, r), src, scorers[section])
                 for section in ("paper", "naf") for r, src in enumerate(floor_sources)]  # fmt: skip
        played = []
        if run.listening:
            second = floor_sources[0] if floor_sources else _second_on_grid(run, queries)
            played = run.played_rows(queries, fsrc, interps["naf"], second)
        full = sum(not isinstance(r.source, StoredSource) for r in plan + played)
        bar.total = n_items * full + (len(plan) + len(played) - full) * len(run.floor_pairs) * queries.n_orient
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


def _floor_sources(run: Run, queries: QuerySet, repeats: int, bar: tqdm) -> tuple[list[StoredSource], list[str]]:
    """The floor's pairs simulated again with `repeats` seeds (`data.floor`, cached), one source per seed,
    and the notes saying how many were simulated now."""
    if not len(run.floor_pairs) or repeats <= 0:
        return [], []
    t0 = time.perf_counter()
    done = [0] * repeats

    def simulated(repeat: int, k: int) -> None:
        done[repeat] += k
        bar.set_postfix_str(f"floor: simulated {sum(done)} pairs")

    bar.set_description("naf eval: floor")
    positions = np.searchsorted(run.test, run.floor_pairs)
    sources = [
        StoredSource(queries, floor.floor_irs(run.ds, run.scene, run.floor_pairs, lambda k, r=r: simulated(r, k),
                                              repeat=r), positions, run.n_frames)
        for r in range(repeats)
    ]  # fmt: skip
    cache = project_path(floor.floor_cache_path(run.ds.path))
    notes = [
        f"seed {r + 1} of {repeats}: {done[r]} pairs simulated in this run, {len(run.floor_pairs) - done[r]} read "
        f"from the cache {cache}"
        for r in range(repeats)
    ]
    run.timing["floor_simulation_or_cache_s"] = time.perf_counter() - t0
    return sources, notes


def _second_on_grid(run: Run, queries: QuerySet) -> StoredSource | None:
    """The floor pairs' first re-simulation for the listening table when no floor rows are scored."""
    if not len(run.floor_pairs):
        return None
    irs = floor.floor_irs(run.ds, run.scene, run.floor_pairs)
    return StoredSource(queries, irs, np.searchsorted(run.test, run.floor_pairs), run.n_frames)


def _main_rows(
    run: Run, scored: list[Scored], storage: dict, interps: dict, floor_notes: list[str], repeats: int
) -> tuple[list[MainRow], dict[str, dict[str, list[float]]]]:
    """The main tables' rows from their scores: field, paper baselines, naf baselines, floor per section."""
    n = len(run.test)
    by_key = {s.key: s for s in scored}
    out: list[MainRow] = []
    if run.field is not None:
        size, formula = methods.field_storage(run.field)
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
        fields = ("spectral", "t60", "c50", "edt", "t60_failures")
        mean = metrics.ItemErrors(*(np.mean([getattr(s.errors, f) for s in per_seed], axis=0) for f in fields))
        summaries = [s.errors.summary() for s in per_seed]
        spread[section] = {k: [min(s[k] for s in summaries), max(s[k] for s in summaries)] for k in report.METRICS}
        row = ResultRow(
            LABELS[RowId.FLOOR], f"re-simulated, {repeats} other seeds", None, "none (a limit, not a method)",
            len(run.floor_pairs), {}, None, sum(s.seconds for s in per_seed),
            floor_notes if section == "paper" else [], section=section, rule=rows.FLOOR_RULE[section],
        )  # fmt: skip
        out.append((RowId.FLOOR, row, mean))
    return out, spread


def offgrid_sections(run: Run, n_pairs: int) -> list[dict]:
    """The off-grid table (naf's rule on N fresh free pairs) and, with listening, its listening table."""
    t0 = time.perf_counter()
    og = offgrid.offgrid_set(run.ds, run.scene, n_pairs, run.seed, run.progress)
    sim_s = time.perf_counter() - t0
    flat = og.irs.reshape((-1,) + og.irs.shape[2:])
    queries = QuerySet(og.emitters, og.listeners, run.ds.orientations.astype(np.float64),
                       log_magnitude(flat, run.n_frames), flat)  # fmt: skip
    scorer = rows.naf_scorer(queries.gt_log, run.ds.meta.ir_length, run.seed)
    interp = methods.interpolate(run.pool, queries, "naf", run.n_frames)
    second = StoredSource(queries, og.floor_irs, np.arange(len(og)), run.n_frames)
    fsrc = None if run.field is None else FieldSource(run.field, queries, run.phase)
    plan = [] if fsrc is None else [Row(played_label(RowId.FIELD), fsrc, scorer)]
    plan += [Row(played_label(m), interp.source(m), scorer) for m in INTERPOLATIONS]
    plan.append(Row(played_label(RowId.SECOND_SIM), second, scorer))
    played = run.played_rows(queries, fsrc, interp, second) if run.listening else []
    t1 = time.perf_counter()
    scored = score_rows(queries, plan + played)
    sections = [report.offgrid_section(og, scored[: len(plan)], queries.n_orient, sim_s)]
    if played:
        title = f"Listening metrics on {len(og)} off-grid pairs"
        sections.append(report.listening_section(title, scored[len(plan):], time.perf_counter() - t1, run.phase))
    return sections
