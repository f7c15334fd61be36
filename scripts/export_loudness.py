"""Scripts-menu job "Export loudness images": loudness heatmaps for one emitter at several headings.

Runs `naf loudness` once per heading and writes <out-dir>/<scene>_loudness_<heading>.png. Standalone:
    .venv/bin/python scripts/export_loudness.py --scene apartment_1 --emitter "2.7 5.4" --headings 0,90
"""

from __future__ import annotations

import sys

JOB = {
    "title": "Export loudness images",
    "description": "Predicted loudness over the whole plan for the emitter at one or more listener "
    "headings, one PNG per heading (plan, heatmap, colour bar).",
    "produces": "image",
    "options": [
        "scene", "checkpoint", "emitter",
        {"flag": "--headings", "type": "str", "default": "0,90,180,270",
         "help": "listener headings in degrees, comma-separated"},
        {"flag": "--spacing", "type": "float", "default": 0.25, "min": 0.05, "max": 5.0,
         "help": "grid spacing in metres"},
        {"flag": "--out-dir", "type": "file", "default": "", "help": "folder for the PNGs "
         "(default runs/<scene>/loudness)"},
    ],
}


def main(argv: list[str] | None = None) -> int:
    """Parse the options, run `naf loudness` per heading, announce each image."""
    from pathlib import Path

    from naf_model.cli import main as naf
    from naf_model.jobs import announce, job_parser, parse_numbers, report_progress
    from naf_model.paths import runs_dir
    from naf_model.scene import load_scene

    parser = job_parser(JOB, "export_loudness.py")
    args = parser.parse_args(argv)
    x, y = parse_numbers(parser, "--emitter", args.emitter, 2)
    try:
        headings = [float(h) for h in args.headings.split(",") if h.strip()]
    except ValueError:
        parser.error(f"--headings needs comma-separated degrees, got {args.headings!r}")
    name = load_scene(args.scene).name
    out_dir = Path(args.out_dir) if args.out_dir else runs_dir() / name / "loudness"
    out_dir.mkdir(parents=True, exist_ok=True)
    common = ["--scene", args.scene, "--emitter", str(x), str(y), "--spacing", str(args.spacing)]
    if args.checkpoint:
        common += ["--checkpoint", args.checkpoint]
    for i, heading in enumerate(headings):
        report_progress(i, len(headings))
        out = out_dir / f"{name}_loudness_{heading:03.0f}.png"
        code = naf(["loudness", *common, "--heading", str(heading), "-o", str(out), "--no-progress"])
        if code != 0:
            return code
        announce("image", out)
    report_progress(len(headings), len(headings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
