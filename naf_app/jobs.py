"""Job scripts as data: read the `JOB = {...}` description of each script in scripts/ without importing it.

A job script (scripts/train.py, ...) declares its title and main options in a module-level literal:

    JOB = {"title": "Train a field", "description": "...", "produces": "checkpoint",
           "options": [{"flag": "--scene", "type": "scene", "default": "{scene}", "help": "..."}, ...]}

Option types: str, int, float, bool (a switch), choice (with "choices"), file (a path), scene. String
defaults may hold {scene} and {checkpoint}, filled in from the app. A script that makes a file the app can
use prints one line `naf-job: <kind> <path>` (kind: checkpoint, image, dataset, ...) when it succeeds, and
may print `naf-job: progress <done>/<total>` lines (tqdm counters are read too).
"""

from __future__ import annotations

import argparse
import ast
import re
from dataclasses import dataclass
from pathlib import Path

OPTION_TYPES = ("str", "int", "float", "bool", "choice", "file", "scene")
RESULT_LINE = re.compile(r"^naf-job: (\w+) (.+)$")
PROGRESS_COUNT = re.compile(r"naf-job: progress (\d+)/(\d+)|(\d+)/(\d+) \[")
"""A tqdm counter ("12/40 [00:03<...") or a job's own `naf-job: progress 12/40` line."""


@dataclass(frozen=True)
class JobOption:
    """One command-line option of a job: its flag, value type, default and help text."""

    flag: str
    type: str = "str"
    default: object = None
    label: str = ""
    help: str = ""
    choices: tuple = ()
    minimum: float | None = None
    maximum: float | None = None

    @property
    def title(self) -> str:
        return self.label or self.flag.lstrip("-").replace("-", " ")


@dataclass(frozen=True)
class JobSpec:
    """A job script and its description."""

    script: Path
    title: str
    description: str
    options: tuple[JobOption, ...]
    produces: str = ""


def read_job(script: Path) -> JobSpec | None:
    """The JobSpec of one script, or None if it has no `JOB` literal; ValueError for a malformed one."""
    tree = ast.parse(Path(script).read_text(encoding="utf-8"), filename=str(script))
    for node in tree.body:
        names = [t.id for t in getattr(node, "targets", []) if isinstance(t, ast.Name)]
        if isinstance(node, ast.Assign) and "JOB" in names:
            job = ast.literal_eval(node.value)
            break
    else:
        return None
    options = []
    for raw in job.get("options", []):
        kind = raw.get("type", "str")
        if kind not in OPTION_TYPES or not str(raw.get("flag", "")).startswith("-"):
            raise ValueError(f"{script}: option {raw!r} needs a flag starting with '-' and a type in "
                             f"{OPTION_TYPES}")
        options.append(JobOption(
            flag=raw["flag"], type=kind, default=raw.get("default"), label=raw.get("label", ""),
            help=raw.get("help", ""), choices=tuple(raw.get("choices", ())), minimum=raw.get("min"),
            maximum=raw.get("max"),
        ))
    return JobSpec(Path(script), str(job["title"]), str(job.get("description", "")), tuple(options),
                   str(job.get("produces", "")))


def discover_jobs(scripts_dir: Path) -> list[JobSpec]:
    """Every job script in `scripts_dir` (files with a JOB literal), in a stable order."""
    specs = []
    for path in sorted(Path(scripts_dir).glob("*.py")):
        if path.name.startswith("_"):
            continue
        spec = read_job(path)
        if spec is not None:
            specs.append(spec)
    return specs


def fill_default(value: object, context: dict[str, str]) -> object:
    """A default with {scene} / {checkpoint} replaced from the app's context (missing keys become '')."""
    if isinstance(value, str):
        return re.sub(r"\{(\w+)\}", lambda m: context.get(m.group(1), ""), value)
    return value


def command_line(spec: JobSpec, values: dict[str, object]) -> list[str]:
    """Arguments for the script from option values keyed by flag: switches only when on, empty skipped."""
    args: list[str] = []
    for opt in spec.options:
        value = values.get(opt.flag, opt.default)
        if opt.type == "bool":
            if value:
                args.append(opt.flag)
        elif value is not None and str(value) != "":
            args += [opt.flag, str(value)]
    return args


def parse_progress(text: str) -> tuple[int, int] | None:
    """(done, total) from the last progress counter in a chunk of output, or None."""
    found = PROGRESS_COUNT.findall(text)
    if not found:
        return None
    a, b, c, d = found[-1]
    return (int(a), int(b)) if a else (int(c), int(d))


# ---- the script side: a job script builds its argparse from JOB and forwards the values -----------------
def job_parser(job: dict, prog: str | None = None) -> argparse.ArgumentParser:
    """An argparse parser for a job script from its JOB literal (so `script.py --help` lists the options).

    An option whose default needs the app ({scene}, ...) is required here unless it says "required": False.
    """
    parser = argparse.ArgumentParser(prog=prog, description=f"{job['title']}: {job.get('description', '')}")
    for raw in job.get("options", []):
        default = raw.get("default")
        needs_app = isinstance(default, str) and "{" in default
        kwargs: dict = {"help": raw.get("help", "")}
        if raw.get("type") == "bool":
            parser.add_argument(raw["flag"], action="store_true", **kwargs)
            continue
        kwargs["type"] = {"int": int, "float": float}.get(raw.get("type", "str"), str)
        if raw.get("type") == "choice":
            kwargs["choices"] = list(raw["choices"])
        if raw.get("required", needs_app):
            kwargs["required"] = True
        elif default not in (None, "") and not needs_app:  # "{checkpoint}" etc. only mean something in the app
            kwargs["default"] = default
        parser.add_argument(raw["flag"], **kwargs)
    return parser


def forward_args(job: dict, args: argparse.Namespace) -> list[str]:
    """The parsed options as command-line arguments again (same flags), for `naf_model.cli.main`."""
    out: list[str] = []
    for raw in job.get("options", []):
        value = getattr(args, raw["flag"].lstrip("-").replace("-", "_"))
        if raw.get("type") == "bool":
            out += [raw["flag"]] if value else []
        elif value is not None and value != "":
            out += [raw["flag"], str(value)]
    return out


def report_progress(done: int, total: int) -> None:
    """Drive the job dock's progress bar from a script that has no tqdm bar of its own."""
    print(f"naf-job: progress {done}/{total}", flush=True)


def announce(kind: str, path: str | Path) -> None:
    """Tell the app about a file the job made (`naf-job: <kind> <absolute path>`)."""
    print(f"naf-job: {kind} {Path(path).resolve()}", flush=True)
