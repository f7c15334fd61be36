"""Size estimates made before anything is allocated: pairs, bytes on disk and in memory of a data set.

A request that exceeds a stated limit or the machine (free disk, available memory) is refused with one
line that gives the numbers and the option to change, instead of failing hours later or exhausting memory.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from naf_model import conventions
from naf_model.errors import DataError

MAX_PAIRS = 2_000_000
"""More emitter-listener pairs than this is a mistake in the spacings (the bundled flats use ~10,000)."""

BYTES_PER_VALUE = 2
"""Spectrograms and IRs are stored as float16."""


def pair_bytes(ir_length: int, n_frames: int) -> int:
    """Bytes one pair takes on disk: 4 orientations x 2 ears of a (256, T) spectrogram and an N-sample IR."""
    return 4 * 2 * (conventions.N_FREQ * n_frames + ir_length) * BYTES_PER_VALUE


def check_plan_size(n_emitters: int, n_listeners: int, per_emitter: int | None, ir_length: int, n_frames: int) -> int:
    """The most pairs a plan can hold; DataError (with the numbers) when above MAX_PAIRS. Counts only."""
    per = n_listeners if per_emitter is None else min(per_emitter, n_listeners)
    pairs = n_emitters * per
    if pairs > MAX_PAIRS:
        size = pairs * pair_bytes(ir_length, n_frames)
        raise DataError(
            f"{n_emitters:,} emitters x {per:,} listeners = {pairs:,} pairs (~{size / 1e9:,.0f} GB), more than "
            f"{MAX_PAIRS:,}; use a larger --emitter-spacing or --listener-spacing, or --listeners-per-emitter"
        )
    return pairs


def check_disk(n_pairs: int, ir_length: int, n_frames: int, output: Path) -> int:
    """Bytes the data set takes; DataError when its parts and the assembled file (2x) exceed the free disk."""
    size = n_pairs * pair_bytes(ir_length, n_frames)
    folder = Path(output).parent
    while not folder.exists() and folder.parent != folder:
        folder = folder.parent
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return size
    if 2 * size > free:
        raise DataError(
            f"{n_pairs:,} pairs take ~{size / 1e9:.1f} GB (twice that while parts are assembled) but {folder} "
            f"has {free / 1e9:.1f} GB free; free some space, choose another -o, or coarser spacings"
        )
    return size


def available_memory() -> int | None:
    """Bytes of memory available to new allocations (Linux MemAvailable), None where unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def check_memory(nbytes: int, what: str, remedy: str) -> None:
    """DataError when `nbytes` would not fit in the memory available now."""
    free = available_memory()
    if free is not None and nbytes > free:
        raise DataError(f"{what} needs {nbytes / 1e9:.1f} GB of memory but {free / 1e9:.1f} GB is available; {remedy}")
