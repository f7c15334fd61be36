"""Training throughput per preset (`naf bench --train-speed`), measured with the real training loop.

Each preset trains twice from scratch for a few steps with `naf_model.model.train.train_field`: a short run
and a longer one. The difference of their wall times over the difference of their step counts is the time
per step without the fixed costs (loading data, initialisation, the held-out evaluation and checkpoint at
the end), which both runs share.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from naf_model.errors import NafError


@dataclass(frozen=True)
class TrainSpeedRow:
    """samples_per_s counts per-pixel samples (f, t values) for per-pixel presets, whole IRs for amortised
    ones (the unit each loss averages over); steps_per_s is optimizer steps per second."""

    preset: str
    device: str
    sample_unit: str
    samples_per_step: int
    steps_per_s: float
    samples_per_s: float
    steps_timed: int


def train_speed(
    presets: Sequence[str],
    dataset: Path,
    scene: Any | None = None,
    steps: int = 20,
    warmup_steps: int = 5,
    device: str = "auto",
    log: Callable[[str], None] = print,
) -> list[TrainSpeedRow]:
    """One row per preset: optimizer steps/s and samples/s of `steps` training steps on `dataset`."""
    from naf_model.model import preset as get_preset
    from naf_model.model.train import RunOptions, train_field

    if steps < 1 or warmup_steps < 1:
        raise NafError("--train-steps must be at least 1")
    if not Path(dataset).is_file():
        raise NafError(f"no data set at {dataset}; make one with `naf data make` or pass --data")
    rows = []
    for name in presets:
        try:
            config = get_preset(name)
        except KeyError as exc:
            raise NafError(str(exc.args[0])) from exc
        log(f"train speed: {name}, {warmup_steps} then {warmup_steps + steps} steps")
        seconds = []
        for n_steps in (warmup_steps, warmup_steps + steps):
            with tempfile.TemporaryDirectory(prefix="naf-bench-") as out:
                options = RunOptions(Path(dataset), Path(out), steps=n_steps, device=device, progress=False)
                start = time.perf_counter()
                result = train_field(config, options, scene)
                seconds.append(time.perf_counter() - start)
        per_step = max(seconds[1] - seconds[0], 1e-9) / steps
        pixel = config.network.kind == "pixel"
        per_sample = config.train.irs_per_step * (config.train.pixels_per_ir if pixel else 1)
        rows.append(
            TrainSpeedRow(
                preset=name,
                device=str(result.metrics.get("device", _device_name(device))),
                sample_unit="pixel" if pixel else "IR",
                samples_per_step=per_sample,
                steps_per_s=1.0 / per_step,
                samples_per_s=per_sample / per_step,
                steps_timed=steps,
            )
        )
    return rows


def _device_name(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else f"cpu ({torch.get_num_threads()} threads)"
    return device


def train_speed_table(rows: Sequence[TrainSpeedRow]) -> str:
    """Markdown table of training throughput."""
    lines = [
        "| preset | device | steps/s | samples/s | sample | samples/step | steps timed |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.preset} | {r.device} | {r.steps_per_s:.2f} | {r.samples_per_s:,.0f} | {r.sample_unit} "
            f"| {r.samples_per_step:,} | {r.steps_timed} |"
        )
    return "\n".join(lines)
