"""`naf bench` (also scripts/bench_field.py): speed, size and held-out accuracy of trained fields.

naf bench                                  # each scene's default field (bundled, else newest best.pt)
naf bench runs/apartment_1/fast/best.pt --json bench.json
naf bench --train-speed --scene apartment_1 --presets fast cpu
naf bench assets/checkpoints/apartment_1.pt --devices cpu-1 --compare-fused --single 500
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from naf_model.cli import options, validate
from naf_model.errors import NafError

DEFAULT_DEVICES = ("cpu-1", "cpu", "cuda")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The bench options, shared by the subcommand and the stand-alone script."""
    p.add_argument(
        "checkpoints",
        nargs="*",
        type=Path,
        help="checkpoint files or run folders (default: each scene's default field, the bundled checkpoint "
        "else the newest best.pt under runs/<scene>/)",
    )
    options.add_scene(p, "scene name or file for the checkpoints (default: theirs)", required=False)
    p.add_argument("--data", type=Path, default=None, help="data set for held-out errors and --train-speed")
    p.add_argument(
        "--devices",
        nargs="+",
        default=list(DEFAULT_DEVICES),
        choices=DEFAULT_DEVICES,
        help="cpu-1, cpu, cuda (default: all; cuda is skipped without a GPU unless named)",
    )
    budget = validate.number(float, low=0, low_open=True, high=86_400, unit="s")
    options.add_rows(p, [
        ("--single", options.count(1_000_000), 100, "single-IR calls timed per device"),
        ("--batch", options.count(65_536), 64, "IRs per batch for the throughput"),
        ("--batches", options.count(100_000), 4, "batches timed"),
        ("--map-spacing", validate.spacing(allow_zero=True), 0.25,
         "loudness map grid, metres (0 with --compare-fused: no heatmaps)"),
        ("--error-pairs", options.count(1_000_000, low=0), 32, "validation pairs scored (0: skip)"),
        ("--budget", budget, 20.0, "seconds per measurement before timing stops early; a slower map is estimated "
         "(default 20)"),
    ])  # fmt: skip
    options.add_seed(p)
    p.add_argument("--json", type=Path, default=None, help="also write all rows as JSON here")
    p.add_argument("--compare-fused", action="store_true",
                   help="instead of the table above: the fused inference path against the module path, timed "
                   "interleaved in one run (--single calls each, CPU setups of --devices), with their answers' "
                   "differences and the loudness/C50/T60 heatmaps at --map-spacing, measured on waveforms and read off "
                   "the energy envelope (fast), with their p95 difference (--map-spacing 0: none)")
    p.add_argument("--train-speed", action="store_true", help="also measure training samples/s per preset")
    p.add_argument("--presets", nargs="+", default=None, help="presets for --train-speed (default: all)")
    p.add_argument(
        "--train-steps", type=options.count(1_000_000), default=50, help="training steps per preset for --train-speed"
    )
    p.add_argument(
        "--train-device", default="auto", type=validate.device_name, help="device for --train-speed (default auto)"
    )

def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `naf bench`."""
    p = subparsers.add_parser(
        "bench",
        help="latency, throughput, map time, size and held-out errors of trained fields",
        description="Benchmark checkpoints on CPU (1 thread, all threads) and CUDA when present; prints a "
        "markdown table. Single-IR latency is positions to (2, N) waveform with the default phase.",
    )
    add_arguments(p)
    validate.add_force(p)
    validate.declare_io(
        p,
        outputs={"json": validate.Output((".json",))},
        inputs=("checkpoints", "data", "scene"),
        devices=("train_device",),
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Benchmark, print the tables, optionally write JSON."""
    from naf_model.benchmarks.fields import (
        BenchConfig,
        bench_checkpoint,
        environment,
        find_checkpoints,
        markdown_table,
        rows_as_dicts,
    )
    from naf_model.cli.analysis import write_json

    if "cuda" in args.devices and sorted(args.devices) != sorted(DEFAULT_DEVICES):
        validate.check_device("cuda", "--devices")  # named on purpose: no silent skip
    scene = None
    if args.scene is not None:
        from naf_model.scene import load_scene

        scene = load_scene(args.scene)
    config = BenchConfig(
        n_single=args.single,
        batch_size=args.batch,
        n_batches=args.batches,
        devices=tuple(args.devices),
        budget_s=args.budget,
        **options.pick(args, "map_spacing", "error_pairs", "data", "seed"),
    )
    if min(config.n_single, config.batch_size, config.n_batches) < 1:
        raise NafError("--single, --batch and --batches must be at least 1")
    try:
        found = find_checkpoints(args.checkpoints)
    except NafError:
        if not args.train_speed or args.checkpoints:
            raise
        found = []
    if args.compare_fused:
        return _compare_fused(args, found, scene)
    if args.map_spacing <= 0:
        raise NafError("--map-spacing must be above 0 (0 only with --compare-fused)")
    rows = []
    for path in found:
        rows += bench_checkpoint(path, config, scene, _log)
    report: dict[str, Any] = {
        "environment": environment(),
        "config": _plain(config),
        "rows": rows_as_dicts(rows),
    }
    if rows:
        print(markdown_table(rows))
        notes = list(dict.fromkeys(n for r in rows for n in r.notes))
        print("\n".join(["", *(f"- {n}" for n in notes)]) if notes else "")
    if args.train_speed:
        report["train_speed"] = _train_speed(args, scene, found)
    if args.json is not None:
        write_json(args.json, report)
        _log(f"wrote {args.json}")
    return 0


def _compare_fused(args: argparse.Namespace, found: list[Path], scene: Any) -> int:
    """`--compare-fused`: one row per checkpoint and CPU thread setup, printed as one table."""
    from dataclasses import asdict

    import torch

    from naf_model.benchmarks.fields import device_setups, environment
    from naf_model.benchmarks.fused_paths import compare_paths, paths_table
    from naf_model.checkpoint import load_checkpoint
    from naf_model.cli.analysis import write_json
    from naf_model.scene import load_scene

    rows = []
    threads_before = torch.get_num_threads()
    try:
        for path in found:
            fld_scene = scene if scene is not None else load_scene(load_checkpoint(path).scene_name)
            for _, device, threads in device_setups(args.devices):
                if device != "cpu":
                    continue
                torch.set_num_threads(threads)
                _log(f"fused vs module path: {path} on {threads} CPU thread(s), {args.single} calls each")
                rows.append(compare_paths(path, fld_scene, threads, args.single, args.seed,
                                          args.map_spacing if args.map_spacing > 0 else None))
    finally:
        torch.set_num_threads(threads_before)
    print(paths_table(rows))
    if args.json is not None:
        write_json(args.json, {"environment": environment(), "paths": [asdict(r) | {"ratio": r.ratio} for r in rows]})
        _log(f"wrote {args.json}")
    return 0


def _log(message: str) -> None:
    """Progress lines go to stderr so that stdout holds only the tables."""
    print(message, file=sys.stderr)


def _train_speed(args: argparse.Namespace, scene: Any, checkpoints: list[Path]) -> list[dict[str, Any]]:
    from dataclasses import asdict

    from naf_model.benchmarks.train_speed import train_speed, train_speed_table
    from naf_model.networks import PRESETS
    from naf_model.paths import default_dataset_path

    if scene is None:
        if not checkpoints:
            raise NafError("--train-speed needs --scene (or a checkpoint) to know which data set to use")
        from naf_model.checkpoint import load_checkpoint
        from naf_model.scene import load_scene

        scene = load_scene(load_checkpoint(checkpoints[0]).scene_name)
    data = args.data if args.data is not None else default_dataset_path(scene.name)
    rows = train_speed(args.presets or list(PRESETS), data, scene, args.train_steps, device=args.train_device,
                       log=_log)  # fmt: skip
    print("\n" + train_speed_table(rows))
    return [asdict(r) for r in rows]


def _plain(config: Any) -> dict[str, Any]:
    from dataclasses import asdict

    d = asdict(config)
    d["data"] = None if d["data"] is None else str(d["data"])
    return d


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry point (scripts/bench_field.py): same options as `naf bench`."""
    parser = validate.NafArgumentParser(prog="bench_field.py", description=__doc__.splitlines()[0])
    add_arguments(parser)
    validate.add_force(parser)
    validate.declare_io(parser, outputs={"json": validate.Output((".json",))}, inputs=("checkpoints", "data"))
    args = parser.parse_args(argv)
    try:
        validate.check_args(args)
        return run(args)
    except NafError as exc:
        print(f"bench_field.py: error: {exc}", file=sys.stderr)
        return 2
