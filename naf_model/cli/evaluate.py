"""`naf eval`: the paper's Table 1 for a scene: field vs interpolation baselines vs the simulation floor."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from naf_model.cli import validate


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `eval` command."""
    from naf_model.evaluation import DEFAULT_FLOOR_PAIRS, DEFAULT_MAX_PAIRS, RESULTS_DIR

    parser = subparsers.add_parser(
        "eval",
        help="score a field against interpolation baselines and the simulation floor",
        description="Score the held-out pairs of a data set: the field, nearest-neighbour and linear "
        "interpolation of training IRs (raw, AAC-LC 32 kbit/s, Opus 6 kbit/s) and two simulations that "
        "differ only in the ray-tracer seed. Prints a markdown table (spectral, T60, C50 and EDT errors, "
        "storage) and writes it with a JSON copy to docs/results/<scene>.md and .json.",
    )
    parser.add_argument("--scene", required=True, help="bundled scene name or scene.json path")
    parser.add_argument(
        "--checkpoint", type=Path, help="field checkpoint (default: the bundled one, else the newest run's best.pt)"
    )
    parser.add_argument("--data", type=Path, help="data set file (default: data/<scene>.h5)")
    parser.add_argument(
        "--max-pairs",
        type=_positive,
        default=DEFAULT_MAX_PAIRS,
        help=f"held-out pairs scored, a seeded subset if there are more (default {DEFAULT_MAX_PAIRS})",
    )
    parser.add_argument(
        "--floor-pairs",
        type=_non_negative,
        default=DEFAULT_FLOOR_PAIRS,
        help=f"held-out pairs simulated again for the floor row, 0 for none (default {DEFAULT_FLOOR_PAIRS}; "
        "cached next to the data set)",
    )
    parser.add_argument("--no-codecs", action="store_true", help="skip the AAC and Opus rows")
    parser.add_argument("--seed", type=validate.seed, default=0, help="seed of the pair subset and random phase")
    parser.add_argument(
        "--device", default="auto", type=validate.device_name, help="torch device for the field (default auto)"
    )
    parser.add_argument(
        "--out-dir", type=Path, default=RESULTS_DIR, help="folder for <scene>.md/.json (default docs/results)"
    )
    validate.declare_io(
        parser,
        outputs={"out_dir": validate.Output(folder=True)},
        inputs=("scene", "checkpoint", "data"),
        devices=("device",),
    )
    parser.set_defaults(func=_run)


def _positive(text: str) -> int:
    value = _non_negative(text)
    if value == 0:
        raise argparse.ArgumentTypeError("expected a count of at least 1")
    return value


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got '{text}'") from None
    if value > 10_000_000:
        raise argparse.ArgumentTypeError(f"expected a count of at most 10,000,000, got {value}")
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a count of at least 0, got {value}")
    return value


def _run(args: argparse.Namespace) -> int:
    from naf_model.evaluation.runner import EvalConfig, evaluate

    config = EvalConfig(
        scene=args.scene,
        data=args.data,
        checkpoint=args.checkpoint,
        max_pairs=args.max_pairs,
        floor_pairs=args.floor_pairs,
        use_codecs=not args.no_codecs,
        seed=args.seed,
        out_dir=args.out_dir,
        device=args.device,
    )
    report = evaluate(config)
    print(report.to_markdown())
    print(f"wrote {args.out_dir / (report.scene + '.md')} and .json", file=sys.stderr)
    return 0
