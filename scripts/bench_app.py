"""Responsiveness benchmark of naf-app: a scripted 10 s listener drag with real mouse events.

Measures (1) how long the UI event loop is ever blocked, as the worst lateness of a 10 ms QTimer, and (2)
how many new IRs per second reach the audio engine. The engine is built without a sound card and a
null sink thread pulls its blocks in real time (as PortAudio would), so IR swaps are really performed.

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/bench_app.py --scene apartment_1 --seconds 10 --emitters 1 4
With several emitters every answer is one `impulse_responses` batch for all of them and the engine mixes
their convolutions; the counts run side by side in one invocation.
Targets: max UI lag <= 50 ms, >= 20 IR updates per second, audio callback mean <= 10 % and p99 <= 30 % of
the block (2-core CPU, bundled model).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path


class NullSink(threading.Thread):
    """Calls the engine's audio callback once per block period, discarding the samples (no sound card)."""

    def __init__(self, engine) -> None:
        super().__init__(name="null-audio-sink", daemon=True)
        self.engine = engine
        self.stop_event = threading.Event()

    def run(self) -> None:
        import numpy as np

        block = self.engine.block_size
        period = block / self.engine.sample_rate
        out = np.zeros((block, 2), np.float32)
        next_t = time.perf_counter()
        while not self.stop_event.is_set():
            self.engine.callback(out, block, None, None)
            next_t += period
            time.sleep(max(0.0, next_t - time.perf_counter()))


def walk_path(scene, start, inset_m: float = 0.45):
    """A closed loop inside the listener's room (its free floor shrunk by `inset_m`), as a shapely ring."""
    import shapely

    free = scene.free_space.buffer(-inset_m)
    parts = getattr(free, "geoms", [free])
    here = shapely.Point(*start)
    part = min(parts, key=lambda p: p.distance(here))
    rooms = [shapely.Polygon(r.polygon).buffer(-inset_m) for r in scene.rooms]
    room = next((r for r in rooms if r.contains(here)), part)
    return room.intersection(part).exterior if not room.is_empty else part.exterior


def run(args: argparse.Namespace, n_emitters: int = 1) -> dict:
    import numpy as np
    import torch
    from PyQt6.QtCore import QElapsedTimer, QPoint, Qt, QTimer
    from PyQt6.QtTest import QTest
    from PyQt6.QtWidgets import QApplication

    from naf_app.audio_link import AudioLink
    from naf_app.main import default_checkpoint
    from naf_app.window import MainWindow
    from naf_model.scene import load_scene

    torch.set_num_threads(args.threads)
    app = QApplication.instance() or QApplication([])
    scene = load_scene(args.scene)
    checkpoint = args.checkpoint or default_checkpoint(scene.name)
    if checkpoint is None:
        raise SystemExit(f"bench_app: no checkpoint for {scene.name}; pass --checkpoint")
    audio = AudioLink.open(no_audio=True)
    sink = NullSink(audio.engine)
    sink.start()
    audio.engine.play()
    window = MainWindow(scene, checkpoint, args.device, audio, scene_arg=args.scene)
    window.resize(1400, 820)
    window.show()

    def wait_until(cond, timeout_s: float) -> bool:
        end = time.perf_counter() + timeout_s
        while not cond() and time.perf_counter() < end:
            app.processEvents()
            time.sleep(0.005)
        return cond()

    if not wait_until(lambda: window.state.field is not None, 120):
        raise SystemExit(f"bench_app: field did not load: {window.messages[-1:]}")
    wait_until(lambda: window.state.loudness is not None, 300)  # the startup heatmap, not part of the drag
    wait_until(lambda: window.state.last_ir is not None, 30)
    for _ in range(n_emitters - 1):
        window.add_emitter()
    window.state.select(window.state.emitter_keys[0])
    wait_until(lambda: len(window.state.last_ir.irs) == n_emitters, 30)
    wait_until(lambda: window.state.loudness is not None, 300)

    view = window.plan
    ring = walk_path(scene, window.state.listener)
    lags: list[float] = []
    clock = QElapsedTimer()
    clock.start()
    last = [clock.nsecsElapsed()]

    def tick() -> None:
        now = clock.nsecsElapsed()
        lags.append((now - last[0]) / 1e6 - 10.0)
        last[0] = now

    monitor = QTimer(interval=10, timerType=Qt.TimerType.PreciseTimer)
    monitor.timeout.connect(tick)
    viewport = view.viewport()
    start_xy = ring.interpolate(0.0)
    # carry the listener to the start of the loop, let the window settle, then take hold of the marker
    window.state.move("listener", (start_xy.x, start_xy.y), final=True)
    wait_until(lambda: False, 0.3)
    pos = view.viewport_point(start_xy.x, start_xy.y)
    for attempt in range(10):  # hover over the marker first, as a hand would (pyqtgraph's hover may lag)
        QTest.mouseMove(viewport, pos + QPoint(attempt % 2, 0))
        wait_until(lambda: view.listener_item.mouseHovering, 0.2)
        if view.listener_item.mouseHovering:
            break
    if not view.listener_item.mouseHovering:
        under = [type(i).__name__ for i in view.scene().items(view.mapToScene(pos))][:5]
        raise SystemExit(f"bench_app: the mouse at {pos} is not over the listener marker "
                         f"({window.state.listener}; under it: {under})")
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pos)
    updates0, answered0 = audio.ir_updates, window.field_worker.answered_count
    swaps0 = audio.engine.stats().swaps
    moves = [0]
    t0 = time.perf_counter()
    speed = args.speed

    def step() -> None:
        elapsed = time.perf_counter() - t0
        point = ring.interpolate((speed * elapsed) % ring.length)
        QTest.mouseMove(viewport, view.viewport_point(point.x, point.y))
        moves[0] += 1

    mover = QTimer(interval=16)
    mover.timeout.connect(step)
    last[0] = clock.nsecsElapsed()
    monitor.start()
    mover.start()
    while time.perf_counter() - t0 < args.seconds:
        app.processEvents()
        time.sleep(0.001)
    mover.stop()
    monitor.stop()
    if view.scene().dragItem is not view.listener_item:
        raise SystemExit("bench_app: the drag did not take hold of the listener marker")
    seconds = time.perf_counter() - t0
    end = window.state.listener
    QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                       view.viewport_point(*end))
    updates = audio.ir_updates - updates0
    swaps = audio.engine.stats().swaps - swaps0
    stats = audio.engine.stats()
    block_ms = 1000.0 * audio.engine.block_size / audio.engine.sample_rate
    result = {
        "emitters": n_emitters,
        "scene": scene.name,
        "checkpoint": str(checkpoint),
        "preset": window.state.field.preset,
        "device": window.state.field.device,
        "torch_threads": args.threads,
        "cpu_count": os.cpu_count(),
        "seconds": round(seconds, 2),
        "mouse_moves": moves[0],
        "ir_updates_per_s": round(updates / seconds, 1),
        "audio_swaps_per_s": round(swaps / seconds, 1),
        "requests_dropped": window.field_worker.dropped_count,
        "ui_lag_max_ms": round(max(lags), 1) if lags else None,
        "ui_lag_p99_ms": round(float(np.percentile(lags, 99)), 1) if lags else None,
        "last_ir_latency_ms": round(window.state.last_ir.latency_ms, 1),
        "answered": window.field_worker.answered_count - answered0,
        "audio_callback_mean_pct": round(100 * stats.mean_callback_ms / block_ms, 1),
        "audio_callback_p99_pct": round(100 * stats.p99_callback_ms / block_ms, 1),
        "audio_callback_cpu_p99_pct": round(100 * stats.p99_callback_cpu_ms / block_ms, 1),
    }
    window.close()
    sink.stop_event.set()
    sink.join()
    app.processEvents()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scene", default="apartment_1", help="scene (default apartment_1)")
    parser.add_argument("--checkpoint", type=Path, help="field checkpoint (default: the scene's bundled one)")
    parser.add_argument("--device", default="cpu", choices=("auto", "cpu", "cuda"), help="default cpu")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the drag (default 10)")
    parser.add_argument("--speed", type=float, default=1.0, help="drag speed in m/s (default 1)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--emitters", type=int, nargs="+", default=[1],
                        help="emitter counts measured one after the other (default 1; e.g. 1 4)")
    parser.add_argument("--json", type=Path, help="also write the result here")
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if any(n < 1 or n > 4 for n in args.emitters):
        parser.error("--emitters: each count must be 1-4")
    results = [run(args, n) for n in args.emitters]
    text = json.dumps(results if len(results) > 1 else results[0], indent=2)
    print(text)
    if args.json:
        from naf_model.atomic import write_atomic

        write_atomic(args.json, text + "\n")
    all_ok = True
    for r in results:
        ok = ((r["ui_lag_max_ms"] or 0) <= 50 and r["ir_updates_per_s"] >= 20
              and r["audio_callback_mean_pct"] <= 10 and r["audio_callback_p99_pct"] <= 30)
        all_ok &= ok
        print(f"bench_app: {r['emitters']} emitter(s): {'PASS' if ok else 'FAIL'} (max UI lag "
              f"{r['ui_lag_max_ms']} ms <= 50, {r['ir_updates_per_s']} IR updates/s >= 20, callback mean "
              f"{r['audio_callback_mean_pct']} % <= 10, p99 {r['audio_callback_p99_pct']} % <= 30)")
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
