"""Distributed data parallel training: 2 CPU processes with Gloo end with identical weights, the same whether
each reads its share of the training pairs into memory or streams it from disk (`training.streamed`)."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp
from model_helpers import tiny_config, tiny_dataset

from naf_model.checkpoint import load_checkpoint
from naf_model.data import DataSet
from naf_model.training.train import RunOptions, train_field

WORLD = 2


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rank(rank: int, data: str, out: str, port: int, budget: int | None = None) -> None:
    """One torchrun-like worker: the environment torchrun would set, then the ordinary training call."""
    os.environ.update(
        {
            "RANK": str(rank),
            "LOCAL_RANK": str(rank),
            "WORLD_SIZE": str(WORLD),
            "MASTER_ADDR": "127.0.0.1",
            "MASTER_PORT": str(port),
        }
    )
    torch.set_num_threads(1)
    result = train_field(
        tiny_config("amortised", steps=12, eval_every=6),
        RunOptions(Path(data), Path(out), device="cpu", progress=False, memory_budget=budget),
    )
    torch.save(result.model.state_dict(), Path(out) / f"rank{rank}.pt")


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return tiny_dataset(tmp_path_factory)


@pytest.fixture(scope="module")
def in_memory(data, tmp_path_factory) -> Path:
    """The run folder of 2 ranks, each holding its share of the training pairs in memory."""
    out = tmp_path_factory.mktemp("ddp_memory")
    mp.spawn(_rank, args=(str(data), str(out), _free_port()), nprocs=WORLD, join=True)
    return out


def test_two_gloo_ranks_end_with_identical_weights(in_memory):
    tmp_path = in_memory
    w0, w1 = (torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in range(WORLD))
    assert w0.keys() == w1.keys()
    assert all(torch.equal(w0[k], w1[k]) for k in w0)
    ckpt = load_checkpoint(tmp_path / "checkpoint.pt")
    assert ckpt.training["step"] == 12
    assert all(torch.equal(ckpt.weights[k], w0[k]) for k in w0)  # rank 0 saved the unwrapped module
    samplers = [r["sampler"] for r in ckpt.training["rng"]]
    assert len(samplers) == WORLD and not torch.equal(samplers[0], samplers[1])  # seed offset by rank


def test_two_gloo_ranks_streaming_their_shares_train_as_in_memory(data, in_memory, tmp_path):
    with DataSet(data) as ds:  # a budget of a fifth of one rank's share: every rank streams
        budget = (len(ds.indices("train")) // WORLD) * ds.spec[0].nbytes // 5
    mp.spawn(_rank, args=(str(data), str(tmp_path), _free_port(), budget), nprocs=WORLD, join=True)
    for r in range(WORLD):
        streamed, memory = (torch.load(p / f"rank{r}.pt", weights_only=True) for p in (tmp_path, in_memory))
        assert all(torch.equal(streamed[k], memory[k]) for k in memory)
    logs = [(p / "log.jsonl").read_text() for p in (tmp_path, in_memory)]
    assert [json.loads(x)["train_loss"] for x in logs[0].splitlines()] == [
        json.loads(x)["train_loss"] for x in logs[1].splitlines()]
