"""The app's threads ordered for the listener (naf_app.priority): the background workers lower their own nice
level when they start, the threads the listener waits on (field worker, the audio render thread, the UI) keep
the app's. Read back from the kernel per thread id (Linux); elsewhere lowering is a no-op returning False."""

from __future__ import annotations

import os
import sys
import threading

import pytest

from naf_app.analysis_worker import AnalysisWorker
from naf_app.priority import BACKGROUND_NICE, FIELD_NICE, lower_this_thread
from naf_app.readout_worker import ReadoutWorker
from naf_app.simulation_worker import SimulationWorker
from naf_app.threads import MailboxThread
from naf_app.worker import FieldWorker

linux_only = pytest.mark.skipif(sys.platform != "linux", reason="per-thread nice is Linux's")


def _nice_of(tid: int) -> int:
    return os.getpriority(os.PRIO_PROCESS, tid)


def _in_thread(fn) -> tuple[object, int, int]:
    """Run `fn` in a fresh thread: (its result, the thread's nice before and after)."""
    out = {}

    def body():
        tid = threading.get_native_id()
        out["before"] = _nice_of(tid)
        out["result"] = fn()
        out["after"] = _nice_of(tid)

    t = threading.Thread(target=body)
    t.start()
    t.join()
    return out["result"], out["before"], out["after"]


@linux_only
def test_a_thread_lowers_itself_and_no_other() -> None:
    main_before = _nice_of(threading.get_native_id())
    lowered, before, after = _in_thread(lambda: lower_this_thread(3))
    assert lowered and after == min(before + 3, 19)
    assert _nice_of(threading.get_native_id()) == main_before, "the calling thread only, not the process"
    unchanged, before, after = _in_thread(lambda: lower_this_thread(0))
    assert not unchanged and after == before


def test_elsewhere_nothing_changes(monkeypatch) -> None:
    monkeypatch.setattr(sys, "platform", "darwin")
    called = []
    monkeypatch.setattr(os, "setpriority", lambda *a: called.append(a))
    assert lower_this_thread(BACKGROUND_NICE) is False and not called


def test_the_background_workers_rank_below_the_listeners_threads() -> None:
    """The render thread and the UI at the app's level (MailboxThread's default 0), the field worker a little
    below them, the background workers below it."""
    assert MailboxThread.NICE == 0 < FieldWorker.NICE == FIELD_NICE
    assert AnalysisWorker.NICE == ReadoutWorker.NICE == SimulationWorker.NICE == BACKGROUND_NICE > FIELD_NICE


class _Probe(MailboxThread):
    """A mailbox thread that records its nice level while it works."""

    NICE = 4

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[int] = []
        self._todo = [1]

    def _ready(self) -> bool:
        return bool(self._todo)

    def _take(self):
        return self._todo.pop()

    def _work(self, item) -> None:
        self.seen.append(_nice_of(threading.get_native_id()))
        with self._post():
            self._stopping = True


@linux_only
def test_a_mailbox_thread_works_at_its_level(qtbot) -> None:
    base = _nice_of(threading.get_native_id())
    probe = _Probe()
    probe.start()
    qtbot.waitUntil(lambda: bool(probe.seen), timeout=5000)
    probe.stop()
    assert probe.seen == [min(base + _Probe.NICE, 19)]
