"""Scripts-menu job "Render a walk": music heard along a straight listener walk, to WAV (and MP4).

A thin wrapper around `naf walk --line`: the listener walks from one point to another while the emitter
plays; IRs are swapped every ~33 ms with the live engine's crossfades. Standalone:
    .venv/bin/python scripts/render_walk.py --scene apartment_1 --emitter "2 2" --line "1 1 5 3" --video
"""

from __future__ import annotations

import sys

JOB = {
    "title": "Render a walk",
    "description": "Render the bundled music (or --music) heard by a listener walking in a straight line, "
    "as a binaural WAV and optionally an MP4 of the plan with the moving listener.",
    "produces": "audio",
    "options": [
        "scene", "emitter",
        {"flag": "--line", "type": "str", "default": "{walk}",
         "help": "the walk 'X0 Y0 X1 Y1' in metres (from the listener's spot)"},
        {"flag": "--seconds", "type": "float", "default": 8.0, "min": 0.5, "max": 600.0,
         "help": "how long the walk takes"},
        {"flag": "--source", "type": "str", "default": "naf",
         "help": "where the IRs come from (naf: the scene's trained field, sim: the simulator)"},
        {"flag": "--music", "type": "file", "default": "", "help": "WAV/FLAC/OGG to play (default: bundled)"},
        {"flag": "--output", "type": "file", "default": "",
         "help": "WAV to write (default runs/<scene>/walk.wav)"},
        {"flag": "--video", "type": "bool", "default": False, "help": "also write an MP4 next to the WAV"},
    ],
}


def main(argv: list[str] | None = None) -> int:
    """Parse the job's options, run `naf walk`, announce the files it wrote."""
    from pathlib import Path

    from naf_model.cli import main as naf
    from naf_model.jobs import announce, job_parser, parse_numbers
    from naf_model.paths import runs_dir
    from naf_model.scene import load_scene

    parser = job_parser(JOB, "render_walk.py")
    args = parser.parse_args(argv)
    emitter = [str(v) for v in parse_numbers(parser, "--emitter", args.emitter, 2)]
    line = [str(v) for v in parse_numbers(parser, "--line", args.line, 4)]
    output = Path(args.output) if args.output else runs_dir() / load_scene(args.scene).name / "walk.wav"
    output.parent.mkdir(parents=True, exist_ok=True)
    cli = ["walk", "--scene", args.scene, "--emitter", *emitter, "--line", *line, "--seconds",
           str(args.seconds), "--source", args.source, "-o", str(output)]
    if args.music:
        cli += ["--music", args.music]
    if args.source == "sim":  # chosen in the job's dialog: the job's log shows the plan line, nobody to ask
        cli.append("--yes")
    if not args.output:  # the job's own earlier walk in the run folder: run again, it is rendered anew
        cli.append("--force")
    video = output.with_suffix(".mp4")
    if args.video:
        cli += ["--video", str(video)]
    code = naf(cli)
    if code == 0:
        announce("audio", output)
        if args.video and video.is_file():
            announce("video", video)
    return code


if __name__ == "__main__":
    sys.exit(main())
