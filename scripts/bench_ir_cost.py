"""Single played IR of two fields of one scene, side by side: both fields and both inference paths (fused, the
app's; module, `naf eval`'s) timed interleaved call by call on the same random positions, in one process and
one thread, so a machine shared with other jobs slows all four alike. Prints p50 / p99 of the wall clock and
of the thread's CPU time, and each path's ratio of the second field to the first (issue 28's cost target:
a long-reverb field's IR <= 1.3x a 0.6 s field's).

    python scripts/bench_ir_cost.py /work/runs/cost_06/field.pt /work/runs/cost_auto/field.pt \\
        --scene docs/results/reverb_flat/scene.json --single 300
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from naf_model.field import NeuralAcousticField
from naf_model.scene import load_scene


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("first", type=Path, help="the reference field (e.g. 0.6 s IRs)")
    parser.add_argument("second", type=Path, help="the field compared with it (e.g. 2.7 s IRs, late part)")
    parser.add_argument("--scene", required=True, help="scene file or name both fields were trained on")
    parser.add_argument("--single", type=int, default=300, help="calls timed per field and path")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    for path in (args.first, args.second):
        if not path.is_file():
            sys.exit(f"error: no checkpoint at {path}")
    if args.single < 10:
        sys.exit("error: --single must be at least 10")
    torch.set_num_threads(1)
    scene = load_scene(args.scene)
    fields = {(name, fused): NeuralAcousticField.load(path, device="cpu", scene=scene, fused=fused)
              for name, path in (("first", args.first), ("second", args.second)) for fused in (True, False)}
    grid = scene.sample_grid(0.5)
    rng = np.random.default_rng(args.seed)
    pick = rng.integers(0, len(grid), size=(args.single + 3, 2))
    em, li, hd = grid[pick[:, 0]], grid[pick[:, 1]], rng.uniform(0.0, 360.0, args.single + 3)
    wall = {k: np.empty(args.single) for k in fields}
    cpu = {k: np.empty(args.single) for k in fields}
    with threadpool_limits(limits=1, user_api="blas"):
        for fld in fields.values():  # warm-up: noise banks, lazy tables
            for i in range(3):
                fld.impulse_response(em[args.single + i], li[args.single + i], hd[args.single + i])
        for i in range(args.single):
            for key, fld in fields.items():
                start, start_cpu = time.perf_counter(), time.thread_time()
                fld.impulse_response(em[i], li[i], hd[i])
                wall[key][i], cpu[key][i] = time.perf_counter() - start, time.thread_time() - start_cpu
    print(f"{args.single} single IRs each, one thread, interleaved; ms")
    print("| path | first p50 wall / CPU | first p99 CPU | second p50 wall / CPU | second p99 CPU "
          "| ratio p50 wall | ratio p50 CPU |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for fused in (True, False):
        a, b = ("first", fused), ("second", fused)
        p50 = {k: (1e3 * np.median(wall[k]), 1e3 * np.median(cpu[k])) for k in (a, b)}
        p99 = {k: 1e3 * np.percentile(cpu[k], 99) for k in (a, b)}
        print(f"| {'fused' if fused else 'module'} | {p50[a][0]:.2f} / {p50[a][1]:.2f} | {p99[a]:.2f} "
              f"| {p50[b][0]:.2f} / {p50[b][1]:.2f} | {p99[b]:.2f} | {p50[b][0] / p50[a][0]:.2f} "
              f"| {p50[b][1] / p50[a][1]:.2f} |")


if __name__ == "__main__":
    main()
