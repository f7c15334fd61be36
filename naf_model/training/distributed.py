"""torchrun detection for the training loop (the nanoGPT pattern): one process per device, rank 0 logs and
saves, NCCL on GPUs, Gloo on CPUs. Without torchrun's environment everything degrades to one process."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist

from naf_model.device import resolve_device


@dataclass(frozen=True)
class DistributedContext:
    """rank / world size of this process and the device it trains on."""

    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        """Rank 0 logs, evaluates and writes checkpoints."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def setup_distributed(device: str = "auto") -> DistributedContext:
    """Join the torchrun process group when RANK/WORLD_SIZE are set, else a single-process context."""
    if "RANK" not in os.environ or int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return DistributedContext(0, 1, 0, resolve_device(device))
    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    local = int(os.environ.get("LOCAL_RANK", "0"))
    dev = resolve_device(device, local)
    if not dist.is_initialized():
        if dev.type == "cuda":
            torch.cuda.set_device(dev)
        dist.init_process_group(backend="nccl" if dev.type == "cuda" else "gloo")
    return DistributedContext(rank, world, local, dev)


def teardown_distributed(ctx: DistributedContext) -> None:
    """Leave the process group (no-op for one process)."""
    if ctx.distributed and dist.is_initialized():
        dist.destroy_process_group()


def any_rank(ctx: DistributedContext, flag: bool) -> bool:
    """True on every rank when `flag` is True on any rank (a stop request must stop all ranks together)."""
    if not ctx.distributed:
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=ctx.device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item() > 0)


def broadcast_int(ctx: DistributedContext, value: int) -> int:
    """Rank 0's value on every rank."""
    if not ctx.distributed:
        return value
    t = torch.tensor([value], dtype=torch.long, device=ctx.device)
    dist.broadcast(t, 0)
    return int(t.item())


def gather_objects(ctx: DistributedContext, obj: Any) -> list[Any]:
    """Every rank's `obj`, in rank order (RNG states for an exact resume)."""
    if not ctx.distributed:
        return [obj]
    out: list[Any] = [None] * ctx.world_size
    dist.all_gather_object(out, obj)
    return out
