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
