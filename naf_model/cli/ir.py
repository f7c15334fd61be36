"""`naf ir`: the binaural IR at a spot as a WAV or SOFA file, or a grid of listener positions as one SOFA file.

    naf ir --scene apartment_1 --emitter 2 5 --listener 4 6 --heading 90 -o here.wav --rate 48000
    naf ir --scene apartment_1 --emitter 2 5 --grid 0.5 --headings 0,90,180,270 -o apartment_1.sofa
"""

from __future__ import annotations

import argparse

from naf_model.cli import options, validate
from naf_model.cli.choices import LazyChoices
from naf_model.cli.render import CHECKPOINT_HELP

IR_SUFFIXES = (".wav", ".sofa")


def _rates() -> tuple[int, ...]:
    from naf_model.audio.ir_files import EXPORT_RATES

    return EXPORT_RATES


def heading_list(text: str) -> list[float]:
    """An argparse type: comma-separated headings in degrees, e.g. `0,90,180,270` (each finite)."""
    parts = [p.strip() for p in text.split(",")]
    if not parts or any(not p for p in parts):
        raise argparse.ArgumentTypeError(f"expected headings separated by commas, such as 0,90,180,270; got {text!r}")
    return [validate.heading(p) for p in parts]


heading_list.__name__ = "headings"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `naf ir`."""
    p = subparsers.add_parser(
        "ir", help="binaural IR at a spot (WAV or SOFA), or over a grid of listener positions (one SOFA file)",
        description="Write the binaural IR the app plays for an emitter, listener and heading (the field's "
                    "played IR, the same samples as the app's Export IR), or a fresh simulation, as a 32-bit "
                    "float WAV or a SOFA file (by the suffix of -o). --grid writes a listener position at every "
                    "free cell of the scene's grid, at each of --headings, into one SOFA GeneralFIR file, with "
                    "the positions and view directions in its metadata.")
    options.add_scene(p, options.SCENE_OR_MESH)
    p.add_argument("--emitter", type=validate.coordinate, nargs=2, required=True, metavar=("X", "Y"),
                   help="emitter (loudspeaker) position, metres")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--listener", type=validate.coordinate, nargs=2, metavar=("X", "Y"),
                       help="listener position, metres")
    where.add_argument("--grid", type=validate.spacing(low=0.05), metavar="SPACING",
                       help="a listener at every free cell of a grid this many metres apart (SOFA only)")
    turn = p.add_mutually_exclusive_group()
    turn.add_argument("--heading", type=validate.heading, default=0.0, metavar="DEG",
                      help="listener heading, degrees counter-clockwise from +x (default 0)")
    turn.add_argument("--headings", type=heading_list, default=None, metavar="DEG,DEG,...",
                      help="several headings, e.g. 0,90,180,270: one IR per position and heading (SOFA only)")
    p.add_argument("-o", "--output", required=True, help="file to write: .wav (one IR) or .sofa")
    p.add_argument("--rate", type=int, choices=LazyChoices(_rates), default=22_050, metavar="HZ",
                   help="sample rate of the file: %(choices)s (default 22050, the IRs' own)")
    p.add_argument("--source", choices=("naf", "sim"), default="naf",
                   help="naf = the trained field (default), sim = a fresh simulation")
    p.add_argument("--checkpoint", default=None, help=CHECKPOINT_HELP)
    options.add_device(p, "where the field runs: auto, cpu or cuda[:N] (default auto, as the app)")
    p.add_argument("--yes", action="store_true",
                   help="--source sim: start a simulation estimated to take over a minute without asking")
    validate.add_force(p)
    validate.declare_io(p, outputs={"output": validate.Output(IR_SUFFIXES)}, inputs=("scene", "checkpoint"),
                        devices=("device",))
    p.set_defaults(func=run_ir)


def run_ir(args: argparse.Namespace) -> int:
    """Check the request, then compute the IRs and write the file (`rendering.ir_export.export_irs`)."""
    import numpy as np

    from naf_model.audio.ir_files import check_export
    from naf_model.cli.render import confirm_simulation
    from naf_model.conventions import SAMPLE_RATE
    from naf_model.errors import AudioError
    from naf_model.rendering.ir_export import IrSpots, check_export_size, export_irs
    from naf_model.rendering.ir_source import ir_source
    from naf_model.scene import load_scene

    if args.grid is not None and args.output.lower().endswith(".wav"):
        raise AudioError("--grid writes one SOFA file of many IRs; give -o a .sofa name")
    scene = load_scene(args.scene)
    emitter = scene.require_free(args.emitter, what="emitter")
    headings = np.array(args.headings if args.headings is not None else [args.heading], np.float64)
    if args.grid is not None:
        spots = IrSpots.grid(scene, emitter, args.grid, headings)
    else:
        spots = IrSpots(emitter, scene.require_free(args.listener, what="listener")[None], headings)
    check_export(args.output, args.rate, spots.count)
    irs = ir_source(scene, args.source, args.checkpoint, args.device)
    check_export_size(spots, irs.n_samples, args.rate)
    n_samples = irs.n_samples
    source = f"field {irs.field.path.name}" if args.source == "naf" else "simulation"
    irs = confirm_simulation(args, scene, spots.positions, irs, calibration=False)
    path = export_irs(args.output, irs, spots, scene, args.rate, comment=f"scene {scene.name}, {source}")
    what = (f"{spots.count:,} IRs ({len(spots.positions):,} positions x {len(headings)} headings)"
            if spots.count > 1 else "1 IR")
    print(f"wrote {path}: {what} of {n_samples / SAMPLE_RATE:.2f} s at {args.rate} Hz, from the {source}")
    return 0
