"""The one way the app's worker threads are stopped: flag `_stopping` under their Condition, wake, wait."""

from __future__ import annotations

from PyQt6.QtCore import QThread


class StoppableThread(QThread):
    """A QThread whose `run` loop waits on `self._cond` and returns once `self._stopping` is set."""

    _cond: object
    _stopping: bool

    def stop(self) -> None:
        """Ask the loop to end, wake it and wait for the thread to finish."""
        with self._cond:
            self._stopping = True
            self._cond.notify()
        self.wait()
