"""Training speed on a shared machine: idle vs with one CPU-bound process beside it, steps/s and the ratio.

    python scripts/bench_train_load.py [--steps 150] [--data tiny.h5]

Three thread settings of the default `naf train` (preset fast, CPU): "before" (torch's default of one
thread per core, OpenMP's default spin-waiting), "now" (threads from `naf_model.cores.free_cores`,
OMP_WAIT_POLICY=PASSIVE, as `naf train` sets them) and "1 thread". Each runs in a child process, first
alone, then with a busy-loop process running beside it. Without --data a small two-room data set is
simulated into a temporary folder first. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

CHILD = """
import json, sys
import torch
from naf_model.benchmarks.train_speed import train_speed
from naf_model.cores import free_cores
from naf_model.scene import load_scene
threads = sys.argv[1]
torch.set_num_threads(free_cores() if threads == "auto" else int(threads))
rows = train_speed(["fast"], sys.argv[2], load_scene(sys.argv[3]), int(sys.argv[4]), device="cpu", log=lambda m: None)
print(json.dumps({"steps_per_s": rows[0].steps_per_s, "threads": torch.get_num_threads()}))
"""

SETTINGS = {
    "before (torch default threads, OpenMP spin)": ("default", None),
    "now (free cores, passive wait)": ("auto", "PASSIVE"),
    "1 thread": ("1", None),
}


def _tiny_dataset(folder: Path) -> tuple[Path, Path]:
    from naf_model.data import DataConfig, make_dataset
    from naf_model.scene import save_scene
    from naf_model.scene.examples import two_room_scene

    scene = two_room_scene()
    scene_file = save_scene(scene, folder / "two_rooms.json")
    config = DataConfig(listener_spacing=0.4, emitter_spacing=1.0, listeners_per_emitter=40)
    return make_dataset(scene, config, folder / "two_rooms.h5", progress=False), scene_file


def _measure(threads: str, wait_policy: str | None, data: Path, scene: str, steps: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("OMP_WAIT_POLICY", None)
    if wait_policy:
        env["OMP_WAIT_POLICY"] = wait_policy
    if threads == "default":
        threads = str(os.cpu_count())
    out = subprocess.run([sys.executable, "-c", CHILD, threads, str(data), scene, str(steps)], env=env,
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=150, help="training steps per measurement")
    parser.add_argument("--data", type=Path, help="data set (default: a small simulated two-room one)")
    parser.add_argument("--scene", default=None, help="scene of --data")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.data is None:
            data, scene = _tiny_dataset(Path(tmp))
        else:
            data, scene = args.data, args.scene
        rows = []
        for label, (threads, policy) in SETTINGS.items():
            idle = _measure(threads, policy, data, str(scene), args.steps)
            busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
            try:
                loaded = _measure(threads, policy, data, str(scene), args.steps)
            finally:
                busy.kill()
                busy.wait()
            rows.append((label, idle, loaded))
    print(f"cores: {os.cpu_count()}, steps per measurement: {args.steps}\n")
    print("| setting | threads idle / loaded | steps/s idle | steps/s with 1 busy process | loaded / idle |")
    print("|---|---|---|---|---|")
    for label, idle, loaded in rows:
        ratio = loaded["steps_per_s"] / idle["steps_per_s"]
        print(f"| {label} | {idle['threads']} / {loaded['threads']} | {idle['steps_per_s']:.1f} | "
              f"{loaded['steps_per_s']:.1f} | {ratio:.0%} |")


if __name__ == "__main__":
    main()
