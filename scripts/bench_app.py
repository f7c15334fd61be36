"""Responsiveness benchmark of naf-app: one emitter dragged with real mouse events, alone and among four.

Each case opens the window on the scene's field, waits for the first heatmap, then drags the first emitter
around a loop in its room for `--seconds` with real mouse events (the listener stands still); with several
emitters the others move along loops in their own rooms at the same time (set through the state, as a
script would), so every answer is one `impulse_responses` batch for all of them and the engine mixes their
convolutions. The cases run one after the other in one process and are printed side by side:

- IR updates/s of the dragged emitter: answers that reach the audio engine with a new position for it;
- max and p99 UI lag: the lateness of a 10 ms timer on the UI thread (how long the event loop was blocked);
- audio callback mean and p99 (wall clock, and the callback thread's own CPU time) as % of the block, the
  engine's real callback pulled in real time by a null sink (no sound card), as PortAudio would; with
  render-ahead (the app's default with a sound card, `--lookahead`) the callback copies a block that the
  engine's render thread made earlier, so the render's own wall and CPU time per block and the ring
  underruns (callbacks that found no block ready: audible gaps) are printed too, and any ring underrun fails;
- where the UI thread spent its time: per (receiver, event) the count, total and worst wall time and the
  UI thread's CPU time during it (with `--profile-ui`; wall far above CPU means the thread waited, for the
  GIL or for a core); and each thread's CPU seconds during the drag (Linux /proc).

Targets: >= 20 IR updates/s for the dragged emitter, max UI lag <= 50 ms, callback mean <= 10 % and p99 <= 30 %
of the block, no ring underrun, in every case. Exit status 0 when all pass, 1 when one fails, 2 on bad arguments.

Each case runs idle and beside a load (`--load idle busy`, the default): `--busy N` processes (default 1) that
spin a core each at this process's nice level, started before the case's window opens and stopped after it,
so the four-emitter case is measured as a user with a busy machine lives it, side by side with the idle run.

    QT_QPA_PLATFORM=offscreen python scripts/bench_app.py --seconds 10            # 1 and 4 emitters, idle and busy
    QT_QPA_PLATFORM=offscreen python scripts/bench_app.py --load idle             # no load generator
    QT_QPA_PLATFORM=offscreen python scripts/bench_app.py --emitters 4 --profile-ui --json bench.json
    QT_QPA_PLATFORM=offscreen python scripts/bench_app.py --lookahead 0   # the callback renders itself
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

TARGETS = {"updates": 20.0, "lag_max_ms": 50.0, "callback_mean_pct": 10.0, "callback_p99_pct": 30.0,
           "ring_underruns": 0}


class NullSink(threading.Thread):
    """Calls the engine's audio callback once per block period, discarding the samples (no sound card), and
    times each call (wall and this thread's CPU) while `recording` is set."""

    def __init__(self, engine) -> None:
        super().__init__(name="null-audio-sink", daemon=True)
        self.engine = engine
        self.stop_event = threading.Event()
        self.recording = threading.Event()
        self.wall_s: list[float] = []
        self.cpu_s: list[float] = []

    def run(self) -> None:
        import numpy as np

        block = self.engine.block_size
        period = block / self.engine.sample_rate
        out = np.zeros((block, 2), np.float32)
        next_t = time.perf_counter()
        while not self.stop_event.is_set():
            t0, c0 = time.perf_counter(), time.thread_time()
            self.engine.callback(out, block, None, None)
            if self.recording.is_set():
                self.wall_s.append(time.perf_counter() - t0)
                self.cpu_s.append(time.thread_time() - c0)
            next_t += period
            time.sleep(max(0.0, next_t - time.perf_counter()))


def thread_cpu_seconds() -> dict[str, float]:
    """CPU seconds (user + system) of each thread of this process by its kernel name, Linux only ({} else)."""
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    out: dict[str, float] = defaultdict(float)
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return {}
    for tid in tasks:
        try:
            with open(f"/proc/self/task/{tid}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        out[f"{name}"] += (int(fields[11]) + int(fields[12])) / ticks
    return dict(out)


def receiver_name(obj) -> str:
    """A receiver's class, its object name if it has one, and for a graphics scene the class of its view."""
    name = type(obj).__name__ + (f"[{obj.objectName()}]" if obj.objectName() else "")
    views = getattr(obj, "views", None)
    if callable(views) and views():
        parent = views()[0]
        name += f"<{type(parent).__name__}>"
    return name


def make_application(profile: bool):
    """The QApplication; with `profile`, one that times every top-level event delivery on the UI thread."""
    from PyQt6.QtCore import QEvent
    from PyQt6.QtWidgets import QApplication

    class TimedApplication(QApplication):
        """QApplication.notify timed per (receiver class, event type): count, total and max wall seconds,
        total and max CPU seconds of the UI thread."""

        def __init__(self, argv) -> None:
            super().__init__(argv)
            self.active = False
            self.depth = 0
            self.table: dict[tuple[str, str], list[float]] = {}

        def notify(self, receiver, event) -> bool:
            if not self.active or self.depth:
                return super().notify(receiver, event)
            self.depth += 1
            t0, c0 = time.perf_counter(), time.thread_time()
            try:
                return super().notify(receiver, event)
            finally:
                wall, cpu = time.perf_counter() - t0, time.thread_time() - c0
                self.depth -= 1
                kind = event.type()
                name = QEvent.Type(kind).name if isinstance(kind, QEvent.Type) else str(kind)
                key = (receiver_name(receiver), name)
                row = self.table.setdefault(key, [0, 0.0, 0.0, 0.0, 0.0])
                row[0] += 1
                row[1] += wall
                row[2] = max(row[2], wall)
                row[3] += cpu
                row[4] = max(row[4], cpu)

    from naf_app.audio.render_ahead import prefer_the_audio_thread

    prefer_the_audio_thread()  # as naf-app's main does
    app = QApplication.instance()
    if app is None:
        app = TimedApplication([]) if profile else QApplication([])
    return app


def room_loop(scene, start, inset_m: float = 0.45):
    """A closed loop near `start`: the outline of its room's free floor shrunk by `inset_m` (it keeps that
    distance from walls and furniture), as a shapely ring."""
    import shapely

    here = shapely.Point(*start)
    free = scene.free_space.buffer(-inset_m)
    rooms = [shapely.Polygon(r.polygon) for r in scene.rooms]
    room = next((r for r in rooms if r.contains(here)), None)
    region = free if room is None else free.intersection(room.buffer(-0.05))
    parts = [p for p in getattr(region, "geoms", [region]) if p.geom_type == "Polygon" and p.area > 0.5]
    if not parts:
        parts = [p for p in getattr(free, "geoms", [free]) if p.geom_type == "Polygon"]
    return min(parts, key=lambda p: p.distance(here)).exterior


BUSY_LOOP = "while True: pass"
"""The load generator's program: one core spun at the caller's nice level (a child inherits it)."""


class BusyProcesses:
    """`n` processes spinning a core each while the context is open (none for n = 0); killed on exit."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.procs: list = []

    def __enter__(self) -> BusyProcesses:
        import subprocess

        self.procs = [subprocess.Popen([sys.executable, "-c", BUSY_LOOP]) for _ in range(self.n)]
        time.sleep(0.5 if self.n else 0.0)  # let the scheduler see them before the case starts
        return self

    def __exit__(self, *exc) -> None:
        for p in self.procs:
            p.kill()
        for p in self.procs:
            p.wait()


def run_case(app, args: argparse.Namespace, n_emitters: int) -> dict:
    import numpy as np
    from PyQt6.QtCore import QElapsedTimer, QPoint, Qt, QTimer
    from PyQt6.QtTest import QTest

    from naf_app.audio_link import AudioLink
    from naf_app.window import MainWindow
    from naf_model.audio import MAIN
    from naf_model.scene import load_scene

    scene = load_scene(args.scene)
    checkpoint = args.checkpoint
    audio = AudioLink.open(no_audio=True, lookahead_blocks=args.lookahead)
    sink = NullSink(audio.engine)
    sink.start()
    audio.engine.play()
    window = MainWindow(scene, checkpoint, args.device, audio, scene_arg=args.scene)
    window.resize(1400, 820)
    window.show()
    state, view = window.state, window.plan

    def wait_until(cond, timeout_s: float) -> bool:
        end = time.perf_counter() + timeout_s
        while not cond() and time.perf_counter() < end:
            app.processEvents()
            time.sleep(0.005)
        return cond()

    def settle_heatmap() -> None:
        """Wait for the heatmap of the dragged emitter's spot (not part of the drag: it is computed on drop)."""
        wait_until(lambda: state.heatmap is not None and np.allclose(state.heatmap.emitter_xy, state.emitter)
                   and not window.status.progress.isVisible(), 600)

    if not wait_until(lambda: state.field is not None, 120):
        raise SystemExit(f"bench_app: field did not load: {window.messages[-1:]}")
    wait_until(lambda: state.last_ir is not None, 60)
    for _ in range(n_emitters - 1):
        window.studio.add_emitter()
    state.select(MAIN)
    loops = {key: room_loop(scene, state.position(key)) for key in state.emitter_keys}
    for key, loop in loops.items():  # each emitter to the start of its loop (the others a third along theirs)
        p = loop.interpolate(0.0 if key == MAIN else loop.length / 3)
        state.move(key, (p.x, p.y), final=True)
    state.select(MAIN)
    wait_until(lambda: len(state.last_ir.irs) == n_emitters and
               np.allclose(state.last_ir.emitters[MAIN], state.emitter), 60)
    settle_heatmap()

    marker = view.emitter_items[MAIN]
    viewport = view.viewport()
    pos = view.viewport_point(*state.emitter)
    for attempt in range(10):  # hover over the marker first, as a hand would (pyqtgraph's hover may lag)
        QTest.mouseMove(viewport, pos + QPoint(attempt % 2, 0))
        wait_until(lambda: marker.mouseHovering, 0.2)
        if marker.mouseHovering:
            break
    if not marker.mouseHovering:
        under = [type(i).__name__ for i in view.scene().items(view.mapToScene(pos))][:5]
        raise SystemExit(f"bench_app: the mouse at {pos} is not over the emitter marker ({state.emitter}; "
                         f"under it: {under})")

    # answers as the worker thread hands them to the audio engine (DirectConnection: counted there, not
    # when the UI thread gets round to them)
    dragged_updates = [0]
    last_xy = [None]

    def answered(answer) -> None:
        xy = answer.emitters.get(MAIN)
        if xy != last_xy[0]:
            dragged_updates[0] += 1
            last_xy[0] = xy

    lags: list[float] = []
    clock = QElapsedTimer()
    clock.start()
    last_tick = [clock.nsecsElapsed()]

    def tick() -> None:
        now = clock.nsecsElapsed()
        lags.append((now - last_tick[0]) / 1e6 - 10.0)
        last_tick[0] = now

    monitor = QTimer(interval=10, timerType=Qt.TimerType.PreciseTimer, objectName="bench_lag_monitor")
    monitor.timeout.connect(tick)
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pos)
    window.field_worker.answered.connect(answered, Qt.ConnectionType.DirectConnection)
    answered0, requested0 = window.field_worker.answered_count, window.field_worker.dropped_count
    moves = [0]
    speed, others = drag_speed(args.speed, view), [k for k in state.emitter_keys if k != MAIN]
    t0 = time.perf_counter()

    def step() -> None:
        elapsed = time.perf_counter() - t0
        loop = loops[MAIN]
        p = loop.interpolate((speed * elapsed) % loop.length)
        QTest.mouseMove(viewport, view.viewport_point(p.x, p.y))
        for key in others:
            loop = loops[key]
            q = loop.interpolate((loop.length / 3 + speed * elapsed) % loop.length)
            state.move(key, (q.x, q.y), final=False)
        moves[0] += 1

    mover = QTimer(interval=16, objectName="bench_mouse_mover")
    mover.timeout.connect(step)
    cpu0 = thread_cpu_seconds()
    gc_pauses: list[tuple[int, float]] = []
    gc_started = [0.0]

    def gc_timer(phase: str, info: dict) -> None:
        if phase == "start":
            gc_started[0] = time.perf_counter()
        else:
            gc_pauses.append((info["generation"], time.perf_counter() - gc_started[0]))

    gc.callbacks.append(gc_timer)
    profiler = None
    if args.cprofile is not None:
        import cProfile

        profiler = cProfile.Profile()  # profiles the thread that enables it: the UI thread
        profiler.enable()
    if hasattr(app, "table"):
        app.table.clear()
        app.active = True
    sink.wall_s.clear()
    sink.cpu_s.clear()
    renders0, ring0 = audio.engine.renders, audio.engine.ring_underruns
    sink.recording.set()
    last_tick[0] = clock.nsecsElapsed()
    monitor.start()
    mover.start()
    while time.perf_counter() - t0 < args.seconds:
        app.processEvents()
        time.sleep(0.001)
    mover.stop()
    monitor.stop()
    sink.recording.clear()
    render_wall, render_cpu = audio.engine.render_times_since(renders0)
    ring_underruns = audio.engine.ring_underruns - ring0
    gc.callbacks.remove(gc_timer)
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(f"{args.cprofile}-{n_emitters}.prof")
    if hasattr(app, "table"):
        app.active = False
    seconds = time.perf_counter() - t0
    cpu1 = thread_cpu_seconds()
    window.field_worker.answered.disconnect(answered)
    if view.scene().dragItem is not marker:
        raise SystemExit("bench_app: the drag did not take hold of the emitter marker")
    QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                       view.viewport_point(*state.emitter))
    block_s = audio.engine.block_size / audio.engine.sample_rate

    def pct(seconds, q: float | None = None) -> float | None:
        """Mean (or percentile q) of per-block seconds as % of the block; None when there are none."""
        if not len(seconds):
            return None
        value = np.mean(seconds) if q is None else np.percentile(seconds, q)
        return round(float(value) / block_s * 100, 1)

    result = {
        "emitters": n_emitters,
        "load": f"{args.busy} busy process{'es' if args.busy > 1 else ''}" if args.busy else "idle",
        "scene": scene.name,
        "checkpoint": str(checkpoint),
        "preset": state.field.preset,
        "device": state.field.device,
        "torch_threads": args.threads,
        "cpu_count": os.cpu_count(),
        "load_average": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
        "seconds": round(seconds, 2),
        "mouse_moves": moves[0],
        "drag_speed_m_per_s": round(speed, 2),
        "dragged_updates_per_s": round(dragged_updates[0] / seconds, 1),
        "answers_per_s": round((window.field_worker.answered_count - answered0) / seconds, 1),
        "requests_dropped": window.field_worker.dropped_count - requested0,
        "ui_lag_max_ms": round(max(lags), 1) if lags else None,
        "ui_lag_p99_ms": round(float(np.percentile(lags, 99)), 1) if lags else None,
        "last_ir_latency_ms": round(state.last_ir.latency_ms, 1),
        "audio_callback_mean_pct": pct(sink.wall_s),
        "audio_callback_p99_pct": pct(sink.wall_s, 99),
        "audio_callback_cpu_mean_pct": pct(sink.cpu_s),
        "audio_callback_cpu_p99_pct": pct(sink.cpu_s, 99),
        "lookahead_blocks": audio.engine.lookahead_blocks,
        "ring_underruns": ring_underruns,
        "render_mean_pct": pct(render_wall),
        "render_p99_pct": pct(render_wall, 99),
        "render_cpu_mean_pct": pct(render_cpu),
        "render_cpu_p99_pct": pct(render_cpu, 99),
        "gc_collections": len(gc_pauses),
        "gc_max_pause_ms": round(1e3 * max((p for _, p in gc_pauses), default=0.0), 1),
        "gc_generation_2": sum(1 for g, _ in gc_pauses if g == 2),
        "thread_cpu_s": {k: round(cpu1[k] - cpu0.get(k, 0.0), 2) for k in cpu1 if cpu1[k] - cpu0.get(k, 0.0) > 0.05},
    }
    if hasattr(app, "table"):
        rows = sorted(app.table.items(), key=lambda kv: -kv[1][1])[: args.profile_rows]
        result["ui_events"] = [
            {"receiver": r, "event": e, "count": int(v[0]), "total_ms": round(1e3 * v[1], 1),
             "max_ms": round(1e3 * v[2], 1), "cpu_ms": round(1e3 * v[3], 1), "max_cpu_ms": round(1e3 * v[4], 1)}
            for (r, e), v in rows
        ]
        result["ui_event_max_cpu_ms"] = round(1e3 * max((v[4] for v in app.table.values()), default=0.0), 1)
        result["ui_events_cpu_pct"] = round(100 * sum(v[3] for v in app.table.values()) / seconds, 1)
    window.close()
    sink.stop_event.set()
    sink.join()
    app.processEvents()
    return result


MIN_DRAG_PX_PER_S = 62.5
"""The default drag's least speed on screen: a pixel per mouse move (one every 16 ms). A hand drags a marker at
hundreds of pixels a second; at 1 m/s on a plan as big as the cathedral's (20 pixels a metre in the bench's
window) the mouse would reach only ~20 new positions a second, and the count of IR updates would measure the
mouse, not the app. The bundled flats are drawn at 69-89 pixels a metre, so their drags stay at 1 m/s."""


def drag_speed(speed: float | None, view) -> float:
    """The drag speed in m/s: `speed` where given, else 1 m/s or MIN_DRAG_PX_PER_S on screen, whichever is
    faster at the plan view's scale."""
    if speed is not None:
        return speed
    a, b = view.viewport_point(0.0, 0.0), view.viewport_point(1.0, 0.0)
    px_per_m = max(abs(b.x() - a.x()), abs(b.y() - a.y()), 1)
    return max(1.0, MIN_DRAG_PX_PER_S / px_per_m)


def verdicts(r: dict) -> dict[str, bool]:
    """Each target of one case: True when met."""
    return {
        "updates": r["dragged_updates_per_s"] >= TARGETS["updates"],
        "lag_max_ms": (r["ui_lag_max_ms"] or 0.0) <= TARGETS["lag_max_ms"],
        "callback_mean_pct": (r["audio_callback_mean_pct"] or 0.0) <= TARGETS["callback_mean_pct"],
        "callback_p99_pct": (r["audio_callback_p99_pct"] or 0.0) <= TARGETS["callback_p99_pct"],
        "ring_underruns": r["ring_underruns"] <= TARGETS["ring_underruns"],
    }


def table(results: list[dict]) -> str:
    """The cases side by side, one row per figure, PASS/FAIL per target."""
    rows = [
        ("IR updates/s, dragged emitter (>= 20)", "dragged_updates_per_s", "updates"),
        ("max UI lag, ms (<= 50)", "ui_lag_max_ms", "lag_max_ms"),
        ("p99 UI lag, ms", "ui_lag_p99_ms", None),
        ("audio callback mean, % of block (<= 10)", "audio_callback_mean_pct", "callback_mean_pct"),
        ("audio callback p99, % of block (<= 30)", "audio_callback_p99_pct", "callback_p99_pct"),
        ("audio callback CPU mean, % of block", "audio_callback_cpu_mean_pct", None),
        ("audio callback CPU p99, % of block", "audio_callback_cpu_p99_pct", None),
        ("render-ahead, blocks (0: the callback renders)", "lookahead_blocks", None),
        ("ring underruns (audible gaps, 0)", "ring_underruns", "ring_underruns"),
        ("render per block mean, % of block", "render_mean_pct", None),
        ("render per block p99, % of block", "render_p99_pct", None),
        ("render per block CPU p99, % of block", "render_cpu_p99_pct", None),
        ("answers/s (all emitters, one batch each)", "answers_per_s", None),
        ("drag speed, m/s", "drag_speed_m_per_s", None),
        ("last IR latency, ms", "last_ir_latency_ms", None),
        ("longest garbage-collector pause, ms", "gc_max_pause_ms", None),
    ]
    if all("ui_event_max_cpu_ms" in r for r in results):
        rows += [("UI thread: longest event, CPU ms", "ui_event_max_cpu_ms", None),
                 ("UI thread: CPU in events, % of the drag", "ui_events_cpu_pct", None)]
    head = ["", *(f"{r['emitters']} emitter{'s' if r['emitters'] > 1 else ''}, {r.get('load', 'idle')}"
                  for r in results)]
    lines = [" | ".join(head)]
    for title, key, target in rows:
        cells = [title]
        for r in results:
            mark = "" if target is None else (" PASS" if verdicts(r)[target] else " FAIL")
            cells.append(f"{r[key]}{mark}")
        lines.append(" | ".join(cells))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog=__doc__.split("\n\n", 1)[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scene", default="apartment_1", help="scene name or scene file (default apartment_1)")
    parser.add_argument("--checkpoint", type=Path, help="field checkpoint (default: the scene's bundled one, "
                                                        "else its newest training run)")
    parser.add_argument("--device", default="cpu", choices=("auto", "cpu", "cuda"),
                        help="where the app's field runs (default cpu)")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each drag in s (default 10)")
    parser.add_argument("--speed", type=float, default=None,
                        help="drag speed in m/s (default 1, or faster on a plan drawn at fewer than "
                             f"{MIN_DRAG_PX_PER_S:g} pixels a metre, so that the marker moves at least a pixel "
                             "per mouse move: a big space's plan is drawn at a coarser scale, and a hand drags "
                             "in pixels)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--emitters", type=int, nargs="+", default=[1, 4],
                        help="emitter counts, measured one after the other in this run (default: 1 4)")
    parser.add_argument("--profile-ui", action="store_true",
                        help="time every event the UI thread handles (adds a little overhead to each)")
    parser.add_argument("--profile-rows", type=int, default=12, help="rows of the UI profile (default 12)")
    parser.add_argument("--cprofile", type=Path, metavar="PREFIX",
                        help="also run cProfile on the UI thread during each drag; stats to PREFIX-<n>.prof")
    parser.add_argument("--lookahead", type=int, default=None, metavar="BLOCKS",
                        help="engine render-ahead in blocks (default: the app's with a sound card, "
                             "naf_app.audio.render_ahead.RENDER_AHEAD_BLOCKS; 0: the callback renders itself)")
    parser.add_argument("--load", nargs="+", choices=("idle", "busy"), default=["idle", "busy"],
                        help="run each case idle and/or beside the load generator (default: idle busy)")
    parser.add_argument("--busy", type=int, default=1, metavar="N",
                        help="processes of the load generator, one core each (default 1)")
    parser.add_argument("--json", type=Path, help="also write the results here (JSON)")
    args = parser.parse_args(argv)
    if not 1 <= args.busy <= 64:
        parser.error("--busy must be 1-64 processes")
    if any(n < 1 or n > 4 for n in args.emitters):
        parser.error("--emitters: each count must be 1-4")
    if args.seconds <= 0 or (args.speed is not None and args.speed <= 0) or args.threads < 1:
        parser.error("--seconds and --speed must be positive, --threads at least 1")
    if args.lookahead is None:
        from naf_app.audio.render_ahead import RENDER_AHEAD_BLOCKS

        args.lookahead = RENDER_AHEAD_BLOCKS
    if not 0 <= args.lookahead <= 16:
        parser.error("--lookahead must be 0-16 blocks")
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from naf_model.errors import NafError
    from naf_model.scene import load_scene

    try:
        scene = load_scene(args.scene)
    except NafError as exc:
        parser.error(str(exc))
    if args.checkpoint is None:
        from naf_app.main import default_checkpoint

        args.checkpoint = default_checkpoint(scene.name)
        if args.checkpoint is None:
            parser.error(f"no checkpoint for {scene.name}; pass --checkpoint")
    from naf_model.checkpoint import load_checkpoint

    try:  # checked before any window opens: a field of another scene (or geometry) is one line, status 2
        load_checkpoint(args.checkpoint, scene_hash=scene.geometry_hash())
    except NafError as exc:
        parser.error(str(exc))
    import torch

    torch.set_num_threads(args.threads)
    app = make_application(args.profile_ui)
    results, busy = [], args.busy
    for n in args.emitters:
        for load in args.load:
            args.busy = busy if load == "busy" else 0
            with BusyProcesses(args.busy):
                results.append(run_case(app, args, n))
    print(json.dumps(results, indent=2))
    if args.json:
        from naf_model.atomic import write_atomic

        write_atomic(args.json, json.dumps(results, indent=2) + "\n")
    print(table(results))
    ok = all(all(verdicts(r).values()) for r in results)
    print(f"bench_app: {'PASS' if ok else 'FAIL'} (targets: >= 20 IR updates/s for the dragged emitter, max UI "
          "lag <= 50 ms, callback mean <= 10 % and p99 <= 30 % of the block, no ring underrun, in every case)")
    if args.profile_ui:  # a Python QApplication.notify crashes PyQt's teardown at exit: leave at once
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0 if ok else 1)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
