"""Peak memory and speed of training in memory against streamed from disk (`naf train --memory-budget`).

    python scripts/bench_streamed.py [--data tiny.h5] [--repeat 40] [--steps 60] [--budgets 4GB,200MB,20MB]

Builds a large data set by repeating the pairs of a small one `--repeat` times (written as `naf data make`
writes: one gzip chunk per pair), then trains a small amortised network for `--steps` steps under each budget,
each in a child process on one thread, and prints a markdown table: where the data lived, peak RSS, samples/s
and the final loss (the same for every budget: the batches do not depend on where the rows live). Without
--data a small two-room data set is simulated into a temporary folder first.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import h5py
import numpy as np

REPO = Path(__file__).resolve().parents[1]

CHILD = """
import dataclasses, json, resource, sys
from pathlib import Path
import torch
from naf_model.networks.presets import GridConfig, preset
from naf_model.training.train import RunOptions, train_field
data, out, budget, steps = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
torch.set_num_threads(1)
base = preset("fast")
config = dataclasses.replace(base, network=dataclasses.replace(base.network, depth=4, width=64, n_basis=16),
                             grid=GridConfig(spacing=0.5, dim=8),
                             train=dataclasses.replace(base.train, steps=steps, eval_every=steps, irs_per_step=8))
r = train_field(config, RunOptions(data, out, device="cpu", seed=1, progress=False, memory_budget=budget))
print(json.dumps({"rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "samples_per_s": r.metrics["samples_per_s"], "loss": r.metrics["train_loss"]}))
"""


def repeated(source: Path, target: Path, times: int) -> Path:
    """`source`'s pairs `times` over (positions, stats and attributes kept; no waveforms): a large data set."""
    with h5py.File(source, "r") as f, h5py.File(target, "w") as g:
        g.attrs.update(dict(f.attrs))
        for name in ("emitters", "listeners", "orientations", "stats/mean", "stats/std", "stats/late_mean",
                     "stats/late_std"):
            g.create_dataset(name, data=f[name][()])
        g.create_dataset("pairs", data=np.tile(f["pairs"][()], (times, 1)))
        g.create_dataset("split", data=np.tile(f["split"][()], times))
        n = f["pairs"].shape[0] * times
        g.create_dataset("has_ir", data=np.zeros(n, f["has_ir"].dtype))
        for name in ("ir", "spec", "late"):
            shape = f[name].shape[1:]
            out = g.create_dataset(name, (n,) + shape, np.float16, chunks=(1,) + shape, compression="gzip",
                                   compression_opts=1, shuffle=True)
            if name != "ir":
                rows = f[name][()]
                for k in range(times):
                    out[k * len(rows) : (k + 1) * len(rows)] = rows
    return target


def small_data_set(folder: Path) -> Path:
    """A small two-room data set (0.15 s IRs, few rays)."""
    from naf_model.data import DataConfig, make_dataset
    from naf_model.scene.examples import two_room_scene
    from naf_model.simulate import SimulationConfig

    config = DataConfig(listener_spacing=0.4, emitter_spacing=0.9, listeners_per_emitter=24, test_fraction=0.15,
                        seed=1, simulation=SimulationConfig(ir_seconds=0.15, n_rays=200))
    return make_dataset(two_room_scene(), config, folder / "two_room.h5", workers=1, progress=False)


def main() -> None:
    from naf_model.cli.validate import byte_size

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="the small data set to repeat (default: simulate one)")
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--budgets", default="4GB,200MB,20MB")
    args = parser.parse_args()
    budgets = [byte_size(10**6, 10**15)(b) for b in args.budgets.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        data = repeated(args.data or small_data_set(folder), folder / "large.h5", args.repeat)
        print(f"{data.stat().st_size / 1e6:,.0f} MB on disk, {args.repeat} x the pairs\n")
        print("| budget | training data | peak RSS MB | samples/s | final loss |\n|---|---|---|---|---|")
        for budget in budgets:
            proc = subprocess.run([sys.executable, "-c", CHILD, str(data), str(folder / f"run{budget}"), str(budget),
                                   str(args.steps)], capture_output=True, text=True, cwd=REPO, check=True)
            note = next(line for line in proc.stdout.splitlines() if line.startswith("naf: training data"))
            row = json.loads(proc.stdout.splitlines()[-1])
            print(f"| {budget / 1e6:,.0f} MB | {note.split(', ', 2)[2]} | {row['rss_mb']:,.0f} | "
                  f"{row['samples_per_s']:.0f} | {row['loss']:.6f} |")


if __name__ == "__main__":
    main()
