"""How far the fused path's spectrograms lie from the module path's, per bundled field.

The mean over an item's values of |fused - module| (log-magnitudes) bounds how much the paper's spectral error of
that item (a mean |prediction - truth|) can move between the paths (triangle inequality), without a data set.
Random pairs on the 0.25 m grid, seeded; prints the mean and largest per-item bound and the largest element.

With `--data`, the paper's metrics themselves (spectral, T60, C50, EDT; the paper's route and naf's, as the
field rows of `naf eval`, which scores the module path) of both paths on the data set's held-out test pairs
(the `naf eval` subset of --max-pairs, seed 0), each with its bootstrap 95 % interval over pairs, and the paired
difference fused - module with its interval: whether the float16 basis moves the published figures.

    python scripts/bench_fused_accuracy.py [--pairs 512] [--scene apartment_1 ...]
    python scripts/bench_fused_accuracy.py --scene cathedral --data data/cathedral.h5 [--max-pairs 100]
"""

from __future__ import annotations

import argparse

import numpy as np

BATCH = 64


def per_item_difference(scene_name: str, pairs: int, seed: int = 0) -> np.ndarray:
    """(pairs, values) |fused - module| of the bundled field of `scene_name` at seeded random grid pairs."""
    from naf_model.field import NeuralAcousticField
    from naf_model.paths import bundled_checkpoint
    from naf_model.scene import load_scene

    scene = load_scene(scene_name)
    path = bundled_checkpoint(scene_name)
    fused = NeuralAcousticField.load(path, device="cpu", scene=scene, fused=True)
    module = NeuralAcousticField.load(path, device="cpu", scene=scene, fused=False)
    grid = scene.sample_grid(0.25)
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(grid), (pairs, 2))
    headings = rng.uniform(0.0, 360.0, pairs)
    out = []
    for start in range(0, pairs, BATCH):
        part = slice(start, start + BATCH)
        args = (grid[pick[part, 0]], grid[pick[part, 1]], headings[part])
        diff = np.abs(fused.query_batch(*args) - module.query_batch(*args))
        out.append(diff.reshape(len(diff), -1))
    return np.concatenate(out)


def paper_metrics(scene_name: str, data: str, max_pairs: int, seed: int = 0, checkpoint: str | None = None
                  ) -> list[str]:
    """Markdown lines: per route (paper's, naf's) and metric, fused and module means with their intervals and
    the paired difference fused - module with its interval, on `naf eval`'s held-out subset of `data`, for the
    scene's bundled field or `checkpoint`."""
    from naf_model.data import DataSet
    from naf_model.evaluation import bootstrap, report, rows
    from naf_model.evaluation.pipeline import FieldSource, Row, score_rows
    from naf_model.evaluation.runner import per_pair_errors
    from naf_model.evaluation.tables import grid_queries
    from naf_model.field import NeuralAcousticField
    from naf_model.paths import bundled_checkpoint
    from naf_model.scene import load_scene

    scene = load_scene(scene_name)
    path = bundled_checkpoint(scene_name) if checkpoint is None else checkpoint
    with DataSet(data) as ds:
        test_all = ds.indices("test")
        test = np.sort(np.random.default_rng(seed).choice(test_all, min(max_pairs, len(test_all)), replace=False))
        queries = grid_queries(ds, test)
    fields = {name: NeuralAcousticField.load(path, device="cpu", scene=scene, fused=fused)
              for name, fused in (("fused", True), ("module", False))}  # fmt: skip
    sources = {name: FieldSource(f, queries, "listening") for name, f in fields.items()}
    scorers = {"paper": rows.paper_field_scorer(queries), "naf": rows.naf_scorer(queries, seed)}
    plan = [Row((route, name), sources[name], scorers[route]) for route in scorers for name in sources]
    scored = {s.key: s.errors for s in score_rows(queries, plan)}
    draws = bootstrap.resample_indices(len(test), bootstrap.RESAMPLES, bootstrap.SEED)
    out = [f"{scene.name}: {len(test)} held-out test pairs x {queries.n_orient} orientations of {data}",
           "| route | metric | fused [95 % interval] | module [95 % interval] | fused - module [95 % interval] |",
           "|---|---|---|---|---|"]
    for route in scorers:
        for key in report.METRICS:
            a, b = (per_pair_errors(scored[(route, name)], key, queries.n_orient) for name in ("fused", "module"))
            comp = bootstrap.paired_comparison(key, "fused", a, "module", b, draws)
            lo_a, hi_a = bootstrap.mean_interval(a, draws)
            lo_b, hi_b = bootstrap.mean_interval(b, draws)
            lo_d, hi_d = comp.mean_diff_ci
            out.append(f"| {route} | {key} | {a.mean():.4f} [{lo_a:.4f}, {hi_a:.4f}] | {b.mean():.4f} [{lo_b:.4f}, "
                       f"{hi_b:.4f}] | {comp.mean_diff:+.2e} [{lo_d:+.2e}, {hi_d:+.2e}] |")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=512, help="random pairs per scene (default 512)")
    parser.add_argument("--scene", nargs="+", default=["apartment_1", "apartment_2", "small_house"],
                        help="bundled scenes (default: the three flats)")
    parser.add_argument("--data", help="a data set of the (one) scene: also the paper's metrics of both paths on "
                        "its held-out test pairs, with intervals")
    parser.add_argument("--max-pairs", type=int, default=100, help="held-out pairs with --data (default 100)")
    args = parser.parse_args(argv)
    if args.pairs < 1 or args.max_pairs < 1:
        parser.error("--pairs and --max-pairs must be at least 1")
    if args.data is not None and len(args.scene) != 1:
        parser.error("--data belongs to one scene: give one --scene")
    from naf_model.errors import NafError
    from naf_model.paths import bundled_checkpoint
    from naf_model.scene import load_scene

    for name in args.scene:  # every scene and its field checked before any work
        try:
            load_scene(name)
            if not bundled_checkpoint(name).is_file():
                raise NafError(f"scene {name!r} has no shipped field")
        except NafError as exc:
            print(f"bench_fused_accuracy: {exc}")
            return 2
    if args.data is not None:
        from naf_model.data import DataSet

        try:
            with DataSet(args.data) as ds:
                ds.check_scene(load_scene(args.scene[0]))
                if len(ds.indices("test")) == 0:
                    raise NafError(f"{args.data} has no held-out test pairs")
        except NafError as exc:
            print(f"bench_fused_accuracy: {exc}")
            return 2
    for name in args.scene:
        diff = per_item_difference(name, args.pairs)
        item = diff.mean(1)
        print(f"{name}: per-item mean |fused - module| {item.mean():.2e} (largest {item.max():.2e}); "
              f"largest element {diff.max():.2e}")
    if args.data is not None:
        print("\n".join(paper_metrics(args.scene[0], args.data, args.max_pairs)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
