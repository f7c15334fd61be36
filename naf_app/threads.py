"""The one mailbox of the app's worker threads: callers post under a Condition, the thread takes the newest
work and does it outside the lock, `stop()` flags, wakes and waits.

A subclass says when there is work (`_ready`), takes it (`_take`, under the lock), does it (`_work`, outside
the lock) and may cancel what runs when asked to stop (`_cancel_all`, under the lock); `_idle_timeout`
bounds a wait (a rate-limited worker). Posting is `with self._post(): ...` from any thread.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager

from PyQt6.QtCore import QThread

from naf_app.priority import lower_this_thread


class MailboxThread(QThread):
    """A QThread serving a mailbox of pending work; see the module's docstring for what subclasses define."""

    NICE = 0
    """Nice steps the thread lowers itself by when it starts (`naf_app.priority`): 0 for work the listener
    waits on, BACKGROUND_NICE for work that can wait."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._cond = threading.Condition()
        self._stopping = False

    @contextmanager
    def _post(self):
        """Change the mailbox under its lock, then wake the thread."""
        with self._cond:
            yield
            self._cond.notify()

    def _ready(self) -> bool:
        """Is there work to take? (under the lock)"""
        raise NotImplementedError

    def _take(self):
        """Take the work to do next out of the mailbox (under the lock)."""
        raise NotImplementedError

    def _work(self, item) -> None:
        """Do `item` (outside the lock); must not raise: report failures by signal."""
        raise NotImplementedError

    def _idle_timeout(self) -> float | None:
        """Seconds to wait before asking `_ready` again (None: until woken)."""
        return None

    def _cancel_all(self) -> None:
        """Drop pending work and cancel running work (under the lock, on `stop`)."""

    def _finished(self) -> None:
        """Release what the thread owns after its loop ended (in the thread)."""

    def run(self) -> None:
        lower_this_thread(self.NICE)
        while True:
            with self._cond:
                while not self._stopping and not self._ready():
                    self._cond.wait(self._idle_timeout())
                if self._stopping:
                    break
                item = self._take()
            self._work(item)
        self._finished()

    def stop(self) -> None:
        """Ask the loop to end (cancelling running work), wake it and wait for the thread to finish; safe to
        call on a thread that never started."""
        with self._cond:
            self._stopping = True
            self._cancel_all()
            self._cond.notify()
        self.wait()
