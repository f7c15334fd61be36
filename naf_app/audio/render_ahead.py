"""Keeping the audio thread fed: a render thread that keeps a few blocks ready for the callback
(`RenderAhead`), and a shorter GIL switch interval for the whole process.

The render thread runs the player a few blocks ahead into a ring of preallocated blocks and the callback only
copies the next one out, so the callback's cost is a copy whatever the emitters and IRs cost, and a render
that is late by less than the lookahead (a wait for the GIL, a busy core) is not heard. The price is latency:
an IR swap, a fader move or pause is heard `blocks` blocks later. One writer per counter (the render thread
counts written blocks, the callback taken ones), so neither side takes a lock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np

GIL_SWITCH_INTERVAL_S = 0.0001
"""How often the interpreter hands the GIL between threads while the app runs (Python's default: 5 ms).
The audio callback is Python: at the default it can wait up to 5 ms, half a 512-frame block at 48 kHz, for
the UI thread or the field worker to let go of the GIL; at 0.5 ms the wait stays a few % of the block. A block
of four emitters' render hands the GIL back and forth dozens of times, each wait up to the interval: at 0.1 ms
(scripts/bench_app.py, 4 emitters, three runs each, idle and beside a busy process) ring underruns fell from
14 to 5 in all and the render's p99 wall time from 170-201 % to 150-181 % of the block, with no fewer IR
updates (docs/benchmarks.md, "Thread priorities")."""

RENDER_AHEAD_BLOCKS = 3
"""Blocks the app renders ahead of the sound card (`LiveAudio(lookahead_blocks=...)`): 32 ms at 512 frames and
48 kHz, enough to ride out a render delayed by the GIL or a busy core on a 2-core machine."""


def prefer_the_audio_thread() -> None:
    """Shorten the GIL switch interval for the whole process (`GIL_SWITCH_INTERVAL_S`); the app calls it at
    start-up, the benchmark too."""
    import sys

    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)


class RenderAhead:
    """A ring of `blocks` blocks (block_size, 2) float32 that a thread keeps filled with `render()`'s blocks.

    `take(outdata)` (the callback) copies the next ready block out, or counts a ring underrun and returns
    False; a failing render is a block of silence counted in `errors`.
    """

    def __init__(self, blocks: int, block_size: int, render: Callable[[], np.ndarray]) -> None:
        self.blocks = max(int(blocks), 1)
        self._render = render
        self._ring = np.zeros((self.blocks, block_size, 2), np.float32)
        self._written = 0
        self._taken = 0
        self.underruns = 0
        self.errors = 0
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    @property
    def running(self) -> bool:
        return self._thread is not None

    def ready(self) -> bool:
        """A block is ready for the next callback."""
        return self._written > self._taken

    def take(self, outdata: np.ndarray) -> bool:
        """Callback thread: copy the next rendered block into `outdata`; False (nothing copied, one ring
        underrun counted) when the render thread is behind."""
        if self._written > self._taken:
            outdata[:] = self._ring[self._taken % self.blocks]
            self._taken += 1
            return True
        self.underruns += 1
        return False

    def start(self, nap_s: float) -> None:
        """Start the render thread (nothing when it runs); it checks for a free slot every `nap_s` seconds."""
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, args=(nap_s,), name="naf-audio-render",
                                            daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop the render thread and drop what it rendered (the next start renders afresh)."""
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stop.set()
            thread.join()
            self._taken = self._written = 0

    def _loop(self, nap_s: float) -> None:
        """Keep the ring full; a failing block is silence, counted as an error."""
        n, stop = self.blocks, self._stop
        while not stop.is_set():
            if self._written - self._taken >= n:
                stop.wait(nap_s)
                continue
            slot = self._ring[self._written % n]
            try:
                slot[:] = self._render()
            except Exception:  # like the callback: never die, play silence, count it
                slot.fill(0.0)
                self.errors += 1
            self._written += 1
