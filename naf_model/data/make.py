"""Simulate a data set, one emitter block per task, into resumable part files, then assemble the HDF5.

Work is split by emitter: one `simulate_binaural_rirs` call gives all of an emitter's listeners and
orientations. Each finished block is a part file (see `parts`), so an interrupted run resumes where it
stopped and `--shard i/N` runs on a cluster array build disjoint sets of parts for `merge_shards`.
"""

from __future__ import annotations

import ctypes
import dataclasses
import multiprocessing
import os
import signal
import sys
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from naf_model.data import speed
from naf_model.data.assemble import assemble, check_output
from naf_model.data.budget import (
    ON_DISK_FRACTION,
    block_cpu_seconds,
    check_disk,
    describe_cpu_seconds,
    format_minutes,
    room_cost,
    simulation_minutes,
)
from naf_model.data.described import early_spectrogram, late_description
from naf_model.data.parts import Block, PartStore, parts_folder
from naf_model.data.plan import DataConfig, DataPlan, plan_dataset, room_config, scene_ir_split
from naf_model.errors import DataError
from naf_model.paths import default_dataset_path
from naf_model.simulate import simulate_binaural_rirs
from naf_model.simulate.ir_length import DECAY_DB, ir_length_note, read_pilot, room_need

_STFT_BATCH = 16
"""Listeners per STFT call: bounds a worker's memory (~200 MB) whatever the block size."""
ANNOUNCED_FREE_PAIRS = 100_000
"""Free-position plans from this size on say so before they are drawn (about a second per 100,000 pairs)."""


def simulate_block(scene, plan: DataPlan, emitter: int) -> Block:
    """One emitter block, simulated and described (`Block`).

    The spectrogram and the late description are taken of the float16-rounded IR, so the stored arrays agree
    exactly up to their own final float16 rounding.
    """
    rows = plan.block(emitter)
    listeners_xy = plan.listeners[plan.pairs[rows, 1]]
    irs = simulate_binaural_rirs(
        scene, plan.emitters[emitter], listeners_xy, plan.emitter_simulation(emitter)
    )
    expected = (len(listeners_xy), 4, 2, plan.ir_length)
    assert irs.shape == expected, f"simulator returned {irs.shape}, expected {expected}"
    ir16 = irs.astype(np.float16)
    if not np.all(np.isfinite(ir16)):
        raise DataError(
            f"emitter {emitter} at {plan.emitters[emitter]} gave a non-finite or float16-overflowing IR"
        )
    spec = np.concatenate(
        [
            early_spectrogram(ir16[i : i + _STFT_BATCH], plan.ir_split).astype(np.float16)
            for i in range(0, len(ir16), _STFT_BATCH)
        ]
    )
    late = late_description(ir16, plan.ir_split).astype(np.float16)
    return Block(ir16[plan.has_ir[rows]], spec, late)


def make_dataset(
    scene,
    config: DataConfig | None = None,
    output: Path | None = None,
    *,
    workers: int | None = None,
    shard: tuple[int, int] | None = None,
    overwrite: bool = False,
    keep_parts: bool = False,
    progress: bool = True,
    measure_length: bool = False,
    plan_only: bool = False,
) -> Path:
    """Build the data set of `scene` at `output` (default `default_dataset_path(scene.name)`); return it.

    Without a `config`, `room_config(scene)`: the default settings with IRs as long as the room needs.
    `measure_length`: the config's IR length is the default one, to be measured by a pilot simulation
    (`data.pilot`) once the plan is known to be sound, unless the scene's pilot is cached already.

    Resumes from existing parts of the same plan. With `shard=(i, n)` only emitters with index % n == i are
    simulated and the parts folder is returned (assemble with `merge_shards`). A finished file of the same
    plan is left as it is; one of another plan raises DataError unless `overwrite`. `plan_only`: print the
    plan and return `output` without simulating or writing anything (no pilot either: the length is the
    cached pilot's or Eyring's, as the plan line says).
    """
    config = config or room_config(scene)
    output = Path(output) if output is not None else default_dataset_path(scene.name)
    if shard is not None and not 0 <= shard[0] < shard[1]:
        raise DataError(f"shard {shard[0]}/{shard[1]} is out of range; use i/N with 0 <= i < N")
    if config.free_pairs:  # its size is known before the plan: refuse a disk too small without drawing it
        waveforms = config.free_pairs if config.waveforms == "all" else 0  # free pairs all train
        check_disk(config.free_pairs, waveforms, scene_ir_split(scene, config), output, fewer="fewer --free-pairs")
        if progress and config.free_pairs >= ANNOUNCED_FREE_PAIRS:
            print(f"{scene.name}: drawing {config.free_pairs:,} free-position pairs...", file=sys.stderr)
    plan = plan_dataset(scene, config)
    size = check_disk(len(plan.pairs), int(plan.has_ir.sum()), plan.ir_split, output)
    pilot_first = measure_length and room_need(scene) is not None and read_pilot(scene) is None
    if pilot_first and not plan_only:
        from naf_model.data.pilot import pilot_need  # the plan is sound: now the pilot may run (once per scene)

        seconds = pilot_need(scene, config.simulation, progress=progress).seconds
        config = dataclasses.replace(config, simulation=dataclasses.replace(config.simulation, ir_seconds=seconds))
        plan = plan_dataset(scene, config)
        size = check_disk(len(plan.pairs), int(plan.has_ir.sum()), plan.ir_split, output)
    mine = [e for e in range(len(plan.emitters)) if shard is None or e % shard[1] == shard[0]]
    n_workers = min(workers or available_cores(), max(len(mine), 1))
    if progress or plan_only:
        minutes = estimate_minutes(scene, plan, mine, n_workers)
        print(f"{plan.scene_name}: {len(plan.emitters):,} emitters, {len(plan.listeners):,} listeners, "
              f"{len(plan.pairs):,} pairs, ~{size / 1e6:,.0f} MB before compression, "
              f"~{ON_DISK_FRACTION * size / 1e6:,.0f} MB on disk ({waveforms_note(plan)}), "
              f"{format_minutes(minutes)} on {n_workers} "
              f"worker{'s' if n_workers > 1 else ''} ({speed_note(scene)})", file=sys.stderr)
        print(ir_length_line(scene, config.simulation.ir_seconds), file=sys.stderr)
    if plan_only:
        if pilot_first:
            print("the build first measures the IR length with a short pilot simulation, which may change the "
                  "length and the estimate", file=sys.stderr)
        return output
    store = PartStore(parts_folder(output))
    if shard is None and check_output(output, plan, overwrite):
        if not keep_parts and store.holds(plan):  # leftovers of a run killed after its final rename
            store.remove()
        if progress:
            print(f"{output} is already complete", file=sys.stderr)
        return output
    store.prepare(plan, overwrite)
    done = store.done()
    todo = [e for e in mine if e not in done]
    if progress and done and todo:
        left = estimate_minutes(scene, plan, todo, min(n_workers, len(todo)))
        print(f"resuming: {len(mine) - len(todo):,} of {len(mine):,} emitters done, {format_minutes(left)} left",
              file=sys.stderr)
    total = sum(_block_size(plan, e) for e in mine)
    with tqdm(
        total=total,
        initial=total - sum(_block_size(plan, e) for e in todo),
        unit="pair",
        desc=f"simulating {plan.scene_name}",
        disable=not progress,
    ) as bar:
        room, cpu_s, model_s = room_cost(scene, plan.config.simulation.ism_order), 0.0, 0.0
        for e, block_cpu_s in _run_blocks(scene, plan, store, todo, workers):
            bar.update(_block_size(plan, e))
            cpu_s, model_s = cpu_s + block_cpu_s, model_s + block_model_seconds(room, plan, e)
    speed.record(scene, cpu_s, model_s, "build")  # the build itself times this CPU for the next plan (`data.speed`)
    if shard is not None:
        return store.folder
    assemble(plan, [store], output, progress)
    if not keep_parts:
        store.remove()
    return output


def waveforms_note(plan: DataPlan) -> str:
    """Which pairs' waveforms the plan stores, for the plan line."""
    kept = int(plan.has_ir.sum())
    if plan.config.waveforms == "all":
        return "waveforms of every pair"
    return f"waveforms of the {kept:,} held-out pairs only; --waveforms all for every pair"


def ir_length_line(scene, ir_seconds: float) -> str:
    """The plan's IR-length line (`simulate.ir_length.ir_length_note`): the length and what it cuts of the
    room's Eyring decay; just the length for a scene without an Eyring estimate (no surfaces, no volume)."""
    need = room_need(scene)
    if need is None:
        return f"IRs {ir_seconds:.2f} s (no Eyring estimate of this scene's decay)"
    pilot = read_pilot(scene)
    if pilot is None:
        return ir_length_note(need, ir_seconds)
    if ir_seconds + 0.005 >= pilot.seconds:
        return f"IRs {ir_seconds:.2f} s: {pilot.reason}"
    return (f"IRs {ir_seconds:.2f} s; a pilot simulation says the slowest spots need {pilot.seconds:.2f} s to decay "
            f"{DECAY_DB:.0f} dB: their tails are cut (use --ir-seconds auto for the whole decay)")


def estimate_minutes(scene, plan: DataPlan, emitters: list[int], workers: int) -> float:
    """Wall-clock minutes to simulate and describe `emitters` of `plan` on `workers` processes
    (`budget.block_cpu_seconds` of the scene's `budget.room_cost` + `budget.describe_cpu_seconds`), times this
    CPU's speed where a pilot has timed it (`data.speed`)."""
    room = room_cost(scene, plan.config.simulation.ism_order)
    measured = speed.this_cpu(scene)
    factor = 1.0 if measured is None else measured.factor
    return simulation_minutes((factor * block_model_seconds(room, plan, e) for e in emitters), workers)


def block_model_seconds(room, plan: DataPlan, emitter: int) -> float:
    """The cost model's CPU-seconds to simulate and describe `emitter`'s block of `plan` in `room`."""
    sim, listeners = plan.config.simulation, _block_size(plan, emitter)
    return (block_cpu_seconds(room, listeners, sim.n_rays, sim.ir_seconds)
            + describe_cpu_seconds(listeners, sim.ir_seconds))


def speed_note(scene) -> str:
    """The plan line's last clause: how its minutes for `scene` were timed."""
    measured = speed.this_cpu(scene)
    if measured is None:
        return "the cost model's Xeon-fitted seconds; a pilot simulation times this CPU"
    return measured.note()


def _block_size(plan: DataPlan, emitter: int) -> int:
    rows = plan.block(emitter)
    return rows.stop - rows.start


def available_cores() -> int:
    """Cores this process may run on (the default number of workers), respecting CPU affinity."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _run_blocks(scene, plan: DataPlan, store: PartStore, todo: list[int], workers: int | None):
    """Simulate and store each emitter in `todo`, yielding (emitter index, CPU seconds its block took) as their
    parts land."""
    n_workers = min(workers or available_cores(), len(todo))
    if n_workers <= 1:
        for e in todo:
            yield _simulate_and_store(scene, plan, store, e)
        return
    with multiprocessing.get_context().Pool(
        n_workers, initializer=_init_worker, initargs=(scene, plan, store)
    ) as pool:
        yield from pool.imap_unordered(_worker_task, todo, chunksize=1)


def _simulate_and_store(scene, plan: DataPlan, store: PartStore, emitter: int) -> tuple[int, float]:
    start = time.process_time()  # this process's CPU (the simulator's threads included), not the clock
    store.write(plan, emitter, simulate_block(scene, plan, emitter))
    return emitter, time.process_time() - start


_WORKER: tuple = ()


def _init_worker(scene, plan: DataPlan, store: PartStore) -> None:
    """Keep the job's shared inputs in the worker; die with the parent so a killed run leaves no orphans."""
    global _WORKER
    _WORKER = (scene, plan, store)
    worker_signals()


def worker_signals() -> None:
    """A simulation worker's signals: Ctrl-C is the parent's; die with the parent (no orphans)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and terminates the pool
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the pool's terminate() ends workers without a traceback
    if sys.platform.startswith("linux"):
        pr_set_pdeathsig = 1
        ctypes.CDLL(None).prctl(pr_set_pdeathsig, signal.SIGKILL)


def _worker_task(emitter: int) -> tuple[int, float]:
    scene, plan, store = _WORKER
    return _simulate_and_store(scene, plan, store, emitter)
