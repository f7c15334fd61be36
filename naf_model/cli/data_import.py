"""`naf data import FORMAT PATH -o OUT.h5`: existing data (the NAF paper's metadata, SoundSpaces binaural RIRs,
MeshRIR) as a naf data set; thin wrapper over `naf_model.data.imports.run.import_data`."""

from __future__ import annotations

import argparse
from pathlib import Path

from naf_model.cli import validate

HELP = "turn the NAF paper's metadata, SoundSpaces RIRs or MeshRIR into a naf data set"
DESCRIPTION = (
    "Import existing data as a naf data set that `naf train`, `naf eval`, `naf-app --data` and the baselines use "
    "like a simulated one. FORMAT: paper (the NAF paper's metadata folder: magnitudes/, replica/, "
    "train_test_split/, mean_std/, minmax/; its spectrograms, split and normalisation as stored), soundspaces "
    "(a room's binaural RIR folder with azimuth folders 0/ 90/ 180/ 270/ of <receiver>_<source>.wav, and its "
    "points.txt), meshrir (a MeshRIR session folder: pos_mic.npy, pos_src.npy, ir_*.npy; monaural: the one IR on "
    "both ears and every heading) or auto. Waveforms are resampled to 22,050 Hz and split into naf's early and "
    "late parts. No walls come with such data: the plan is derived from the positions (their concave hull grown "
    "by 0.5 m), the plan line and the data set say so, and nothing is simulated in it. Pickles are read as "
    "data only (numbers, strings, lists, tuples, dicts, numpy arrays); one that would run code is refused."
)


def _fraction(text: str) -> float:
    return validate.number(float, low=0.0, high=0.9)(text)


_fraction.__name__ = "fraction"


def register(sub: argparse._SubParsersAction) -> None:
    """Add `naf data import`."""
    p = sub.add_parser("import", help=HELP, description=DESCRIPTION)
    p.add_argument("format", choices=("paper", "soundspaces", "meshrir", "auto"), metavar="FORMAT",
                   help="paper, soundspaces, meshrir or auto")
    p.add_argument("path", type=Path, metavar="PATH", help="the folder holding the data")
    p.add_argument("-o", "--output", type=Path, required=True, help="the data set to write (.h5)")
    p.add_argument("--room", help="paper: the room (default: the only one under magnitudes/)")
    p.add_argument("--points", type=Path, help="soundspaces: the points file (default PATH/points.txt)")
    p.add_argument("--split-pickle", type=Path, metavar="PKL",
                   help="soundspaces: use the NAF paper's train/test split pickle of this room (<room>_complete.pkl)")
    p.add_argument("--split-conflicts", choices=("refuse", "test"), default="refuse",
                   help="paper split pickles: a pair held out in some orientations and trained on in others is "
                   "refused (default) or made a test pair")
    p.add_argument("--height", type=validate.number(float, low=-100, high=100), metavar="Z",
                   help="meshrir: the plane of microphones to import (metres), when the array has several")
    p.add_argument("--sample-rate", type=validate.number(int, low=1000, high=1_000_000), default=48_000,
                   help="meshrir: the files' sample rate in Hz (default 48000, MeshRIR's)")
    p.add_argument("--ir-seconds", type=validate.number(float, low=0.05, high=60, unit="s"),
                   help="soundspaces, meshrir: cut (or pad) every IR to this length (default: the longest, up to 8 s)")
    p.add_argument("--test-fraction", type=_fraction, default=0.1,
                   help="soundspaces, meshrir without a split: share of pairs held out for `naf eval` (default 0.1)")
    p.add_argument("--validation-fraction", type=_fraction, default=0.05,
                   help="share of the training pairs set aside for model selection (default 0.05)")
    p.add_argument("--seed", type=validate.seed, default=0, help="seed of the split naf draws (default 0)")
    p.add_argument("--name", help="the scene name the data set carries, which names its runs (default: the "
                   "format and the room or folder name, e.g. paper_apartment_1: no bundled scene's field is taken)")
    p.add_argument("--overwrite", "--force", "-y", dest="force", action="store_true", help="replace OUT")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    validate.declare_io(p, outputs={"output": validate.Output((".h5", ".hdf5"))},
                        inputs=("points", "split_pickle"), folders_in=("path",))
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from naf_model.data.imports.run import ImportRequest, import_data
    from naf_model.errors import DataError

    only = {"paper": ("room",), "soundspaces": ("points", "split_pickle"), "meshrir": ("height",)}
    for fmt, names in only.items():
        for name in names:
            if args.format not in (fmt, "auto") and getattr(args, name) is not None:
                raise DataError(f"--{name.replace('_', '-')} applies to the {fmt} format only")
    request = ImportRequest(
        format=args.format, path=args.path, output=args.output, room=args.room, points=args.points,
        split_pickle=args.split_pickle, split_conflicts=args.split_conflicts, height=args.height,
        sample_rate=args.sample_rate, ir_seconds=args.ir_seconds, test_fraction=args.test_fraction,
        validation_fraction=args.validation_fraction, seed=args.seed, name=args.name, overwrite=args.force,
        progress=not args.no_progress,
    )  # fmt: skip
    path = import_data(request)
    print(f"naf: wrote {path}")
    return 0
