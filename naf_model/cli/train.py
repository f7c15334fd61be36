"""`naf train`: train (or resume) a Neural Acoustic Field for one scene from its data set.

Thin wrapper over `naf_model.training.train_field`; the same command runs under torchrun for DDP
(see that module's docstring for single-process, multi-GPU and multi-node launch lines).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from naf_model.cli import options, validate
from naf_model.cli.choices import LazyChoices
from naf_model.paths import default_dataset_path, runs_dir


def _preset_names() -> list[str]:
    from naf_model.networks.presets import PRESETS

    return list(PRESETS)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `train` command."""
    p = subparsers.add_parser(
        "train",
        help="train a neural acoustic field on a scene's data set",
        description="Train a NAF on data/<scene>.h5; writes runs/<scene>/<preset>/checkpoint.pt and best.pt "
        "(atomic writes; Ctrl-C or SIGTERM saves first; --resume continues exactly). Runs as is under "
        "`torchrun --nproc_per_node N -m naf_model train ...` for distributed data parallel training.",
    )
    options.add_scene(p, options.SCENE_OR_MESH)
    p.add_argument(
        "--preset",
        default=None,
        choices=LazyChoices(_preset_names),
        metavar="PRESET",
        help="model preset: %(choices)s (default fast: amortised, ~2 ms per IR on a CPU)",
    )
    p.add_argument("--data", type=Path, help="data set file (default data/<scene>.h5)")
    p.add_argument(
        "--extra",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help="another data set of the same scene and simulator settings whose pairs join the training pairs "
        "(e.g. from `naf data make --free-pairs N`); repeatable",
    )
    length = p.add_mutually_exclusive_group()
    length.add_argument("--steps", type=validate.number(int, low=1, high=100_000_000),
        help="optimizer steps (default: the preset's)")
    length.add_argument("--minutes", type=validate.number(float, low=0, low_open=True, high=7 * 24 * 60),
        help="train for about this many minutes of wall clock")
    p.add_argument("--out", type=Path, help="run folder (default runs/<scene>/<preset>)")
    start = p.add_mutually_exclusive_group()
    start.add_argument("--resume", action="store_true", help="continue from <out>/checkpoint.pt")
    start.add_argument(
        "--init",
        type=Path,
        metavar="CKPT",
        help="fine-tune: start from this trained field's weights (same scene, data set and network) with the "
        "preset's recipe, a fresh optimizer and schedule",
    )
    p.add_argument(
        "--lr",
        type=validate.number(float, low=0, low_open=True, high=1.0),
        help="peak learning rate (default: the preset's; e.g. lower for --init)",
    )
    options.add_device(p, "auto, cpu, cuda or cuda:N (default auto)")
    options.add_seed(p, "seed of initialisation and batches (default 0)")
    p.add_argument(
        "--threads", type=validate.number(int, low=1, high=1024),
            help="CPU threads per process (default: the cores idle when training starts)"
    )
    p.add_argument(
        "--export",
        type=Path,
        metavar="PATH",
        help="afterwards, write best.pt without training state to PATH (the file to ship)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    from naf_model.cli.scene import add_mesh_options

    add_mesh_options(p)
    validate.add_force(p)
    validate.declare_io(
        p,
        outputs={"out": validate.Output(folder=True), "export": validate.Output((".pt",))},
        inputs=("scene", "materials", "data", "init", "extra"),
        devices=("device",),
    )
    p.set_defaults(func=_train)
    _register_ensemble(subparsers)


def _register_ensemble(subparsers: argparse._SubParsersAction) -> None:
    """Add the `ensemble` command (it joins what `train` made, so it lives beside it)."""
    p = subparsers.add_parser(
        "ensemble",
        help="join trained fields of one scene into one field that predicts their mean",
        description="Join two or more fields trained on the same data set with the same network (e.g. other "
        "--seed) into one checkpoint whose prediction is the mean of their log-magnitudes, so that errors the "
        "fields do not share can average out (compare it with its members: `naf eval --split validation`). "
        "Queries cost about the sum of the members': check with `naf bench OUT`.",
    )
    p.add_argument("checkpoints", nargs="+", type=Path, metavar="CHECKPOINT", help="trained fields (.pt), two or more")
    p.add_argument("-o", "--output", type=Path, required=True, help="the joined field (.pt)")
    validate.add_force(p)
    validate.declare_io(p, outputs={"output": validate.Output((".pt",))}, inputs=("checkpoints",))
    p.set_defaults(func=_ensemble)


def _ensemble(args: argparse.Namespace) -> int:
    from naf_model.checkpoint import combine_checkpoints, save_checkpoint

    ckpt = combine_checkpoints(args.checkpoints)
    ckpt.build_model()  # the joined weights must load before anything is written
    path = save_checkpoint(ckpt, args.output)
    print(f"naf: wrote {path}: {ckpt.preset}, the mean of {len(args.checkpoints)} fields")
    return 0


def _train(args: argparse.Namespace) -> int:
    from naf_model.checkpoint import export_checkpoint
    from naf_model.cli.scene import scene_from_args
    from naf_model.errors import NafError, WriteError
    from naf_model.networks.presets import DEFAULT_PRESET, preset
    from naf_model.training.train import RunOptions, train_field

    if args.steps is not None and args.steps < 1 or args.minutes is not None and args.minutes <= 0:
        raise NafError("--steps and --minutes must be positive")
    import torch

    from naf_model.cores import free_cores

    ranks_here = max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
    torch.set_num_threads(args.threads if args.threads is not None else max(1, free_cores() // ranks_here))
    name = args.preset or DEFAULT_PRESET
    scene = scene_from_args(args)
    options = RunOptions(
        dataset=args.data or default_dataset_path(scene.name),
        out_dir=args.out or runs_dir() / scene.name / name,
        steps=args.steps,
        minutes=args.minutes,
        resume=args.resume,
        device=args.device,
        seed=args.seed,
        progress=not args.no_progress,
        init_from=args.init,
        lr=args.lr,
        extra=tuple(args.extra),
    )
    try:
        result = train_field(preset(name), options, scene)
    except WriteError as exc:  # a full or read-only disk: the last checkpoint is whole, say how to go on
        if args.resume or not (options.out_dir / "checkpoint.pt").is_file():
            raise
        raise WriteError(f"{exc}; add --resume to continue from the last checkpoint", exc.errno,
                         exc.filename) from exc
    if int(os.environ.get("RANK", "0")) != 0:
        return 0
    error = result.metrics.get("validation_spectral_error")
    shown = f"{error:.4f}" if error is not None else "n/a"
    print(
        f"naf: step {result.step}/{result.total_steps}, validation spectral error {shown}; "
        f"checkpoint {result.checkpoint}, best {result.best if result.best.is_file() else '(none written yet)'}"
    )
    if args.export is not None and not result.interrupted:
        print(f"naf: exported {export_checkpoint(result.best, args.export)}")
    return 130 if result.interrupted else 0
