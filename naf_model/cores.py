"""How many CPU cores are free right now: the default thread count of long jobs on a shared machine.

OpenMP threads that wait for a core another process holds slow every step down (one busy process beside
a 2-thread `naf train` on 2 cores cost 9x). So jobs size their thread pool from the cores that were idle
over a short sample of /proc/stat, within this process's CPU affinity (standard library only).
"""

from __future__ import annotations

import os
import time


def allowed_cores() -> int:
    """Cores this process may run on (CPU affinity where the OS has it)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _cpu_times() -> tuple[int, int] | None:
    """(idle + iowait, total) jiffies over all CPUs from /proc/stat, None where unreadable."""
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            fields = [int(v) for v in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    return fields[3] + (fields[4] if len(fields) > 4 else 0), sum(fields[:8])


def free_cores(sample_s: float = 0.2) -> int:
    """Cores idle over the next `sample_s` seconds (at least 1, at most `allowed_cores()`), rounded."""
    allowed = allowed_cores()
    first = _cpu_times()
    if first is None:
        return allowed
    time.sleep(sample_s)
    second = _cpu_times()
    if second is None or second[1] <= first[1]:
        return allowed
    idle_share = (second[0] - first[0]) / (second[1] - first[1])
    return max(1, min(allowed, int(idle_share * (os.cpu_count() or allowed) + 0.5)))
