"""`naf train`: train (or resume) a Neural Acoustic Field for one scene from its data set; `naf ensemble`.

Thin wrapper over `naf_model.training.train_field`: the config is a preset or a recipe file plus `--set`
overrides (`naf_model.networks.recipes`), checked before any work; the same command runs under torchrun for
DDP (see that module's docstring for single-process, multi-GPU and multi-node launch lines).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from naf_model.cli import options, validate
from naf_model.cli.choices import LazyChoices
from naf_model.paths import default_dataset_path, runs_dir

TRAIN_HELP = "train a neural acoustic field on a scene's data set"
TRAIN_DESCRIPTION = (
    "Train a NAF on data/<scene>.h5; writes runs/<scene>/<preset or recipe>/checkpoint.pt and best.pt (atomic "
    "writes; Ctrl-C or SIGTERM saves first; --resume continues exactly; a folder holding a run is refused without "
    "--resume or --force). Runs as is under `torchrun --nproc_per_node N -m naf_model train ...` for distributed "
    "data parallel training."
)
IMPORT_HELP = "write a checkpoint of the NAF paper's code as a naf field (with its imported data set)"
IMPORT_DESCRIPTION = (
    "Reads a checkpoint of the paper's train.py (aluo-x/Learning_Neural_Acoustic_Fields: {'network': weights}) with "
    "the data set `naf data import paper` made of its room (scene, min/max, normalisation, frames) and writes "
    "one naf checkpoint of the paper's network, which every naf command and the app load as they are. "
    "`naf eval --data FILE.h5 --checkpoint PAPER.chkpt` reads the paper's file directly."
)
MIN_MEMORY_BUDGET = 1_000_000
"""--memory-budget below 1 MB is a typo (a few rows of a spectrogram)."""
ENSEMBLE_HELP = "join trained fields of one scene into one field that predicts their mean"
ENSEMBLE_DESCRIPTION = (
    "Join two or more fields trained on the same data set with the same network (e.g. other --seed) into one "
    "checkpoint whose prediction is the mean of their log-magnitudes, so that errors the fields do not share can "
    "average out (compare it with its members: `naf eval --split validation`). Queries cost about the sum of the "
    "members': check with `naf bench OUT`."
)


def _preset_names() -> list[str]:
    from naf_model.networks.presets import PRESETS

    return list(PRESETS)


def _preset_name(name: str) -> str:
    """`--preset NAME`; the experiment presets of earlier versions are recipes now, and the error says so."""
    from naf_model.networks.recipes import bundled_recipes

    if name in bundled_recipes():
        raise argparse.ArgumentTypeError(f"{name!r} is a recipe now, not a preset: use --recipe {name}")
    return name


_preset_name.__name__ = "PRESET"


def _assignment(text: str) -> tuple[str, str]:
    """`--set KEY=VALUE` split; whether KEY and VALUE fit the network is checked once the preset is known."""
    from naf_model.networks.recipes import parse_assignment

    try:
        return parse_assignment(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


_assignment.__name__ = "KEY=VALUE"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `train` command."""
    p = subparsers.add_parser("train", help=TRAIN_HELP, description=TRAIN_DESCRIPTION)
    options.add_scene(p, options.SCENE_OR_MESH + " (default: the plan an imported --data set carries)",
                      required=False)
    _add_config_options(p)
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
        help="optimizer steps (default: the recipe's steps)")
    length.add_argument("--minutes", type=validate.number(float, low=0, low_open=True, high=7 * 24 * 60),
        help="train for about this many minutes of wall clock")
    p.add_argument("--out", type=Path, help="run folder (default runs/<scene>/<preset or recipe name>)")
    start = p.add_mutually_exclusive_group()
    start.add_argument("--resume", action="store_true", help="continue from <out>/checkpoint.pt")
    start.add_argument(
        "--init",
        type=Path,
        metavar="CKPT",
        help="fine-tune: start from this trained field's weights (same scene, data set and network) with the "
        "recipe's settings, a fresh optimizer and schedule",
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
    p.add_argument(
        "--memory-budget", type=validate.byte_size(MIN_MEMORY_BUDGET, 10**15), metavar="SIZE",
        help="memory the training data may take per process, e.g. 2GB: the training split is held in memory when "
        "it fits, else streamed from disk through a cache of this size, with the same batches for the same seed "
        "(default: half the available memory, shared among the processes torchrun starts on the machine)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    from naf_model.cli.scene import add_mesh_options

    add_mesh_options(p)
    p.add_argument("-y", "--force", action="store_true",
                   help="replace existing output files, and the run in --out (without --resume)")
    validate.declare_io(
        p,
        outputs={"out": validate.Output(folder=True), "export": validate.Output((".pt",))},
        inputs=("scene", "materials", "data", "init", "extra", "recipe"),
        devices=("device",),
    )
    p.set_defaults(func=_train)
    _register_ensemble(subparsers)
    _register_import_checkpoint(subparsers)



def _add_config_options(p: argparse.ArgumentParser) -> None:
    """What is trained: --preset or --recipe, then --set overrides (and --lr, the most common one)."""
    config = p.add_mutually_exclusive_group()
    config.add_argument(
        "--preset",
        default=None,
        type=_preset_name,
        choices=LazyChoices(_preset_names),
        metavar="PRESET",
        help="base preset: %(choices)s (default shipped: the config of the field the app ships, amortised, "
        "~2 ms per IR on a CPU; fast: its base; paper, medium, cpu: per-pixel NAFs)",
    )
    config.add_argument(
        "--recipe",
        metavar="FILE",
        help="a recipe: a TOML file naming a preset and its overrides, or the name of one in assets/recipes/ "
        "(e.g. fast_edc); recorded in the checkpoint",
    )
    p.add_argument(
        "--set",
        dest="overrides",
        type=_assignment,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one knob of the preset or recipe, e.g. lr=1e-4, steps=40000, jitter_m=0.2, depth=6, "
        "edc_weight=1 (a config field; unknown keys, keys the network does not read and values of the wrong "
        "type are refused); repeatable",
    )
    p.add_argument(
        "--lr",
        type=validate.number(float, low=0, low_open=True, high=1.0),
        help="peak learning rate: the same as --set lr=LR (default: the preset's; e.g. lower for --init)",
    )

def _register_ensemble(subparsers: argparse._SubParsersAction) -> None:
    """Add the `ensemble` command (it joins what `train` made, so it lives beside it)."""
    p = subparsers.add_parser("ensemble", help=ENSEMBLE_HELP, description=ENSEMBLE_DESCRIPTION)
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


def _register_import_checkpoint(subparsers: argparse._SubParsersAction) -> None:
    """Add the `import-checkpoint` command (a field trained elsewhere, written as naf's own)."""
    p = subparsers.add_parser("import-checkpoint", help=IMPORT_HELP, description=IMPORT_DESCRIPTION)
    p.add_argument("checkpoint", type=Path, metavar="PAPER.chkpt", help="a checkpoint of the paper's train.py")
    p.add_argument("--data", type=Path, required=True, metavar="FILE.h5",
                   help="its scene's data set, imported from the paper's metadata (`naf data import paper`)")
    p.add_argument("-o", "--output", type=Path, required=True, help="the naf field to write (.pt)")
    validate.add_force(p)
    validate.declare_io(p, outputs={"output": validate.Output((".pt",))}, inputs=("checkpoint", "data"))
    p.set_defaults(func=_import_checkpoint)


def _import_checkpoint(args: argparse.Namespace) -> int:
    from naf_model.checkpoint import load_checkpoint, save_checkpoint
    from naf_model.errors import NafError

    ckpt = load_checkpoint(args.checkpoint, paper_data=args.data)  # refuses naf's own and foreign files
    if ckpt.config.network.kind != "paper_released":
        raise NafError(f"{args.checkpoint} is a naf checkpoint already: use it as it is")
    path = save_checkpoint(ckpt, args.output)
    print(f"naf: wrote {path}: the paper's network for scene {ckpt.scene_name!r} ({ckpt.shape.n_frames} frames), "
          "which loads without its data set")
    return 0


def _recipe(args: argparse.Namespace):  # -> naf_model.networks.recipes.Recipe
    """The preset or recipe file plus the overrides (`--set`, then `--lr`), each checked; NafError at the
    first bad one, or for overrides on a resumed run (it keeps its own recipe)."""
    from naf_model.errors import NafError
    from naf_model.networks.presets import DEFAULT_PRESET
    from naf_model.networks.recipes import resolve_recipe

    sets = list(args.overrides) + ([("lr", args.lr)] if args.lr is not None else [])
    if args.resume and sets:
        raise NafError("--set and --lr set up a new run; a resumed run keeps its own recipe and schedule "
                       "(drop them, or --resume)")
    return resolve_recipe(args.preset, args.recipe, sets, DEFAULT_PRESET)


def _train(args: argparse.Namespace) -> int:
    from naf_model.errors import NafError, WriteError

    if args.steps is not None and args.steps < 1 or args.minutes is not None and args.minutes <= 0:
        raise NafError("--steps and --minutes must be positive")
    recipe = _recipe(args)  # before anything heavier: a bad override costs nothing
    from naf_model.checkpoint import export_checkpoint
    from naf_model.cli.scene import scene_from_args
    from naf_model.training.train import RunOptions, check_request, train_field

    scene = scene_from_args(args)
    config = recipe.config()
    options = RunOptions(
        dataset=args.data or default_dataset_path(scene.name),
        out_dir=args.out or runs_dir() / scene.name / recipe.name,
        steps=args.steps,
        minutes=args.minutes,
        resume=args.resume,
        device=args.device,
        seed=args.seed,
        progress=not args.no_progress,
        init_from=args.init,
        extra=tuple(args.extra),
        recipe=recipe,
        overwrite=args.force,
        memory_budget=args.memory_budget,
    )
    check_request(config, options)  # before threads are set or data read
    import torch

    from naf_model.cores import free_cores

    ranks_here = max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
    torch.set_num_threads(args.threads if args.threads is not None else max(1, free_cores() // ranks_here))
    try:
        result = train_field(config, options, scene)
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
