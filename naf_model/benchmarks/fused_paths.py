"""The fused inference path against the module path, side by side in one run (`naf bench --compare-fused`).

Both paths of one checkpoint are loaded as two fields and timed interleaved, call by call (fused, module,
fused, ...) on the same positions, so a machine shared with other jobs slows both alike and the ratio holds
where the absolute figures do not. Each call is timed by the wall clock (what a listener waits) and by the
thread's CPU time (what the call costs; on a machine with more runnable jobs than cores the wall clock also
counts the time the scheduler gave to others). Also reported: how far apart their answers are (largest absolute
log-magnitude difference, largest IR sample difference relative to the IR's peak) and the time of the
metric heatmaps (played IR at every free cell, then loudness, C50 and T60) on each path, and beside them the
fast heatmaps of the fused field (`analysis.fast_map`: the same maps from the played energy envelope, no
waveform) with how far they are from the waveform-measured ones (p95 over the cells).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from naf_model.analysis.fast_map import fast_metric_map, plan_energy
from naf_model.analysis.metric_map import MetricMap, PlanIrs, metric_map, plan_irs
from naf_model.field import NeuralAcousticField

HEATMAP_METRICS = ("loudness", "c50", "t60")


@dataclass(frozen=True)
class PathsRow:
    """One checkpoint on one thread setup: each path's single-IR p50 / p99 and network p50 (ms), the largest
    answer differences, the heatmaps' seconds (None: not measured)."""

    checkpoint: str
    scene: str
    threads: int
    n_single: int
    fused_p50_ms: float
    fused_p99_ms: float
    module_p50_ms: float
    module_p99_ms: float
    fused_network_ms: float
    module_network_ms: float
    fused_cpu_p50_ms: float
    module_cpu_p50_ms: float
    fused_cpu_p99_ms: float
    module_cpu_p99_ms: float
    spectrogram_max_diff: float
    ir_max_rel_diff: float
    map_cells: int = 0
    fused_map_s: float | None = None
    module_map_s: float | None = None
    fused_map_cpu_s: float | None = None
    module_map_cpu_s: float | None = None
    fused_map_irs_cpu_s: float | None = None
    module_map_irs_cpu_s: float | None = None
    fast_map_s: float | None = None
    fast_map_cpu_s: float | None = None
    fast_p95: dict[str, float] | None = None
    """p95 over the cells of |fast - waveform map| per metric: loudness and C50 dB, T60 % of the waveform's."""

    @property
    def ratio(self) -> float:
        """Fused over module single-IR p50."""
        return self.fused_p50_ms / self.module_p50_ms


def _interleaved(calls: Sequence[Callable[[int], Any]], n: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Wall-clock and thread CPU seconds of calls[k](i) for i < n, the calls taking turns at every i."""
    wall, cpu = [np.empty(n) for _ in calls], [np.empty(n) for _ in calls]
    for i in range(n):
        for k, fn in enumerate(calls):
            start, start_cpu = time.perf_counter(), time.thread_time()
            fn(i)
            wall[k][i], cpu[k][i] = time.perf_counter() - start, time.thread_time() - start_cpu
    return wall, cpu


def heatmap_seconds(fld: Any, scene: Any, emitter: np.ndarray, spacing: float
                    ) -> tuple[float, float, float, PlanIrs, dict[str, MetricMap]]:
    """Seconds for the played IR at every free cell and its loudness, C50 and T60 maps (wall clock, thread CPU
    time), of which the IRs alone (thread CPU time: the rest, measuring them, is the same on both paths);
    the IRs and the maps."""
    start, start_cpu = time.perf_counter(), time.thread_time()
    plan = plan_irs(fld.impulse_responses, scene, emitter, 0.0, spacing)
    irs_cpu = time.thread_time() - start_cpu
    maps = {metric: metric_map(plan, metric) for metric in HEATMAP_METRICS}
    return time.perf_counter() - start, time.thread_time() - start_cpu, irs_cpu, plan, maps


FAST_REPEATS = 3
"""Timed runs of the fast maps (a fraction of a second each): the median is reported."""


def fast_heatmap_seconds(fld: Any, scene: Any, emitter: np.ndarray, spacing: float
                         ) -> tuple[float, float, dict[str, MetricMap]]:
    """Seconds (wall clock, thread CPU; medians of FAST_REPEATS runs) for the fast loudness, C50 and T60 maps
    (`analysis.fast_map`), and the maps. Timed after one untimed run for another emitter (its tables of the
    IR's length are made once per field), as the waveform path's noise is already made when its maps are
    timed; each run starts without the field's endpoint cache."""
    plan_energy(fld, scene, scene.sample_grid(1.0)[-1], 0.0, spacing)
    wall, cpu = [], []
    for _ in range(FAST_REPEATS):
        fld.clear_cache()
        start, start_cpu = time.perf_counter(), time.thread_time()
        plan = plan_energy(fld, scene, emitter, 0.0, spacing)
        maps = {metric: fast_metric_map(plan, metric) for metric in HEATMAP_METRICS}
        wall.append(time.perf_counter() - start)
        cpu.append(time.thread_time() - start_cpu)
    return float(np.median(wall)), float(np.median(cpu)), maps


def map_differences(fast: dict[str, MetricMap], measured: dict[str, MetricMap]) -> dict[str, float]:
    """p95 over the cells both maps hold of |fast - measured| per metric (T60 in % of the measured value)."""
    out = {}
    for metric, mm in measured.items():
        a, b = fast[metric].values, mm.values
        ok = np.isfinite(a) & np.isfinite(b)
        diff = a[ok] - b[ok] if metric != "t60" else 100 * (a[ok] - b[ok]) / b[ok]
        out[metric] = float(np.percentile(np.abs(diff), 95)) if ok.any() else float("nan")
    return out


def compare_paths(path: Path, scene: Any, threads: int, n_single: int, seed: int = 0,
                  map_spacing: float | None = None) -> PathsRow:
    """Time the fused and the module path of the checkpoint at `path` interleaved (see the module docstring);
    with `map_spacing`, the heatmaps too. Torch's thread count is the caller's."""
    fused = NeuralAcousticField.load(path, device="cpu", scene=scene, fused=True)
    module = NeuralAcousticField.load(path, device="cpu", scene=scene, fused=False)
    grid = scene.sample_grid(0.5)
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(grid), size=(2 * n_single + 2, 2))
    em, li, hd = grid[pick[:, 0]], grid[pick[:, 1]], rng.uniform(0.0, 360.0, size=len(pick))
    for fld in (fused, module):  # warm-up: lazy tables, allocator
        for i in range(2):
            fld.impulse_response(em[i], li[i], hd[i])
    full, full_cpu = _interleaved([lambda i, f=f: f.impulse_response(em[2 + i], li[2 + i], hd[2 + i])
                         for f in (fused, module)], n_single)
    k = 2 + n_single  # other positions: the network-only calls find no cached endpoint
    network, _ = _interleaved([lambda i, f=f: f.query(em[k + i], li[k + i], hd[k + i]) for f in (fused, module)],
                           n_single)
    batch = slice(2, min(2 + n_single, 34))
    spec_diff = float(np.abs(fused.query_batch(em[batch], li[batch], hd[batch])
                             - module.query_batch(em[batch], li[batch], hd[batch])).max())
    ir_m = module.impulse_responses(em[batch], li[batch], hd[batch])
    ir_f = fused.impulse_responses(em[batch], li[batch], hd[batch])
    ir_diff = float((np.abs(ir_f - ir_m).max(-1) / np.maximum(np.abs(ir_m).max(-1), 1e-12)).max())
    maps: dict[str, Any] = {}
    if map_spacing is not None:
        emitter = scene.sample_grid(1.0)[0]
        for name, fld in (("fused", fused), ("module", module)):
            wall, cpu, irs_cpu, plan, measured = heatmap_seconds(fld, scene, emitter, map_spacing)
            maps |= {f"{name}_map_s": wall, f"{name}_map_cpu_s": cpu, f"{name}_map_irs_cpu_s": irs_cpu,
                     "map_cells": len(plan.listeners)}
            if name == "fused":
                maps["fast_map_s"], maps["fast_map_cpu_s"], fast = fast_heatmap_seconds(fld, scene, emitter,
                                                                                          map_spacing)
                maps["fast_p95"] = map_differences(fast, measured)
    ms = [1e3 * t for t in (*full, *network)]
    return PathsRow(str(path), scene.name, threads, n_single,
                    fused_p50_ms=float(np.percentile(ms[0], 50)), fused_p99_ms=float(np.percentile(ms[0], 99)),
                    module_p50_ms=float(np.percentile(ms[1], 50)), module_p99_ms=float(np.percentile(ms[1], 99)),
                    fused_network_ms=float(np.percentile(ms[2], 50)),
                    module_network_ms=float(np.percentile(ms[3], 50)),
                    fused_cpu_p50_ms=1e3 * float(np.median(full_cpu[0])),
                    module_cpu_p50_ms=1e3 * float(np.median(full_cpu[1])),
                    fused_cpu_p99_ms=1e3 * float(np.percentile(full_cpu[0], 99)),
                    module_cpu_p99_ms=1e3 * float(np.percentile(full_cpu[1], 99)),
                    spectrogram_max_diff=spec_diff, ir_max_rel_diff=ir_diff, **maps)


def paths_table(rows: Sequence[PathsRow]) -> str:
    """The rows as one markdown table: the two paths side by side, then the ratio."""
    head = ("| scene | threads | IR p50 ms fused / module | IR p99 ms fused / module | p50 ratio "
            "| IR CPU p50 ms fused / module | CPU p99 ms fused / module | CPU ratio "
            "| network ms fused / module | max spec diff | max IR diff (re peak) | heatmaps s fused / module (cells) "
            "| heatmaps CPU s fused / module | of which IRs CPU s fused / module | fast heatmaps s (CPU s) "
            "| fast - waveform p95: loudness dB, C50 dB, T60 % |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        maps = "– | – | – | – | –" if r.fused_map_s is None else (
            f"{r.fused_map_s:.2f} / {r.module_map_s:.2f} ({r.map_cells}) | {r.fused_map_cpu_s:.2f} / "
            f"{r.module_map_cpu_s:.2f} | {r.fused_map_irs_cpu_s:.2f} / {r.module_map_irs_cpu_s:.2f} "
            f"| {r.fast_map_s:.3f} ({r.fast_map_cpu_s:.3f}) | "
            + ", ".join(f"{r.fast_p95[m]:.2f}" for m in HEATMAP_METRICS))
        lines.append(f"| {r.scene} | {r.threads} | {r.fused_p50_ms:.2f} / {r.module_p50_ms:.2f} "
                     f"| {r.fused_p99_ms:.2f} / {r.module_p99_ms:.2f} | {r.ratio:.2f} "
                     f"| {r.fused_cpu_p50_ms:.2f} / {r.module_cpu_p50_ms:.2f} "
                     f"| {r.fused_cpu_p99_ms:.2f} / {r.module_cpu_p99_ms:.2f} "
                     f"| {r.fused_cpu_p50_ms / r.module_cpu_p50_ms:.2f} "
                     f"| {r.fused_network_ms:.2f} / {r.module_network_ms:.2f} | {r.spectrogram_max_diff:.1e} "
                     f"| {r.ir_max_rel_diff:.1e} | {maps} |")
    return "\n".join(lines)
