"""How much does a field lose when it is trained on fewer emitters or fewer listeners per emitter? The
sampling-density curve behind a big scene's recipe (docs/results/recipes.md): the same data set, the same
steps and seed, trained on seeded nested subsets of its training pairs (`emitter_fraction`,
`listener_fraction`), each scored on the full validation split, early part (spectral error) and late part
(band-energy error, dB) apart.

    .venv/bin/python scripts/density_curve.py --scene cathedral --steps 4000 --out runs/cathedral/density \\
        --points 1,1 0.5,1 0.25,1 1,0.5 1,0.25

Each point is one `naf train` run in <out>/e<fe>_l<fl>/ (an interrupted run resumes; a finished one is read
again); the table (<out>/density.md, .json) and the plot (<out>/density.png) are written when every point is
done. Runs one point at a time, on --threads threads.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from naf_model.atomic import atomic_path, write_atomic
from naf_model.data import DataSet
from naf_model.errors import NafError
from naf_model.paths import default_dataset_path
from naf_model.scene.io import load_scene
from naf_model.training.trainset import thin_rows


def parse_point(text: str) -> tuple[float, float]:
    """'fe,fl' -> (emitter fraction, listener fraction), each in (0, 1]."""
    try:
        fe, fl = (float(x) for x in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"a point is EMITTER_FRACTION,LISTENER_FRACTION, not {text!r}") from None
    if not (0 < fe <= 1 and 0 < fl <= 1):
        raise argparse.ArgumentTypeError(f"fractions must be in (0, 1], not {text!r}")
    return fe, fl


def run_name(fe: float, fl: float) -> str:
    return f"e{fe:g}_l{fl:g}"


def train_point(args: argparse.Namespace, data: Path, fe: float, fl: float) -> Path:
    """Train (or resume, or just read) one point's run; its folder."""
    out = args.out / run_name(fe, fl)
    log = out / "log.jsonl"
    if log.is_file() and any(json.loads(line).get("step") == args.steps for line in log.read_text().splitlines()):
        return out
    naf = [sys.executable, "-c", "import sys; from naf_model.cli import main; sys.exit(main())"]
    command = [*naf, "train", "--scene", args.scene, "--data", str(data),
               "--preset", args.preset, "--steps", str(args.steps), "--threads", str(args.threads),
               "--seed", str(args.seed), "--out", str(out), "--no-progress",
               "--set", f"emitter_fraction={fe:g}", "--set", f"listener_fraction={fl:g}"]  # fmt: skip
    if (out / "checkpoint.pt").is_file():
        command.append("--resume")
    print(f"density: training {run_name(fe, fl)}: naf {' '.join(command[3:])}", file=sys.stderr, flush=True)
    subprocess.run(command, check=True)
    return out


def summarise(out: Path) -> dict:
    """The best validation step of a run (lowest spectral error, as best.pt) and its late error."""
    lines = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines() if line.strip()]
    best = min(lines, key=lambda m: m["validation_spectral_error"])
    return {"best_step": best["step"], "spectral": best["validation_spectral_error"],
            "late_db": best.get("validation_late_error_db"), "wall_s": lines[-1]["wall_s"]}  # fmt: skip


def write_outputs(args: argparse.Namespace, rows: list[dict], area: float, n_emitters: int) -> None:
    """density.json, density.md and density.png in --out."""
    write_atomic(args.out / "density.json", json.dumps({"scene": args.scene, "steps": args.steps,
                                                        "floor_m2": area, "rows": rows}, indent=1))  # fmt: skip
    head = ("| emitters kept | listeners per emitter kept | training pairs | emitters per 100 m2 | best step | "
            "validation spectral | validation late (dB) | wall |\n|---:|---:|---:|---:|---:|---:|---:|---:|\n")
    body = "".join(
        f"| {r['emitter_fraction']:g} | {r['listener_fraction']:g} | {r['train_pairs']:,} | "
        f"{100 * r['emitters'] / area:.1f} | {r['best_step']} | {r['spectral']:.4f} | "
        f"{r['late_db']:.2f} | {r['wall_s'] / 60:.1f} min |\n"
        for r in rows
    )
    write_atomic(args.out / "density.md", f"Scene {args.scene}, {args.steps} steps, preset {args.preset}, "
                 f"{n_emitters} emitters over {area:.0f} m2 of floor.\n\n{head}{body}")  # fmt: skip

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for (key, label), ax in zip((("spectral", "early part: spectral error"), ("late_db", "late part: error (dB)")),
                                axes, strict=True):  # fmt: skip
        for which, marker in (("emitters", "o-"), ("listeners", "s--")):
            pts = sorted((r["train_pairs"], r[key]) for r in rows
                         if (which == "emitters" and r["listener_fraction"] == 1)
                         or (which == "listeners" and r["emitter_fraction"] == 1))  # fmt: skip
            if pts:
                ax.plot(*zip(*pts, strict=True), marker, label=f"fewer {which}")
        ax.set_xlabel("training pairs")
        ax.set_title(label)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(f"{args.scene}: validation error against training density ({args.steps} steps)")
    fig.tight_layout()
    with atomic_path(args.out / "density.png") as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scene", required=True, help="bundled scene name or scene file")
    parser.add_argument("--data", type=Path, help="data set (default data/<scene>.h5)")
    parser.add_argument("--points", type=parse_point, nargs="+", default=[(1, 1), (0.5, 1), (0.25, 1), (1, 0.5),
                                                                         (1, 0.25)],  # fmt: skip
                        help="EMITTER_FRACTION,LISTENER_FRACTION pairs (default 1,1 0.5,1 0.25,1 1,0.5 1,0.25)")
    parser.add_argument("--steps", type=int, default=4000, help="steps per run (default 4000)")
    parser.add_argument("--preset", default="shipped", help="base preset (default shipped)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per run (default 1)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True, help="folder of the runs and the table")
    args = parser.parse_args(argv)
    try:
        scene = load_scene(args.scene)
        data = args.data or default_dataset_path(scene.name)
        if not Path(data).is_file():
            raise NafError(f"no data set {data}; make it with `naf data make --scene {args.scene}`")
        with DataSet(data) as ds:
            train = ds.indices("train")
            pairs = ds.pairs[train]
        area = float(scene.free_space.area)
        if args.steps < 1:
            raise NafError("--steps must be at least 1")
    except NafError as exc:
        print(f"density: {exc}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for fe, fl in args.points:
        try:
            out = train_point(args, Path(data), fe, fl)
        except subprocess.CalledProcessError as exc:
            print(f"density: the run {run_name(fe, fl)} failed (exit {exc.returncode}); rerun to resume it",
                  file=sys.stderr)  # fmt: skip
            return 1
        kept = thin_rows(pairs, fe, fl)
        rows.append({"emitter_fraction": fe, "listener_fraction": fl, "train_pairs": int(len(kept)),
                     "emitters": int(len(np.unique(pairs[kept, 0]))), **summarise(out)})  # fmt: skip
        print(json.dumps(rows[-1]), flush=True)
    write_outputs(args, rows, area, int(len(np.unique(pairs[:, 0]))))
    print(f"density: wrote {args.out / 'density.md'}, .json and .png", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
