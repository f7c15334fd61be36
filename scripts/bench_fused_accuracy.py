"""How far the fused path's spectrograms lie from the module path's, per bundled field.

The mean over an item's values of |fused - module| (log-magnitudes) bounds how much the paper's spectral error of
that item (a mean |prediction - truth|) can move between the paths (triangle inequality), without a data set.
Random pairs on the 0.25 m grid, seeded; prints the mean and largest per-item bound and the largest element.

    python scripts/bench_fused_accuracy.py [--pairs 512] [--scene apartment_1 ...]
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=512, help="random pairs per scene (default 512)")
    parser.add_argument("--scene", nargs="+", default=["apartment_1", "apartment_2", "small_house"],
                        help="bundled scenes (default: all three)")
    args = parser.parse_args(argv)
    if args.pairs < 1:
        parser.error("--pairs must be at least 1")
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
    for name in args.scene:
        diff = per_item_difference(name, args.pairs)
        item = diff.mean(1)
        print(f"{name}: per-item mean |fused - module| {item.mean():.2e} (largest {item.max():.2e}); "
              f"largest element {diff.max():.2e}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
