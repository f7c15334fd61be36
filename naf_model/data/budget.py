"""Size estimates made before anything is allocated: pairs, bytes on disk and in memory, and minutes of a data set.

A request that exceeds a stated limit or the machine (free disk, available memory) is refused with one
line that gives the numbers and the option to change, instead of failing hours later or exhausting memory.
Time is only reported (`simulation_minutes`), never refused: a long build is the user's call.
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from naf_model import conventions
from naf_model.conventions import SPEED_OF_SOUND
from naf_model.data.described import LATE_BANDS
from naf_model.errors import DataError
from naf_model.simulate.eyring import eyring_t60s, surface_areas
from naf_model.split import IrSplit

MAX_PAIRS = 2_000_000
"""More emitter-listener pairs than this is a mistake in the spacings (the bundled flats use ~10,000)."""

BYTES_PER_VALUE = 2
"""Spectrograms, late envelopes and IRs are stored as float16."""


ON_DISK_FRACTION = 0.6
"""What a data set file takes of `data_bytes` once its datasets are compressed, as the plan line says it: the files
measured 0.57-0.61 of it (2026-12-07, `ls -l` against the plan's figure: apartment_2 grid 1,495 of 2,467 MB and its
free-position sets 495 of 806 and 988 of 1,612 MB, all with every waveform; the cathedral 729 of 1,279 MB with the
held-out waveforms only). An estimate to read, never the disk check's figure (that one counts the raw bytes)."""


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


RAY_CPU_S = 1.6e-8
"""Ray tracing: CPU-seconds per ray, per reflection, per simulator wall and per listener. pyroomacoustics sends
each reflection's scattered energy towards every microphone and tests that path against every wall (its
"diffuse rain"), so that product, not the ray count alone, is what the tracer spends its time on."""
RAY_FIXED_LISTENERS = 1.0
"""The tracer's own walk of each ray (reflections x walls), in units of one listener's share."""
ISM_CPU_S = 3.0e-7
"""Image sources: CPU-seconds per image (about walls ** order of them) per listener (visibility tests)."""
ISM_FIXED_LISTENERS = 4.0
"""Generating the images, in units of one listener's visibility tests."""
RENDER_CPU_S = 0.07
RENDER_CPU_S_PER_S = 0.065
"""Rendering one listener's 4 x 2 IRs (its ray-traced tail as noise, its image sources through the ears):
RENDER_CPU_S + RENDER_CPU_S_PER_S x IR seconds."""
DECAY_TRACED_DB = 70.0
"""The tracer stops a ray when its energy is this far down (`SimulationConfig.energy_threshold` 1e-7)."""


@dataclass(frozen=True)
class RoomCost:
    """What a room adds to a simulation's cost: its walls and image-source order, how often a ray meets a wall
    (c S / 4 V, the mean free path's inverse) and how long a ray lives before the tracer drops it."""

    walls: int
    ism_order: int
    reflections_per_s: float = 200.0
    ray_life_s: float = math.inf


def room_cost(scene, ism_order: int) -> RoomCost:
    """The `RoomCost` of a scene: walls of its simulator boundary, its surfaces' area S and air volume V, and its
    slowest band's Eyring T60 (a ray lives DECAY_TRACED_DB / 60 of it). A scene without surfaces or volume
    (a derived plan) gets the defaults, which suit a furnished flat."""
    walls = len(scene.simulation_surfaces())
    try:
        surfaces = scene.surfaces()
        area = float(surface_areas([s.corners for s in surfaces]).sum())
        volume = float(scene.volume)
        t60 = float(np.nanmax(eyring_t60s(scene)))
    except (AttributeError, ValueError, ZeroDivisionError):
        return RoomCost(walls, ism_order)
    if not (area > 0 and volume > 0 and math.isfinite(t60)):
        return RoomCost(walls, ism_order)
    return RoomCost(walls, ism_order, SPEED_OF_SOUND * area / (4 * volume), DECAY_TRACED_DB / 60 * t60)


def block_cpu_seconds(room: RoomCost, listeners: int, rays: int, ir_seconds: float) -> float:
    """CPU-seconds one emitter block of `listeners` takes to simulate: ray tracing + image sources + rendering.

    Ray tracing costs rays x reflections (the traced time, at most the ray's life, times
    `room.reflections_per_s`) x walls x listeners; the image sources walls ** order x listeners; rendering
    grows with the IR length. Fitted to the phases of blocks timed on this project's 2-core Intel Xeon
    (`scripts/simulation_cost.py`, docs/benchmarks.md): a 4 x 3 m room, the 2.7 s reverberant flat, furnished
    apartment_1 and the cathedral (28 to 7,950 m3, 6 to 197 walls, 0.6 to 4.6 s IRs), each phase's constant
    within about 1.5x of every block's.
    """
    traced = min(ir_seconds, room.ray_life_s)
    reflections = traced * room.reflections_per_s
    ray_tracing = RAY_CPU_S * rays * reflections * room.walls * (listeners + RAY_FIXED_LISTENERS)
    image_sources = ISM_CPU_S * float(room.walls) ** room.ism_order * (listeners + ISM_FIXED_LISTENERS)
    rendering = listeners * (RENDER_CPU_S + RENDER_CPU_S_PER_S * ir_seconds)
    return ray_tracing + image_sources + rendering


DESCRIBE_CPU_S = 0.04
"""CPU-seconds per pair per second of IR to describe a simulated pair for the data set (its early spectrogram
and the late part's band split: 7 bands x 2 ears x 4 orientations, FFTs of the whole padded IR). Measured on
the same blocks: 0.028-0.050 s."""


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
