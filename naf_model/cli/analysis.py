"""`naf loudness`, `naf tsne`, `naf probe`: what a trained field predicts and has learned, as PNG figures.

naf loudness --scene apartment_1 --emitter 2.0 3.0 --heading 90 -o map.png
naf tsne --scene apartment_1 -o tsne.png
naf probe --scene apartment_1 -o docs/results/apartment_1_probe.png --json docs/results/apartment_1_probe.json
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from naf_model.cli import options, validate

COMMANDS = (
    (
        "loudness",
        "loudness heatmap over the floor plan for one emitter (PNG)",
        "Predicted loudness (dB re the map maximum) at every free cell of a grid, for a fixed "
        "emitter and listener head orientation, drawn under the floor plan.",
    ),
    (
        "tsne",
        "t-SNE of the field's features at a grid of emitters, as colours on the plan (PNG)",
        "Network features at each emitter position (averaged over probe listeners and the four "
        "orientations), reduced to 3-D by t-SNE and shown as RGB on the floor plan (NAF paper, Fig. 6).",
    ),
    (
        "probe",
        "linear probe of scene structure in the field's features, on spatially held-out blocks (PNG, JSON)",
        "Every free cell of a fine grid; five feature sets (position embedding, learned grid, network "
        "activations, and the grid and activations of an untrained network); three targets from the geometry "
        "(distance to the nearest wall, free distance along 8 directions, room); ridge read-outs scored by "
        "spatial block cross-validation with bootstrap 95 % intervals over blocks; 2-D t-SNE of each feature "
        "set with the k-NN room accuracy in it.",
    ),
)
"""(name, help, description) of each analysis subcommand."""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the three analysis subcommands."""
    own_args = {"loudness": _loudness_args, "tsne": _feature_args, "probe": _probe_args}
    runners = {"loudness": run_loudness, "tsne": run_tsne, "probe": run_probe}
    for name, help_text, description in COMMANDS:
        p = subparsers.add_parser(name, help=help_text, description=description)
        _common(p, f"{name}.png")
        own_args[name](p)
        _declare(p, json=name == "probe")
        p.set_defaults(func=runners[name])


def _loudness_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--emitter", nargs=2, type=validate.coordinate, required=True, metavar=("X", "Y"), help="metres")
    p.add_argument("--heading", type=validate.heading, default=0.0, help="listener heading, degrees CCW from +x")
    p.add_argument("--spacing", type=validate.spacing(), default=0.25, help="grid spacing in metres (default 0.25)")


def _probe_args(p: argparse.ArgumentParser) -> None:
    _feature_args(p, default_spacing=0.25)
    p.add_argument("--block", type=validate.number(float, low=0.1, high=1000.0, unit=" m"), default=2.0,
                   help="side of the square blocks held out together, metres (default 2)")
    p.add_argument("--folds", type=validate.number(int, low=2, high=50), default=5,
                   help="cross-validation folds over blocks (default 5)")
    p.add_argument("--resamples", type=validate.number(int, low=100, high=100_000), default=2000,
                   help="bootstrap draws of the blocks (default 2000)")
    p.add_argument("--no-tsne", action="store_true", help="skip the t-SNE maps and their room accuracy")
    p.add_argument("--json", type=Path, default=None, help="also write the scores as JSON here")


def _common(p: argparse.ArgumentParser, default_out: str) -> None:
    options.add_scene(p, "bundled scene name or scene file")
    p.add_argument(
        "--checkpoint",
        type=Path,
        default=None,
        help="field checkpoint (default: the bundled one, else the newest best.pt under runs/<scene>/)",
    )
    options.add_device(p)
    p.add_argument("-o", "--output", type=Path, default=Path(default_out), help="PNG to write")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    validate.add_force(p)


def _declare(p: argparse.ArgumentParser, json: bool = False) -> None:
    outputs = {"output": validate.Output((".png",))}
    if json:
        outputs["json"] = validate.Output((".json",))
    validate.declare_io(p, outputs=outputs, inputs=("scene", "checkpoint"), devices=("device",))


def _feature_args(p: argparse.ArgumentParser, default_spacing: float = 0.5) -> None:
    p.add_argument("--spacing", type=validate.spacing(), default=default_spacing,
                   help=f"emitter grid spacing in metres (default {default_spacing:g})")
    p.add_argument(
        "--probes",
        type=validate.number(int, low=1, high=100_000),
        default=64,
        help="probe listeners the features are averaged over",
    )
    options.add_seed(p, "seed for probe listeners, t-SNE and the split")


def load_field(scene_arg: str, checkpoint: Path | None, device: str) -> tuple[Any, Any, Path]:
    """The scene, its field and the checkpoint path (`default_checkpoint` unless one is given)."""
    from naf_model.field import NeuralAcousticField
    from naf_model.paths import default_checkpoint
    from naf_model.scene import load_scene

    scene = load_scene(scene_arg)
    path = Path(checkpoint) if checkpoint is not None else default_checkpoint(scene.name)
    return scene, NeuralAcousticField.load(path, device=device, scene=scene), path


@contextmanager
def _progress(desc: str, disabled: bool) -> Iterator[Callable[[int, int], None]]:
    """A progress(done, total) callback driving a tqdm bar."""
    from tqdm import tqdm

    bar = tqdm(desc=desc, unit="pos", disable=disabled, dynamic_ncols=True, leave=False)

    def update(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)

    try:
        yield update
    finally:
        bar.close()


def run_loudness(args: argparse.Namespace) -> int:
    """`naf loudness`: compute the map, write the PNG, print a one-line summary."""
    import numpy as np

    from naf_model.analysis import loudness_map, save_loudness_png

    scene, field, _ = load_field(args.scene, args.checkpoint, args.device)
    t0 = time.perf_counter()
    with _progress("loudness", args.no_progress) as progress:
        lm = loudness_map(field, scene, args.emitter, args.heading, args.spacing, progress=progress)
    seconds = time.perf_counter() - t0
    save_loudness_png(scene, lm, args.output)
    finite = lm.db[np.isfinite(lm.db)]
    print(
        f"wrote {args.output}: {finite.size:,} free cells at {args.spacing:g} m in {seconds:.2f} s "
        f"on {field.device}; loudness {finite.min():.1f} to 0.0 dB re maximum"
    )
    return 0


def run_tsne(args: argparse.Namespace) -> int:
    """`naf tsne`: features -> t-SNE -> PNG."""
    from naf_model.analysis import feature_tsne, save_tsne_png

    scene, field, _ = load_field(args.scene, args.checkpoint, args.device)
    t0 = time.perf_counter()
    with _progress("features", args.no_progress) as progress:
        tm = feature_tsne(field, scene, args.spacing, args.probes, args.seed, progress=progress)
    save_tsne_png(scene, tm, args.output)
    print(f"wrote {args.output}: {len(tm.positions)} emitters, {time.perf_counter() - t0:.1f} s")
    return 0


def run_probe(args: argparse.Namespace) -> int:
    """`naf probe`: features -> structure probe (+ t-SNE) -> PNG (+ JSON); prints the main scores."""
    import hashlib

    from naf_model.analysis import probe_report, save_probe_png, tsne_summary
    from naf_model.paths import project_path

    scene, field, path = load_field(args.scene, args.checkpoint, args.device)
    t0 = time.perf_counter()
    with _progress("features", args.no_progress) as progress:
        probe, maps = probe_report(field, scene, args.spacing, args.probes, args.seed, args.block, args.folds,
                                   args.resamples, with_tsne=not args.no_tsne, progress=progress)
    seconds = time.perf_counter() - t0
    save_probe_png(scene, probe, args.output, maps)
    summary = {"scene": scene.name, "checkpoint": project_path(path),
               "checkpoint_sha256": hashlib.sha256(Path(path).read_bytes()).hexdigest(), "preset": field.preset}
    summary.update(probe.to_dict())
    if maps:
        summary["tsne_knn_room_accuracy"] = tsne_summary(maps)
    summary["seconds"] = round(seconds, 1)
    if args.json is not None:
        write_json(args.json, summary)
    line = ", ".join(
        f"{t} {probe.score(t, 'hidden').value:.3f} (untrained {probe.score(t, 'hidden_untrained').value:.3f})"
        for t in ("wall", "depth", "room")
    )
    print(f"wrote {args.output}: {len(probe.positions)} cells in {seconds:.0f} s; held-out scores of the "
          f"network's activations: {line}; room chance {probe.chance.value:.3f}")
    return 0


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write indented JSON atomically (`naf_model.atomic`)."""
    from naf_model.atomic import write_atomic

    write_atomic(path, json.dumps(data, indent=2) + "\n")
