"""`naf train`: train (or resume) a Neural Acoustic Field for one scene from its data set.

Thin wrapper over `naf_model.training.train_field`; the same command runs under torchrun for DDP
(see that module's docstring for single-process, multi-GPU and multi-node launch lines).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

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
    p.add_argument("--scene", required=True, help="bundled scene name, scene.json path or mesh path")
    p.add_argument(
        "--preset",
        default=None,
        choices=LazyChoices(_preset_names),
        metavar="PRESET",
        help="model preset: %(choices)s (default fast: amortised, ~2 ms per IR on a CPU)",
    )
    p.add_argument("--data", type=Path, help="data set file (default data/<scene>.h5)")
    length = p.add_mutually_exclusive_group()
    length.add_argument("--steps", type=int, help="optimizer steps (default: the preset's)")
    length.add_argument("--minutes", type=float, help="train for about this many minutes of wall clock")
    p.add_argument("--out", type=Path, help="run folder (default runs/<scene>/<preset>)")
    p.add_argument("--resume", action="store_true", help="continue from <out>/checkpoint.pt")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="default auto")
    p.add_argument("--seed", type=int, default=0, help="seed of initialisation and batches (default 0)")
    p.add_argument(
        "--threads", type=int, help="CPU threads per process (default: torch's; 1 on a busy machine)"
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
    p.set_defaults(func=_train)


def _train(args: argparse.Namespace) -> int:
    from naf_model.checkpoint import export_checkpoint
    from naf_model.cli.scene import scene_from_args
    from naf_model.errors import NafError
    from naf_model.networks.presets import DEFAULT_PRESET, preset
    from naf_model.training.train import RunOptions, train_field

    if args.steps is not None and args.steps < 1 or args.minutes is not None and args.minutes <= 0:
        raise NafError("--steps and --minutes must be positive")
    if args.threads is not None:
        import torch

        torch.set_num_threads(max(1, args.threads))
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
    )
    result = train_field(preset(name), options, scene)
    if int(os.environ.get("RANK", "0")) != 0:
        return 0
    error = result.metrics.get("validation_spectral_error")
    shown = f"{error:.4f}" if error is not None else "n/a"
    print(
        f"naf: step {result.step}/{result.total_steps}, validation spectral error {shown}; "
        f"checkpoint {result.checkpoint}, best {result.best}"
    )
    if args.export is not None and not result.interrupted:
        print(f"naf: exported {export_checkpoint(result.best, args.export)}")
    return 130 if result.interrupted else 0
