"""How the live stream is doing: `AudioStats` (counts and times since the stream started) and `Timings`, the
fixed ring of per-block wall and CPU times the callback and the render thread write (no allocation there)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TIMING_WINDOW = 8192
"""Blocks kept for the timing statistics (~87 s at 512 frames, 48 kHz)."""


@dataclass(frozen=True)
class AudioStats:
    """Health of the live stream since `start()` (or construction).

    underruns: callbacks PortAudio flagged with an output underflow (the card ran dry: an audible gap);
    late_callbacks: callbacks that took longer than one block period of wall time (slow work, a wait for
    the GIL, or the OS running something else); errors: blocks that failed and played silence; swaps: IR
    swaps the audio thread performed. Times over the last ~8,000 callbacks: wall time, and the callback
    thread's own CPU time (the engine's cost, whatever else the machine does).
    With render-ahead: ring_underruns, callbacks that found no rendered block (silence played), and the
    render thread's wall and CPU time per block (without render-ahead the same figures for the render
    inside the callback).
    """

    callbacks: int
    underruns: int
    late_callbacks: int
    errors: int
    swaps: int
    mean_callback_ms: float
    p99_callback_ms: float
    max_callback_ms: float
    p99_callback_cpu_ms: float
    max_callback_cpu_ms: float
    lookahead_blocks: int = 0
    ring_underruns: int = 0
    mean_render_ms: float = 0.0
    p99_render_ms: float = 0.0
    p99_render_cpu_ms: float = 0.0


class Timings:
    """Wall and thread-CPU seconds of the last TIMING_WINDOW blocks; `record` is one thread's (the writer's),
    the readers take copies."""

    def __init__(self) -> None:
        self._wall = np.zeros(TIMING_WINDOW)
        self._cpu = np.zeros(TIMING_WINDOW)
        self.count = 0

    def record(self, wall_s: float, cpu_s: float) -> None:
        slot = self.count % TIMING_WINDOW
        self._wall[slot] = wall_s
        self._cpu[slot] = cpu_s
        self.count += 1

    def kept_ms(self) -> tuple[np.ndarray, np.ndarray]:
        """Wall and CPU milliseconds of the blocks kept (one zero before the first block)."""
        n = min(self.count, TIMING_WINDOW)
        if not n:
            return np.zeros(1), np.zeros(1)
        return self._wall[:n] * 1e3, self._cpu[:n] * 1e3

    def since(self, count: int) -> tuple[np.ndarray, np.ndarray]:
        """Wall and CPU seconds of each block recorded since `count` was read (the last TIMING_WINDOW at most)."""
        now = self.count
        slots = np.arange(max(count, now - TIMING_WINDOW), now) % TIMING_WINDOW
        return self._wall[slots].copy(), self._cpu[slots].copy()
