"""Training throughput per preset (`naf bench --train-speed`), measured with the real training loop.

Each preset trains from scratch for a few steps with `naf_model.training.train_field`. The loop keeps an
exponential moving average (weight 0.1 per step) of each step's samples/s, which excludes the fixed costs
(imports, data loading, initialisation, the final evaluation and checkpoint); after 50 steps the first,
slow steps weigh < 1 %. The run's whole wall time is reported next to it.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from naf_model.device import resolve_device
from naf_model.errors import NafError
from naf_model.networks import preset as get_preset
from naf_model.training.train import RunOptions, train_field


@dataclass(frozen=True)
class TrainSpeedRow:
    """samples_per_s counts per-pixel samples (f, t values) for per-pixel presets, whole IRs for amortised
    ones (the unit each loss averages over); steps_per_s is optimizer steps per second; run_s the wall time
    of the whole `train_field` call."""

    preset: str
    device: str
    sample_unit: str
    samples_per_step: int
    steps_per_s: float
    samples_per_s: float
    steps: int
    run_s: float


def train_speed(
    presets: Sequence[str],
    dataset: Path,
    scene: Any | None = None,
    steps: int = 50,
    device: str = "auto",
    log: Callable[[str], None] = print,
) -> list[TrainSpeedRow]:
    """One row per preset: the training loop's own steady-state samples/s over `steps` steps on `dataset`."""
    if steps < 1:
        raise NafError("--train-steps must be at least 1")
    if not Path(dataset).is_file():
        raise NafError(f"no data set at {dataset}; make one with `naf data make` or pass --data")
    rows = []
    for name in presets:
        try:
            config = get_preset(name)
        except KeyError as exc:
            raise NafError(str(exc.args[0])) from exc
        log(f"train speed: {name}, {steps} steps")
        with tempfile.TemporaryDirectory(prefix="naf-bench-") as out:
            options = RunOptions(Path(dataset), Path(out), steps=steps, device=device, progress=False)
            start = time.perf_counter()
            result = train_field(config, options, scene)
            run_s = time.perf_counter() - start
        per_step = result.model.samples_per_step(config.train)
        rate = float(result.metrics["samples_per_s"])
        rows.append(
            TrainSpeedRow(
                preset=name,
                device=_device_name(device),
                sample_unit=result.model.sample_unit,
                samples_per_step=per_step,
                steps_per_s=rate / per_step,
                samples_per_s=rate,
                steps=steps,
                run_s=run_s,
            )
        )
    return rows


def _device_name(device: str) -> str:
    """What `device` resolves to, in words: the GPU's name, or the CPU with its torch thread count."""
    import torch

    resolved = resolve_device(device)
    if resolved.type == "cuda":
        return torch.cuda.get_device_name(resolved)
    return f"cpu, {torch.get_num_threads()} thread(s)"


def train_speed_table(rows: Sequence[TrainSpeedRow]) -> str:
    """Markdown table of training throughput."""
    lines = [
        "| preset | device | steps/s | samples/s | sample | samples/step | steps | run s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.preset} | {r.device} | {r.steps_per_s:.2f} | {r.samples_per_s:,.0f} | {r.sample_unit} "
            f"| {r.samples_per_step:,} | {r.steps} | {r.run_s:.1f} |"
        )
    return "\n".join(lines)
