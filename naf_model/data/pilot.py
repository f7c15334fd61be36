"""The IR length a scene needs, measured: a short pilot simulation instead of Eyring's formula alone.

Eyring's formula treats a scene as one diffuse room. The bundled flats are not: rooms coupled through doors,
furniture in some, bare plaster in others. Their simulated IRs decay far slower than the formula says
(apartment_2: 0.64 s from Eyring, but a listener behind a door still hears the reverberation 60 dB down
only after 1.0-2.0 s; at 0.64 s the played IRs ended a median 29 dB down). The pilot simulates
PILOT_EMITTERS x PILOT_LISTENERS seeded free pairs, as long as PILOT_FACTOR times Eyring's length (at most
the cap), through the spherical head (the ears do not change a decay) with the data set's rays and image
source order, and finds where each IR's 50 ms window energy (both ears) last comes within DECAY_DB of its
loudest window. A decay slower than the pilot is extrapolated from the straight line through its windows
between 20 dB below the loudest and the end. The length is the slowest pair's, plus PILOT_MARGIN, rounded up
to 10 ms, at most the cap, never below Eyring's. Results are cached per scene and settings
(`simulate.ir_length.pilot_cache_path`) so `room_ir_seconds` and every later build agree. The pilot is timed:
its CPU time against the cost model's is this CPU's speed, which later estimates use (`data.speed`).
"""

from __future__ import annotations

import json
import math
import time

import numpy as np
from tqdm import tqdm

from naf_model.acoustics.energy import WINDOW_S, window_energies
from naf_model.atomic import write_atomic
from naf_model.data import speed
from naf_model.data.budget import block_cpu_seconds, room_cost
from naf_model.data.plan import free_positions
from naf_model.simulate import SimulationConfig, simulate_binaural_rirs
from naf_model.simulate.ir_length import (
    AUTO_STEP_S,
    DECAY_DB,
    MAX_IR_SECONDS,
    PilotNeed,
    needed_ir_length,
    pilot_cache_path,
    read_pilot,
)

PILOT_EMITTERS = 2
PILOT_LISTENERS = 6
PILOT_FACTOR = 4.0
"""The pilot's IRs are this many times Eyring's length (at most the cap): apartment_2 needs 3.1 times."""
PILOT_MARGIN = 0.1
"""The slowest pilot pair's length is raised by this fraction: 12 pairs sample the scene, the data set's
spots may decay a little slower."""
PILOT_SEED = 20_261_207
FIT_FROM_DB = 20.0


def decay_end_s(irs: np.ndarray) -> np.ndarray:
    """Seconds (B,) at which each binaural IR (B, 2, N) has decayed DECAY_DB below its loudest 50 ms window
    for good: the end of the last window within DECAY_DB of it, or, where even the last window is, the time the
    straight line through its windows from FIT_FROM_DB below the loudest to the end reaches DECAY_DB (inf if
    it does not fall)."""
    e = window_energies(np.asarray(irs, np.float64)).sum(1)  # (B, W)
    db = 10 * np.log10(np.maximum(e, 1e-300) / e.max(axis=1, keepdims=True))
    out = np.empty(len(db))
    for i, row in enumerate(db):
        above = np.flatnonzero(row > -DECAY_DB)
        if above[-1] < len(row) - 1:
            out[i] = (above[-1] + 1) * WINDOW_S
            continue
        start = int(np.argmax(row)) + int(np.argmax(row[np.argmax(row):] <= -FIT_FROM_DB))
        t = (np.arange(start, len(row)) + 0.5) * WINDOW_S
        slope, offset = np.polyfit(t, row[start:], 1) if len(t) >= 3 else (0.0, 0.0)
        out[i] = (-DECAY_DB - offset) / slope if slope < 0 else np.inf
    return out


def pilot_need(scene, simulation: SimulationConfig, progress: bool = False,
               cap_s: float = MAX_IR_SECONDS) -> PilotNeed:
    """The measured IR length of `scene` for data simulated with `simulation`'s rays and image-source order
    (module docstring), from the cache when it holds this scene and these settings."""
    cached = read_pilot(scene)
    if cached is not None:
        return cached
    eyring = needed_ir_length(scene, cap_s)
    length = min(cap_s, max(PILOT_FACTOR * eyring.seconds, eyring.seconds + 0.5))
    config = SimulationConfig(ir_seconds=round(length, 2), n_rays=simulation.n_rays,
                              ism_order=simulation.ism_order, hrtf="", seed=PILOT_SEED)  # fmt: skip
    rng = np.random.default_rng(PILOT_SEED)
    ends = []
    room, cpu_s, model_s = room_cost(scene, config.ism_order), 0.0, 0.0
    with tqdm(total=PILOT_EMITTERS * PILOT_LISTENERS, unit="pair", desc="pilot simulation (IR length)",
              disable=not progress) as bar:  # fmt: skip
        for _ in range(PILOT_EMITTERS):
            emitter = free_positions(scene, rng, 1)[0]
            listeners = free_positions(scene, rng, PILOT_LISTENERS)
            start = time.process_time()
            irs = simulate_binaural_rirs(scene, emitter, listeners, config)[:, 0]  # heading 0: (L, 2, N)
            cpu_s += time.process_time() - start
            model_s += block_cpu_seconds(room, len(listeners), config.n_rays, config.ir_seconds)
            ends.extend(decay_end_s(irs).tolist())
            bar.update(PILOT_LISTENERS)
    speed.record(scene, cpu_s, model_s)  # this CPU's speed against the cost model (`data.speed`)
    slowest = max(ends)
    seconds = min(cap_s, max(eyring.seconds, slowest * (1 + PILOT_MARGIN)))
    seconds = min(cap_s, math.ceil(round(seconds / AUTO_STEP_S, 6)) * AUTO_STEP_S)
    need = PilotNeed(seconds=round(seconds, 6), slowest_s=slowest, pilot_s=config.ir_seconds,
                     pairs=len(ends), eyring_s=eyring.seconds, cap_s=cap_s)  # fmt: skip
    path = pilot_cache_path(scene)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, json.dumps(need.to_dict(), indent=1) + "\n")
    return need
