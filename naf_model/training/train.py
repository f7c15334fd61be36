"""Training loop for NAF fields: single process, or DDP under torchrun (the same command).

Launch (apartment_1; `--preset fast` is the default, `paper`/`medium`/`cpu` are per-pixel NAFs):

    # one process, CPU or one GPU (auto-detected)
    naf train --scene apartment_1 --preset fast --minutes 20
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

Each rank draws its own batches (seed + rank); rank 0 logs, evaluates the validation split's held-out pairs
(`validation_spectral_error`; best.pt is the checkpoint with the lowest) and writes checkpoints (`.module`
unwrapped). The test split is never read here: it is left to `naf eval`. Ctrl-C or SIGTERM stops every rank
after the current step and saves first.
"""

from __future__ import annotations

import dataclasses
import json
import math
import signal
import threading
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from naf_model.checkpoint import Checkpoint, load_checkpoint, plan_rings, save_checkpoint, shape_plan
from naf_model.errors import CheckpointError, DataError, NafError, SceneError
from naf_model.networks.base import AcousticNetwork
from naf_model.networks.build import build_network
from naf_model.networks.presets import FieldShape, ModelConfig
from naf_model.training.batches import BatchSampler, held_out_sample
from naf_model.training.distributed import (
    DistributedContext,
    any_rank,
    broadcast_int,
    gather_objects,
    setup_distributed,
    teardown_distributed,
)
from naf_model.training.evaluate import held_out_error, init_from_data
from naf_model.training.trainset import TrainingSet, add_extra_pairs, load_training_set

CALIBRATION_SKIP, CALIBRATION_STEPS, CALIBRATION_SAFETY = 3, 20, 0.95
"""With --minutes, the step time over steps 3-23 fixes the total step count (so the LR schedule ends on
time), keeping 5% of the time for evaluations; the wall-clock deadline stops the run in any case."""
BOUNDS_MARGIN_M = 1.0
"""Grid margin around the data's positions when no scene object gives the bounding box."""


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
    """A trained field of the same scene, data set and network to start from (fine-tuning with the preset's
    recipe: fresh optimizer and schedule), instead of a fresh initialisation."""
    lr: float | None = None
    """Peak learning rate instead of the preset's (stored in the checkpoint's config)."""
    extra: tuple[Path, ...] = ()
    """Data sets whose training pairs join the main data set's (`trainset.add_extra_pairs`); a resumed run
    needs the same ones again."""


@dataclass
class TrainResult:
    """Where the run left its checkpoints, how far it got and its last metrics."""

    checkpoint: Path
    best: Path
    step: int
    total_steps: int
    interrupted: bool
    metrics: dict[str, Any] = field(default_factory=dict)
    model: AcousticNetwork | None = None
    """The trained network (unwrapped from DDP) as this rank ends with it."""


class _StopRequest:
    """Turns SIGINT/SIGTERM into a flag checked between steps, so the loop can save before exiting."""

    def __init__(self) -> None:
        self.requested = False
        self._old: dict[int, Any] = {}

    def __enter__(self) -> _StopRequest:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        self.requested = True

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._old.items():
            signal.signal(sig, handler)


def _field_shape(data: TrainingSet, scene: Any | None) -> FieldShape:
    if scene is not None:
        bounds = tuple(float(b) for b in scene.bounds)
    else:
        x0, y0, x1, y1 = data.bounds
        m = BOUNDS_MARGIN_M
        bounds = (x0 - m, y0 - m, x1 + m, y1 + m)
    plan = shape_plan(*plan_rings(scene.free_space)) if scene is not None else ()
    return FieldShape(bounds, int(data.meta["n_frames"]), int(data.train.spec.shape[-2]), plan)


def _start_weights(
    options: RunOptions, data: TrainingSet, scene_hash: str, config: ModelConfig, shape: FieldShape
) -> dict[str, torch.Tensor] | None:
    """The weights of `options.init_from` (None without one); CheckpointError unless that field was trained
    on this scene's data set (STFT, normalisation statistics) with this architecture and shape."""
    if options.init_from is None:
        return None
    source = load_checkpoint(options.init_from, scene_hash=scene_hash)
    source.check_stft(data.meta, str(options.dataset))
    if not source.stats.same_as(data.stats):
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


def learning_rate(config: ModelConfig, step: int, total: int) -> float:
    """Exponential decay from lr to lr * lr_final_ratio over `total` steps."""
    frac = min(step / max(total, 1), 1.0)
    return config.train.lr * config.train.lr_final_ratio**frac


def _loss(
    model: AcousticNetwork, forward: nn.Module, sampler: BatchSampler, config: ModelConfig, device: torch.device
) -> tuple[torch.Tensor, int]:
    """One batch's loss and its sample count; `forward` is the model, or its DDP wrapper (which syncs the
    gradients), and the network chooses its batch (pixels or whole IRs) and its loss."""
    batch = model.training_batch(sampler, config.train)
    pred = forward(*(x.to(device) for x in batch.inputs)).float()
    loss = model.training_loss(pred, batch.target.to(device), sampler.stats, config.train)
    return loss, model.samples_per_step(config.train)


def append_log_line(path: Path, line: str) -> None:
    """Append one line to a log, whole or not at all: a disk-full failure takes back the part written."""
    with open(path, "ab", buffering=0) as log:
        start = log.tell()
        try:
            rest = memoryview((line + "\n").encode())
            while rest:
                rest = rest[log.write(rest) :]
        except OSError:
            log.truncate(start)
            raise


def train_field(config: ModelConfig, options: RunOptions, scene: Any | None = None) -> TrainResult:
    """Train (or resume) a field on a data set; see the module docstring."""
    if config.network.members > 1:
        raise CheckpointError(
            f"preset {config.name!r} is an ensemble of {config.network.members} fields: train its members "
            "one by one and join them with `naf ensemble`"
        )
    if options.resume and (options.lr is not None or options.init_from is not None):
        raise NafError(
            "--lr and --init set up a new run; a resumed run keeps its own schedule and weights (drop --lr "
            "and --init, or --resume)"
        )
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


def _train(
    config: ModelConfig, options: RunOptions, scene: Any | None, ctx: DistributedContext
) -> TrainResult:
    data = add_extra_pairs(load_training_set(options.dataset), options.extra)
    scene_hash = str(data.meta.get("scene_hash", ""))
    if scene is not None and scene.geometry_hash() != scene_hash:
        raise DataError(
            f"{options.dataset} was simulated for other geometry than scene {scene.name!r}; remake it"
        )
    out = Path(options.out_dir)
    ckpt_path, best_path = out / "checkpoint.pt", out / "best.pt"
    resumed: Checkpoint | None = None
    if options.resume:
        resumed = load_checkpoint(ckpt_path, scene_hash=scene_hash)
        resumed.check_stft(data.meta, str(options.dataset))
        if resumed.training is None:
            raise CheckpointError(
                f"{ckpt_path} is an exported checkpoint without training state; cannot resume"
            )
        if resumed.preset != config.name:
            raise CheckpointError(
                f"{ckpt_path} was trained with preset {resumed.preset!r}, not {config.name!r}"
            )
        saw = resumed.metrics.get("extra_data", [])
        if saw != [Path(p).name for p in options.extra]:
            given = ", ".join(Path(p).name for p in options.extra) or "none"
            raise CheckpointError(
                f"{ckpt_path} was trained with extra pairs {', '.join(saw) or 'none'}, this run has {given}; "
                "resume with the same --extra files"
            )
        config, shape = resumed.config, resumed.shape
    else:
        shape = _field_shape(data, scene)
        if options.lr is not None:
            config = dataclasses.replace(config, train=dataclasses.replace(config.train, lr=options.lr))

    torch.manual_seed(options.seed + ctx.rank)
    model = build_network(config, shape)
    start = _start_weights(options, data, scene_hash, config, shape) if resumed is None else resumed.weights
    if start is None:
        init_from_data(model, data, options.seed)
    else:
        model.load_state_dict(start)
    model.to(ctx.device)
    optimizer = _optimizer(model, config)
    sampler = BatchSampler(
        data.train, data.stats, options.seed + ctx.rank, config.train.jitter_m, config.train.pad_fraction
    )
    step, best, metrics = 0, math.inf, {}
    if options.extra:  # provenance: which pairs beyond the data set's own the field saw
        metrics = {"extra_data": [Path(p).name for p in options.extra], "train_pairs": len(data.train)}
    total = options.steps or config.train.steps
    if resumed is not None:
        tr = resumed.training
        optimizer.load_state_dict(tr["optimizer"])
        step, best, metrics = int(tr["step"]), float(tr["best"]), dict(resumed.metrics)
        total = options.steps or int(tr["total_steps"])
        rng = tr["rng"][ctx.rank] if ctx.rank < len(tr["rng"]) else tr["rng"][0]
        sampler.generator.set_state(rng["sampler"])
        torch.set_rng_state(rng["torch"])
    calibrate = options.minutes is not None
    ddp = DistributedDataParallel(model) if ctx.distributed else model
    held_out = held_out_sample(data.validation)
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if ctx.device.type == "cuda" else nullcontext()
    plan, holes = plan_rings(scene.free_space) if scene is not None else (None, [])

    def snapshot() -> Checkpoint:
        states = gather_objects(
            ctx, {"sampler": sampler.generator.get_state(), "torch": torch.get_rng_state()}
        )
        training = {
            "optimizer": optimizer.state_dict(),
            "step": step,
            "total_steps": total,
            "best": best,
            "rng": states,
            "seed": options.seed,
        }
        weights = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
        return Checkpoint(
            config,
            shape,
            str(data.meta.get("scene_name", "")),
            scene_hash,
            int(data.meta["ir_length"]),
            data.stats,
            weights,
            plan,
            holes,
            metrics=dict(metrics),
            simulation=dict(data.meta.get("simulation", {})),
            training=training,
        )

    def evaluate_and_save() -> None:
        nonlocal best
        ckpt = snapshot()  # collective: every rank takes part
        if not ctx.is_main:
            return
        error = held_out_error(model, held_out, data.stats, ctx.device)
        metrics.update(
            {"step": step, "validation_spectral_error": error, "wall_s": time.time() - started + prior_wall}
        )
        ckpt.metrics = dict(metrics)
        if error < best:
            best = error
            ckpt.training["best"] = best
            save_checkpoint(ckpt, best_path)
        ckpt.training["best"] = best
        save_checkpoint(ckpt, ckpt_path)
        append_log_line(out / "log.jsonl", json.dumps(metrics))

    prior_wall = float(metrics.get("wall_s", 0.0))
    started = time.time()
    deadline = started + 60.0 * options.minutes if calibrate else math.inf
    if ctx.is_main:
        out.mkdir(parents=True, exist_ok=True)
    bar = tqdm(
        total=total,
        initial=step,
        disable=not (options.progress and ctx.is_main),
        unit="step",
        dynamic_ncols=True,
    )
    ema, interrupted, t_calib, first_step = None, False, 0.0, step
    with _StopRequest() as stop:
        while step < total:
            for group in optimizer.param_groups:
                group["lr"] = learning_rate(config, step, total)
            model.train()
            tick = time.time()
            with autocast:
                loss, n_samples = _loss(model, ddp, sampler, config, ctx.device)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step += 1
            value = float(loss.detach())
            if not math.isfinite(value):
                raise NafError(
                    f"training loss became {value} at step {step}: stopped without saving this step "
                    f"({'last good checkpoint ' + str(ckpt_path) if ckpt_path.is_file() else 'nothing saved'}); "
                    "check the data set (`naf data info`) or lower the learning rate"
                )
            ema = value if ema is None else 0.95 * ema + 0.05 * value
            metrics["train_loss"] = ema
            rate = n_samples * ctx.world_size / max(time.time() - tick, 1e-9)
            metrics["samples_per_s"] = (
                rate if "samples_per_s" not in metrics else (0.9 * metrics["samples_per_s"] + 0.1 * rate)
            )
            bar.set_postfix(loss=f"{ema:.4f}", samples_s=f"{metrics['samples_per_s']:.0f}", refresh=False)
            bar.update(1)
            if calibrate and step == first_step + CALIBRATION_SKIP:
                t_calib = time.time()
            elif calibrate and step == first_step + CALIBRATION_SKIP + CALIBRATION_STEPS:
                per_step = (time.time() - t_calib) / CALIBRATION_STEPS
                remaining = CALIBRATION_SAFETY * (deadline - time.time()) / per_step
                total = broadcast_int(ctx, step + max(int(remaining), 0))
                bar.total = total
                calibrate = False
            stopping = any_rank(ctx, stop.requested or time.time() > deadline)
            if step % config.train.eval_every == 0 or step == total or stopping:
                evaluate_and_save()
            if stopping:
                interrupted = stop.requested
                break
    bar.close()
    return TrainResult(ckpt_path, best_path, step, total, interrupted, dict(metrics), model)
