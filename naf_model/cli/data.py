"""`naf data make|merge|info`: build a scene's simulated data set, merge cluster shards, summarise a file."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from naf_model.cli import options, validate
from naf_model.errors import DataError

MIN_IR_SECONDS = 0.05
MAX_IR_SECONDS = 8.0
"""`naf_model.simulate.ir_length.MAX_IR_SECONDS`, written out so that `naf --help` loads no numeric library
(tests/test_ir_length.py checks that the two agree)."""

DATA_SUFFIXES = (".h5", ".hdf5")


MAKE_HELP = "simulate a scene into an HDF5 data set (resumable)"
MAKE_DESCRIPTION = (
    "Simulate binaural IRs for emitter-listener pairs of a scene, as long as the room's reverberation lasts, and "
    "write the early part's spectrograms, the late part's band envelopes, the held-out pairs' waveforms, a "
    "train/validation/test split and normalisation stats to one HDF5 file. The plan (pairs, MB, estimated "
    "minutes, the IR length and what it cuts of the room's decay) is printed first. "
    "Interrupted runs resume from <output>.parts/; --shard i/N builds only a slice of the parts for "
    "`naf data merge`."
)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `data` command group."""
    data = subparsers.add_parser("data", help="build, import and inspect data sets")
    sub = data.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    _add_make(sub)
    from naf_model.cli import data_import

    data_import.register(sub)
    merge = sub.add_parser(
        "merge",
        help="assemble a data set from the parts of `naf data make --shard` runs",
        description="Check that the parts folders hold one plan and every emitter, then write the HDF5 file.",
    )
    target = merge.add_mutually_exclusive_group(required=True)
    target.add_argument("--scene", help="write the scene's default data set path")
    target.add_argument("-o", "--output", type=Path, help="output file")
    merge.add_argument("parts", nargs="*", type=Path, help="parts folders (default: <output>.parts)")
    merge.add_argument("--overwrite", "--force", "-y", action="store_true",
        help="replace a file made with other settings")
    merge.add_argument("--keep-parts", action="store_true", help="keep the parts folders after merging")
    validate.declare_io(merge, outputs={"output": validate.Output(DATA_SUFFIXES, managed=True)},
                        folders_in=("parts",))
    merge.set_defaults(func=_merge)

    info = sub.add_parser("info", help="summarise a data set file and check its values",
                          description="Print what a data set holds and how it was made, after checking that the "
                          "spectrograms and IRs of every pair (of a spread of pairs in a big file) are finite.")
    info.add_argument("path", type=Path, nargs="?", help="data set file")
    info.add_argument("--scene", help="summarise the scene's default data set instead")
    validate.declare_io(info, inputs=("path",))
    info.set_defaults(func=_info)


def _add_make(sub: argparse._SubParsersAction) -> None:
    """Add `naf data make`."""
    make = sub.add_parser("make", help=MAKE_HELP, description=MAKE_DESCRIPTION)
    options.add_scene(make, options.SCENE_OR_MESH)
    make.add_argument("-o", "--output", type=Path, help="output file (default: data/<scene>.h5)")
    make.add_argument("--workers", type=validate.number(int, low=1, high=1024),
        help="parallel simulation processes (default: all cores)")
    make.add_argument("--listener-spacing", type=validate.spacing(),
        help="listener grid spacing in metres (default 0.5)")
    make.add_argument("--emitter-spacing", type=validate.spacing(), help="emitter grid spacing in metres (default 1.0)")
    make.add_argument(
        "--listeners-per-emitter",
        type=_count_or_all,
        default=argparse.SUPPRESS,
        help="seeded subset of listeners simulated per emitter, or 'all' (default 60)",
    )
    make.add_argument(
        "--free-pairs",
        type=validate.number(int, low=1, high=1_000_000),
        metavar="N",
        help="instead of the grids: N training pairs at seeded uniform free positions (off the grids, near "
        "walls too; --listeners-per-emitter per emitter, default 20), to add to a grid data set's training "
        "pairs with `naf train --extra FILE` (default output: data/<scene>.free-<N>.h5, -s<seed> added for "
        "other seeds than 0)",
    )
    make.add_argument("--seed", type=validate.seed, help="seed of listener subsets, split and simulation (default 0)")
    make.add_argument("--ir-seconds", type=_ir_seconds, metavar="SECONDS|auto",
        help=f"IR length in seconds, {MIN_IR_SECONDS:g} to {MAX_IR_SECONDS:g}, or 'auto' (the default): until "
        "the scene's slowest octave band has decayed 60 dB (Eyring) plus its longest direct path, at most "
        f"{MAX_IR_SECONDS:g} s (0.6 s for a scene without an Eyring estimate). The plan line says the length "
        "and, for IRs shorter than the room's decay, how much of it they keep")
    make.add_argument("--waveforms", choices=("held-out", "all"),
        help="whose IR waveforms to store: the validation and test pairs' (held-out, the default: what the "
        "evaluation plays) or every pair's (all: what interpolation baselines over training IRs need; a 3 s "
        "IR takes about 6x its spectrogram and late envelopes)")
    make.add_argument("--no-late-part", action="store_true",
        help="store the whole IR as one spectrogram, without the compact late part (the layout of fields made "
        "before naf split IRs, e.g. to evaluate one of them, and of the paper; its size grows with the IR)")
    make.add_argument("--rays", type=validate.number(int, low=0, high=1_000_000),
        help="ray-tracing rays per emitter (default: the simulator's)")
    make.add_argument(
        "--ism-order",
        type=validate.number(int, low=0, high=20),
        help="image-source order (default: from the scene's wall count, naf_model.scene.mesh_import.ism_order_for)",
    )
    make.add_argument(
        "--hrtf",
        metavar="kemar|spherical|FILE.sofa",
        help="the ears rendering the image-source arrivals: kemar (default: the MIT KEMAR dummy head, measured), "
        "spherical (a spherical head: Woodworth ITD, Brown & Duda head shadow; no pinnae, so no front/back "
        "cues) or a SOFA HRIR set (SimpleFreeFieldHRIR) of your own",
    )
    make.add_argument(
        "--receiver-in-air", action="store_true",
        help="correct the ray tracer near walls: divide each listener's late energy by the share of its 0.5 m "
        "receiving sphere that lies in the room (without it, a listener 0.25 m from a wall hears the late part "
        "0.7 dB low); off by default until the bundled scenes are simulated again with it",
    )
    make.add_argument(
        "--hrtf-method",
        choices=("nearest", "interpolate"),
        help="measured ears: nearest measured direction (default) or the 3 nearest by inverse angle",
    )
    make.add_argument(
        "--shard", type=_shard, metavar="i/N", help="only simulate emitters with index %% N == i"
    )
    make.add_argument(
        "--overwrite", "--force", "-y", action="store_true", help="replace a file or parts made with other settings"
    )
    make.add_argument("--keep-parts", action="store_true", help="keep <output>.parts/ after assembling")
    make.add_argument("--plan-only", action="store_true",
        help="print the plan (pairs, MB, estimated minutes, IR length) and stop: nothing is simulated or written")
    from naf_model.cli.scene import add_mesh_options

    add_mesh_options(make)
    validate.declare_io(make, outputs={"output": validate.Output(DATA_SUFFIXES, managed=True)},
                        inputs=("scene", "materials"))
    make.set_defaults(func=_make)


def _ir_seconds(text: str) -> float | str:
    """`--ir-seconds`: 'auto' or a length in seconds within MIN_IR_SECONDS..MAX_IR_SECONDS."""
    if text == "auto":
        return text
    try:
        return validate.number(float, low=MIN_IR_SECONDS, high=MAX_IR_SECONDS, unit="s")(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected seconds from {MIN_IR_SECONDS:g} to {MAX_IR_SECONDS:g} or 'auto', got {text!r}"
        ) from None


def _count_or_all(text: str) -> int | None:
    if text == "all":
        return None
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a count or 'all', got '{text}'") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a count of at least 1 or 'all', got {value}")
    return value


def _shard(text: str) -> tuple[int, int]:
    try:
        i, n = (int(part) for part in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected i/N such as 0/4, got '{text}'") from None
    if not 0 <= i < n:
        raise argparse.ArgumentTypeError(f"shard {text} is out of range; use i/N with 0 <= i < N")
    return i, n


def _make(args: argparse.Namespace) -> int:
    from naf_model.cli.scene import scene_from_args
    from naf_model.data import DataConfig, make_dataset
    from naf_model.data.plan import FREE_LISTENERS_PER_EMITTER
    from naf_model.paths import default_dataset_path
    from naf_model.scene.mesh_import import ism_order_for
    from naf_model.simulate import SimulationConfig
    from naf_model.simulate.ears import KEMAR, SPHERICAL, ears_settings

    scene = scene_from_args(args)
    if args.hrtf == SPHERICAL and args.hrtf_method is not None:
        raise DataError("--hrtf-method chooses among measured directions; the spherical head has none")
    hrtf, hrir = ears_settings(KEMAR if args.hrtf is None else args.hrtf)
    base = DataConfig(simulation=SimulationConfig(hrtf=hrtf, hrir=hrir))  # named ears: a spherical head needs no slab
    simulation = base.simulation
    walls = len(scene.simulation_surfaces())
    ism_order = args.ism_order if args.ism_order is not None else ism_order_for(walls)
    sim_changes = {"n_rays": args.rays, "ism_order": ism_order, "hrtf_method": args.hrtf_method,
                   "receiver_in_air": True if args.receiver_in_air else None}
    simulation = dataclasses.replace(simulation, **{k: v for k, v in sim_changes.items() if v is not None})
    ir_seconds = args.ir_seconds
    auto = ir_seconds in (None, "auto")
    if auto:  # the cached pilot's length, else Eyring's; a pilot runs below once the plan is known to be sound
        from naf_model.simulate.ir_length import room_ir_seconds

        ir_seconds = room_ir_seconds(scene)
    simulation = dataclasses.replace(simulation, ir_seconds=ir_seconds)
    changes = {
        "listener_spacing": args.listener_spacing,
        "emitter_spacing": args.emitter_spacing,
        "seed": args.seed,
        "waveforms": args.waveforms,
        "late_part": False if args.no_late_part else None,
    }
    config = dataclasses.replace(
        base, simulation=simulation, **{k: v for k, v in changes.items() if v is not None}
    )
    if "listeners_per_emitter" in args:  # absent unless given; None means all listeners
        config = dataclasses.replace(config, listeners_per_emitter=args.listeners_per_emitter)
    output = args.output
    if args.free_pairs is not None:
        per = getattr(args, "listeners_per_emitter", FREE_LISTENERS_PER_EMITTER) or FREE_LISTENERS_PER_EMITTER
        config = dataclasses.replace(config, free_pairs=args.free_pairs, listeners_per_emitter=per)
        if output is None:
            seed = f"-s{config.seed}" if config.seed else ""
            output = default_dataset_path(scene.name).with_name(f"{scene.name}.free-{args.free_pairs}{seed}.h5")
    if args.workers is not None and args.workers < 1:
        raise DataError("--workers must be at least 1")
    written = make_dataset(
        scene,
        config,
        output,
        workers=args.workers,
        shard=args.shard,
        overwrite=args.overwrite,
        keep_parts=args.keep_parts,
        measure_length=auto,
        plan_only=args.plan_only,
    )
    if args.plan_only:
        print(f"plan only: nothing simulated; the same command without --plan-only builds {written}")
    elif args.shard is None:
        print(f"wrote {written}")
    else:
        i, n = args.shard
        print(f"wrote shard {i}/{n} parts into {written}; run `naf data merge` once all shards are done")
    return 0


def _merge(args: argparse.Namespace) -> int:
    from naf_model.data import merge_shards
    from naf_model.paths import default_dataset_path

    output = args.output if args.output is not None else default_dataset_path(args.scene)
    written = merge_shards(output, args.parts or None, overwrite=args.overwrite, keep_parts=args.keep_parts)
    print(f"wrote {written}")
    return 0


def _info(args: argparse.Namespace) -> int:
    from naf_model.data import DataSet
    from naf_model.data.check import check_values
    from naf_model.paths import default_dataset_path
    from naf_model.simulate.ears import ears_name

    if args.path is None and args.scene is None:
        raise DataError("give a data set path or --scene NAME")
    path = args.path if args.path is not None else default_dataset_path(args.scene)
    with DataSet(path) as dataset:
        values = check_values(dataset)  # before printing: a broken file is one error line, not a summary
        for name, value in dataset.summary().items():
            print(f"{name:>14}: {value}")
        if dataset.imported is None:
            print(f"{'ears':>14}: {ears_name(dataset.meta.simulation.get('hrtf', ''))}")
            near = "corrected (--receiver-in-air)" if dataset.meta.simulation.get("receiver_in_air") else "as traced"
            print(f"{'near walls':>14}: {near}")
        for name, value in (dataset.imported or {}).items():
            print(f"{name.replace('_', ' '):>14}: {value}")
        print(f"{'values':>14}: {values.summary()}")
    return 0
