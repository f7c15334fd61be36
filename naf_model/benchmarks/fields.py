"""How fast and how good trained fields are: latency, throughput, map time, size, held-out errors.

`naf bench` and scripts/bench_field.py print these as one markdown table.

Every checkpoint is measured on CPU with one thread, on CPU with all threads and on CUDA when there is one.
Timings are wall clock around the public `NeuralAcousticField` calls, after warm-up calls, so they are what
the app and the command line see.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from naf_model.analysis.loudness import loudness_map, plan_grid
from naf_model.checkpoint import load_checkpoint
from naf_model.data import DataSet
from naf_model.errors import CheckpointError, NafError
from naf_model.evaluation import metrics
from naf_model.field import NeuralAcousticField
from naf_model.paths import CHECKPOINTS_DIR, default_checkpoint, default_dataset_path, runs_dir
from naf_model.scene import load_scene

MB = 1e6


@dataclass(frozen=True)
class BenchConfig:
    """What to measure and how often.

    n_single: single-IR calls timed per device (p50/p99 over them); batch_size x n_batches IRs for the
    throughput; map_spacing: loudness map grid (metres); error_pairs: validation pairs scored (0: none);
    devices: any of "cpu-1" (one thread), "cpu" (all threads), "cuda" (skipped when absent);
    data: data set for the errors (default `data/<scene>.h5`); seed: positions and pair subset.
    budget_s bounds each measurement for slow (per-pixel) presets: timing stops once it is spent (at least
    MIN_SINGLE calls, one batch, shrunk to fit), and a map predicted to take longer is estimated from the
    batch throughput instead of run (`map_estimated`, "≈" in the table).
    """

    n_single: int = 100
    batch_size: int = 64
    n_batches: int = 4
    map_spacing: float = 0.25
    error_pairs: int = 32
    devices: tuple[str, ...] = ("cpu-1", "cpu", "cuda")
    data: Path | None = None
    seed: int = 0
    budget_s: float = 20.0


MIN_SINGLE = 5
"""Fewest single-IR calls timed, whatever the budget (p99 of fewer is just the maximum; see n_single)."""


@dataclass(frozen=True)
class BenchRow:
    """One checkpoint on one device. Times in ms unless named _s; None where not measured.

    map_estimated: map_s is cells / batch throughput, not a timed map (the map would exceed the budget).
    """

    checkpoint: str
    scene: str
    preset: str
    device: str
    threads: int
    single_p50_ms: float
    single_p99_ms: float
    n_single: int
    network_p50_ms: float
    phase_p50_ms: float
    batch_irs_per_s: float
    map_s: float
    map_cells: int
    map_estimated: bool
    checkpoint_mb: float
    spectral: float | None = None
    t60_pct: float | None = None
    notes: list[str] = field(default_factory=list)


def find_checkpoints(paths: Sequence[str | os.PathLike] = ()) -> list[Path]:
    """Checkpoint files to benchmark: the given files (folders are searched, see `_run_checkpoints`), else the
    default field of every scene with a bundled checkpoint or a runs folder (`paths.default_checkpoint`, the
    rule the CLI and the app use). NafError if none exists."""
    if not paths:
        found = default_fields()
        if not found:
            raise NafError(
                f"no checkpoints in {CHECKPOINTS_DIR} or {runs_dir()}; train one with `naf train` or pass paths"
            )
        return found
    found: list[Path] = []
    for root in map(Path, paths):
        if root.is_file():
            found.append(root)
        elif root.is_dir():
            found += _run_checkpoints(root)
        else:
            raise NafError(f"no checkpoint at {root}; pass checkpoint files or folders that exist")
    if not found:
        raise NafError(f"no checkpoints found in {', '.join(map(str, paths))}; pass checkpoint files or folders")
    return list(dict.fromkeys(p.resolve() for p in found))


def default_fields() -> list[Path]:
    """`default_checkpoint(scene)` of each scene that has a bundled checkpoint or a folder under the runs folder."""
    runs = runs_dir()
    names = {p.stem for p in CHECKPOINTS_DIR.glob("*.pt")}
    names |= {p.name for p in runs.iterdir() if p.is_dir()} if runs.is_dir() else set()
    found = []
    for name in sorted(names):
        try:
            found.append(default_checkpoint(name).resolve())
        except CheckpointError:
            continue  # a runs folder without a best.pt yet
    return found


def _run_checkpoints(root: Path) -> list[Path]:
    """One file per run folder under `root`: best.pt, else checkpoint.pt, else any *.pt files."""
    out = []
    for folder in sorted({p.parent for p in root.rglob("*.pt")}):
        for name in ("best.pt", "checkpoint.pt"):
            if (folder / name).is_file():
                out.append(folder / name)
                break
        else:
            out += sorted(folder.glob("*.pt"))
    return out


def device_setups(names: Sequence[str]) -> list[tuple[str, str, int]]:
    """(label, torch device, threads) for each requested setup that exists on this machine."""
    setups = []
    for name in names:
        if name == "cpu-1":
            setups.append(("cpu", "cpu", 1))
        elif name == "cpu":
            setups.append(("cpu", "cpu", os.cpu_count() or 1))
        elif name.startswith("cuda"):
            if torch.cuda.is_available():
                setups.append((torch.cuda.get_device_name(0), name, 0))
        else:
            raise NafError(f"unknown bench device {name!r}; use cpu-1, cpu or cuda")
    return setups


def _positions(scene: Any, n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """n random (emitter, listener, heading) triples on the scene's free 0.5 m grid."""
    grid = scene.sample_grid(0.5)
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(grid), size=(n, 2))
    return grid[pick[:, 0]], grid[pick[:, 1]], rng.uniform(0.0, 360.0, size=n)


def _timed_calls(fn: Callable[[int], Any], n: int, budget_s: float) -> np.ndarray:
    """Seconds of fn(0), fn(1), ... up to n calls, stopping once `budget_s` is spent (>= MIN_SINGLE calls)."""
    times: list[float] = []
    spent = 0.0
    for i in range(n):
        start = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - start)
        spent += times[-1]
        if spent > budget_s and len(times) >= MIN_SINGLE:
            break
    return np.asarray(times)


def time_field(fld: Any, scene: Any, config: BenchConfig) -> dict[str, Any]:
    """Latency, split, throughput and map time of one loaded field (milliseconds / seconds / IRs per s).

    Network-only calls (`query`) and full calls (`impulse_response`, default phase) use different random
    positions, so neither finds the other's endpoints in the field's cache; the phase time is the
    difference of their medians.
    """
    n, budget = config.n_single, config.budget_s
    em, li, hd = _positions(scene, 2 * n + config.batch_size, config.seed)
    for i in range(2):  # warm-up: lazy initialisation, allocator, kernel selection
        fld.impulse_response(em[i], li[i], hd[i])
    network = _timed_calls(lambda i: fld.query(em[i], li[i], hd[i]), n, budget / 2)
    full = _timed_calls(lambda i: fld.impulse_response(em[n + i], li[n + i], hd[n + i]), n, budget / 2)
    p50_full, p50_net = float(np.percentile(full, 50)), float(np.percentile(network, 50))
    b = int(np.clip(budget / 4 / max(p50_full, 1e-6), 1, config.batch_size))
    batch = slice(2 * n, 2 * n + b)
    rounds = _timed_calls(
        lambda _: fld.impulse_responses(em[batch], li[batch], hd[batch]), config.n_batches + 1, budget / 2
    )
    rate = b / float(np.median(rounds[1:] if len(rounds) > 1 else rounds))
    cells = int(plan_grid(scene, config.map_spacing)[2].sum())
    estimated = cells / rate > budget
    if estimated:
        map_s = cells / rate
    else:
        start = time.perf_counter()
        loudness_map(fld, scene, em[0], 0.0, config.map_spacing)
        map_s = time.perf_counter() - start
    return {
        "single_p50_ms": 1e3 * p50_full,
        "single_p99_ms": 1e3 * float(np.percentile(full, 99)),
        "n_single": len(full),
        "network_p50_ms": 1e3 * p50_net,
        "phase_p50_ms": 1e3 * max(p50_full - p50_net, 0.0),
        "batch_irs_per_s": rate,
        "map_s": map_s,
        "map_cells": cells,
        "map_estimated": bool(estimated),
    }


def held_out_errors(fld: Any, data_path: Path, n_pairs: int, seed: int) -> dict[str, float]:
    """Spectral error and T60 error (%) of the field on a seeded subset of the data set's validation pairs.

    Comparing presets is a recipe choice, so it reads the validation split; the test split is left to
    `naf eval`. Uses `naf_model.evaluation.metrics`, so the numbers mean what `naf eval` reports (random-phase
    T60, failures counted as 100 %).
    """
    with DataSet(data_path) as ds:
        if ds.meta.scene_name != fld.scene_name:
            raise NafError(f"{data_path} holds scene {ds.meta.scene_name!r}, the field {fld.scene_name!r}")
        held_out = ds.indices("validation")
        if len(held_out) == 0:
            raise NafError(f"{data_path} has no validation pairs; remake it with `naf data`")
        rng = np.random.default_rng(seed)
        held_out = np.sort(rng.choice(held_out, min(n_pairs, len(held_out)), replace=False))
        gt = ds.read_spec(held_out).astype(np.float32)  # (Q, 4, 2, F, T)
        pairs = ds.pairs[held_out]
        em, li = ds.emitters[pairs[:, 0]], ds.listeners[pairs[:, 1]]
        headings = ds.orientations.astype(np.float64)
        n_samples = ds.meta.ir_length
        split = ds.split_info if ds.has_late else None
        gt_late = ds.read_late(held_out).astype(np.float32) if split is not None else None
    k = len(headings)
    n = len(held_out)
    q = (np.repeat(em, k, axis=0), np.repeat(li, k, axis=0), np.tile(headings, n))
    pred = np.asarray(fld.query_batch(*q), np.float32)
    gt = gt.reshape((-1,) + gt.shape[2:])
    late = None if gt_late is None else (metrics.field_late_for_random_phase(fld.late_log_powers(*q)),
                                         gt_late.reshape((-1,) + gt_late.shape[2:]))  # fmt: skip
    params = metrics.acoustic_parameters(gt, n_samples, seed, late=None if late is None else late[1], split=split)
    pred_params = metrics.acoustic_parameters(pred, n_samples, seed, late=None if late is None else late[0],
                                              split=split)
    errors = metrics.errors_from_parameters(metrics.spectral_error(pred, gt), pred_params, params,
                                            any_fail=False).summary()
    return {"spectral": errors["spectral"], "t60_pct": errors["t60_pct"], "n_pairs": n}


def bench_checkpoint(
    path: Path, config: BenchConfig, scene: Any | None = None, log: Callable[[str], None] = print
) -> list[BenchRow]:
    """Rows for one checkpoint, one per available device setup; `scene` defaults to the bundled one."""
    ckpt = load_checkpoint(path)
    if scene is None:
        scene = load_scene(ckpt.scene_name)
    size_mb = Path(path).stat().st_size / MB
    data_path = Path(config.data) if config.data is not None else default_dataset_path(scene.name)
    rows, fld = [], None
    threads_before = torch.get_num_threads()
    try:
        for label, device, threads in device_setups(config.devices):
            if threads:
                torch.set_num_threads(threads)
            fld = NeuralAcousticField.load(path, device=device, scene=scene)
            log(f"bench {path} ({ckpt.preset}, {scene.name}) on {label}, {threads or 'GPU'} threads")
            timings = time_field(fld, scene, config)
            rows.append(BenchRow(str(path), scene.name, ckpt.preset, label, threads, **timings,
                                 checkpoint_mb=size_mb))  # fmt: skip
        notes: list[str] = []
        errors = {}
        if fld is not None and config.error_pairs > 0:  # on the last (fastest) setup: errors do not
            errors = _errors_or_note(fld, data_path, config, notes)  # depend on the device
    finally:
        torch.set_num_threads(threads_before)
    spectral, t60 = errors.get("spectral"), errors.get("t60_pct")
    return [replace(r, spectral=spectral, t60_pct=t60, notes=notes) for r in rows]


def _errors_or_note(fld: Any, data_path: Path, config: BenchConfig, notes: list[str]) -> dict[str, float]:
    """Held-out errors, or {} with a note saying why they are missing."""
    if not data_path.is_file():
        notes.append(f"no held-out errors: no data set at {data_path} (pass --data)")
        return {}
    try:
        errors = held_out_errors(fld, data_path, config.error_pairs, config.seed)
    except NafError as exc:
        notes.append(f"no held-out errors: {exc}")
        return {}
    notes.append(f"errors on {errors['n_pairs']} held-out pairs (validation split) of {data_path.name}")
    return errors


def markdown_table(rows: Sequence[BenchRow]) -> str:
    """The rows as one markdown table (one line per checkpoint x device)."""
    head = (
        "| scene | preset | device | threads | IR p50 ms | IR p99 ms | network ms | phase ms | batch IRs/s "
        "| map s (cells) | ckpt MB | spectral | T60 % |"
    )
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        spectral = "–" if r.spectral is None else f"{r.spectral:.3f}"
        t60 = "–" if r.t60_pct is None else f"{r.t60_pct:.1f}"
        lines.append(
            f"| {r.scene} | {r.preset} | {r.device} | {r.threads or '–'} | {r.single_p50_ms:.2f} "
            f"| {r.single_p99_ms:.2f} | {r.network_p50_ms:.2f} | {r.phase_p50_ms:.2f} "
            f"| {r.batch_irs_per_s:,.1f} | {'≈' if r.map_estimated else ''}{r.map_s:.2f} ({r.map_cells}) "
            f"| {r.checkpoint_mb:.2f} "
            f"| {spectral} | {t60} |"
        )
    return "\n".join(lines)


def rows_as_dicts(rows: Sequence[BenchRow]) -> list[dict[str, Any]]:
    """JSON-ready rows."""
    return [asdict(r) for r in rows]


def environment() -> dict[str, Any]:
    """Machine facts that the timings depend on."""
    return {
        "torch": torch.__version__,
        "cpu_count": os.cpu_count(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }
