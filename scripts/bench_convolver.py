"""Per-block cost of the playback engine for long IRs: old engine (a git revision) and this tree's, side by side.

Renders `BinauralPlayer` blocks (what the app's render thread and `naf walk` run per block) at 48 kHz in
512-frame blocks, the app's defaults, for 0.6, 3 and 6 s stereo IRs and 1 and 4 emitters, with every emitter's
IR replaced every 33 ms (a dragged listener: each swap runs the old and the new IR for a crossfade) and with
steady IRs. IRs are prepared before the run, so the time is the render's alone; `prepare` of one IR is timed
separately, with the resampling from the field's 22,050 Hz that `LiveAudio.set_ir` does before it (both in
the poster's thread, never the audio thread's). Times are the rendering thread's CPU time (on a shared
machine the stable clock), printed as p50 and p99 in % of the block period (10.67 ms). Each engine runs in its
own process, alternating round by round; the old engine is `--baseline` (default: the last uniform one).

    PYTHONPATH=$PWD python scripts/bench_convolver.py [--baseline 125c40f] [--blocks 600] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from naf_model.conventions import SAMPLE_RATE

REPO = Path(__file__).resolve().parent.parent
RATE, BLOCK = 48_000, 512


def room_ir(seconds: float, seed: int, rate: int = RATE) -> np.ndarray:
    """(2, N) binaural IR: a direct click and exponentially decaying noise with T60 = `seconds` (60 dB at the end)."""
    rng = np.random.default_rng(seed)
    n = int(round(seconds * rate))
    t = np.arange(n) / rate
    ir = rng.standard_normal((2, n)) * np.exp(-6.9 * t / seconds) * 0.02
    ir[:, 40] += (0.1, 0.07)
    return ir


def measure(ir_seconds: list[float], emitters: list[int], blocks: int, swap_every_s: float) -> dict:
    """{scenario: thread-CPU seconds per block} and {ir seconds: prepare seconds} in this process."""
    from naf_model.audio import MAIN, BinauralPlayer, resample_ir
    from naf_model.conventions import SAMPLE_RATE

    music = (0.1 * np.random.default_rng(0).standard_normal((RATE * 4, 1))).astype(np.float32)
    results, prepare, resampling = {}, {}, {}
    for seconds in ir_seconds:
        irs = [room_ir(seconds, k) for k in range(6)]
        for n_em in emitters:
            for swap in (None, swap_every_s):
                player = BinauralPlayer(music, RATE, BLOCK, max_ir_seconds=max(ir_seconds) + 0.01)
                keys = [MAIN] + [f"emitter {k + 1}" for k in range(1, n_em)]
                for key in keys[1:]:
                    player.add_source(key, music)
                conv = player.source(MAIN).convolver
                t0 = time.thread_time()
                prepared = [conv.prepare(ir) for ir in irs]
                prepare[seconds] = (time.thread_time() - t0) / len(irs)
                at_field_rate = [ir[:, ::2][:, : int(seconds * SAMPLE_RATE)] for ir in irs]
                t0 = time.thread_time()
                for ir in at_field_rate:
                    resample_ir(ir, SAMPLE_RATE, RATE)
                resampling[seconds] = (time.thread_time() - t0) / len(irs)
                for k, key in enumerate(keys):
                    player.post_ir(prepared[k % len(prepared)], key)
                player.play()
                out = np.zeros((BLOCK, 2))
                warmup = 100
                cpu = np.zeros(blocks)
                next_swap, posted = 0.0, 0
                for i in range(warmup + blocks):
                    now = i * BLOCK / RATE
                    if swap is not None and now >= next_swap:
                        posted += 1
                        for k, key in enumerate(keys):
                            player.post_ir(prepared[(posted + k) % len(prepared)], key)
                        next_swap += swap
                    c0 = time.thread_time()
                    player.render(out)
                    if i >= warmup:
                        cpu[i - warmup] = time.thread_time() - c0
                name = f"{seconds:g} s x {n_em} " + ("steady" if swap is None else "swaps")
                results[name] = cpu.tolist()
    return {"results": results, "prepare": {str(k): v for k, v in prepare.items()},
            "resample": {str(k): v for k, v in resampling.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", default="125c40f", help="git revision of the old (uniform) engine")
    parser.add_argument("--blocks", type=int, default=600, help="blocks timed per scenario and round")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds")
    parser.add_argument("--ir-seconds", type=float, nargs="+", default=[0.6, 3.0, 6.0])
    parser.add_argument("--emitters", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--swap-every-s", type=float, default=0.033)
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)  # one engine's process
    args = parser.parse_args()
    if args.json:
        import naf_model

        answer = measure(args.ir_seconds, args.emitters, args.blocks, args.swap_every_s)
        print(json.dumps({"engine": naf_model.__file__, **answer}))
        return
    model = next((line.split(":", 1)[1].strip() for line in subprocess.run(
        ["lscpu"], capture_output=True, text=True).stdout.splitlines() if line.startswith("Model name")), "?")
    period_ms = BLOCK / RATE * 1e3
    print(f"CPU: {model}, {os.cpu_count()} CPUs; render per {BLOCK}-frame block at {RATE} Hz "
          f"(period {period_ms:.2f} ms), thread CPU time, {args.rounds} rounds x {args.blocks} blocks")
    pooled: dict[str, dict[str, list[float]]] = {"old": {}, "new": {}}
    prepare: dict[str, dict[str, list[float]]] = {"old": {}, "new": {}}
    resampling: list[tuple[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="bench_convolver_") as tmp:
        archive = subprocess.run(["git", "-C", str(REPO), "archive", args.baseline, "naf_model"],
                                 check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        trees = {"old": Path(tmp), "new": REPO}
        for r in range(args.rounds):
            for label, tree in trees.items():
                cmd = [sys.executable, __file__, "--json", "--blocks", str(args.blocks), "--swap-every-s",
                       str(args.swap_every_s), "--ir-seconds", *map(str, args.ir_seconds),
                       "--emitters", *map(str, args.emitters)]
                done = subprocess.run(cmd, env={**os.environ, "PYTHONPATH": str(tree)}, check=True,
                                      capture_output=True, text=True)
                answer = json.loads(done.stdout)
                assert Path(answer["engine"]).is_relative_to(tree), f"{label} imported {answer['engine']}"
                for name, cpu in answer["results"].items():
                    pooled[label].setdefault(name, []).extend(cpu)
                for seconds, s in answer["prepare"].items():
                    prepare[label].setdefault(seconds, []).append(s)
                resampling += list(answer["resample"].items())
                print(f"  round {r + 1}/{args.rounds}: {label} done", file=sys.stderr)
    print(f"  {'IR x emitters, IRs':22s} {'old p50 / p99 (% of period)':>28s} {'new p50 / p99':>16s}")
    for name in pooled["old"]:
        cells = []
        for label in ("old", "new"):
            pct = 100 * np.asarray(pooled[label][name]) * 1e3 / period_ms
            cells.append(f"{np.percentile(pct, 50):5.1f} / {np.percentile(pct, 99):5.1f}")
        print(f"  {name:22s} {cells[0]:>28s} {cells[1]:>16s}")
    for seconds in prepare["old"]:
        o, n = (1e3 * float(np.median(prepare[k][seconds])) for k in ("old", "new"))
        r = 1e3 * float(np.median([t for s, t in resampling if s == seconds]))
        print(f"  prepare one {float(seconds):g} s stereo IR at {RATE} Hz: old {o:.1f} ms, new {n:.1f} ms "
              f"(LiveAudio.set_ir also resamples it from {SAMPLE_RATE:,} Hz first: {r:.1f} ms)")
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
