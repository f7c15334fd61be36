"""Pairs of a data set simulated again, emitter by emitter, with its own settings and chosen seeds, cached
next to it: the floor's second simulations (`data.floor`, new seeds) and the training IRs a data set made
without `--waveforms all` does not store (`training_irs`, the data set's own seeds: the same IRs it would
have stored, since one emitter's simulation gives each listener the same IR whichever listeners share it).
"""

from __future__ import annotations

import dataclasses
import hashlib
import multiprocessing
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from naf_model.atomic import atomic_path
from naf_model.data.make import available_cores, worker_signals
from naf_model.data.plan import emitter_seed, simulation_stream
from naf_model.data.reader import DataSet
from naf_model.simulate import SimulationConfig, simulate_binaural_rirs

CACHE_FORMAT = 2
"""2: one group per set of seeds (`repeat_<r>` per floor repeat, `training` for the data set's own); a
format 1 cache (floor only) is read as repeat 0."""
DEFAULT_STREAM = 101
"""The seed stream of a format 1 cache's IRs (the floor's repeat 0)."""


def training_cache_path(data_path: str | os.PathLike[str]) -> Path:
    """The folder where re-simulated training IRs are cached, one file per emitter simulation:
    `data/<scene>.h5` -> `data/<scene>.train-irs/`."""
    path = Path(data_path)
    return path.with_name(path.stem + ".train-irs")


def training_irs(
    dataset: DataSet, scene, pair_indices: np.ndarray, progress: Callable[[int], None] | None = None
) -> np.ndarray:
    """IRs (K, 4, 2, N) float16 of the given pairs as `naf data make --waveforms all` would have stored them:
    simulated again with the data set's own seeds (stored ones are read, not simulated); cached."""
    pair_indices = np.asarray(pair_indices, np.int64)
    out = np.empty((len(pair_indices), 4, 2, dataset.meta.ir_length), np.float16)
    stored = dataset.has_ir[pair_indices] if len(pair_indices) else np.zeros(0, bool)
    if stored.any():
        out[stored] = dataset.read_ir(pair_indices[stored])
    if (~stored).any():
        seed, free = dataset.meta.seed, bool(dataset.meta.data_config.get("free_pairs"))
        out[~stored] = simulate_again(dataset, scene, pair_indices[~stored], training_cache_path(dataset.path),
                                      "training", simulation_stream(free), lambda e: emitter_seed(seed, e, free),
                                      progress, per_job_files=True)  # fmt: skip
    return out


def simulate_again(
    dataset: DataSet,
    scene,
    pair_indices: np.ndarray,
    cache: Path,
    group: str,
    seed_stream: int,
    seed_of: Callable[[int], int],
    progress: Callable[[int], None] | None = None,
    workers: int | None = None,
    per_job_files: bool = False,
) -> np.ndarray:
    """IRs (K, 4, 2, N) float16 of the given pairs simulated with the data set's settings and the simulator
    seed `seed_of(emitter)`, one simulation per emitter; cached in `cache` under `group` (its seeds'
    derived_seed stream `seed_stream` recorded), written after each emitter so an interrupted run keeps its work.
    Emitters are simulated on `workers` processes (default: every core this process may use). With
    `per_job_files`, `cache` is a folder holding one file per emitter's simulation (no file is ever rewritten:
    for caches of many long IRs); else one file, rewritten whole after each emitter.
    """
    meta = dataset.meta
    dataset.check_scene(scene)
    pair_indices = np.asarray(pair_indices, np.int64)
    if per_job_files:
        everything: Cached = {group: (_read_folder(cache, group, meta.plan_key, meta.ir_length), seed_stream)}
    else:
        everything = _read_cache(cache, meta.plan_key, meta.ir_length)
    cached = everything.setdefault(group, ({}, seed_stream))[0]
    pairs = dataset.pairs
    missing = np.array([p for p in pair_indices if int(p) not in cached], np.int64)
    base = SimulationConfig.from_json(meta.simulation)
    jobs = []
    for e in np.unique(pairs[missing, 0]) if len(missing) else []:
        rows = missing[pairs[missing, 0] == e]
        jobs.append((rows, dataset.emitters[e], dataset.listeners[pairs[rows, 1]],
                     dataclasses.replace(base, seed=seed_of(int(e)))))  # fmt: skip
    for rows, irs in simulate_jobs(scene, jobs, workers):
        for p, ir in zip(rows, irs, strict=True):
            cached[int(p)] = ir
        if per_job_files:
            cache.mkdir(parents=True, exist_ok=True)
            name = f"e{int(pairs[rows[0], 0])}-{hashlib.sha1(rows.tobytes()).hexdigest()[:12]}.h5"
            _write_cache(cache / name, meta.plan_key, {group: (dict(zip(rows.tolist(), irs, strict=True)),
                                                               seed_stream)})  # fmt: skip
        else:
            _write_cache(cache, meta.plan_key, everything)
        if progress is not None:
            progress(len(rows))
    if not len(pair_indices):
        return np.zeros((0, 4, 2, meta.ir_length), np.float16)
    return np.stack([cached[int(p)] for p in pair_indices])


Cached = dict[str, tuple[dict[int, np.ndarray], int]]
"""A cache file's IRs: group name -> (IRs by pair index, the seeds' derived_seed stream)."""


def _read_cache(path: Path, plan_key: str, ir_length: int) -> Cached:
    """Cached IRs by group and pair index; empty if absent, unreadable or made for another plan."""
    if not path.is_file():
        return {}
    try:
        with h5py.File(path, "r") as f:
            version = int(f.attrs.get("format_version", -1))
            if f.attrs.get("plan_key") != plan_key or version not in (1, CACHE_FORMAT):
                return {}
            groups = {"repeat_0": f} if version == 1 else {k: f[k] for k in f if isinstance(f[k], h5py.Group)}
            out: Cached = {}
            for name, group in groups.items():
                irs = group["ir"][()]
                if irs.shape[1:] != (4, 2, ir_length):
                    return {}
                stream = int(group.attrs.get("seed_stream", DEFAULT_STREAM))
                out[name] = ({int(p): ir for p, ir in zip(group["pairs"][()], irs, strict=True)}, stream)
            return out
    except (OSError, KeyError, ValueError):
        return {}


def _read_folder(folder: Path, group: str, plan_key: str, ir_length: int) -> dict[int, np.ndarray]:
    """The IRs of `group` in every cache file of `folder` made for this plan, by pair index."""
    out: dict[int, np.ndarray] = {}
    for path in sorted(folder.glob("*.h5")) if folder.is_dir() else []:
        out.update(_read_cache(path, plan_key, ir_length).get(group, ({}, 0))[0])
    return out


def _write_cache(path: Path, plan_key: str, irs: Cached) -> None:
    """Write all cached IRs atomically (temp file in the same folder, then rename)."""
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        f.attrs["format_version"] = CACHE_FORMAT
        f.attrs["plan_key"] = plan_key
        for name, (by_pair, stream) in irs.items():
            if not by_pair:
                continue
            keys = sorted(by_pair)
            group = f.create_group(name)
            group.attrs["seed_stream"] = stream
            group.create_dataset("pairs", data=np.asarray(keys, np.int64))
            data = np.stack([by_pair[k] for k in keys])
            group.create_dataset("ir", data=data, compression="lzf", chunks=True)


Job = tuple[Any, np.ndarray, np.ndarray, SimulationConfig]
"""One emitter's simulation: a tag (e.g. the pair indices it gives), the emitter (2,), its listeners (K, 2), the
simulator config."""


def simulate_jobs(scene, jobs: list[Job], workers: int | None = None) -> Iterator[tuple[Any, np.ndarray]]:
    """(tag, IRs (K, 4, 2, N) float16) per job as they finish, on up to `workers` processes (default: every
    core this process may use; one: in this process)."""
    n = min(workers or available_cores(), len(jobs))
    if n <= 1:
        yield from (_simulate_job(scene, job) for job in jobs)
        return
    with multiprocessing.get_context().Pool(n, initializer=_init_worker, initargs=(scene,)) as pool:
        yield from pool.imap_unordered(_worker_job, jobs, chunksize=1)


def _simulate_job(scene, job: Job) -> tuple[Any, np.ndarray]:
    rows, emitter, listeners, config = job
    return rows, simulate_binaural_rirs(scene, emitter, listeners, config).astype(np.float16)


_SCENE: list = []


def _init_worker(scene) -> None:
    _SCENE[:] = [scene]
    worker_signals()


def _worker_job(job: Job) -> tuple[Any, np.ndarray]:
    return _simulate_job(_SCENE[0], job)
