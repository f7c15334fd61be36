"""The floor row: how far two simulations of the same pair differ when only the ray tracer's seed changes.

No method can be expected to beat the simulator's own run-to-run noise, so the table shows it. A subset
of the evaluated test pairs is simulated again, emitter by emitter (one simulation serves all of an
emitter's listeners), once per repeat (`naf eval --floor-repeats`), each repeat with seeds derived from
the data set seed on its own stream that the data set never uses; the table shows the mean over repeats
and their spread.
The IRs are cached next to the data set (`<data>.floor.h5`, one group per repeat), keyed by the data
set's plan, so the cost is paid once and later runs only simulate what the cache lacks.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np

from naf_model.atomic import atomic_path
from naf_model.data.plan import derived_seed
from naf_model.data.reader import DataSet
from naf_model.simulate import SimulationConfig, simulate_binaural_rirs

FLOOR_SEED_STREAM = 101
"""derived_seed stream of repeat 0; repeat r uses stream 101 + r. The data set uses streams 0-3."""
CACHE_FORMAT = 2
"""2: one group `repeat_<r>` per repeat; a format 1 cache is read as repeat 0 (same seeds)."""


def floor_cache_path(data_path: str | os.PathLike[str]) -> Path:
    """Where the floor IRs of a data set are cached: `data/<scene>.h5` -> `data/<scene>.floor.h5`."""
    path = Path(data_path)
    return path.with_name(path.stem + ".floor.h5")


def choose_floor_pairs(
    pairs: np.ndarray, candidates: np.ndarray, max_pairs: int, seed: int = 0
) -> np.ndarray:
    """Up to `max_pairs` of the `candidates` (pair indices), taking whole emitter groups in a seeded order.

    pairs (P, 2) are the data set's (emitter, listener) indices; returns sorted pair indices.
    """
    candidates = np.asarray(candidates, np.int64)
    emitters = np.unique(pairs[candidates, 0])
    order = np.random.default_rng(seed).permutation(emitters)
    chosen: list[np.ndarray] = []
    left = max_pairs
    for e in order:
        if left <= 0:
            break
        group = candidates[pairs[candidates, 0] == e][:left]
        chosen.append(group)
        left -= len(group)
    return np.sort(np.concatenate(chosen)) if chosen else np.zeros(0, np.int64)


def floor_seed(data_seed: int, emitter: int, repeat: int = 0) -> int:
    """The simulator seed of an emitter's repeat simulation number `repeat`."""
    return derived_seed(data_seed, FLOOR_SEED_STREAM + repeat, emitter)


def floor_irs(
    dataset: DataSet,
    scene,
    pair_indices: np.ndarray,
    progress: Callable[[int], None] | None = None,
    repeat: int = 0,
) -> np.ndarray:
    """IRs (K, 4, 2, N) float16 of the given pairs simulated again with the seeds of `repeat`; cached.

    `scene` must be the data set's scene (`DataSet.check_scene`); `progress(n)` is called with each emitter's
    number of newly simulated pairs.
    """
    meta = dataset.meta
    dataset.check_scene(scene)
    pair_indices = np.asarray(pair_indices, np.int64)
    cache = floor_cache_path(dataset.path)
    everything = _read_cache(cache, meta.plan_key, meta.ir_length)
    cached = everything.setdefault(repeat, {})
    pairs = dataset.pairs
    missing = np.array([p for p in pair_indices if int(p) not in cached], np.int64)
    base = SimulationConfig.from_json(meta.simulation)
    for e in np.unique(pairs[missing, 0]) if len(missing) else []:
        rows = missing[pairs[missing, 0] == e]
        seed = floor_seed(meta.seed, int(e), repeat)
        config = dataclasses.replace(base, seed=seed)
        irs = simulate_binaural_rirs(scene, dataset.emitters[e], dataset.listeners[pairs[rows, 1]], config)
        for p, ir in zip(rows, irs.astype(np.float16), strict=True):
            cached[int(p)] = ir
        _write_cache(cache, meta.plan_key, everything)  # after each emitter: an interrupted run keeps its work
        if progress is not None:
            progress(len(rows))
    if not len(pair_indices):
        return np.zeros((0, 4, 2, meta.ir_length), np.float16)
    return np.stack([cached[int(p)] for p in pair_indices])


def _read_cache(path: Path, plan_key: str, ir_length: int) -> dict[int, dict[int, np.ndarray]]:
    """Cached floor IRs by repeat and pair index; empty if absent, unreadable or made for another plan."""
    if not path.is_file():
        return {}
    try:
        with h5py.File(path, "r") as f:
            version = int(f.attrs.get("format_version", -1))
            if f.attrs.get("plan_key") != plan_key or version not in (1, CACHE_FORMAT):
                return {}
            groups = {0: f} if version == 1 else {int(k.split("_")[1]): f[k] for k in f if k.startswith("repeat_")}
            out = {}
            for repeat, group in groups.items():
                irs = group["ir"][()]
                if irs.shape[1:] != (4, 2, ir_length):
                    return {}
                out[repeat] = {int(p): ir for p, ir in zip(group["pairs"][()], irs, strict=True)}
            return out
    except (OSError, KeyError, ValueError):
        return {}


def _write_cache(path: Path, plan_key: str, irs: dict[int, dict[int, np.ndarray]]) -> None:
    """Write all cached floor IRs atomically (temp file in the same folder, then rename)."""
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        f.attrs["format_version"] = CACHE_FORMAT
        f.attrs["plan_key"] = plan_key
        f.attrs["seed_stream"] = FLOOR_SEED_STREAM
        for repeat, by_pair in irs.items():
            if not by_pair:
                continue
            keys = sorted(by_pair)
            group = f.create_group(f"repeat_{repeat}")
            group.attrs["seed_stream"] = FLOOR_SEED_STREAM + repeat
            group.create_dataset("pairs", data=np.asarray(keys, np.int64))
            data = np.stack([by_pair[k] for k in keys])
            group.create_dataset("ir", data=data, compression="lzf", chunks=True)
