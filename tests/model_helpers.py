"""Shared by the model, training, DDP, field, eval, analysis and bench tests: tiny data set configs, one tiny
simulated data set per test session and tiny model configs (the presets' code paths at a size that trains in
seconds on one thread)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from naf_model.data import DataConfig, make_dataset
from naf_model.networks.presets import GridConfig, ModelConfig, preset
from naf_model.scene.examples import two_room_scene
from naf_model.simulate import SimulationConfig


def tiny_data(
    listener_spacing: float,
    emitter_spacing: float,
    listeners_per_emitter: int | None,
    test_fraction: float,
    seed: int,
    waveforms: str = "all",
    **simulation: Any,
) -> DataConfig:
    """A tiny data set's config: its sampling, and its simulation's settings (`SimulationConfig` keywords).
    Every pair's waveform is kept by default: the evaluation's interpolation baselines read training IRs."""
    return DataConfig(
        listener_spacing=listener_spacing,
        emitter_spacing=emitter_spacing,
        listeners_per_emitter=listeners_per_emitter,
        test_fraction=test_fraction,
        seed=seed,
        simulation=SimulationConfig(**simulation),
        waveforms=waveforms,
    )


TINY_DATA = tiny_data(0.4, 0.9, listeners_per_emitter=24, test_fraction=0.15, seed=1, ir_seconds=0.15, n_rays=200)


def tiny_dataset(factory: pytest.TempPathFactory) -> Path:
    """The two-room data set (~10 emitters x 24 listeners, 0.15 s IRs), built once per session."""
    path = factory.getbasetemp() / "naf_model_tiny" / "two_room.h5"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        make_dataset(two_room_scene(), TINY_DATA, path, workers=1, progress=False)
    return path


def tiny_config(kind: str = "amortised", steps: int = 60, eval_every: int = 20) -> ModelConfig:
    """A small per-pixel ("pixel") or amortised config with a short schedule."""
    base = preset("cpu" if kind == "pixel" else "fast")
    net = dataclasses.replace(base.network, depth=4, width=64, n_basis=16)
    train = dataclasses.replace(
        base.train, steps=steps, eval_every=eval_every, irs_per_step=8, pixels_per_ir=256, lr=2e-3
    )
    return dataclasses.replace(base, network=net, grid=GridConfig(spacing=0.5, dim=8), train=train)


def train_fast_on_shoebox(folder: Path, scene, data_config: DataConfig, steps: int):
    """Simulate `data_config`'s data set of a shoebox `scene` into `folder` and train the `fast` preset on it
    for `steps` steps on the CPU; returns (data set path, TrainResult)."""
    from naf_model.training.train import RunOptions, train_field

    data = make_dataset(scene, data_config, folder / "shoebox.h5", workers=1, progress=False)
    options = RunOptions(data, folder / "runs" / "fast", steps=steps, device="cpu", progress=False)
    return data, train_field(preset("fast"), options, scene)
