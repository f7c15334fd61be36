"""Time the live audio callback: mean and 99th-percentile time per block, without a sound card.

Drives `LiveAudio.callback` (the function PortAudio calls) with the bundled music through a 0.7 s stereo
IR at 48 kHz in 512-frame blocks, twice: with one IR playing, and with a new IR posted every 33 ms by
another thread (each swap runs both IRs for a crossfade block). Targets: mean under 10 % and p99 under
30 % of the block period. Two clocks: wall time (what the sound card sees, including any time the OS
gave the CPU to other processes) and the callback thread's own CPU time (the engine's cost); on a busy
shared machine only the second is stable, so the verdict uses it and the load average is printed.

    .venv/bin/python scripts/bench_audio.py [--blocks 3000] [--block-size 512] [--rate 48000]
"""

from __future__ import annotations

import argparse
import os

import numpy as np

from naf_app.audio import LiveAudio
from naf_app.audio.session import drive_callbacks
from naf_model.conventions import SAMPLE_RATE


def room_ir(seconds: float, seed: int) -> np.ndarray:
    """A (2, N) binaural IR at 22,050 Hz with a direct sound and a 0.5 s exponential tail."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    ir = rng.standard_normal((2, n)) * np.exp(-6.9 * t / 0.5) * 0.02
    ir[:, 40] += (0.1, 0.07)
    return ir


def run(live: LiveAudio, blocks: int, swap_every_s: float | None,
        irs: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Wall and thread-CPU callback times (blocks,) in seconds; with `swap_every_s`, a worker posts IRs at
    that interval of audio time."""
    wall, cpu = np.zeros(blocks), np.zeros(blocks)

    def record(i: int, _out: np.ndarray, wall_s: float, cpu_s: float) -> None:
        wall[i], cpu[i] = wall_s, cpu_s

    drive_callbacks(live, blocks, irs, swap_every_s, record)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--blocks", type=int, default=3000, help="callbacks timed per scenario")
    parser.add_argument("--block-size", type=int, default=512, help="frames per callback")
    parser.add_argument("--rate", type=int, default=48_000, help="output sample rate, Hz")
    parser.add_argument("--ir-seconds", type=float, default=0.7, help="IR length, seconds")
    args = parser.parse_args()

    live = LiveAudio(block_size=args.block_size, sample_rate=args.rate)
    irs = [room_ir(args.ir_seconds, k) for k in range(8)]
    live.set_ir(irs[0])
    live.play()
    period_ms = args.block_size / args.rate * 1e3
    taps = int(round(args.ir_seconds * args.rate))
    print(f"callback per {args.block_size}-frame block at {args.rate} Hz (period {period_ms:.2f} ms), "
          f"{args.ir_seconds} s stereo IR ({taps} taps, {-(-taps // args.block_size)} partitions)")
    run(live, 200, None, irs)  # warm up caches and the FFT plans
    ok = True
    for name, swap in [("steady IR", None), ("IR swap every 33 ms", 0.033)]:
        wall, cpu = (t * 1e3 for t in run(live, args.blocks, swap, irs))
        print(f"  {name}:")
        for clock, ms in [("thread CPU", cpu), ("wall", wall)]:
            mean, p99 = float(ms.mean()), float(np.percentile(ms, 99))
            verdict = mean < 0.1 * period_ms and p99 < 0.3 * period_ms
            if clock == "thread CPU":
                ok &= verdict
            print(f"    {clock:10s} mean {mean:.3f} ms ({100 * mean / period_ms:.1f} %), p99 {p99:.3f} ms "
                  f"({100 * p99 / period_ms:.1f} %), max {ms.max():.3f} ms  [{'ok' if verdict else 'SLOW'}]")
    stats = live.stats()
    print(f"  swaps {stats.swaps}, late callbacks {stats.late_callbacks}, errors {stats.errors}; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"targets (thread CPU): mean < 10 %, p99 < 30 % of the period -> {'PASS' if ok else 'FAIL'}")


if __name__ == "__main__":
    main()
