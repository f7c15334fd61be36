"""Off-grid listening metrics of a field with every IR cut at a given length, beside the full-length ones, with
bootstrap intervals: to compare today's fields with tables made when every IR was 0.6 s long.

The listening metrics are measured on the whole IR (docs/metrics.md): the envelope averages every 50 ms window
within 50 dB of the loudest, C50 and the late bias divide by the energy after 50 ms. So a field whose IRs last
2 s is scored on windows and energy a 0.6 s table never saw, and its figures cannot be read against that
table's. Cut both the played IR and the simulated one at the old length, without a fade (the simulations of
those tables ended there unfaded), and the metrics are the old ones again on the same kind of pairs.

    .venv/bin/python scripts/listening_cut.py --scene apartment_1 --offgrid 80 --cut 0.6

Scores `naf eval`'s off-grid set (the same draw and cache: `--offgrid N --seed K [--offgrid-rays R]`) with
the field's module path, as `naf eval` does, so the full-length rows equal its listening table. The second
simulation (another ray-tracer seed) is scored the same way. Intervals: 95 % bootstrap over pairs, each pair
with its 4 headings (--resamples, seed 0).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from naf_model.conventions import ORIENTATIONS_DEG, SAMPLE_RATE
from naf_model.data.offgrid import offgrid_set
from naf_model.data.reader import DataSet
from naf_model.errors import NafError
from naf_model.evaluation.listening import ListeningErrors, Measured, listening_errors, measure
from naf_model.field import NeuralAcousticField
from naf_model.field.listening import line_of_sight
from naf_model.scene.io import load_scene

COLUMNS = (("envelope", "Envelope (dB)", "{:.2f}", 1.0), ("level", "Level bias (dB)", "{:+.2f}", 1.0),
           ("late", "Late bias (dB)", "{:+.2f}", 1.0), ("c50", "C50 (dB)", "{:.2f}", 1.0),
           ("edt", "EDT (%)", "{:.1f}", 100.0), ("t60", "T60 (%)", "{:.1f}", 100.0))  # fmt: skip
CHUNK = 16
"""Items played per call of the field."""


def cut_errors(pred: np.ndarray, gt: np.ndarray, los: np.ndarray, samples: int | None,
               truth: Measured | None = None) -> ListeningErrors:
    """`listening_errors` of played `pred` against simulated `gt` (B, 2, N), both cut to their first `samples`
    (None: whole); `truth` the cut `gt` already measured (`measure`), so rows scored against it share it."""
    n = pred.shape[-1] if samples is None else samples
    return listening_errors(pred[..., :n], gt[..., :n], los, truth)


def per_pair(errors: ListeningErrors, headings: int) -> dict[str, np.ndarray]:
    """Each column's item values (B,) averaged over each pair's `headings` consecutive items, (P,)."""
    return {name: getattr(errors, name).reshape(-1, headings).mean(1) for name, *_ in COLUMNS}


def bootstrap(values: np.ndarray, resamples: int, seed: int = 0) -> tuple[float, float]:
    """95 % interval of the mean of `values` (P,) over `resamples` resamples of the pairs."""
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), (resamples, len(values)))].mean(1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def table(rows: dict[str, dict[str, np.ndarray]], resamples: int) -> str:
    """Markdown rows: each column's mean and interval."""
    head = "| Played IR | " + " | ".join(title for _, title, _, _ in COLUMNS) + " |"
    lines = [head, "|---|" + "---:|" * len(COLUMNS)]
    for label, values in rows.items():
        cells = []
        for name, _, fmt, scale in COLUMNS:
            lo, hi = bootstrap(values[name], resamples)
            cells.append(f"{fmt.format(scale * values[name].mean())} [{fmt.format(scale * lo)}, "
                         f"{fmt.format(scale * hi)}]")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scene", required=True, help="bundled scene name or scene file")
    parser.add_argument("--checkpoint", type=Path, help="field (default assets/checkpoints/<scene>.pt)")
    parser.add_argument("--data", type=Path, help="the field's grid data set (default data/<scene>.h5)")
    parser.add_argument("--offgrid", type=int, default=80, help="off-grid pairs, as naf eval --offgrid")
    parser.add_argument("--seed", type=int, default=0, help="the off-grid draw, as naf eval --seed")
    parser.add_argument("--offgrid-rays", type=int, help="rays of the off-grid simulations, as naf eval")
    parser.add_argument("--cut", type=float, action="append", help="seconds to cut every IR at (repeatable; "
                        "default 0.6)")
    parser.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples")
    args = parser.parse_args()
    cuts = args.cut or [0.6]
    if args.offgrid < 1 or args.resamples < 10 or min(cuts) < 0.1:
        print("error: --offgrid must be at least 1, --resamples at least 10 and every --cut at least 0.1 s")
        return 2
    try:
        scene = load_scene(args.scene)
        checkpoint = args.checkpoint or Path("assets/checkpoints") / f"{scene.name}.pt"
        data = args.data or Path("data") / f"{scene.name}.h5"
        for path, what in ((checkpoint, "field"), (data, "data set")):
            if not path.is_file():
                print(f"error: no {what} at {path}")
                return 2
        torch.set_num_threads(1)
        dataset = DataSet(data)
        field = NeuralAcousticField.load(checkpoint, device="cpu", scene=scene, fused=False)
        offgrid = offgrid_set(dataset, scene, args.offgrid, seed=args.seed, rays=args.offgrid_rays)
    except NafError as exc:
        print(f"error: {exc}")
        return 2
    headings = len(ORIENTATIONS_DEG)
    e, li = np.repeat(offgrid.emitters, headings, 0), np.repeat(offgrid.listeners, headings, 0)
    h = np.tile(np.asarray(ORIENTATIONS_DEG, np.float64), len(offgrid.emitters))
    n = offgrid.irs.shape[-1]
    gt = offgrid.irs.reshape(-1, 2, n)
    floor = offgrid.floor_irs.reshape(-1, 2, n)
    played = np.concatenate([field.impulse_responses(e[i : i + CHUNK], li[i : i + CHUNK], h[i : i + CHUNK])
                             for i in tqdm(range(0, len(e), CHUNK), desc="playing the field", unit="chunk")])
    los = line_of_sight(scene.free_space, e, li)
    print(f"{scene.name}: {len(offgrid)} off-grid pairs x {headings} headings (seed {args.seed}, "
          f"{offgrid.n_rays} rays), IRs {n / SAMPLE_RATE:.2f} s; field {checkpoint}")
    for seconds in [None, *sorted(cuts)]:
        samples = None if seconds is None else min(n, int(round(seconds * SAMPLE_RATE)))
        where = "whole IR" if samples is None else f"cut at {seconds:g} s"
        truth = measure(gt[..., : n if samples is None else samples])  # once for both rows
        rows = {f"field, {where}": per_pair(cut_errors(played, gt, los, samples, truth), headings),
                f"second simulation, {where}": per_pair(cut_errors(floor, gt, los, samples, truth), headings)}
        print()
        print(table(rows, args.resamples))
    return 0


if __name__ == "__main__":
    sys.exit(main())
