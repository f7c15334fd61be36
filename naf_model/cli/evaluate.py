"""`naf eval`: the paper's Table 1 for a scene: field vs interpolation baselines vs the simulation floor."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from naf_model.cli import options, validate

HELP = "score a field against interpolation baselines and the simulation floor"
"""The one-line help of `naf eval`."""

DESCRIPTION = (
    "Score the held-out test pairs of a data set: the field, nearest-neighbour and linear "
    "interpolation of training IRs under the paper's protocol (raw, AAC-LC 24 kbit/s and Opus 6 kbit/s "
    "per stereo file, silence outside the hull, the paper's T60 rules) and under naf's earlier rules "
    "(extra rows), and re-simulations with other ray-tracer seeds (the floor). Prints markdown tables "
    "with bootstrap 95 %% intervals and a paired comparison of the field with the best baseline, and "
    "writes them with a JSON copy to docs/results/<scene>.md and .json (metrics: docs/metrics.md)."
)
"""The `naf eval --help` description."""
RECORDED = ("scene", "data", "checkpoint", "max_pairs", "floor_pairs", "floor_repeats", "seed", "resamples",
            "no_codecs", "stored_only", "offgrid", "offgrid_rays", "listening", "phase", "split", "extra")  # fmt: skip
"""The options a report's command line records, in this order, where they differ from their defaults (--device,
--out-dir: where and on what it ran, not what it scored)."""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `eval` command."""
    from naf_model.conventions import PHASE_METHODS
    from naf_model.evaluation import DEFAULT_FLOOR_PAIRS, DEFAULT_MAX_PAIRS, FLOOR_REPEATS, RESAMPLES, RESULTS_DIR

    parser = subparsers.add_parser("eval", help=HELP, description=DESCRIPTION)
    options.add_scene(parser, "bundled scene name or scene.json path (default: the plan an imported --data set "
                      "carries)", required=False)
    parser.add_argument(
        "--checkpoint", type=Path, help="field checkpoint (default: the bundled one, else the newest run's best.pt)"
    )
    parser.add_argument("--data", type=Path, help="data set file (default: data/<scene>.h5)")
    parser.add_argument(
        "--extra",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help="extra training data set whose pairs the baselines interpolate too (repeatable; default: those "
        "the field was trained with, `naf train --extra`, found next to the data set)",
    )
    options.add_rows(parser, [
        ("--max-pairs", _positive, DEFAULT_MAX_PAIRS,
         f"held-out pairs scored, a seeded subset if there are more (default {DEFAULT_MAX_PAIRS})"),
        ("--floor-pairs", _non_negative, DEFAULT_FLOOR_PAIRS,
         f"held-out pairs simulated again for the floor row, 0 for none (default {DEFAULT_FLOOR_PAIRS}; "
         "cached next to the data set)"),
    ])  # fmt: skip
    parser.add_argument(
        "--offgrid",
        type=_non_negative,
        default=0,
        metavar="N",
        help="also score N random free pairs on neither grid, simulated afresh (cached next to the data "
        "set as <data>.offgrid-N-s<seed>.h5); turns --listening on",
    )
    parser.add_argument(
        "--offgrid-rays",
        type=_at_least_ten,
        default=None,
        metavar="R",
        help="rays per emitter of the off-grid simulations (default: the data set's). The ray tracer's tail is "
        "a Monte-Carlo estimate: on apartment_2 two simulations of a pair differ by 2.4 dB of envelope at "
        "3,000 rays, by 0.8 dB at 48,000, so a reference with more rays scores the field against the room, not "
        "against one draw of its noise (docs/metrics.md); cached apart as <data>.offgrid-N-s<seed>-r<R>.h5",
    )
    parser.add_argument(
        "--listening",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="listening metrics of the played waveforms (envelope, level, DRR, C50/EDT/T60, ITD, ILD), "
        "on-grid and off-grid (default: on with --offgrid)",
    )
    parser.add_argument(
        "--phase",
        choices=PHASE_METHODS,
        default=PHASE_METHODS[0],
        help=f"phase method of the played field rows (default {PHASE_METHODS[0]})",
    )
    options.add_rows(parser, [
        ("--floor-repeats", _non_negative, FLOOR_REPEATS,
         f"ray-tracer seeds of the floor's re-simulations (default {FLOOR_REPEATS})"),
        ("--resamples", _positive, RESAMPLES, f"bootstrap resamples (default {RESAMPLES})"),
    ])  # fmt: skip
    parser.add_argument("--no-codecs", action="store_true", help="skip the AAC and Opus rows")
    parser.add_argument(
        "--stored-only", action="store_true",
        help="interpolation and codec baselines only where the data set stores its training waveforms "
        "(--waveforms all); by default the training pairs they use are simulated again with the data set's "
        "own seeds, the same IRs it would have stored (cached as <data>.train-irs/)",
    )  # fmt: skip
    parser.add_argument(
        "--split",
        choices=("test", "validation"),
        default="test",
        help="pairs to score: the held-out test split (default; the published tables) or the validation "
        "split, for choosing a recipe without reading the test split (written to runs/<scene>/validation)",
    )
    options.add_seed(parser, "seed of the pair subset and random phase")
    options.add_device(parser, "torch device for the field (default auto)")
    parser.add_argument(
        "--out-dir",
        type=Path,
        default=RESULTS_DIR,
        help="folder for <scene>.md/.json (default docs/results; with --split validation "
        "runs/<scene>/validation unless another folder is given, never docs/results)",
    )
    validate.declare_io(
        parser,
        outputs={"out_dir": validate.Output(folder=True)},
        inputs=("scene", "checkpoint", "data", "extra"),
        devices=("device",),
    )
    parser.set_defaults(func=_run, _naf_recorded={a.dest: a for a in parser._actions if a.dest in RECORDED})


def _positive(text: str) -> int:
    return _count(text, 1)


def _non_negative(text: str) -> int:
    return _count(text, 0)


def _at_least_ten(text: str) -> int:
    return _count(text, 10)


def _count(text: str, low: int) -> int:
    """A whole number from `low` to 10,000,000; the message names the bound that was crossed."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got '{text}'") from None
    if value > 10_000_000:
        raise argparse.ArgumentTypeError(f"expected a count of at most 10,000,000, got {value}")
    if value < low:
        raise argparse.ArgumentTypeError(f"expected a count of at least {low}, got {value}")
    return value


def _run(args: argparse.Namespace) -> int:
    from naf_model.errors import NafError, SceneError
    from naf_model.evaluation.runner import EvalConfig, evaluate

    if args.scene is None:
        if args.data is None:
            raise SceneError("give --scene NAME|FILE (or --data FILE of an imported data set, which carries its plan)")
        args.scene = str(args.data)
    if args.offgrid_rays is not None and not args.offgrid:
        raise NafError("--offgrid-rays sets the rays of the off-grid simulations; give --offgrid N too")

    names = ("scene", "data", "checkpoint", "max_pairs", "floor_pairs", "floor_repeats", "resamples", "seed")
    more = ("device", "offgrid", "offgrid_rays", "listening", "phase", "split")
    config = EvalConfig(use_codecs=not args.no_codecs, simulate_training=not args.stored_only,
                        extra=tuple(args.extra), command=command_line(args),
                        **options.pick(args, *names, "out_dir", *more))  # fmt: skip
    report = evaluate(config)
    print(report.to_markdown())
    print(f"wrote {config.written_to(report.scene) / (report.scene + '.md')} and .json", file=sys.stderr)
    return 0


def command_line(args: argparse.Namespace) -> str:
    """The `naf eval` command line of parsed arguments, normalised: the RECORDED options in their order, each
    only where it differs from its default, paths inside the project relative to it."""
    from naf_model.paths import project_path

    parts = ["naf eval"]
    for dest in RECORDED:
        action, value = args._naf_recorded[dest], getattr(args, dest)
        flag = action.option_strings[0]
        if value == action.default and dest != "scene":
            continue
        if isinstance(action, argparse.BooleanOptionalAction):
            parts.append(flag if value else "--no-" + flag.removeprefix("--"))
        elif action.nargs == 0:  # a store_true flag
            parts.append(flag)
        else:
            parts += [f"{flag} {project_path(v) if isinstance(v, Path) else v}"
                      for v in (value if isinstance(value, list) else [value])]  # fmt: skip
    return " ".join(parts)
