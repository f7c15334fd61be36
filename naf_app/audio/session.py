"""Drive a `LiveAudio` engine's real callback off-line while a worker thread swaps IRs, as the app would.

Used by the engine's tests and its benchmark, so both run the same path: the callback on this thread,
`set_ir` (check, resample, post) on a worker, a new IR due every `swap_every_s` of audio time.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence

import numpy as np
import sounddevice as sd

from naf_app.audio.live import LiveAudio

BlockObserver = Callable[[int, np.ndarray, float, float], None]
"""on_block(block index, output block (frames, 2), wall seconds, thread-CPU seconds) after each callback."""


def drive_callbacks(live: LiveAudio, blocks: int, irs: Sequence[np.ndarray], swap_every_s: float | None,
                    on_block: BlockObserver | None = None, post_timeout_s: float = 10.0,
                    sync_posts: bool = False) -> int:
    """Run `blocks` callbacks; with `swap_every_s`, post `irs` in turn from a worker at that audio-time interval.

    The driver waits for a post to finish only when the next one is due (a 30 Hz worker would not queue more),
    so callbacks run while the worker prepares an IR, as in the app. With `sync_posts` the audio clock stops
    until each post is done instead: every IR is in place for the callback after its due time, so the output
    depends on the inputs alone, not on thread timing (tests compare it with a reference).
    RuntimeError if a post takes longer than `post_timeout_s`. Returns the number of IRs posted.
    """
    todo: queue.Queue[np.ndarray | None] = queue.Queue(maxsize=1)
    done = threading.Semaphore(0)

    def worker() -> None:
        while (ir := todo.get()) is not None:
            live.set_ir(ir)
            done.release()

    thread = threading.Thread(target=worker, name="ir-poster")
    thread.start()
    out = np.zeros((live.block_size, 2), np.float32)
    status = sd.CallbackFlags()
    next_swap, posted = 0.0, 0
    try:
        for i in range(blocks):
            if swap_every_s is not None and i * live.block_size / live.sample_rate >= next_swap:
                if posted and not sync_posts and not done.acquire(timeout=post_timeout_s):
                    raise RuntimeError(f"posting an IR took longer than {post_timeout_s} s")
                todo.put(irs[posted % len(irs)])
                posted += 1
                next_swap += swap_every_s
                if sync_posts and not done.acquire(timeout=post_timeout_s):
                    raise RuntimeError(f"posting an IR took longer than {post_timeout_s} s")
            live.wait_ready()  # a render-ahead engine: its render thread keeps up with a faster-than-real clock
            t0, c0 = time.perf_counter(), time.thread_time()
            live.callback(out, live.block_size, None, status)
            wall, cpu = time.perf_counter() - t0, time.thread_time() - c0
            if on_block is not None:
                on_block(i, out, wall, cpu)
    finally:
        todo.put(None)
        thread.join()
    return posted
