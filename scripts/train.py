"""Scripts-menu job "Train a field": train a NAF on a scene's data set (single process, CPU or one GPU).

Calls the library's `train_field` (what `naf train` runs) and announces the best checkpoint so the app can
offer to load it. Cancel (SIGTERM) saves a resumable checkpoint first; run again with --resume to go on.
Standalone:
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
        {"flag": "--scene", "type": "scene", "default": "{scene}", "help": "scene name or scene.json"},
        {"flag": "--preset", "type": "choice", "choices": ["fast", "cpu", "medium", "paper"],
         "default": "fast", "help": "model preset"},
        {"flag": "--minutes", "type": "float", "default": 10.0, "min": 0.0, "max": 10000.0,
         "help": "time budget in minutes (0: use --steps)"},
        {"flag": "--steps", "type": "int", "default": 0, "min": 0, "max": 10000000,
         "help": "training steps (0: the preset's, or as many as fit in --minutes)"},
        {"flag": "--data", "type": "file", "default": "", "help": "data set (default data/<scene>.h5)"},
        {"flag": "--out-dir", "type": "file", "default": "",
         "help": "run folder (default runs/<scene>/<preset>)"},
        {"flag": "--device", "type": "choice", "choices": ["auto", "cpu", "cuda"], "default": "auto",
         "help": "where to train"},
        {"flag": "--resume", "type": "bool", "default": False, "help": "continue the run in --out-dir"},
    ],
}


def main(argv: list[str] | None = None) -> int:
    """Parse the job's options, train, announce the best checkpoint; NafError -> one line, exit 2."""
    from pathlib import Path

    from naf_app.jobs import announce, job_parser
    from naf_model.errors import NafError
    from naf_model.model import preset
    from naf_model.model.train import RunOptions, train_field
    from naf_model.paths import default_dataset_path, runs_dir
    from naf_model.scene import load_scene

    args = job_parser(JOB, "train.py").parse_args(argv)
    try:
        scene = load_scene(args.scene)
        options = RunOptions(
            dataset=Path(args.data) if args.data else default_dataset_path(scene.name),
            out_dir=Path(args.out_dir) if args.out_dir else runs_dir() / scene.name / args.preset,
            steps=args.steps or None,
            minutes=args.minutes if args.minutes and not args.steps else None,
            resume=args.resume,
            device=args.device,
        )
        result = train_field(preset(args.preset), options, scene)
    except NafError as exc:
        print(f"train: error: {exc}", file=sys.stderr)
        return 2
    print(f"trained {result.step}/{result.total_steps} steps; metrics {result.metrics}")
    if result.interrupted:
        print(f"stopped early; resume with --resume --out-dir {options.out_dir}")
        return 0
    announce("checkpoint", result.best if result.best.is_file() else result.checkpoint)
    return 0


if __name__ == "__main__":
    sys.exit(main())
