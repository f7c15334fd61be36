"""Scripts-menu job "Evaluate": score a field against the interpolation and codec baselines.

A thin wrapper around `naf eval`; writes docs/results/<scene>.md and .json. Standalone:
    .venv/bin/python scripts/evaluate.py --scene apartment_1 --checkpoint assets/checkpoints/apartment_1.pt
"""

from __future__ import annotations

import sys

JOB = {
    "title": "Evaluate",
    "description": "Score the held-out pairs of the data set: the field against nearest-neighbour and "
    "linear interpolation (raw, AAC, Opus) and the simulation floor; writes a markdown table.",
    "produces": "report",
    "options": [
        "scene", "checkpoint",
        {"flag": "--max-pairs", "type": "int", "default": 200, "min": 1, "max": 1000000,
         "help": "held-out pairs scored (a seeded subset if there are more)"},
        {"flag": "--floor-pairs", "type": "int", "default": 0, "min": 0, "max": 100000,
         "help": "held-out pairs simulated again for the floor row (0: none)"},
        {"flag": "--no-codecs", "type": "bool", "default": False, "help": "skip the AAC and Opus rows"},
        {"flag": "--out-dir", "type": "file", "default": "", "help": "folder for <scene>.md/.json "
         "(default docs/results)"},
    ],
}


def main(argv: list[str] | None = None) -> int:
    """Parse the job's options, run `naf eval`, announce the report."""
    from pathlib import Path

    from naf_model.cli import main as naf
    from naf_model.evaluation import RESULTS_DIR
    from naf_model.jobs import announce, forward_args, job_parser
    from naf_model.scene import load_scene

    args = job_parser(JOB, "evaluate.py").parse_args(argv)
    code = naf(["eval", *forward_args(JOB, args)])
    if code == 0:
        out_dir = Path(args.out_dir) if args.out_dir else RESULTS_DIR
        announce("report", out_dir / f"{load_scene(args.scene).name}.md")
    return code


if __name__ == "__main__":
    sys.exit(main())
