"""What one heatmap costs at a given cell size: the played energy of every free cell for one emitter, then the
three fast maps (loudness, C50, T60), on one thread; cells, wall and thread CPU seconds, and the process's peak
memory before and after (run one spacing per process for a clean peak).

    .venv/bin/python scripts/bench_map_spacing.py --scene cathedral --checkpoint runs/cathedral/shipped/best.pt \\
        --emitter 38 9 --spacing 0.5
"""

from __future__ import annotations

import argparse
import resource
import sys
import time

from naf_model.errors import NafError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scene", required=True, help="bundled scene name or scene file")
    parser.add_argument("--checkpoint", required=True, help="field checkpoint")
    parser.add_argument("--emitter", type=float, nargs=2, required=True, metavar=("X", "Y"), help="metres")
    parser.add_argument("--spacing", type=float, default=None, help="cell size in m (default: the app's)")
    args = parser.parse_args(argv)
    import torch

    from naf_model import analysis
    from naf_model.field import NeuralAcousticField
    from naf_model.scene.io import load_scene

    torch.set_num_threads(1)
    try:
        scene = load_scene(args.scene)
        field = NeuralAcousticField.load(args.checkpoint, device="cpu", scene=scene)
    except NafError as exc:
        print(f"bench_map_spacing: {exc}", file=sys.stderr)
        return 2
    spacing = args.spacing or analysis.map_spacing(scene.free_space.area)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    wall, cpu = time.perf_counter(), time.thread_time()
    plan = analysis.plan_energy(field, scene, tuple(args.emitter), 0.0, spacing)
    times = {"played energy": (time.perf_counter() - wall, time.thread_time() - cpu)}
    for metric in analysis.FAST_METRICS:
        wall, cpu = time.perf_counter(), time.thread_time()
        analysis.fast_metric_map(plan, metric, None)
        times[metric] = (time.perf_counter() - wall, time.thread_time() - cpu)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{scene.name} at {spacing:g} m: {len(plan.listeners):,} cells; "
          + "; ".join(f"{k} {w:.2f} s wall / {c:.2f} s CPU" for k, (w, c) in times.items())
          + f"; peak memory {before:.0f} -> {after:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
