"""What a render's simulated IRs will cost, said before they start (`naf render` / `naf walk` with `--source sim`).

The estimate is the data-set builder's (`naf_model.data.budget.block_cpu_seconds`: ray tracing plus image
sources and rendering, fitted phase by phase to blocks measured on this project's machines) for the
listener spots the render simulates: the distinct positions of its listener and the emitter's calibration
spots (`calibration_spots`). The simulator runs in this one process, so CPU-seconds are wall-clock seconds.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from naf_model.data.budget import block_cpu_seconds, format_minutes, room_cost
from naf_model.data.speed import this_cpu
from naf_model.rendering.calibration import calibration_spots
from naf_model.rendering.ir_source import IRFunction
from naf_model.simulate import SimulationConfig
from naf_model.simulate.ir_length import room_ir_seconds

LONG_SIMULATION_S = 60.0
"""A render whose IRs are estimated to take longer than this asks first (or needs `--yes`). The bundled flats
stay below it (apartment_1 ~26 s, apartment_2 ~46 s with the data defaults; a render now takes their shipped
fields' settings, 0.6 s IRs at image-source order 2 and 1, estimated at ~15 s and ~14 s); a 40-column hall
(174 walls, image-source order 3) is estimated at 48 s and took 42 CPU-s here (minutes on a busy machine), a
64-column one is estimated at ~2.5 min."""


@dataclass(frozen=True)
class SimulationPlan:
    """spots: distinct listener positions simulated; walls: the simulator's walls; seconds: the estimate."""

    spots: int
    walls: int
    ism_order: int
    seconds: float

    @property
    def long(self) -> bool:
        """True when the estimate passes LONG_SIMULATION_S: the command asks before it starts."""
        return self.seconds > LONG_SIMULATION_S

    def line(self, scene_name: str) -> str:
        """One line for the terminal: what is simulated and how long it should take."""
        if self.seconds < 120:  # a render is mostly short: seconds, rounded as the estimate it is
            took = "<5 s" if self.seconds < 5 else f"~{5 * math.ceil(self.seconds / 5)} s"
        else:
            took = format_minutes(self.seconds / 60)
        return (
            f"{scene_name}: simulating IRs at {self.spots} listener spots ({self.walls} walls, image-source order "
            f"{self.ism_order}), {took} on one core"
        )


def plan_simulation(scene, emitter: np.ndarray, listeners: np.ndarray, config: SimulationConfig | None = None,
                    calibration: bool = True) -> SimulationPlan:
    """The cost of simulating `emitter` (2,) heard at `listeners` (K, 2) metres with `config` (default: the
    data defaults; a render passes its source's, `ir_source.SimulatedIRs.config`), counting the emitter's
    calibration spots too when `calibration` (a render's gain needs them, an exported IR does not)."""
    if config is None:
        config = SimulationConfig(ir_seconds=room_ir_seconds(scene))
    emitter = np.asarray(emitter, np.float64).reshape(2)
    every = np.asarray(listeners, np.float64).reshape(-1, 2)
    if calibration:
        every = np.concatenate([every, calibration_spots(scene, emitter)])
    spots = len(np.unique(np.round(every, 6), axis=0))
    room = room_cost(scene, config.ism_order)
    measured = this_cpu(scene)  # a pilot simulation's timing of this CPU against the model (`data.speed`)
    seconds = block_cpu_seconds(room, spots, config.n_rays, config.ir_seconds) * (1.0 if measured is None
                                                                                else measured.factor)
    return SimulationPlan(spots, room.walls, config.ism_order, float(seconds))


def with_estimated_progress(irs: IRFunction, plan: SimulationPlan, tick_s: float = 0.5) -> IRFunction:
    """`irs` showing, while a call runs, a bar of elapsed against estimated seconds (on a terminal only).

    The simulator computes a render's few spots in one call that reports nothing until it ends (splitting it
    would repeat its image-source set-up), so the bar follows the clock; it stops short of the end until the
    IRs are there.
    """

    def run(emitters: np.ndarray, listeners: np.ndarray, headings: np.ndarray) -> np.ndarray:
        total = max(int(round(plan.seconds)), 1)
        bar = tqdm(total=total, desc="simulating IRs (estimated)", unit="s", leave=False, disable=None,
                   bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed} of ~{total} s")
        done = threading.Event()

        def tick() -> None:
            start = time.monotonic()
            while not done.wait(tick_s):
                bar.n = min(int(time.monotonic() - start), total - 1)
                bar.refresh()

        ticker = threading.Thread(target=tick, name="estimated-progress", daemon=True)
        ticker.start()
        try:
            return irs(emitters, listeners, headings)
        finally:
            done.set()
            ticker.join()
            bar.close()

    return run
