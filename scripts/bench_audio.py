"""Time the live audio callback: mean and 99th-percentile time per block, without a sound card.

Calls `LiveAudio.callback` (the function PortAudio calls) directly, in this thread, with the bundled music
through 0.7 s stereo IRs at 48 kHz in 512-frame blocks, for 1 and for 4 emitters, each once with its IRs
steady and once with a new IR posted to every emitter every 33 ms (each swap runs both IRs for a crossfade
block: a listener being dragged swaps all of them). The IRs are prepared before the run, so the time
measured is the callback's alone. Targets: mean under 10 % and p99 under 30 % of the block period. Two
clocks: wall time (what the sound card sees, including any time the OS gave the CPU to other processes)
and the callback thread's own CPU time (the engine's cost); on a busy shared machine only the second is
stable, so the verdict uses it and the load average is printed.

`--baseline REV` measures the engine of git revision REV and this tree's side by side in one run,
alternating between them round by round (each in a fresh process), and prints the ratio of their CPU
times: on a busy machine absolute figures drift, ratios measured this way do not.

    .venv/bin/python scripts/bench_audio.py [--blocks 3000] [--emitters 1 4] [--baseline main --rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
MUSIC = REPO / "assets" / "audio" / "music_loop.flac"


def room_ir(seconds: float, seed: int) -> np.ndarray:
    """A (2, N) binaural IR at 22,050 Hz with a direct sound and a 0.5 s exponential tail."""
    from naf_model.conventions import SAMPLE_RATE

    rng = np.random.default_rng(seed)
    n = int(seconds * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    ir = rng.standard_normal((2, n)) * np.exp(-6.9 * t / 0.5) * 0.02
    ir[:, 40] += (0.1, 0.07)
    return ir


def measure(args: argparse.Namespace) -> dict[str, dict[str, list[float]]]:
    """Per scenario, thread-CPU and wall seconds of each timed callback, in this process and this thread."""
    import time

    import sounddevice as sd

    from naf_app.audio import LiveAudio
    from naf_model.audio import MAIN, load_audio, resample_ir
    from naf_model.conventions import SAMPLE_RATE

    music = load_audio(MUSIC)
    irs = [room_ir(args.ir_seconds, k) for k in range(8)]
    results: dict[str, dict[str, list[float]]] = {}
    for emitters in args.emitters:
        for swap_every_s in (None, args.swap_every_s):
            live = LiveAudio(music, block_size=args.block_size, sample_rate=args.rate)
            keys = [MAIN] + [f"emitter {k + 1}" for k in range(1, emitters)]
            for key in keys[1:]:
                live.add_source(key)
            for k, key in enumerate(keys):
                live.set_ir(irs[k % len(irs)], source=key)
            player = live._player  # posting prepared IRs keeps the bench's own work out of the callback's time
            prepared = [player.source(MAIN).convolver.prepare(resample_ir(ir, SAMPLE_RATE, args.rate)) for ir in irs]
            live.play()
            out = np.zeros((args.block_size, 2), np.float32)
            status = sd.CallbackFlags()
            warmup = 200
            cpu, wall = np.zeros(args.blocks), np.zeros(args.blocks)
            next_swap, posted = 0.0, 0
            for i in range(warmup + args.blocks):
                now = i * args.block_size / args.rate
                if swap_every_s is not None and now >= next_swap:
                    posted += 1
                    for k, key in enumerate(keys):
                        player.post_ir(prepared[(posted + k) % len(prepared)], key)
                    next_swap += swap_every_s
                t0, c0 = time.perf_counter(), time.thread_time()
                live.callback(out, args.block_size, None, status)
                if i >= warmup:
                    wall[i - warmup], cpu[i - warmup] = time.perf_counter() - t0, time.thread_time() - c0
            stats = live.stats()
            assert stats.errors == 0 and np.all(np.isfinite(out)), "the engine failed a block"
            name = f"{emitters} emitter{'s' if emitters > 1 else ''}, " + (
                "steady IRs" if swap_every_s is None else f"IR swaps every {1e3 * swap_every_s:.0f} ms")
            results[name] = {"cpu": cpu.tolist(), "wall": wall.tolist(), "swaps": [float(stats.swaps)]}
    return results


def figures(seconds: list[float], period_ms: float) -> tuple[float, float, float]:
    """(mean, p99, max) in ms of per-block times in seconds."""
    ms = np.asarray(seconds) * 1e3
    return float(ms.mean()), float(np.percentile(ms, 99)), float(ms.max())


def report(results: dict[str, dict[str, list[float]]], period_ms: float) -> bool:
    """Print each scenario's figures; True when every scenario meets the targets in thread CPU time."""
    ok = True
    for name, clocks in results.items():
        print(f"  {name}:")
        for clock, label in [("cpu", "thread CPU"), ("wall", "wall")]:
            mean, p99, peak = figures(clocks[clock], period_ms)
            verdict = mean < 0.1 * period_ms and p99 < 0.3 * period_ms
            if clock == "cpu":
                ok &= verdict
            print(f"    {label:10s} mean {mean:.3f} ms ({100 * mean / period_ms:.1f} %), p99 {p99:.3f} ms "
                  f"({100 * p99 / period_ms:.1f} %), max {peak:.3f} ms  [{'ok' if verdict else 'SLOW'}]")
    return ok


def side_by_side(args: argparse.Namespace, period_ms: float) -> None:
    """Measure REV's engine and this tree's alternately in fresh processes; print both and their ratio."""
    trees = {"baseline": None, "current": REPO}
    pooled: dict[str, dict[str, dict[str, list[float]]]] = {"baseline": {}, "current": {}}
    with tempfile.TemporaryDirectory(prefix="bench_audio_") as tmp:
        archive = subprocess.run(["git", "-C", str(REPO), "archive", args.baseline, "naf_model", "naf_app"],
                                 check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        trees["baseline"] = Path(tmp)
        for r in range(args.rounds):
            for label, tree in trees.items():
                cmd = [sys.executable, __file__, "--json", "--blocks", str(args.blocks), "--block-size",
                       str(args.block_size), "--rate", str(args.rate), "--ir-seconds", str(args.ir_seconds),
                       "--swap-every-s", str(args.swap_every_s), "--emitters", *map(str, args.emitters)]
                env = {**os.environ, "PYTHONPATH": str(tree)}
                done = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
                answer = json.loads(done.stdout)
                assert Path(answer["engine"]).is_relative_to(tree), f"{label} imported {answer['engine']}"
                for name, clocks in answer["results"].items():
                    slot = pooled[label].setdefault(name, {"cpu": [], "wall": []})
                    slot["cpu"] += clocks["cpu"]
                    slot["wall"] += clocks["wall"]
                print(f"  round {r + 1}/{args.rounds}: {label} done", file=sys.stderr)
    print(f"thread CPU per callback, {args.rounds} alternating rounds x {args.blocks} blocks per scenario; "
          f"baseline = {args.baseline}, current = this tree")
    print(f"  {'scenario':34s} {'baseline mean / p99 ms (% of period)':38s} {'current mean / p99 ms':30s} "
          "ratio mean, p99")
    for name, base in pooled["baseline"].items():
        b_mean, b_p99, _ = figures(base["cpu"], period_ms)
        c_mean, c_p99, _ = figures(pooled["current"][name]["cpu"], period_ms)
        print(f"  {name:34s} {b_mean:.3f} / {b_p99:.3f} ({100 * b_mean / period_ms:4.1f} / "
              f"{100 * b_p99 / period_ms:4.1f} %)      {c_mean:.3f} / {c_p99:.3f} ({100 * c_mean / period_ms:4.1f} / "
              f"{100 * c_p99 / period_ms:4.1f} %)   {b_mean / c_mean:.2f}x, {b_p99 / c_p99:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--blocks", type=int, default=3000, help="callbacks timed per scenario")
    parser.add_argument("--block-size", type=int, default=512, help="frames per callback")
    parser.add_argument("--rate", type=int, default=48_000, help="output sample rate, Hz")
    parser.add_argument("--ir-seconds", type=float, default=0.7, help="IR length, seconds")
    parser.add_argument("--emitters", type=int, nargs="+", default=[1, 4], help="emitter counts to measure")
    parser.add_argument("--swap-every-s", type=float, default=0.033, help="audio time between IR swaps")
    parser.add_argument("--baseline", metavar="REV", help="also measure git revision REV's engine, alternating")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds with --baseline")
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)  # one process of --baseline
    args = parser.parse_args()
    if args.blocks < 100 or args.rounds < 1 or min(args.emitters) < 1:
        parser.exit(2, "bench_audio: --blocks must be >= 100, --rounds and --emitters >= 1\n")
    if args.baseline and subprocess.run(["git", "-C", str(REPO), "rev-parse", "--verify", "--quiet",
                                         f"{args.baseline}^{{commit}}"], capture_output=True).returncode:
        parser.exit(2, f"bench_audio: --baseline {args.baseline!r} is not a commit of {REPO}\n")
    period_ms = args.block_size / args.rate * 1e3
    if args.json:
        import naf_model

        print(json.dumps({"engine": naf_model.__file__, "results": measure(args)}))
        return
    taps = int(round(args.ir_seconds * args.rate))
    print(f"callback per {args.block_size}-frame block at {args.rate} Hz (period {period_ms:.2f} ms), "
          f"{args.ir_seconds} s stereo IRs ({taps} taps, {-(-taps // args.block_size)} partitions)")
    if args.baseline:
        side_by_side(args, period_ms)
        ok = None
    else:
        results = measure(args)
        ok = report(results, period_ms)
        print("  swaps " + ", ".join(f"{int(r['swaps'][0])}" for r in results.values()))
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    if ok is not None:
        print(f"targets (thread CPU): mean < 10 %, p99 < 30 % of the period -> {'PASS' if ok else 'FAIL'}")


if __name__ == "__main__":
    main()
