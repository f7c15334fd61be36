"""Evaluation results as a markdown table in the layout of the paper's Table 1, and as JSON; atomic writes."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from naf_model.atomic import write_atomic

METRIC_COLUMNS = (
    ("spectral", "Spectral ↓", "{:.3f}"),
    ("t60_pct", "T60 (%) ↓", "{:.1f}"),
    ("c50_db", "C50 (dB) ↓", "{:.2f}"),
    ("edt_pct", "EDT (%) ↓", "{:.1f}"),
)


@dataclass(frozen=True)
class ResultRow:
    """One line of the table: a method on one representation of the IRs.

    `errors` are the means over the row's evaluated items (see `ItemErrors.summary`); `floor_errors` the
    same restricted to the floor row's pairs (None where not available); `storage_mb` None where storage
    is not meaningful (the floor); `seconds` wall time of predicting and scoring the row.
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


@dataclass(frozen=True)
class EvaluationReport:
    """Everything `naf eval` found, with the settings and timings that produced it."""

    scene: str
    data_path: str
    checkpoint: str | None
    settings: dict[str, Any]
    rows: list[ResultRow]
    timing: dict[str, float]
    notes: list[str]
    sections: list[dict[str, Any]] = field(default_factory=list)
    """Extra sections (off-grid, listening): each {"title", "markdown", "data"}, printed after the tables."""

    def to_json(self) -> str:
        """The report as indented JSON (rows as objects)."""
        return json.dumps(asdict(self), indent=2, sort_keys=False)

    def to_markdown(self) -> str:
        """The report as markdown: a settings line, the main table, the floor-subset table, notes."""
        s = self.settings
        lines = [
            f"# Evaluation on {self.scene}",
            "",
            f"Data set `{self.data_path}`: {s['n_test_pairs']} of {s['n_test_total']} held-out pairs "
            f"(x {s['orientations']} orientations x 2 ears); field `{self.checkpoint or 'none'}`. "
            f"Acoustic metrics on waveforms inverted with a fixed random phase (seed {s['phase_seed']}); "
            f"T60 failures count as 100 % error. Total time {self.timing.get('total_s', 0.0):.0f} s.",
            "",
            _table(self.rows, "errors", with_storage=True),
        ]
        floor_rows = [r for r in self.rows if r.floor_errors is not None]
        if any(r.method == "Simulation floor" for r in floor_rows):
            n_floor = next(r.n_pairs for r in floor_rows if r.method == "Simulation floor")
            lines += [
                "",
                f"## On the {n_floor} pairs that were simulated twice",
                "",
                "Every row on the floor's pairs; the floor compares two simulations of each pair that "
                "differ only in the ray tracer's seed.",
                "",
                _table(floor_rows, "floor_errors", with_storage=False),
            ]
        lines += [part for s in self.sections for part in ("", s["markdown"].rstrip("\n"))]
        notes = [f"Storage of {r.representation}: {r.storage_formula}." for r in self.rows]
        notes += [f"{r.method}, {r.representation}: {n}." for r in self.rows for n in r.notes]
        notes += [f"{n}." for n in self.notes]
        times = ", ".join(
            f"{k.removesuffix('_s').replace('_', ' ')} {v:.1f} s" for k, v in self.timing.items()
        )
        notes.append(f"Wall time: {times}.")
        lines += ["", "## Notes", ""] + [f"- {n}" for n in dict.fromkeys(notes)]  # ordered, without repeats
        return "\n".join(lines) + "\n"


def _table(rows: list[ResultRow], which: str, with_storage: bool) -> str:
    head = ["Method", "Representation"] + (["Storage (MB)"] if with_storage else [])
    head += [title for _, title, _ in METRIC_COLUMNS] + ["T60 fail (%)", "Pairs"]
    out = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] * 2 + ["---:"] * (len(head) - 2)) + "|"]
    for r in rows:
        errors = getattr(r, which)
        cells = [r.method, r.representation]
        if with_storage:
            cells.append("-" if r.storage_mb is None else f"{r.storage_mb:.2f}")
        cells += [fmt.format(errors[key]) for key, _, fmt in METRIC_COLUMNS]
        cells += [f"{errors['t60_fail_pct']:.1f}", str(errors.get("n_pairs", r.n_pairs))]
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def write_report(report: EvaluationReport, out_dir: Path) -> tuple[Path, Path]:
    """Write `<out_dir>/<scene>.md` and `.json` atomically; returns both paths."""
    md, js = out_dir / f"{report.scene}.md", out_dir / f"{report.scene}.json"
    write_atomic(js, report.to_json() + "\n")
    write_atomic(md, report.to_markdown())
    return md, js
