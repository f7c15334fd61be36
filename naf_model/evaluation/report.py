"""Evaluation results as markdown tables (the main ones in the layout of the paper's Table 1, the off-grid and
listening ones after them, all written by `markdown_table`) and as JSON; atomic writes."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from naf_model.atomic import atomic_paths
from naf_model.data.offgrid import MIN_GRID_DISTANCE_M
from naf_model.evaluation import listening
from naf_model.paths import project_path

METRIC_COLUMNS = (
    ("spectral", "Spectral ↓", "{:.3f}"),
    ("t60_pct", "T60 (%) ↓", "{:.1f}"),
    ("c50_db", "C50 (dB) ↓", "{:.2f}"),
    ("edt_pct", "EDT (%) ↓", "{:.1f}"),
)
METRICS = tuple(key for key, _, _ in METRIC_COLUMNS)
"""Summary keys of the four error columns."""


@dataclass(frozen=True)
class ResultRow:
    """One line of a table: a method on one representation of the IRs, under one section's rules. `errors`
    are the means over the row's evaluated items (see `ItemErrors.summary`); `intervals` their
    bootstrap 95 % intervals over pairs ([lo, hi] per metric); `floor_errors` the means restricted to the
    floor row's pairs (None where not available); `spread` the floor's range over its seeds ([min, max] per
    metric, floor rows only); `storage_mb` None where storage is not meaningful (the floor); `rule` one
    sentence saying which rule the row follows; `seconds` wall time of predicting and scoring the row.
    """

    method: str
    representation: str
    storage_mb: float | None
    storage_formula: str
    n_pairs: int
    errors: dict[str, float]
    floor_errors: dict[str, float] | None
    seconds: float
    notes: list[str] = field(default_factory=list)
    section: str = "paper"
    rule: str = ""
    intervals: dict[str, list[float]] = field(default_factory=dict)
    spread: dict[str, list[float]] | None = None


@dataclass(frozen=True)
class Section:
    """A part of the report: `key` (rows and comparisons name it), a title and an opening paragraph."""

    key: str
    title: str
    intro: str


SECTIONS = (
    Section(
        "paper", "The paper's protocol",
        "Main rows: the baselines, codecs and T60 rules of the paper's released code "
        "(aluo-x/Learning_Neural_Acoustic_Fields: baselines/make_data_*.py, testing/cache_test_baseline.py, "
        "testing/compute_T60_err_*.py), applied to this data set's held-out pairs (the split named above).",
    ),  # fmt: skip
    Section(
        "naf", "Extra rows: naf's earlier rules",
        "The rows this table had before: per-channel codecs at 32 kbit/s (AAC) and 6 kbit/s (Opus), linear "
        "interpolation that falls back to the nearest pair outside the hull, every row measured through one "
        "shared random phase and each failed ear counted 100 %. Kept for comparison; not the paper's protocol.",
    ),  # fmt: skip
)
"""The report's main sections, in order; sections without rows are left out of the markdown. The off-grid and
listening tables follow them (`EvaluationReport.played`)."""


@dataclass(frozen=True)
class EvaluationReport:
    """Everything `naf eval` found, with the settings, the command and the timings that produced it."""

    scene: str
    data_path: str
    checkpoint: str | None
    settings: dict[str, Any]
    rows: list[ResultRow]
    timing: dict[str, float]
    notes: list[str]
    command: str = ""
    comparisons: list[dict[str, Any]] = field(default_factory=list)
    sections: list[Section] = field(default_factory=lambda: list(SECTIONS))
    played: list[dict[str, Any]] = field(default_factory=list)
    """The off-grid and listening tables, after the main ones: {"title", "markdown", "data"} each."""

    def to_json(self) -> str:
        """The report as indented JSON (rows as objects)."""
        return json.dumps(asdict(self), indent=2, sort_keys=False)

    def to_markdown(self) -> str:
        """The report as markdown: settings, then per section its table, comparisons and floor table, notes."""
        s = self.settings
        by_section = {sec.key: [r for r in self.rows if r.section == sec.key] for sec in self.sections}
        extra = ""  # which training pairs came from the extra data sets the field was trained on too
        if s.get("n_extra_train_pairs"):
            names = ", ".join(f"`{p}`" for p in s.get("extra_data", []))
            extra = f" ({s['n_extra_train_pairs']} of them from {names}, which the field was trained on too)"
        lines = [
            f"# Evaluation on {self.scene}",
            "",
            f"Data set `{self.data_path}`: {s['n_test_pairs']} of {s['n_test_total']} held-out "
            f"{s.get('split', 'test')} pairs "
            f"(x {s['orientations']} orientations x 2 ears); field `{self.checkpoint or 'none'}`; "
            f"{s['n_train_pairs']} training pairs for the baselines{extra}; {s.get('validation', '')}. "
            f"Intervals: bootstrap 95 % over pairs ({s.get('bootstrap_resamples', 0)} resamples, seed "
            f"{s.get('bootstrap_seed', 0)}). Metric definitions: docs/metrics.md. "
            f"Total time {self.timing.get('total_s', 0.0):.0f} s.",
            "",
            f"Data set made by `{s['data_command']}` (its stored settings)." if s.get("data_command") else "",
            f"Regenerate: `{self.command}`" if self.command else "",
            "",
            "Sections: " + ", ".join(sec.title for sec in self.sections if by_section[sec.key]) + ".",
        ]
        for sec in self.sections:
            rows = by_section[sec.key]
            if not rows:
                continue
            lines += ["", f"## {sec.title}", "", sec.intro, "", _table(rows, "errors", with_storage=True)]
            comps = [c for c in self.comparisons if c.get("section") == sec.key]
            if comps:
                lines += ["", "Paired comparison with the best baseline of this section (lowest mean per metric):",
                          "", _comparison_table(comps)]  # fmt: skip
            floors = [r for r in rows if r.spread is not None]
            if floors:
                lines += ["", f"On the {floors[0].n_pairs} pairs that were simulated again "
                          f"({s.get('floor_repeats', 1)} seeds); the floor's range over its seeds in brackets:", "",
                          _table([r for r in rows if r.floor_errors is not None], "floor_errors", with_storage=False)]
            lines += ["", "Rules of the rows:", ""]
            lines += [f"- {r.method}, {r.representation}: {r.rule}." for r in rows if r.rule]
        lines += [part for p in self.played for part in ("", p["markdown"].rstrip("\n"))]
        notes = [f"Storage of {r.representation}: {r.storage_formula}." for r in self.rows]
        notes += [f"{r.method}, {r.representation} ({r.section}): {n}." for r in self.rows for n in r.notes]
        notes += [f"{n}." for n in self.notes]
        times = ", ".join(f"{k.removesuffix('_s').replace('_', ' ')} {v:.1f} s" for k, v in self.timing.items())
        notes.append(f"Wall time: {times}.")
        lines += ["", "## Notes", ""] + [f"- {n}" for n in dict.fromkeys(notes)]  # ordered, without repeats
        return "\n".join(lines) + "\n"


def _cell(value: float, fmt: str, interval: list[float] | None) -> str:
    text = fmt.format(value)
    if interval:
        text += " [" + ", ".join(fmt.format(v) for v in interval) + "]"
    return text


def markdown_table(head: list[str], rows: list[list[str]], left: int = 1) -> str:
    """A markdown table: the first `left` columns left-aligned, the others (numbers) right-aligned."""
    out = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] * left + ["---:"] * (len(head) - left)) + "|"]
    return "\n".join(out + ["| " + " | ".join(cells) + " |" for cells in rows])


def _table(rows: list[ResultRow], which: str, with_storage: bool) -> str:
    head = ["Method", "Representation"] + (["Storage (MB)"] if with_storage else [])
    head += [title for _, title, _ in METRIC_COLUMNS] + ["T60 fail (%)", "Pairs"]
    lines = []
    for r in rows:
        errors = getattr(r, which)
        cells = [r.method, r.representation]
        if with_storage:
            cells.append("-" if r.storage_mb is None else f"{r.storage_mb:.2f}")
        for key, _, fmt in METRIC_COLUMNS:
            bracket = r.intervals.get(key) if which == "errors" else (r.spread or {}).get(key)
            cells.append(_cell(errors[key], fmt, bracket))
        lines.append(cells + [f"{errors['t60_fail_pct']:.1f}", str(errors.get("n_pairs", r.n_pairs))])
    return markdown_table(head, lines, left=2)


def _comparison_table(comps: list[dict[str, Any]]) -> str:
    head = ["Metric", "Field", "Best baseline", "Field wins (% of pairs)", "Field - baseline", "Field / baseline"]
    lines = []
    for c in comps:
        fmt = next(f for key, _, f in METRIC_COLUMNS if key == c["metric"])
        win = f"{100 * c['win_share']:.0f} [{100 * c['win_share_ci'][0]:.0f}, {100 * c['win_share_ci'][1]:.0f}]"
        diff = _cell(c["mean_diff"], fmt, list(c["mean_diff_ci"]))
        ratio = _cell(c["ratio"], "{:.2f}", list(c["ratio_ci"]))
        lines.append([c["metric"], c["a"], c["b"], win, diff, ratio])
    return markdown_table(head, lines, left=3)


def listening_section(title: str, scored: list, seconds: float, phase: str) -> dict[str, Any]:
    """A listening table (`listening.SUMMARY_KEYS`) from scored rows (`pipeline.Scored`, keyed by name)."""
    intro = (
        "Played waveforms against the simulated waveform of each (pair, orientation); "
        f"the field and the simulated magnitudes are synthesised with the `{phase}` phase method. Envelope: "
        f"mean |dB| of 50 ms window energies within {listening.ENVELOPE_RANGE_DB:g} dB of the loudest; "
        "level and late (after onset + 50 ms) biases signed, positive = played louder; C50/EDT/T60 measured "
        "on the played waveforms; ITD on line-of-sight items only, against the simulated waveform's ITD and "
        "against the ITD of the direct arrival alone (rendered through the data set's ears, nothing else in the IR); "
        f"ILD per octave band. Scored in {seconds:.0f} s."
    )
    summaries, text = _summary_table(title, intro, scored, ["Played IR"], listening.SUMMARY_KEYS,
                                     ("Items (LOS)", lambda s: f"{s['n_items']} ({s['n_los_items']})"))  # fmt: skip
    return {"title": title, "markdown": text, "data": {"phase": phase, "rows": summaries}}


def offgrid_section(og, scored: list, n_orient: int, sim_s: float) -> dict[str, Any]:
    """The off-grid table (the main tables' columns) of an `offgrid.OffgridSet` from its scored rows."""
    title = f"Off the grid: {len(og)} random free pairs (paper's metrics)"
    settings = "the data set's settings" if og.n_rays == og.data_rays else (
        f"the data set's settings but {og.n_rays:,} rays per emitter, not {og.data_rays:,} (a reference with "
        "less Monte-Carlo noise in its tail; the second simulation too)")
    intro = (
        f"{len(og)} emitter-listener pairs x {n_orient} orientations drawn (seed "
        f"{og.seed}) in the free space at least {MIN_GRID_DISTANCE_M} m from "
        f"every emitter and listener grid position, simulated with {settings} "
        f"({og.simulated} emitter groups simulated now, the rest from `{project_path(og.path)}`; {sim_s:.0f} s). "
        "Same metric path as the main table."
    )
    summaries, text = _summary_table(title, intro, scored, ["Method"], METRIC_COLUMNS,
                                     ("T60 fail (%)", lambda s: f"{s['t60_fail_pct']:.1f}"))  # fmt: skip
    return {"title": title, "markdown": text, "data": {"n_pairs": len(og), "cache": project_path(og.path),
                                                       "n_rays": og.n_rays, "rows": summaries}}  # fmt: skip


def _summary_table(title: str, intro: str, scored: list, head: list[str], keys, last) -> tuple[dict, str]:
    """A section of one row per scored row: its summary under `keys` (key, title, format) and a `last`
    (title, cell) column; returns the summaries by row name and the markdown."""
    summaries = {s.key: s.errors.summary() for s in scored}
    lines = [[name] + [fmt.format(s[k]) for k, _, fmt in keys] + [last[1](s)] for name, s in summaries.items()]
    table = markdown_table(head + [t for _, t, _ in keys] + [last[0]], lines)
    return summaries, f"## {title}\n\n{intro}\n\n{table}\n"


def write_report(report: EvaluationReport, out_dir: Path) -> tuple[Path, Path]:
    """Write `<out_dir>/<scene>.md` and `.json` as one atomic pair (an interrupt replaces both or neither)."""
    md, js = out_dir / f"{report.scene}.md", out_dir / f"{report.scene}.json"
    with atomic_paths(md, js) as (md_tmp, js_tmp):
        md_tmp.write_text(report.to_markdown(), encoding="utf-8")
        js_tmp.write_text(report.to_json() + "\n", encoding="utf-8")
    return md, js
