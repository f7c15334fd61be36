"""How many rays does an off-grid reference need? The ray tracer's late histogram is a Monte-Carlo estimate, so
two simulations of one pair differ in their tails; this measures by how much at each ray count, and what that
does to a field's listening scores.

    .venv/bin/python scripts/reference_rays.py --scene apartment_2 --groups 10 --rays 3000 12000 48000

Takes the first --groups emitter groups (4 listeners each) of the data set's off-grid test set (`naf eval
--offgrid N --seed S` draws the same pairs), simulates each twice at every ray count with the two seeds `naf
eval` gives its reference and second simulation, plays the fields at the same pairs x 4 orientations, and
prints per source (rows) and per truth (columns: the simulations at one ray count) the mean envelope (dB),
C50 (dB), EDT (%) and late bias (dB) of the listening metrics. A simulation against the other seed of its own
ray count is that count's floor; against more rays, what its noise costs. Runs that `naf eval --offgrid N
[--offgrid-rays R]` has cached for the same set are read from its cache; nothing is written.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import numpy as np
from tqdm import tqdm

from naf_model.data import DataSet, offgrid
from naf_model.data.resimulated import simulate_jobs
from naf_model.errors import NafError
from naf_model.evaluation.listening import Measured, listening_errors, measure
from naf_model.field import NeuralAcousticField
from naf_model.field.listening import line_of_sight
from naf_model.paths import default_checkpoint, default_dataset_path
from naf_model.scene.io import load_scene
from naf_model.simulate import SimulationConfig

RUNS = (0, offgrid.FLOOR_RUN)
"""The simulation indices `naf eval` seeds its reference and its second simulation with."""


def simulations(
    ds: DataSet, scene, pairs: tuple[np.ndarray, np.ndarray], groups: int, rays: list[int], seed: int,
    workers: int | None, n_offgrid: int | None = None, min_grid_distance: float = offgrid.MIN_GRID_DISTANCE_M,
) -> dict[tuple[int, int], np.ndarray]:
    """(ray count, run) -> IRs (groups * 4 pairs * 4 orientations, 2, N) float32 of the first `groups` groups of
    `pairs`; with `n_offgrid` (the size of the off-grid set they were drawn as), groups that `naf eval`'s cache
    of that set and ray count already holds are read from it (float16, as `naf eval` scores them)."""
    base = SimulationConfig.from_json(ds.meta.simulation)
    emitters, listeners = pairs
    parts: dict[tuple[int, int, int], np.ndarray] = {}
    jobs = []
    for r in rays:
        cached = None if n_offgrid is None else offgrid.cached_runs(ds, scene, n_offgrid, seed, r, min_grid_distance)
        for g in range(groups):
            rows = np.arange(g * offgrid.PAIRS_PER_EMITTER, (g + 1) * offgrid.PAIRS_PER_EMITTER)
            if cached is not None and cached[2][rows].all():
                parts |= {(g, r, run): irs[rows] for run, irs in zip(RUNS, cached[:2], strict=True)}
                continue
            for run in RUNS:
                config = dataclasses.replace(base, n_rays=r, seed=offgrid.simulation_seed(ds.meta.seed, seed, g, run))
                jobs.append(((g, r, run), emitters[rows[0]], listeners[rows], config))
    if len(parts):
        print(f"reference_rays: {len(parts)} of {len(parts) + len(jobs)} simulations read from naf eval's "
              "off-grid caches", file=sys.stderr)
    for tag, irs in tqdm(simulate_jobs(scene, jobs, workers), total=len(jobs), unit="simulation",
                         desc="reference_rays: simulations"):  # fmt: skip
        parts[tag] = irs.astype(np.float32)
    return {(r, run): np.concatenate([parts[(g, r, run)] for g in range(groups)]).reshape((-1, 2, ds.meta.ir_length))
            for r in rays for run in RUNS}  # fmt: skip


def scores(pred: np.ndarray, truth: np.ndarray, los: np.ndarray, truth_measured: Measured | None = None) -> np.ndarray:
    """Mean envelope dB, C50 dB, EDT %, late bias dB of played `pred` against simulated `truth` (whose
    `listening.measure` may be given, measured once for every source scored against it)."""
    e = listening_errors(pred, truth, los, truth_measured)
    return np.array([e.envelope.mean(), e.c50.mean(), 100 * e.edt.mean(), e.late.mean()])


def table(sims: dict[tuple[int, int], np.ndarray], fields: dict[str, np.ndarray], los: np.ndarray) -> str:
    """Markdown: a row per source, a column per truth ray count (the mean over that count's two runs, a
    simulation never against itself)."""
    rays = sorted({r for r, _ in sims})
    head = "| source | " + " | ".join(f"truth: {r:,} rays" for r in rays) + " |"
    lines = [head, "|---" + "|---:" * len(rays) + "|"]
    sources = [(f"simulation, {r:,} rays", [sims[(r, run)] for run in RUNS], r) for r in rays]
    sources += [(name, [irs], None) for name, irs in fields.items()]
    measured = {key: measure(irs) for key, irs in sims.items()}
    for name, preds, own in sources:
        cells = []
        for r in rays:
            pairs = [(i, run) for i in range(len(preds)) for run in RUNS if not (own == r and RUNS[i] == run)]
            s = np.mean([scores(preds[i], sims[(r, run)], los, measured[(r, run)]) for i, run in pairs], axis=0)
            cells.append(f"{s[0]:.2f} / {s[1]:.2f} / {s[2]:.1f} % / {s[3]:+.2f}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n\nCells: envelope dB / C50 dB / EDT % / late bias dB (source minus truth)."


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scene", required=True, help="bundled scene name or scene file")
    parser.add_argument("--data", type=Path, help="data set (default data/<scene>.h5)")
    parser.add_argument("--checkpoint", type=Path, action="append", default=[],
                        help="field to score too (repeatable; default: the scene's bundled field)")
    parser.add_argument("--offgrid", type=int, default=40, metavar="N", help="the off-grid set's size (default 40)")
    parser.add_argument("--seed", type=int, default=0, help="the off-grid set's seed (default 0)")
    parser.add_argument("--groups", type=int, default=10, help="emitter groups of 4 pairs simulated (default 10)")
    parser.add_argument("--rays", type=int, nargs="+", default=[3000, 12000, 48000],
                        help="ray counts (default 3000 12000 48000)")
    parser.add_argument("--workers", type=int, default=None, help="simulation processes (default: every core)")
    args = parser.parse_args(argv)
    try:
        if args.groups < 1 or args.offgrid < 1 or min(args.rays) < 10:
            raise NafError("--groups and --offgrid must be at least 1, every --rays at least 10")
        if args.groups * offgrid.PAIRS_PER_EMITTER > args.offgrid:
            least = args.groups * offgrid.PAIRS_PER_EMITTER
            raise NafError(f"--groups {args.groups} needs --offgrid of at least {least}")
        scene = load_scene(args.scene)
        checkpoints = args.checkpoint or [default_checkpoint(scene.name)]
        with DataSet(args.data or default_dataset_path(scene.name)) as ds:
            ds.check_scene(scene)
            fields = {str(c): NeuralAcousticField.load(c, device="cpu", scene=scene) for c in checkpoints}
            pairs = offgrid.draw_offgrid_pairs(scene, np.concatenate([ds.emitters, ds.listeners]), args.offgrid,
                                               args.seed)  # fmt: skip
            n = args.groups * offgrid.PAIRS_PER_EMITTER
            heads = ds.orientations.astype(np.float64)
            ie, il = np.repeat(pairs[0][:n], len(heads), 0), np.repeat(pairs[1][:n], len(heads), 0)
            ih = np.tile(heads, n)
            sims = simulations(ds, scene, (pairs[0][:n], pairs[1][:n]), args.groups, sorted(set(args.rays)),
                               args.seed, args.workers, args.offgrid)  # fmt: skip
        length = min(v.shape[-1] for v in sims.values())
        played = {name: np.concatenate([f.impulse_responses(ie[i:i + 64], il[i:i + 64], ih[i:i + 64])
                                        for i in range(0, len(ie), 64)])[..., :length]
                  for name, f in fields.items()}  # fmt: skip
        los = line_of_sight(scene.free_space, ie, il)
        print(f"{scene.name}: {n} off-grid pairs x {len(heads)} orientations (set of {args.offgrid}, seed "
              f"{args.seed}), each simulated twice per ray count\n")
        print(table({k: v[..., :length] for k, v in sims.items()}, played, los))
    except NafError as exc:
        print(f"reference_rays: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
