"""Thread priorities ordered for the listener: the audio render thread and the UI stay at the app's own priority,
the field worker lowers its own a little (FIELD_NICE), the threads whose work can wait (heatmaps, readouts,
simulations) lower theirs more (BACKGROUND_NICE).

An unprivileged process cannot raise a thread above its own nice level, but any thread may lower itself, so the
order is made from below. Linux schedules each thread by its own nice value (`setpriority` on a thread id);
elsewhere the call would act on the whole process, so it does nothing there.
"""

from __future__ import annotations

import os
import sys
import threading

FIELD_NICE = 3
"""Nice steps the field worker lowers itself by: at +3 the kernel weighs it about half a thread at the app's
level, so on a short core the render thread (a few ms every 10.7 ms block) and the UI run before its next
answer, which still comes before any background work. Measured (docs/benchmarks.md, "The field worker's
priority"): four emitters in the cathedral beside a busy process had a ring underrun in 6 of 8 runs at 0 and in
none of 6 at +3, the dragged emitter's updates/s unchanged."""
BACKGROUND_NICE = 10
"""Nice steps the analysis, readout and simulation threads (and what they start) lower themselves by: at +10
the kernel weighs them ~1/10 of a thread at the app's level, so the render thread, the UI and the field worker
get a core first when one is short, and the background work still runs on an idle one."""


def lower_this_thread(steps: int) -> bool:
    """Lower the calling thread's priority by `steps` nice steps (at most to 19); True when it was lowered.
    Linux only (per-thread nice); a no-op returning False elsewhere, for steps <= 0 or when refused."""
    if steps <= 0 or sys.platform != "linux":
        return False
    tid = threading.get_native_id()
    try:
        now = os.getpriority(os.PRIO_PROCESS, tid)
        os.setpriority(os.PRIO_PROCESS, tid, min(now + steps, 19))
    except OSError:
        return False
    return True
