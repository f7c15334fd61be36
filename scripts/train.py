"""Scripts-menu job "Train a field": `naf train` on a scene's data set (single process, CPU or one GPU).

When training finishes it announces the run's best.pt, so the app can offer to load it. Cancel (SIGTERM)
makes `naf train` save a resumable checkpoint first; run again with --resume to go on. Standalone:
    .venv/bin/python scripts/train.py --scene apartment_1 --preset fast --minutes 20
"""

from __future__ import annotations

import sys

JOB = {
    "title": "Train a field",
    "description": "Train a Neural Acoustic Field on the scene's data set (make it first). 'fast' is the "
    "amortised model the app plays in real time; 'paper' is the paper's per-pixel network (GPU).",
    "produces": "checkpoint",
    "options": [
        "scene",
        {"flag": "--preset", "type": "choice", "choices": ["fast", "cpu", "medium", "paper"],
         "default": "fast", "help": "model preset"},
        {"flag": "--minutes", "type": "float", "default": 10.0, "min": 0.0, "max": 10000.0,
         "help": "time budget in minutes (used when --steps is 0)"},
        {"flag": "--steps", "type": "int", "default": 0, "min": 0, "max": 10000000,
         "help": "optimizer steps (0: train for --minutes instead)"},
        {"flag": "--data", "type": "file", "default": "", "help": "data set (default data/<scene>.h5)"},
        {"flag": "--out", "type": "file", "default": "",
         "help": "run folder (default runs/<scene>/<preset>)"},
        {"flag": "--device", "type": "choice", "choices": ["auto", "cpu", "cuda"], "default": "auto",
         "help": "where to train"},
        {"flag": "--resume", "type": "bool", "default": False, "help": "continue the run in --out"},
    ],
}


def main(argv: list[str] | None = None) -> int:
    """Parse the job's options, run `naf train`, announce the best checkpoint of a finished run."""
    from pathlib import Path

    from naf_model.cli import main as naf
    from naf_model.jobs import announce, forward_args, job_parser
    from naf_model.paths import runs_dir
    from naf_model.scene import load_scene

    args = job_parser(JOB, "train.py").parse_args(argv)
    if args.steps:  # naf train takes --steps or --minutes, not both
        args.minutes = None
    else:
        args.steps = None
    code = naf(["train", *forward_args(JOB, args)])
    if code == 0:
        out = Path(args.out) if args.out else runs_dir() / load_scene(args.scene).name / args.preset
        announce("checkpoint", out / "best.pt")
    return code


if __name__ == "__main__":
    sys.exit(main())
