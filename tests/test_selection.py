"""Checkpoint selection reads the validation split only: NaN or 1e4 written into the test split's spectrograms
and IRs leaves best.pt's metrics and weights exactly as they are on the clean data set."""

from __future__ import annotations

import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from model_helpers import tiny_config, tiny_dataset

from naf_model.checkpoint import Checkpoint, load_checkpoint
from naf_model.data import DataSet
from naf_model.scene.examples import two_room_scene
from naf_model.training.train import RunOptions, train_field

TIMING = ("wall_s", "samples_per_s")
"""Metrics that measure the machine, not the run."""


def _train_best(data: Path, out: Path) -> Checkpoint:
    config = tiny_config("amortised", steps=12, eval_every=3)
    result = train_field(config, RunOptions(data, out, device="cpu", progress=False), two_room_scene())
    return load_checkpoint(result.best)


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> tuple[Path, Checkpoint]:
    data = tiny_dataset(tmp_path_factory)
    return data, _train_best(data, tmp_path_factory.mktemp("clean_run"))


@pytest.mark.parametrize("poison", [np.nan, 1e4])
def test_poisoned_test_split_does_not_change_the_selection(clean, tmp_path, poison) -> None:
    data, a = clean
    poisoned = Path(shutil.copy(data, tmp_path / "poisoned.h5"))
    with DataSet(poisoned) as ds:
        test = ds.indices("test")
    assert len(test) > 0
    with h5py.File(poisoned, "r+") as f:
        for p in test:
            f["spec"][p] = np.full(f["spec"].shape[1:], poison, f["spec"].dtype)
            f["ir"][p] = np.full(f["ir"].shape[1:], poison, f["ir"].dtype)
    b = _train_best(poisoned, tmp_path / "run")
    same = {k: v for k, v in a.metrics.items() if k not in TIMING}
    assert same == {k: v for k, v in b.metrics.items() if k not in TIMING}
    assert np.isfinite(a.metrics["validation_spectral_error"])
    assert a.weights.keys() == b.weights.keys()
    for k in a.weights:
        torch.testing.assert_close(a.weights[k], b.weights[k], rtol=0, atol=0)
