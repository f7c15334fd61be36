"""Single played IR of today's field against the field of an earlier main, side by side in one run on one thread.

Issue 32's target is a ratio to "the field of today's main" as it stood when the issue was filed (commit
13e9e4a: its code and its shipped checkpoint). The fused path's work has since also made the module path
faster (the listening synthesis, the late render are shared), so `naf bench --compare-fused` alone no longer
compares against that baseline. Here the baseline's package and checkpoint are taken from git (`git archive`
into a temporary folder) and run in a worker process of their own; today's fused and module paths run in two
more. The workers take turns, a block of calls at a time (the order rotating each round), so a machine shared
with other jobs slows them alike; each is limited to one thread (torch, BLAS, OpenMP). Each call is timed by
the wall clock and by the thread's CPU time, as `naf bench` does.

    python scripts/bench_vs_baseline.py --scene apartment_1 --single 300
    python scripts/bench_vs_baseline.py --baseline 13e9e4a --scene apartment_2 --rounds 8

Positions are drawn the same way in every worker (seeded, from each code's own 0.5 m grid of the scene).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
BASELINE = "13e9e4a"
"""main when issue 32 was filed: the module path only, 0.6 s IRs, the spherical-head field of ba0b766."""
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def worker(root: Path, scene_name: str, checkpoint: Path, fused: bool | None, seed: int, calls: int) -> None:
    """Answer "N" lines on stdin with one JSON line of N calls' wall and thread CPU seconds (code from `root`)."""
    sys.path.insert(0, str(root))
    import torch
    from threadpoolctl import threadpool_limits

    from naf_model.field import NeuralAcousticField
    from naf_model.scene.io import load_scene

    torch.set_num_threads(1)
    scene = load_scene(scene_name)
    kwargs = {} if fused is None else {"fused": fused}
    field = NeuralAcousticField.load(checkpoint, device="cpu", scene=scene, **kwargs)
    grid = scene.sample_grid(0.5)
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(grid), size=(calls, 2))
    em, li, hd = grid[pick[:, 0]], grid[pick[:, 1]], rng.uniform(0.0, 360.0, calls)
    with threadpool_limits(limits=1):
        n = field.impulse_response(em[0], li[0], hd[0]).shape[-1]  # warm-up: tables, noise bank
        field.impulse_response(em[1], li[1], hd[1])
        print(json.dumps({"samples": int(n)}), flush=True)
        done = 0
        for line in sys.stdin:
            k = int(line)
            wall, cpu = [], []
            for i in range(done, done + k):
                j = i % calls
                start, start_cpu = time.perf_counter(), time.thread_time()
                field.impulse_response(em[j], li[j], hd[j])
                wall.append(time.perf_counter() - start)
                cpu.append(time.thread_time() - start_cpu)
            done += k
            print(json.dumps({"wall": wall, "cpu": cpu}), flush=True)


def extract(commit: str, folder: Path) -> Path:
    """The commit's naf_model/ and assets/ under `folder` (git archive), its root returned."""
    try:
        data = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", commit, "naf_model", "assets"],
                              check=True, capture_output=True).stdout
    except subprocess.CalledProcessError as exc:
        sys.exit(f"error: cannot read commit {commit!r} from {ROOT}: {exc.stderr.decode().strip()}")
    except OSError as exc:
        sys.exit(f"error: cannot run git to read commit {commit!r}: {exc}")
    tar_path = folder / "baseline.tar"
    tar_path.write_bytes(data)
    with tarfile.open(tar_path) as tar:
        tar.extractall(folder / "tree", filter="data")
    return folder / "tree"


def start(root: Path, args: argparse.Namespace, checkpoint: Path, fused: bool | None) -> subprocess.Popen:
    """A worker process running the code under `root` on one thread (fused None: the code's own default path)."""
    env = dict(os.environ, **{v: "1" for v in THREAD_VARS})
    cmd = [sys.executable, __file__, "--worker", str(root), "--scene", args.scene, "--checkpoint", str(checkpoint),
           "--seed", str(args.seed), "--calls", str(args.single)]
    if fused is not None:
        cmd.append("--fused" if fused else "--module")
    return subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=root)


def reply(proc: subprocess.Popen, name: str) -> dict:
    """The worker's next JSON line; a one-line exit when it stopped (its own error is on stderr above)."""
    line = proc.stdout.readline()
    if not line:
        sys.exit(f"error: the {name} worker stopped (its message is above)")
    return json.loads(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default=BASELINE, help=f"commit of the earlier main (default {BASELINE})")
    parser.add_argument("--scene", default="apartment_1", help="bundled scene (its shipped checkpoint at each commit)")
    parser.add_argument("--single", type=int, default=300, help="calls timed per field")
    parser.add_argument("--rounds", type=int, default=6, help="turns each worker takes (the calls split evenly)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--checkpoint", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--calls", type=int, help=argparse.SUPPRESS)
    path = parser.add_mutually_exclusive_group()
    path.add_argument("--fused", dest="fused", action="store_true", default=None, help=argparse.SUPPRESS)
    path.add_argument("--module", dest="fused", action="store_false", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        worker(args.worker, args.scene, args.checkpoint, args.fused, args.seed, args.calls)
        return
    if args.single < 10 or args.rounds < 1 or args.single % args.rounds:
        sys.exit("error: --single must be at least 10 and a multiple of --rounds")
    checkpoint = Path("assets/checkpoints") / f"{args.scene}.pt"
    if not (ROOT / checkpoint).is_file():
        sys.exit(f"error: no shipped checkpoint {checkpoint} for scene {args.scene!r}")
    with tempfile.TemporaryDirectory(prefix="naf-baseline-") as tmp:
        base_root = extract(args.baseline, Path(tmp))
        if not (base_root / checkpoint).is_file():
            sys.exit(f"error: commit {args.baseline} ships no {checkpoint}")
        names = (f"{args.baseline} (module)", "today fused", "today module")
        procs = [start(base_root, args, checkpoint, None), start(ROOT, args, checkpoint, True),
                 start(ROOT, args, checkpoint, False)]
        try:
            samples = [reply(p, n)["samples"] for p, n in zip(procs, names, strict=True)]
            wall: list[list[float]] = [[] for _ in procs]
            cpu: list[list[float]] = [[] for _ in procs]
            per = args.single // args.rounds
            for r in range(args.rounds):
                for k in np.roll(np.arange(len(procs)), r):
                    procs[k].stdin.write(f"{per}\n")
                    procs[k].stdin.flush()
                    got = reply(procs[k], names[k])
                    wall[k] += got["wall"]
                    cpu[k] += got["cpu"]
                print(f"round {r + 1}/{args.rounds}", file=sys.stderr, flush=True)
        finally:
            for p in procs:
                p.stdin.close()
                p.wait()
    ms = [(1e3 * np.asarray(w), 1e3 * np.asarray(c)) for w, c in zip(wall, cpu, strict=True)]
    base = np.median(ms[0][0]), np.median(ms[0][1])
    print(f"{args.scene}: {args.single} single played IRs per field, one thread, {args.rounds} rounds taking turns")
    print("| field | IR s | p50 ms wall / CPU | p99 ms wall / CPU | p99 / p50 wall "
          "| p50 ratio to baseline wall / CPU |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, n, (w, c) in zip(names, samples, ms, strict=True):
        p50w, p50c = np.median(w), np.median(c)
        print(f"| {name} | {n / 22050:.2f} | {p50w:.2f} / {p50c:.2f} | {np.percentile(w, 99):.2f} / "
              f"{np.percentile(c, 99):.2f} | {np.percentile(w, 99) / p50w:.2f} | {p50w / base[0]:.2f} / "
              f"{p50c / base[1]:.2f} |")


if __name__ == "__main__":
    main()
