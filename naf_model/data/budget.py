"""Size estimates made before anything is allocated: pairs, bytes on disk and in memory, and minutes of a data set.

A request that exceeds a stated limit or the machine (free disk, available memory) is refused with one
line that gives the numbers and the option to change, instead of failing hours later or exhausting memory.
Time is only reported (`simulation_minutes`), never refused: a long build is the user's call.
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Iterable
from pathlib import Path

from naf_model import conventions
from naf_model.data.described import LATE_BANDS
from naf_model.errors import DataError
from naf_model.split import IrSplit

MAX_PAIRS = 2_000_000
"""More emitter-listener pairs than this is a mistake in the spacings (the bundled flats use ~10,000)."""

BYTES_PER_VALUE = 2
"""Spectrograms, late envelopes and IRs are stored as float16."""


def pair_bytes(split: IrSplit, waveform: bool = True) -> int:
    """Bytes one pair takes on disk before compression: 4 orientations x 2 ears of a (256, early_frames)
    spectrogram, a (7, late_frames) late envelope and, with `waveform`, an N-sample IR."""
    values = conventions.N_FREQ * split.early_frames + LATE_BANDS * split.late_frames
    return 4 * 2 * (values + (split.ir_length if waveform else 0)) * BYTES_PER_VALUE


def data_bytes(n_pairs: int, n_waveforms: int, split: IrSplit) -> int:
    """Bytes (before compression) of a data set of `n_pairs` pairs, `n_waveforms` of them with waveforms."""
    return n_pairs * pair_bytes(split, waveform=False) + n_waveforms * (pair_bytes(split) - pair_bytes(split, False))


def check_plan_size(n_emitters: int, n_listeners: int, per_emitter: int | None, split: IrSplit) -> int:
    """The most pairs a plan can hold; DataError (with the numbers) when above MAX_PAIRS. Counts only."""
    per = n_listeners if per_emitter is None else min(per_emitter, n_listeners)
    pairs = n_emitters * per
    if pairs > MAX_PAIRS:
        size = pairs * pair_bytes(split, waveform=False)
        raise DataError(
            f"{n_emitters:,} emitters x {per:,} listeners = {pairs:,} pairs (~{size / 1e9:,.0f} GB), more than "
            f"{MAX_PAIRS:,}; use a larger --emitter-spacing or --listener-spacing, or --listeners-per-emitter"
        )
    return pairs


def check_disk(n_pairs: int, n_waveforms: int, split: IrSplit, output: Path, fewer: str = "coarser spacings") -> int:
    """Bytes the data set takes (`data_bytes`); DataError when its parts and the assembled file (2x) exceed the
    free disk (`fewer`: how the message tells the user to ask for fewer pairs)."""
    size = data_bytes(n_pairs, n_waveforms, split)
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
            f"has {free / 1e9:.1f} GB free; free some space, choose another -o, or {fewer}"
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


RAY_CPU_S_PER_WALL = 0.22
"""Ray tracing: CPU-seconds per simulator wall for a reference block (below); scales with rays x IR length."""
ISM_CPU_S = 3.3
ISM_WALLS = 51.0
"""Image sources: ISM_CPU_S x (walls / ISM_WALLS) ** order CPU-seconds for a reference block."""
REFERENCE_BLOCK = {"listeners": 60, "rays": 3000, "ir_seconds": 0.6}
"""The block the constants were measured on: one emitter, 60 listeners x 4 orientations, 3,000 rays, 0.6 s IRs."""


def block_cpu_seconds(walls: int, ism_order: int, listeners: int, rays: int, ir_seconds: float) -> float:
    """CPU-seconds one emitter block takes to simulate: ray tracing + image sources, both per listener.

    Ray tracing grows with rays x walls x IR length, the image sources with walls ** order. The constants are
    a least-squares fit (of log times) to blocks measured on this project's 2-core AMD EPYC machine, reference
    block, CPU-seconds measured (model):
    unfurnished apartment_1, 64 walls, order 3: ~13 (21); furnished apartment_1, 136 walls, order 2: 53 (53);
    furnished apartment_2, 171 walls, order 1: 46 (49), order 2: 79 (74); small_house mesh, 59 walls,
    order 3: 1,094 for 38 emitters, 29 each (18). So expect the real time within about a factor 1.6 either way;
    the geometry (room sizes, how many image sources stay visible) is what the model does not see.
    """
    per_listener = listeners / REFERENCE_BLOCK["listeners"]
    rays_time = rays / REFERENCE_BLOCK["rays"] * ir_seconds / REFERENCE_BLOCK["ir_seconds"]
    ray_tracing = RAY_CPU_S_PER_WALL * walls * rays_time
    image_sources = ISM_CPU_S * (walls / ISM_WALLS) ** ism_order
    return per_listener * (ray_tracing + image_sources)


DESCRIBE_CPU_S = 0.12
"""CPU-seconds per pair per second of IR to describe a simulated pair for the data set: almost all of it the
late part's band split (`data.described.late_description`: 7 bands x 2 ears x 4 orientations, FFTs of the whole
padded IR). Measured on this project's 2-core AMD EPYC machine: 0.08 s a pair at 0.6 s, 0.35 s at 3 s, 0.70 s
at 6 s; next to a block's simulation (the reference block, unfurnished apartment_1: about 0.2 s a listener at
0.6 s) it is not small."""


def describe_cpu_seconds(pairs: int, ir_seconds: float) -> float:
    """CPU-seconds to turn `pairs` simulated pairs of IRs `ir_seconds` long into spectrograms and late parts."""
    return DESCRIBE_CPU_S * pairs * ir_seconds


def simulation_minutes(block_seconds: Iterable[float], workers: int) -> float:
    """Wall-clock minutes for blocks of these CPU-seconds on `workers` processes, one block per worker at a
    time (each worker has a core to itself): the total shared out, but never less than the longest block."""
    blocks = list(block_seconds)
    if not blocks:
        return 0.0
    return max(sum(blocks) / max(workers, 1), max(blocks)) / 60.0


def format_minutes(minutes: float) -> str:
    """'<1 min', '~21 min' or '~3.5 h': a coarse estimate, rounded as such."""
    if minutes < 1:
        return "<1 min"
    if minutes < 120:
        return f"~{math.ceil(minutes):,} min"
    return f"~{minutes / 60:,.1f} h"
