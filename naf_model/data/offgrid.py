"""An off-grid test set: random free emitter-listener pairs that lie on neither of the data set's grids.

Held-out pairs of a data set still sit on its grid points, where a field has seen the emitter and the
listener in other pairs. A user drags markers anywhere, so `naf eval --offgrid N` also scores N pairs drawn
(seeded) from the free space at least MIN_GRID_DISTANCE_M from every emitter and listener grid position,
simulated afresh with the data set's own simulator settings, twice (the second run with another seed is
the simulator's floor). Pairs come in groups of PAIRS_PER_EMITTER listeners per emitter because one
pyroomacoustics run serves all listeners of an emitter. The IRs are cached next to the data set
(`data/<scene>.offgrid-<N>-s<seed>.h5`), tagged with the data set's plan key: a cache made for another
plan is rebuilt, never used. Writes go through `naf_model.atomic` after each emitter group, so an
interrupted run keeps its work and leaves no temporary file.

`rays` replaces the data set's ray count in both runs (cached apart, `...-s<seed>-r<rays>.h5`). The ray
tracer's late histogram is a Monte-Carlo estimate: at the data sets' 3,000 rays one simulation's tail differs
from another's by about as much as a good field's does (docs/metrics.md, "A converged reference"), and a
reference with more rays scores the field against the room rather than against one draw of that noise.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
from tqdm import tqdm

from naf_model.atomic import atomic_path
from naf_model.data.plan import derived_seed
from naf_model.data.reader import DataSet
from naf_model.data.resimulated import simulate_jobs
from naf_model.errors import DataError
from naf_model.simulate import SimulationConfig

MIN_GRID_DISTANCE_M = 0.3
"""Every off-grid position is at least this far from every grid position of both roles."""
MIN_PAIR_DISTANCE_M = 0.5
"""Emitter and listener of a pair are at least this far apart (the direct path diverges at zero)."""
PAIRS_PER_EMITTER = 4
OFFGRID_SEED_STREAM = 102
"""derived_seed stream of the off-grid draws and simulations (the data set uses 0-2, the floor 101)."""
FLOOR_RUN = 1
"""Simulation index of the repeat run (index 0 is the reference)."""
CACHE_FORMAT = 1
MAX_DRAWS = 200_000


@dataclass(frozen=True)
class OffgridSet:
    """N off-grid pairs: emitters (N, 2) and listeners (N, 2) metres; irs (N, 4, 2, samples) float32 (the
    reference simulation) and floor_irs (same shape, the same pairs simulated with another seed)."""

    emitters: np.ndarray
    listeners: np.ndarray
    irs: np.ndarray
    floor_irs: np.ndarray
    path: Path
    simulated: int
    """Emitter groups simulated in this call (the rest came from the cache)."""
    n_rays: int
    """Rays per emitter of both simulations (the data set's unless `offgrid_set` was given others)."""
    seed: int
    """The seed of the draw (and of the simulations' seeds, `simulation_seed`)."""
    data_rays: int
    """Rays per emitter of the data set's own simulations (`n_rays` unless others were asked for)."""

    def __len__(self) -> int:
        return len(self.emitters)


def offgrid_cache_path(data_path: str | os.PathLike[str], n_pairs: int, seed: int, rays: int | None = None) -> Path:
    """`data/<scene>.h5` -> `data/<scene>.offgrid-<n>-s<seed>.h5`, or `...-s<seed>-r<rays>.h5` for simulations
    with other than the data set's ray count (None: the data set's)."""
    path = Path(data_path)
    return path.with_name(f"{path.stem}.offgrid-{n_pairs}-s{seed}{'' if rays is None else f'-r{rays}'}.h5")


def grid_distance(points: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Distance (M,) metres from each point (M, 2) to the nearest of the grid positions (G, 2)."""
    d = np.asarray(points, np.float64)[:, None, :] - np.asarray(grid, np.float64)[None]
    return np.sqrt((d**2).sum(-1)).min(axis=1)


def draw_offgrid_pairs(
    scene, grid: np.ndarray, n_pairs: int, seed: int, min_grid_distance: float = MIN_GRID_DISTANCE_M
) -> tuple[np.ndarray, np.ndarray]:
    """Emitters and listeners (n_pairs, 2) metres: free positions at least `min_grid_distance` from every
    point of `grid` (G, 2) (both roles' grids stacked), emitter-listener distance >= MIN_PAIR_DISTANCE_M,
    PAIRS_PER_EMITTER consecutive pairs share an emitter. Deterministic in `seed`."""
    rng = np.random.default_rng(derived_seed(seed, OFFGRID_SEED_STREAM))
    x0, y0, x1, y1 = scene.bounds
    n_emitters = -(-n_pairs // PAIRS_PER_EMITTER)
    pool: list[np.ndarray] = []
    drawn = 0
    while sum(len(p) for p in pool) < n_emitters * (PAIRS_PER_EMITTER + 1) * 4:
        if drawn > MAX_DRAWS:
            raise DataError(
                f"scene '{scene.name}' has too little free space {min_grid_distance} m away from the "
                "data set's grid points for an off-grid test set; use a coarser grid or fewer pairs"
            )
        xy = np.column_stack([rng.uniform(x0, x1, 4096), rng.uniform(y0, y1, 4096)])
        drawn += len(xy)
        free = np.asarray(scene.is_free(xy[:, 0], xy[:, 1]), bool)
        xy = xy[free]
        pool.append(xy[grid_distance(xy, grid) >= min_grid_distance])
    candidates = np.concatenate(pool)
    emitters, listeners = [], []
    used = 0
    for _ in range(n_emitters):
        emitter = candidates[used]
        rest = candidates[used + 1 :]
        far = rest[np.hypot(*(rest - emitter).T) >= MIN_PAIR_DISTANCE_M][:PAIRS_PER_EMITTER]
        used += 1 + PAIRS_PER_EMITTER
        emitters.append(np.repeat(emitter[None], len(far), 0))
        listeners.append(far)
    e, li = np.concatenate(emitters)[:n_pairs], np.concatenate(listeners)[:n_pairs]
    if len(e) < n_pairs:
        raise DataError(f"could only place {len(e)} of {n_pairs} off-grid pairs in '{scene.name}'")
    return e, li


def simulation_seed(data_seed: int, seed: int, group: int, run: int) -> int:
    """The simulator seed of emitter group `group`, run 0 (reference) or FLOOR_RUN, of draw `seed`."""
    sequence = np.random.SeedSequence(data_seed, spawn_key=(OFFGRID_SEED_STREAM, seed, group, run))
    return int(sequence.generate_state(1)[0])


def offgrid_set(
    dataset: DataSet,
    scene,
    n_pairs: int,
    seed: int = 0,
    progress: bool = True,
    min_grid_distance: float = MIN_GRID_DISTANCE_M,
    workers: int | None = None,
    rays: int | None = None,
) -> OffgridSet:
    """The off-grid pairs of `dataset` with their simulated IRs (reference and floor), cached (module doc).

    `scene` must be the data set's scene (`DataSet.check_scene`); `min_grid_distance` metres (fine test grids need
    less than the default); the simulations run on `workers` processes (default: every core) with `rays` rays per
    emitter (None: the data set's; the same pairs and seeds either way, cached apart).
    """
    meta = dataset.meta
    dataset.check_scene(scene)
    if n_pairs < 1:
        raise DataError("the off-grid test set needs at least 1 pair; pass --offgrid N with N >= 1")
    base, emitters, listeners, path, shape = _set_plan(dataset, scene, n_pairs, seed, rays, min_grid_distance)
    cached = _read_cache(path, meta.plan_key, emitters, listeners, shape, base.n_rays)
    irs, floor_irs, done = cached if cached is not None else (
        np.zeros(shape, np.float32), np.zeros(shape, np.float32), np.zeros(n_pairs, bool)
    )
    starts = np.flatnonzero(np.r_[True, np.any(emitters[1:] != emitters[:-1], axis=1)])
    groups = [np.arange(s, e) for s, e in zip(starts, np.r_[starts[1:], n_pairs], strict=True)]
    todo = [g for g in groups if not done[g].all()]
    with tqdm(total=len(groups), initial=len(groups) - len(todo), unit="emitter",
              desc="naf eval: off-grid simulations", disable=not progress) as bar:
        jobs = [((g, run), emitters[g[0]], listeners[g],
                 dataclasses.replace(base, seed=simulation_seed(meta.seed, seed, int(g[0]) // PAIRS_PER_EMITTER, run)))
                for g in todo for run in (0, FLOOR_RUN)]  # fmt: skip
        runs_done: dict[int, int] = {}
        for (g, run), sim in simulate_jobs(scene, jobs, workers):
            (irs if run == 0 else floor_irs)[g] = sim  # float16, as cached: a rerun from the cache scores the same
            runs_done[int(g[0])] = runs_done.get(int(g[0]), 0) + 1
            if runs_done[int(g[0])] == 2:
                done[g] = True
                _write_cache(path, meta.plan_key, seed, emitters, listeners, irs, floor_irs, done, base.n_rays)
                bar.update(1)
    data_rays = SimulationConfig.from_json(meta.simulation).n_rays
    return OffgridSet(emitters, listeners, irs, floor_irs, path, len(todo), base.n_rays, seed, data_rays)


def cached_runs(
    dataset: DataSet, scene, n_pairs: int, seed: int = 0, rays: int | None = None,
    min_grid_distance: float = MIN_GRID_DISTANCE_M,
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:  # fmt: skip
    """What the cache of `offgrid_set(dataset, scene, n_pairs, seed, rays=rays)` holds, simulating nothing:
    (irs, floor_irs (N, 4, 2, samples) float32, done (N,) bool), or None where there is no usable cache."""
    base, emitters, listeners, path, shape = _set_plan(dataset, scene, n_pairs, seed, rays, min_grid_distance)
    return _read_cache(path, dataset.meta.plan_key, emitters, listeners, shape, base.n_rays)


def _set_plan(dataset: DataSet, scene, n_pairs: int, seed: int, rays: int | None, min_grid_distance: float):
    """What an off-grid set is made of: the simulation settings (the data set's, with `rays` rays per emitter
    where given), emitters and listeners (N, 2), the cache's path and its IRs' shape (N, 4, 2, samples)."""
    own = SimulationConfig.from_json(dataset.meta.simulation)
    base = own if rays is None or rays == own.n_rays else dataclasses.replace(own, n_rays=rays)
    grid = np.concatenate([dataset.emitters, dataset.listeners])
    emitters, listeners = draw_offgrid_pairs(scene, grid, n_pairs, seed, min_grid_distance)
    path = offgrid_cache_path(dataset.path, n_pairs, seed, None if base is own else base.n_rays)
    return base, emitters, listeners, path, (n_pairs, 4, 2, dataset.meta.ir_length)


def _read_cache(path: Path, plan_key: str, emitters, listeners, shape, n_rays: int):
    """(irs, floor_irs, done) from the cache, or None if absent, unreadable or made for another plan, draw or
    ray count (a cache without one was made with the data set's, which `n_rays` then is)."""
    if not path.is_file():
        return None
    try:
        with h5py.File(path, "r") as f:
            if f.attrs.get("plan_key") != plan_key or int(f.attrs.get("format_version", -1)) != CACHE_FORMAT:
                return None
            if int(f.attrs.get("n_rays", n_rays)) != n_rays:
                return None
            if f["ir"].shape != shape or not (
                np.array_equal(f["emitters"][()], emitters) and np.array_equal(f["listeners"][()], listeners)
            ):
                return None
            return (
                f["ir"][()].astype(np.float32),
                f["floor_ir"][()].astype(np.float32),
                f["done"][()].astype(bool),
            )
    except (OSError, KeyError, ValueError):
        return None


def _write_cache(path, plan_key, seed, emitters, listeners, irs, floor_irs, done, n_rays) -> None:
    """The whole set through `naf_model.atomic`: an interrupt or a full disk leaves the last whole cache."""
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        f.attrs["format_version"] = CACHE_FORMAT
        f.attrs["plan_key"] = plan_key
        f.attrs["seed"] = seed
        f.attrs["n_rays"] = n_rays
        f.create_dataset("emitters", data=emitters)
        f.create_dataset("listeners", data=listeners)
        f.create_dataset("done", data=done)
        for name, data in (("ir", irs), ("floor_ir", floor_irs)):
            f.create_dataset(name, data=data.astype(np.float16), compression="lzf", chunks=True)
