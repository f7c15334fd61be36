"""Training loop for NAF fields: single process, or DDP under torchrun (the same command).

Launch (apartment_1; the default preset is `shipped`, the config of the field the app ships; `fast` is the
amortised network's base, `paper`/`medium`/`cpu` are per-pixel NAFs; `--recipe` and `--set` vary them):

    # one process, CPU or one GPU (auto-detected)
    naf train --scene apartment_1 --preset fast --minutes 20
    # a recipe file (assets/recipes/*.toml: a preset plus overrides) and one more override
    naf train --scene apartment_1 --recipe fast_edc_swap --set jitter_m=0.2 --steps 24000
    # one machine, 4 GPUs (NCCL)
    torchrun --standalone --nproc_per_node 4 -m naf_model train --scene apartment_1 --preset paper \
        --steps 200000
    # CPU processes with Gloo (e.g. 2 processes on one machine)
    OMP_NUM_THREADS=1 torchrun --standalone --nproc_per_node 2 -m naf_model train --scene apartment_1 \
        --device cpu
    # two nodes x 8 GPUs: run on every node, with its own --node_rank
    torchrun --nnodes 2 --node_rank 0 --nproc_per_node 8 --rdzv_backend c10d \
        --rdzv_endpoint HOST:29500 -m naf_model train --scene apartment_1 --preset paper
    # continue exactly where a run stopped (model, optimizer, LR schedule, step, RNG states)
    naf train --scene apartment_1 --preset fast --resume

Each rank reads its own share of the training pairs (every W-th pair) and draws its own batches from it (seed +
rank), in memory or streamed from disk within `RunOptions.memory_budget` (`training.trainset`); rank 0 logs,
evaluates the validation split's held-out pairs (`validation_spectral_error`; best.pt is the checkpoint with the
lowest) and writes checkpoints (`.module` unwrapped). The test split is never read here: it is left to `naf eval`.
Ctrl-C or SIGTERM stops every rank after the current step and saves first (`training.loop`). A new run refuses a
run folder that holds a run's checkpoints unless told to replace them, and never replaces the field it starts
from (`check_request`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from naf_model.checkpoint import Checkpoint, load_checkpoint, plan_rings, shape_plan
from naf_model.data.extra import check_distinct
from naf_model.errors import CheckpointError, DataError, NafError, SceneError
from naf_model.networks.build import build_trainable
from naf_model.networks.presets import FieldShape, ModelConfig
from naf_model.networks.recipes import Recipe
from naf_model.paths import same_file
from naf_model.training.batches import BatchSampler
from naf_model.training.distributed import DistributedContext, setup_distributed, teardown_distributed
from naf_model.training.evaluate import init_from_data
from naf_model.training.loop import (
    LATE_ITEMS_PER_STEP,
    Progress,
    Run,
    TrainResult,
    append_log_line,
    learning_rate,
    train_loop,
)
from naf_model.training.trainset import TrainingSet, default_memory_budget, load_training_set

__all__ = ["RunOptions", "TrainResult", "append_log_line", "check_request", "learning_rate", "train_field"]

BOUNDS_MARGIN_M = 1.0
"""Grid margin around the data's positions when no scene object gives the bounding box."""
RUN_FILES = ("checkpoint.pt", "best.pt", "log.jsonl")
"""What a run writes in its folder: a folder holding any of them holds a run."""


@dataclass(frozen=True)
class RunOptions:
    """What `naf train` asks for besides the model config."""

    dataset: Path
    out_dir: Path
    steps: int | None = None
    minutes: float | None = None
    resume: bool = False
    device: str = "auto"
    seed: int = 0
    progress: bool = True
    init_from: Path | None = None
    """A trained field of the same scene, data set and network to start from (fine-tuning with the config's
    recipe: fresh optimizer and schedule), instead of a fresh initialisation."""
    extra: tuple[Path, ...] = ()
    """Data sets whose training pairs join the main data set's (`trainset.load_training_set`); a resumed run
    needs the same ones again."""
    recipe: Recipe | None = None
    """The recipe the config was resolved from (`Recipe.config()`), recorded in the checkpoint; None for a
    config built in code."""
    overwrite: bool = False
    """A new run may replace the run already in `out_dir` (`naf train --force`); its files go first."""
    memory_budget: int | None = None
    """Bytes of training data a process may hold (`trainset.load_training_set`: in memory if the split fits,
    else streamed from disk within it); None: `trainset.default_memory_budget()`, from the free memory."""


def check_request(config: ModelConfig, options: RunOptions) -> None:
    """Refuse, before any data is read or anything written, a run that cannot be trained or would destroy
    something: an ensemble's config, --init with --resume, a run folder that holds a run (without resume or
    overwrite), --init naming a file the run replaces, and a data set given twice."""
    if config.network.members > 1:
        raise CheckpointError(
            f"preset {config.name!r} is an ensemble of {config.network.members} fields: train its members "
            "one by one and join them with `naf ensemble`"
        )
    if options.resume and options.init_from is not None:
        raise NafError("--init sets up a new run; a resumed run keeps its own weights (drop --init or --resume)")
    assert options.recipe is None or options.recipe.config() == config, "the config is not the recipe's"
    out = Path(options.out_dir)
    held = [out / name for name in RUN_FILES if (out / name).is_file()]
    if options.init_from is not None:
        for path in held:
            if same_file(options.init_from, path):
                raise NafError(
                    f"--init {options.init_from} is the {path.name} of --out {out}, which this run replaces; "
                    "copy it out of the folder and start from the copy, or choose another --out"
                )
    if held and not options.resume and not options.overwrite:
        raise NafError(
            f"--out {out} holds a run ({held[0].name}); pass --resume to continue it, --force to replace it, "
            "or choose another --out"
        )
    check_distinct(options.dataset, options.extra)


def train_field(config: ModelConfig, options: RunOptions, scene: Any | None = None) -> TrainResult:
    """Train (or resume) a field on a data set; see the module docstring."""
    check_request(config, options)
    if config.network.free_paths and scene is None:
        raise SceneError(
            f"preset {config.name!r} reads the scene's floor plan (free-path features): pass the scene it "
            "was simulated for (--scene)"
        )
    ctx = setup_distributed(options.device)
    try:
        return _train(config, options, scene, ctx)
    finally:
        teardown_distributed(ctx)


def _train(config: ModelConfig, options: RunOptions, scene: Any | None, ctx: DistributedContext) -> TrainResult:
    """Set the run up (a new one, or the resumed one's state) and hand it to the loop."""
    budget = options.memory_budget if options.memory_budget is not None else default_memory_budget()
    thin = (config.train.emitter_fraction, config.train.listener_fraction)
    data = load_training_set(options.dataset, options.extra, budget, (ctx.rank, ctx.world_size), thin)
    try:
        return _train_on(config, options, scene, ctx, data)
    finally:
        data.close()


def _train_on(
    config: ModelConfig, options: RunOptions, scene: Any | None, ctx: DistributedContext, data: TrainingSet
) -> TrainResult:
    """`_train` once the data is open."""
    if ctx.is_main:
        print(f"naf: {data.memory_note}", flush=True)
    scene_hash = str(data.meta.get("scene_hash", ""))
    if scene is not None and scene.geometry_hash() != scene_hash:
        raise DataError(
            f"{options.dataset} was simulated for other geometry than scene {scene.name!r}; remake it"
        )
    resumed = _resumed_checkpoint(config, options, data, scene_hash) if options.resume else None
    if resumed is not None:
        config, shape, recipe = resumed.config, resumed.shape, resumed.recipe
    else:
        shape = _field_shape(data, scene)
        recipe = options.recipe.record() if options.recipe is not None else None
    data.check_step(config.train.irs_per_step + config.train.swap_pairs, LATE_ITEMS_PER_STEP)
    torch.manual_seed(options.seed + ctx.rank)
    model = build_trainable(config, shape)
    start = _start_weights(options, data, scene_hash, config, shape) if resumed is None else resumed.weights
    if start is None:
        init_from_data(model, data, options.seed)
    else:
        model.load_state_dict(start)
    model.to(ctx.device)
    optimizer = _optimizer(model, config)
    sampler = BatchSampler(
        data.train, data.stats, options.seed + ctx.rank, config.train.jitter_m, config.train.pad_fraction,
        data.late_stats,
    )
    if resumed is None:
        progress = _new_progress(config, options, data)
        if ctx.is_main:  # the checks let a new run into a run's folder only to replace that run
            for name in RUN_FILES:
                (Path(options.out_dir) / name).unlink(missing_ok=True)
    else:
        progress = _restored_progress(resumed, options, optimizer, sampler, ctx)
    plan, holes = plan_rings(scene.free_space) if scene is not None else (None, [])
    run = Run(model, optimizer, sampler, data, config, shape, scene_hash, plan, holes, recipe,
              Path(options.out_dir), options.seed, progress)
    return train_loop(run, ctx, options.minutes, options.progress)


def _resumed_checkpoint(
    config: ModelConfig, options: RunOptions, data: TrainingSet, scene_hash: str
) -> Checkpoint:
    """The run folder's checkpoint.pt, checked against this request: same scene, STFT, preset and extra data
    sets, and holding training state."""
    path = Path(options.out_dir) / "checkpoint.pt"
    resumed = load_checkpoint(path, scene_hash=scene_hash)
    resumed.check_stft(data.meta, str(options.dataset))
    if resumed.training is None:
        raise CheckpointError(f"{path} is an exported checkpoint without training state; cannot resume")
    if resumed.preset != config.name:
        raise CheckpointError(
            f"{path} was trained with preset or recipe {resumed.preset!r}, not {config.name!r}; resume it with "
            f"that one (--preset or --recipe {resumed.preset})"
        )
    saw = resumed.metrics.get("extra_data", [])
    if saw != [Path(p).name for p in options.extra]:
        given = ", ".join(Path(p).name for p in options.extra) or "none"
        raise CheckpointError(
            f"{path} was trained with extra pairs {', '.join(saw) or 'none'}, this run has {given}; "
            "resume with the same --extra files"
        )
    return resumed


def _new_progress(config: ModelConfig, options: RunOptions, data: TrainingSet) -> Progress:
    """Step 0 of the planned total, with the provenance of any extra pairs in the metrics."""
    metrics: dict[str, Any] = {}
    if options.extra:  # provenance: which pairs beyond the data set's own the field saw
        metrics = {"extra_data": [Path(p).name for p in options.extra], "train_pairs": data.train_pairs}
    return Progress(0, options.steps or config.train.steps, metrics=metrics)


def _restored_progress(
    resumed: Checkpoint, options: RunOptions, optimizer: torch.optim.Optimizer, sampler: BatchSampler,
    ctx: DistributedContext,
) -> Progress:
    """Put the optimizer and this rank's random streams back where the checkpoint left them; its progress."""
    tr = resumed.training
    optimizer.load_state_dict(tr["optimizer"])
    rng = tr["rng"][ctx.rank] if ctx.rank < len(tr["rng"]) else tr["rng"][0]
    sampler.generator.set_state(rng["sampler"])
    torch.set_rng_state(rng["torch"])
    total = options.steps or int(tr["total_steps"])
    return Progress(int(tr["step"]), total, float(tr["best"]), dict(resumed.metrics))


def _field_shape(data: TrainingSet, scene: Any | None) -> FieldShape:
    """The scene's bounding box and plan (the data's positions plus a margin without a scene), and the data
    set's spectrogram size."""
    if scene is not None:
        bounds = tuple(float(b) for b in scene.bounds)
    else:
        x0, y0, x1, y1 = data.bounds
        m = BOUNDS_MARGIN_M
        bounds = (x0 - m, y0 - m, x1 + m, y1 + m)
    plan = shape_plan(*plan_rings(scene.free_space)) if scene is not None else ()
    late_frames = 0 if data.train.late is None else int(data.train.late.shape[-1])
    return FieldShape(bounds, int(data.meta["n_frames"]), int(data.train.spec.shape[-2]), plan, late_frames)


def _start_weights(
    options: RunOptions, data: TrainingSet, scene_hash: str, config: ModelConfig, shape: FieldShape
) -> dict[str, torch.Tensor] | None:
    """The weights of `options.init_from` (None without one); CheckpointError unless that field was trained
    on this scene's data set (STFT, normalisation statistics) with this architecture and shape."""
    if options.init_from is None:
        return None
    source = load_checkpoint(options.init_from, scene_hash=scene_hash)
    source.check_stft(data.meta, str(options.dataset))
    late_differs = (source.late_stats is None) != (data.late_stats is None) or (
        data.late_stats is not None and not source.late_stats.same_as(data.late_stats))
    if not source.stats.same_as(data.stats) or late_differs:
        raise CheckpointError(
            f"{options.init_from} was trained on another data set (other normalisation statistics); "
            "start from a field of this data set"
        )
    if source.config.architecture() != config.architecture() or source.shape != shape:
        raise CheckpointError(
            f"{options.init_from} has another network or scene shape than preset {config.name!r} "
            f"(it is a {source.preset!r} field); pick a preset with the same network"
        )
    return source.weights


def _optimizer(model: nn.Module, config: ModelConfig) -> torch.optim.Optimizer:
    """AdamW; weight decay on the grid's features only (the paper's recipe)."""
    grid = [p for n, p in model.named_parameters() if n.endswith("grid.features")]
    rest = [p for n, p in model.named_parameters() if not n.endswith("grid.features")]
    groups = [
        {"params": grid, "weight_decay": config.train.grid_weight_decay},
        {"params": rest, "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=config.train.lr)
