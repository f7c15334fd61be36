"""The training loop of one run once it is set up (`training.train` builds a `Run`): optimizer steps, the
learning-rate schedule, the wall-clock budget, held-out evaluations and the checkpoints written after each.

Rank 0 evaluates and writes; every rank takes part in the collective snapshot of the RNG states. SIGINT and
SIGTERM set a flag checked between steps, so the loop saves before it stops.
"""

from __future__ import annotations

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

from naf_model.checkpoint import Checkpoint, save_checkpoint
from naf_model.errors import NafError
from naf_model.networks.base import TrainableNetwork
from naf_model.networks.late import late_loss
from naf_model.networks.presets import FieldShape, ModelConfig
from naf_model.training.batches import BatchSampler, held_out_sample
from naf_model.training.distributed import DistributedContext, any_rank, broadcast_int, gather_objects
from naf_model.training.evaluate import held_out_error, held_out_late_error
from naf_model.training.trainset import TrainingSet

LATE_ITEMS_PER_STEP = 64
"""(pair, orientation) late descriptions per step for a field with a late part (`networks.late`): one vector
each, so a larger batch than the early network's costs little."""
LATE_WEIGHT = 1.0
"""Weight of the late part's loss beside the early network's (both are MSEs of normalised values)."""
CALIBRATION_SKIP, CALIBRATION_STEPS, CALIBRATION_SAFETY = 3, 20, 0.95
"""With --minutes, the step time over steps 3-23 fixes the total step count (so the LR schedule ends on
time), keeping 5% of the time for evaluations; the wall-clock deadline stops the run in any case."""


@dataclass
class TrainResult:
    """Where the run left its checkpoints, how far it got and its last metrics."""

    checkpoint: Path
    best: Path
    step: int
    total_steps: int
    interrupted: bool
    metrics: dict[str, Any] = field(default_factory=dict)
    model: TrainableNetwork | None = None
    """The trained network (unwrapped from DDP) as this rank ends with it."""


@dataclass
class Progress:
    """Where a run stands: the step, the planned total, the best held-out error so far and the metrics."""

    step: int
    total: int
    best: float = math.inf
    metrics: dict[str, Any] = field(default_factory=dict)


@dataclass
class Run:
    """Everything the loop trains, reads and records, set up by `training.train`."""

    model: TrainableNetwork
    optimizer: torch.optim.Optimizer
    sampler: BatchSampler
    data: TrainingSet
    config: ModelConfig
    shape: FieldShape
    scene_hash: str
    plan: list[list[float]] | None
    holes: list[list[list[float]]]
    recipe: dict[str, Any] | None
    out: Path
    seed: int
    progress: Progress

    @property
    def checkpoint_path(self) -> Path:
        """The latest checkpoint (what --resume continues from)."""
        return self.out / "checkpoint.pt"

    @property
    def best_path(self) -> Path:
        """The checkpoint with the lowest held-out error so far."""
        return self.out / "best.pt"

    def snapshot(self, ctx: DistributedContext) -> Checkpoint:
        """This moment as a training checkpoint (collective: every rank's RNG states are gathered)."""
        p = self.progress
        states = gather_objects(ctx, {"sampler": self.sampler.generator.get_state(), "torch": torch.get_rng_state()})
        training = {"optimizer": self.optimizer.state_dict(), "step": p.step, "total_steps": p.total,
                    "best": p.best, "rng": states, "seed": self.seed}
        weights = {k: v.detach().cpu().clone() for k, v in self.model.state_dict().items()}
        meta = self.data.meta
        return Checkpoint(self.config, self.shape, str(meta.get("scene_name", "")), self.scene_hash,
                          int(meta["ir_length"]), self.data.stats, weights, self.plan, self.holes,
                          metrics=dict(p.metrics), simulation=dict(meta.get("simulation", {})), training=training,
                          recipe=self.recipe, split=self.data.split, late_stats=self.data.late_stats)

    def evaluate_and_save(self, ctx: DistributedContext, held_out: Any, wall_s: float) -> None:
        """Held-out error, then checkpoint.pt (and best.pt when it improved) and a log line; rank 0 writes."""
        ckpt = self.snapshot(ctx)  # collective: every rank takes part
        if not ctx.is_main:
            return
        p = self.progress
        error = held_out_error(self.model, held_out, self.data.stats, ctx.device)
        p.metrics.update({"step": p.step, "validation_spectral_error": error, "wall_s": wall_s})
        if self.model.late_head() is not None:
            p.metrics["validation_late_error_db"] = held_out_late_error(
                self.model, held_out, self.data.late_stats, ctx.device)
        ckpt.metrics = dict(p.metrics)
        if error < p.best:
            p.best = error
            ckpt.training["best"] = p.best
            save_checkpoint(ckpt, self.best_path)
        ckpt.training["best"] = p.best
        save_checkpoint(ckpt, self.checkpoint_path)
        append_log_line(self.out / "log.jsonl", json.dumps(p.metrics))


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


class _Clock:
    """The wall-clock budget of a `--minutes` run: the deadline, and the total step count fixed from the step
    time measured early on (`CALIBRATION_*`), agreed by every rank."""

    def __init__(self, minutes: float | None, first_step: int) -> None:
        self.started = time.time()
        self.deadline = self.started + 60.0 * minutes if minutes is not None else math.inf
        self.calibrating, self.first_step, self.t_calib = minutes is not None, first_step, 0.0

    def total_after(self, step: int, total: int, ctx: DistributedContext) -> int:
        """The planned total after `step` (changed once, when calibration ends)."""
        if self.calibrating and step == self.first_step + CALIBRATION_SKIP:
            self.t_calib = time.time()
        elif self.calibrating and step == self.first_step + CALIBRATION_SKIP + CALIBRATION_STEPS:
            per_step = (time.time() - self.t_calib) / CALIBRATION_STEPS
            remaining = CALIBRATION_SAFETY * (self.deadline - time.time()) / per_step
            self.calibrating = False
            return broadcast_int(ctx, step + max(int(remaining), 0))
        return total


def learning_rate(config: ModelConfig, step: int, total: int) -> float:
    """Exponential decay from lr to lr * lr_final_ratio over `total` steps."""
    frac = min(step / max(total, 1), 1.0)
    return config.train.lr * config.train.lr_final_ratio**frac


def _loss(
    model: TrainableNetwork, forward: nn.Module, sampler: BatchSampler, config: ModelConfig, device: torch.device
) -> tuple[torch.Tensor, int]:
    """One batch's loss and its sample count; `forward` is the model, or its DDP wrapper (which syncs the
    gradients), and the network chooses its batch (pixels or whole IRs) and its loss."""
    batch = model.training_batch(sampler, config.train)
    pred = forward(*(x.to(device) for x in batch.inputs)).float()
    loss = model.training_loss(pred, batch.target.to(device), sampler.stats, config.train)
    head = model.late_head()
    if head is not None:  # the late part's own small network, on its own batch (`networks.late`)
        late = sampler.late(LATE_ITEMS_PER_STEP)
        late_pred = head(late.emitter.to(device), late.listener.to(device), late.orientation.to(device)).float()
        loss = loss + LATE_WEIGHT * late_loss(late_pred, late.target.to(device))
    return loss, model.samples_per_step(config.train)


def _step(run: Run, forward: nn.Module, ctx: DistributedContext) -> tuple[float, int]:
    """One optimizer step at the scheduled learning rate: (loss, samples); NafError when the loss is not
    finite (nothing of this step is saved)."""
    p = run.progress
    for group in run.optimizer.param_groups:
        group["lr"] = learning_rate(run.config, p.step, p.total)
    run.model.train()
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if ctx.device.type == "cuda" else nullcontext()
    with autocast:
        loss, n_samples = _loss(run.model, forward, run.sampler, run.config, ctx.device)
    run.optimizer.zero_grad(set_to_none=True)
    loss.backward()
    run.optimizer.step()
    p.step += 1
    value = float(loss.detach())
    if not math.isfinite(value):
        last = run.checkpoint_path
        raise NafError(
            f"training loss became {value} at step {p.step}: stopped without saving this step "
            f"({'last good checkpoint ' + str(last) if last.is_file() else 'nothing saved'}); "
            "check the data set (`naf data info`) or lower the learning rate"
        )
    return value, n_samples


def train_loop(run: Run, ctx: DistributedContext, minutes: float | None, show_progress: bool) -> TrainResult:
    """Step until the planned total, the deadline or a stop request, evaluating and saving every
    `eval_every` steps and at the end; see the module docstring."""
    p = run.progress
    forward = DistributedDataParallel(run.model) if ctx.distributed else run.model
    held_out = held_out_sample(run.data.validation) if ctx.is_main else None  # only rank 0 reads validation
    prior_wall = float(p.metrics.get("wall_s", 0.0))
    clock = _Clock(minutes, p.step)
    if ctx.is_main:
        run.out.mkdir(parents=True, exist_ok=True)
    bar = tqdm(total=p.total, initial=p.step, disable=not (show_progress and ctx.is_main), unit="step",
               dynamic_ncols=True)
    ema, interrupted = None, False
    with _StopRequest() as stop:
        while p.step < p.total:
            tick = time.time()
            value, n_samples = _step(run, forward, ctx)
            ema = value if ema is None else 0.95 * ema + 0.05 * value
            rate = n_samples * ctx.world_size / max(time.time() - tick, 1e-9)
            old_rate = p.metrics.get("samples_per_s")
            p.metrics["train_loss"] = ema
            p.metrics["samples_per_s"] = rate if old_rate is None else 0.9 * old_rate + 0.1 * rate
            bar.set_postfix(loss=f"{ema:.4f}", samples_s=f"{p.metrics['samples_per_s']:.0f}", refresh=False)
            bar.update(1)
            p.total = bar.total = clock.total_after(p.step, p.total, ctx)
            stopping = any_rank(ctx, stop.requested or time.time() > clock.deadline)
            if p.step % run.config.train.eval_every == 0 or p.step == p.total or stopping:
                run.evaluate_and_save(ctx, held_out, time.time() - clock.started + prior_wall)
            if stopping:
                interrupted = stop.requested
                break
    bar.close()
    return TrainResult(run.checkpoint_path, run.best_path, p.step, p.total, interrupted, dict(p.metrics), run.model)


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
