"""`naf render` (music heard at one spot) and `naf walk` (music heard along a listener's path, with a video).

    naf render --scene apartment_1 --emitter 2 2 --listener 4 3 --heading 90 -o here.wav --source sim
    naf walk --scene apartment_1 --emitter 2 2 --line 1 1 5 3 --seconds 8 -o walk.wav --video walk.mp4
"""

from __future__ import annotations

import argparse
import sys

from naf_model.cli import validate
from naf_model.cli.choices import LazyChoices

AUDIO_SUFFIXES = (".wav", ".flac")
CHECKPOINT_HELP = ("the field for --source naf, and the field whose data-set settings (ears, IR length, rays) "
                   "--source sim follows (default: the bundled one, else the newest run; sim without any: the "
                   "data defaults)")


def _source_names() -> list[str]:
    from naf_model.rendering.ir_source import IR_SOURCES

    return list(IR_SOURCES)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scene", required=True, help="bundled scene name, scene.json path or mesh")
    parser.add_argument("--emitter", type=validate.coordinate, nargs=2, required=True, metavar=("X", "Y"),
                        help="emitter (loudspeaker) position, metres")
    parser.add_argument("--music", default=None, help="WAV/FLAC/OGG file to play (default: the bundled loop)")
    parser.add_argument("-o", "--output", required=True, help="binaural audio file to write (.wav or .flac)")
    parser.add_argument("--source", choices=LazyChoices(_source_names), default="sim", metavar="SOURCE",
                        help="where the IRs come from: %(choices)s (sim = the acoustic simulator, naf = the "
                             "trained field; default sim)")
    parser.add_argument("--checkpoint", default=None, help=CHECKPOINT_HELP)
    parser.add_argument("--block-size", type=validate.number(int, low=256, high=1024), default=512,
        help="engine block size, frames (256-1024)")
    parser.add_argument("--yes", action="store_true",
                        help="--source sim: start a simulation estimated to take over a minute without asking "
                             "(without a terminal to ask on, such a render needs --yes)")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `naf render` and `naf walk`."""
    render = subparsers.add_parser(
        "render", help="render music heard at one listener spot to a binaural WAV",
        description="Convolve music with the binaural IR for one emitter, listener and heading, "
                    "through the live engine's chain (calibrated gain, soft limiter).")
    _common(render)
    render.add_argument("--listener", type=validate.coordinate, nargs=2, required=True, metavar=("X", "Y"),
                        help="listener position, metres")
    render.add_argument("--heading", type=validate.heading, default=0.0, metavar="DEG",
                        help="listener heading, degrees counter-clockwise from +x (default 0)")
    render.add_argument("--seconds", type=validate.number(float, low=0.1, high=600, unit="s"), default=10.0,
        help="length of the render (default 10 s)")
    validate.add_force(render)
    validate.declare_io(render, outputs={"output": validate.Output(AUDIO_SUFFIXES)},
                        inputs=("scene", "music", "checkpoint"))
    render.set_defaults(func=run_render)

    walk = subparsers.add_parser(
        "walk", help="render music heard along a listener path (binaural WAV, optional MP4)",
        description="Move the listener along a path file or a straight line; the IR is updated every "
                    "~33 ms with the live engine's crossfaded swaps. Path files: CSV with columns "
                    "t,x,y[,heading] or a JSON list of {t, x, y[, heading]}; without headings the "
                    "listener faces the direction of motion.")
    _common(walk)
    route = walk.add_mutually_exclusive_group(required=True)
    route.add_argument("--path", help="CSV or JSON file of timed listener positions (and headings)")
    route.add_argument("--line", type=validate.coordinate, nargs=4, metavar=("X0", "Y0", "X1", "Y1"),
                       help="walk in a straight line from (X0, Y0) to (X1, Y1) in --seconds")
    walk.add_argument("--seconds", type=validate.number(float, low=0.1, high=600, unit="s"), default=None,
        help="duration of a --line walk, seconds")
    walk.add_argument("--video", default=None, help="also write an MP4 of the plan with moving markers")
    validate.add_force(walk)
    validate.declare_io(walk, outputs={"output": validate.Output(AUDIO_SUFFIXES), "video": validate.Output((".mp4",))},
                        inputs=("scene", "music", "checkpoint", "path"))
    walk.set_defaults(func=run_walk)


def _load(args: argparse.Namespace, seconds: float):
    """Scene, music (only the part a `seconds` render reads) and IR source of a render or walk."""
    from naf_model.audio import DEFAULT_MUSIC, load_audio
    from naf_model.errors import AudioError
    from naf_model.rendering.ir_source import ir_source
    from naf_model.rendering.render import music_seconds_needed
    from naf_model.scene import load_scene

    if not 256 <= args.block_size <= 1024:
        raise AudioError(f"--block-size must be 256-1024 frames, got {args.block_size}")
    scene = load_scene(args.scene)
    music = load_audio(args.music or DEFAULT_MUSIC, max_seconds=music_seconds_needed(seconds))
    return scene, music, ir_source(scene, args.source, args.checkpoint)


def confirm_simulation(args: argparse.Namespace, scene, listeners, irs, calibration: bool = True):
    """--source sim: say what will be simulated and how long it should take (with the source's settings, and
    the emitter's calibration spots when `calibration`); a long simulation starts only with --yes or, on a
    terminal, when the user says so (elsewhere it is refused in one line, before any work). Returns the IR
    function to use: with a progress bar where the simulator's own shows none."""
    if args.source != "sim":
        return irs
    import numpy as np

    from naf_model.errors import NafError
    from naf_model.rendering.ir_source import SIM_CHUNK
    from naf_model.rendering.plan import LONG_SIMULATION_S, plan_simulation, with_estimated_progress

    plan = plan_simulation(scene, np.array(args.emitter), listeners, irs.config, calibration)
    if plan.long and not args.yes and not (sys.stdin.isatty() and sys.stderr.isatty()):
        raise NafError(f"{plan.line(scene.name)}: over {LONG_SIMULATION_S:.0f} s; pass --yes to start it, or use "
                       "--source naf (the trained field) or a scene with fewer walls")
    print(plan.line(scene.name), file=sys.stderr)
    if plan.long and not args.yes:
        sys.stderr.write("naf: start it? [y/N] ")
        sys.stderr.flush()
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            raise NafError("not started (answer was not yes); nothing written")
    return with_estimated_progress(irs, plan) if plan.spots <= SIM_CHUNK else irs


def run_render(args: argparse.Namespace) -> int:
    """Render one spot and write the WAV."""
    import numpy as np

    from naf_model.audio import write_audio
    from naf_model.errors import AudioError
    from naf_model.rendering.render import render_pair

    if not 0 < args.seconds <= 600:
        raise AudioError(f"--seconds must be between 0 and 600, got {args.seconds}")
    scene, music, irs = _load(args, args.seconds)
    scene.require_free(args.emitter, what="emitter")
    irs = confirm_simulation(args, scene, scene.require_free(args.listener, what="listener")[None], irs)
    result = render_pair(scene, irs, np.array(args.emitter), np.array(args.listener), args.heading, music,
                         args.seconds, args.block_size)
    path = write_audio(args.output, result.samples, result.sample_rate)
    print(f"wrote {path}: {result.summary()}")
    return 0


def run_walk(args: argparse.Namespace) -> int:
    """Render a walk, write the WAV and, with --video and ffmpeg, the MP4."""
    import numpy as np

    from naf_model.audio import write_audio
    from naf_model.rendering.path import PathError, line_path, load_path
    from naf_model.rendering.render import UPDATE_INTERVAL_S, check_walk_length, render_walk, require_free_path
    from naf_model.rendering.video import ffmpeg_path, write_walk_video

    if args.line is not None:
        if args.seconds is None:
            raise PathError("--line needs --seconds (how long the walk takes)")
        path = line_path(*args.line, args.seconds)
    else:
        if args.seconds is not None:
            raise PathError("--seconds goes with --line; a --path file's times set the walk's length")
        path = load_path(args.path)
    check_walk_length(path)
    scene, music, irs = _load(args, path.duration)
    scene.require_free(args.emitter, what="emitter")
    times, xy, _ = path.sample(UPDATE_INTERVAL_S)
    require_free_path(scene, xy, times)
    irs = confirm_simulation(args, scene, xy, irs)
    result = render_walk(scene, irs, np.array(args.emitter), path, music, args.block_size,
                         progress=sys.stderr.isatty())
    wav = write_audio(args.output, result.samples, result.sample_rate)
    print(f"wrote {wav}: {result.summary()}")
    if args.video:
        if ffmpeg_path() is None:
            print("naf: warning: ffmpeg is not installed, so no video was written (apt install ffmpeg)",
                  file=sys.stderr)
            return 0
        video = write_walk_video(scene, np.array(args.emitter), result.times, result.xy, result.headings, wav,
                                 args.video, progress=sys.stderr.isatty())
        print(f"wrote {video}: {len(result.times)} listener positions, audio muxed")
    return 0
