"""scripts/bench_app.py's load generator: the busy processes run during a case and are gone after it, and bad
arguments are one line with status 2 before any window opens."""

from __future__ import annotations

import os
import subprocess
import sys

from script_helpers import SCRIPTS, load_script

SCRIPT = SCRIPTS / "bench_app.py"


def _module():
    return load_script("bench_app")


def test_busy_processes_spin_during_the_case_and_stop_after_it() -> None:
    bench = _module()
    with bench.BusyProcesses(2) as busy:
        pids = [p.pid for p in busy.procs]
        assert len(pids) == 2 and all(p.poll() is None for p in busy.procs)
        assert all(os.getpriority(os.PRIO_PROCESS, pid) == os.getpriority(os.PRIO_PROCESS, 0) for pid in pids)
    assert all(p.poll() is not None for p in busy.procs)
    with bench.BusyProcesses(0) as idle:
        assert idle.procs == []


def test_a_bad_load_argument_is_one_line() -> None:
    for bad in (["--busy", "0"], ["--load", "heavy"]):
        run = subprocess.run([sys.executable, str(SCRIPT), *bad], capture_output=True, text=True,
                             env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
        assert run.returncode == 2 and "Traceback" not in run.stderr
        assert run.stderr.strip().splitlines()[-1].startswith("bench_app.py: error:")


class _View:
    """A plan view drawn at `px_per_m` pixels a metre (what `drag_speed` reads of it)."""

    def __init__(self, px_per_m: int) -> None:
        self.px_per_m = px_per_m

    def viewport_point(self, x: float, y: float):
        from PyQt6.QtCore import QPoint

        return QPoint(round(10 + x * self.px_per_m), round(700 - y * self.px_per_m))


def test_the_default_drag_moves_a_pixel_per_mouse_move_on_big_plans() -> None:
    bench = _module()
    assert bench.drag_speed(None, _View(75)) == 1.0  # apartment_1's scale in the bench's window: 1 m/s
    assert bench.drag_speed(None, _View(20)) == bench.MIN_DRAG_PX_PER_S / 20  # the cathedral's: 3.125 m/s
    assert bench.drag_speed(2.5, _View(20)) == 2.5  # a given speed is kept
    assert bench.drag_speed(None, _View(20)) * 20 * 0.016 == 1.0  # a pixel per 16 ms mouse move


def test_a_bad_speed_is_one_line() -> None:
    run = subprocess.run([sys.executable, str(SCRIPT), "--speed", "0"], capture_output=True, text=True,
                         env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert run.returncode == 2 and "Traceback" not in run.stderr
