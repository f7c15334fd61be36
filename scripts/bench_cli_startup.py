"""How fast the `naf` command line answers: `naf --help`, `naf scene list` and an argument error.

    python scripts/bench_cli_startup.py [--runs 7]

Each command runs as a fresh `python -m naf_model.cli` process; prints the median and the range of the
wall times over --runs runs, in seconds, as a markdown table.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
COMMANDS = {
    "naf --help": ["--help"],
    "naf scene list": ["scene", "list"],
    "naf train --minutes nan (argument error)": ["train", "--scene", "apartment_1", "--minutes", "nan"],
    "naf render -o song.txt (output error)": ["render", "--scene", "apartment_1", "--emitter", "1", "1",
                                              "--listener", "2", "2", "-o", "song.txt"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="runs per command")
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    print("| command | median s | min s | max s | exit |\n|---|---|---|---|---|")
    for label, argv in COMMANDS.items():
        times, code = [], None
        for _ in range(args.runs):
            start = time.perf_counter()
            code = subprocess.run([sys.executable, "-m", "naf_model.cli", *argv], env=env,
                                  capture_output=True).returncode
            times.append(time.perf_counter() - start)
        print(f"| {label} | {statistics.median(times):.3f} | {min(times):.3f} | {max(times):.3f} | {code} |")


if __name__ == "__main__":
    main()
