"""Training on a data set larger than its memory budget: the streamed reader serves the batches of the same split
in memory, bit for bit, within its budget; torchrun ranks read disjoint shares."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from model_helpers import tiny_config, tiny_dataset

from naf_model.errors import DataError
from naf_model.training import trainset
from naf_model.training.batches import BatchSampler, held_out_sample
from naf_model.training.evaluate import data_sample
from naf_model.training.streamed import StreamedRows
from naf_model.training.train import RunOptions, train_field
from naf_model.training.trainset import load_training_set


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return tiny_dataset(tmp_path_factory)


def _bytes(ts) -> int:
    return sum(a.numel() * 2 for a in (ts.train.spec, ts.train.late) if a is not None)


def test_streamed_batches_equal_those_in_memory_and_stay_within_the_budget(data, monkeypatch):
    memory = load_training_set(data)
    size = _bytes(memory)
    budget = size // 3
    monkeypatch.setattr(trainset, "LATE_SHARE", 0.01)  # stream the (small) late parts too
    streamed = load_training_set(data, memory_budget=budget)
    spec, late = streamed.train.spec, streamed.train.late
    assert isinstance(spec, StreamedRows) and isinstance(late, StreamedRows) and "streamed" in streamed.memory_note
    assert spec.capacity + late.capacity <= budget and spec.capacity < len(spec) * spec.row_bytes / 2
    assert isinstance(memory.train.spec, torch.Tensor) and "in memory" in memory.memory_note
    a, b = (BatchSampler(ts.train, ts.stats, 5, 0.1, 0.1, ts.late_stats) for ts in (memory, streamed))
    assert torch.equal(a.valid, b.valid)
    for _ in range(25):
        for draw in (lambda s: s.pixels(8, 64), lambda s: s.irs(8), lambda s: s.late(64), lambda s: s.swapped(3)):
            x, y = draw(a), draw(b)
            for f in dataclasses.fields(x):
                assert torch.equal(getattr(x, f.name), getattr(y, f.name)), f.name
    for x, y in zip(data_sample(memory, 2), data_sample(streamed, 2), strict=True):
        assert torch.equal(x, y)
    for x, y in zip(dataclasses.astuple(held_out_sample(memory.validation)),
                    dataclasses.astuple(held_out_sample(streamed.validation)), strict=True):
        assert torch.equal(x, y)
    # the accounting: never more held than the capacity (cache + one request's copy), and rows were evicted
    # and read again, since the split does not fit
    assert 0 < spec.peak_bytes <= spec.capacity and 0 < late.peak_bytes <= late.capacity
    assert spec.cached_bytes <= spec.capacity and spec.rows_read > len(spec)
    streamed.close()
    memory.close()


def test_training_streamed_matches_training_in_memory(data, tmp_path, monkeypatch, capsys):
    """`naf train` on a data set 3x its memory budget: the same weights and losses as in memory, the same seed."""
    size = _bytes(load_training_set(data))
    seen: list[tuple[str, int | None, int]] = []
    close = StreamedRows.close

    def record(rows: StreamedRows) -> None:  # the reader's accounting, as train_field lets go of it
        seen.append((rows.name, rows.capacity, rows.peak_bytes))
        close(rows)

    monkeypatch.setattr(StreamedRows, "close", record)
    config = tiny_config("amortised", steps=10, eval_every=5)
    runs = {}
    for name, budget in (("memory", 4 * size), ("streamed", size // 3)):
        options = RunOptions(data, tmp_path / name, device="cpu", seed=4, progress=True, memory_budget=budget)
        runs[name] = train_field(config, options).model.state_dict()
        assert ("streamed from disk" if name == "streamed" else "in memory") in capsys.readouterr().out
    assert all(torch.equal(runs["memory"][k], runs["streamed"][k]) for k in runs["memory"])
    logs = {n: [json.loads(line) for line in (tmp_path / n / "log.jsonl").read_text().splitlines()] for n in runs}
    for key in ("train_loss", "validation_spectral_error"):
        np.testing.assert_allclose([r[key] for r in logs["memory"]], [r[key] for r in logs["streamed"]], rtol=1e-6)
    cached = [(c, peak) for name, c, peak in seen if c is not None]
    assert cached and all(peak <= c for c, peak in cached) and sum(c for c, _ in cached) <= size // 3


def test_ranks_read_disjoint_shares_of_the_training_split(data):
    whole = load_training_set(data)
    shares = [load_training_set(data, share=(r, 3)) for r in range(3)]
    for r, part in enumerate(shares):
        assert torch.equal(part.train.spec, whole.train.spec[r::3])
        assert torch.equal(part.train.emitters, whole.train.emitters[r::3])
        assert part.bounds == whole.bounds and part.train_pairs == whole.train_pairs
    assert sum(len(p.train) for p in shares) == len(whole.train)
    with pytest.raises(DataError, match="cannot be shared among"):
        load_training_set(data, share=(0, 10 * len(whole.train)))


def test_a_budget_too_small_for_one_step_is_refused_before_training(data, tmp_path):
    out = tmp_path / "run"
    options = RunOptions(data, out, device="cpu", progress=False, memory_budget=1_000_000)
    with pytest.raises(DataError, match="use --memory-budget [0-9]+MB or more") as err:
        train_field(tiny_config("amortised", steps=2, eval_every=2), options)
    assert "\n" not in str(err.value)
    assert not out.exists() or not any(out.iterdir())


def test_naf_train_says_it_streams_under_a_small_budget(data, tmp_path, capsys):
    from naf_model.cli import main
    from naf_model.scene import save_scene
    from naf_model.scene.examples import two_room_scene

    scene = str(save_scene(two_room_scene(), tmp_path / "two_room.json"))
    argv = ["train", "--scene", scene, "--data", str(data), "--out", str(tmp_path / "run"), "--preset", "cpu",
            "--set", "width=32", "--set", "depth=2", "--steps", "2", "--device", "cpu", "--threads", "1",
            "--no-progress"]
    assert main([*argv, "--memory-budget", "8MB"]) == 0
    assert "streamed from disk through 8 MB of memory (budget 8 MB)" in capsys.readouterr().out


def test_thinning_keeps_seeded_nested_subsets_of_emitters_and_of_their_listeners() -> None:
    """`emitter_fraction` / `listener_fraction`: the density curve's subsets, a smaller one inside a larger."""
    pairs = np.array([(e, li) for e in range(10) for li in range(30) if (e + li) % 3], np.int64)
    assert np.array_equal(trainset.thin_rows(pairs, 1.0, 1.0), np.arange(len(pairs)))
    small, large = trainset.thin_rows(pairs, 0.5, 0.5), trainset.thin_rows(pairs, 0.8, 0.75)
    assert set(small) < set(large)
    assert len(np.unique(pairs[small, 0])) == 5 and len(np.unique(pairs[large, 0])) == 8
    for e in np.unique(pairs[small, 0]):
        assert (pairs[small, 0] == e).sum() == round(0.5 * (pairs[:, 0] == e).sum())
    assert np.array_equal(small, trainset.thin_rows(pairs, 0.5, 0.5))  # seeded
    assert len(trainset.thin_rows(pairs, 0.01, 0.01)) == 1  # at least one emitter and one listener


def test_a_thinned_training_set_reads_fewer_training_pairs_and_the_same_validation(data) -> None:
    full = load_training_set(data)
    half = load_training_set(data, thin=(0.5, 1.0))
    try:
        assert 0 < half.train_pairs < full.train_pairs
        assert torch.equal(half.validation.emitters, full.validation.emitters)
    finally:
        full.close()
        half.close()
