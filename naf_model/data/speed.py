"""This CPU's speed against the simulation cost model, measured by the pilot simulation.

The cost model's constants (`data.budget.block_cpu_seconds`) were fitted on one machine, a 2-core Intel Xeon.
Another CPU runs the same simulations faster or slower: this project's 2-core AMD EPYC took 0.42-0.55 of the
model's CPU time in four builds of the flats, so its plans said twice the minutes the builds took. The pilot that
measures a scene's IR length (`data.pilot`) is a real simulation of that scene with the data set's rays, run
anyway before a scene's first build: its CPU time over the model's seconds for the same blocks is this CPU's
factor. Every build then times itself the same way (its blocks' CPU time, in whichever worker ran them), so a
scene whose pilot was cached before this existed, or timed elsewhere, is timed by its first build here. It is kept
per CPU (model name and pyroomacoustics' version) and scene in $NAF_CACHE_DIR/simulation_speed.json, and the
estimates made later on that CPU (`naf data make`'s plan, `--source sim` renders) are scaled by the scene's own
factor, or by the median of the scenes timed there: the factor depends on the scene's mix of image sources, rays
and rendering (0.56 for small_house, 0.90 for the cathedral on the AMD EPYC), and a scene's first build always
times its own pilot before its plan line.
"""

from __future__ import annotations

import json
import platform
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyroomacoustics

from naf_model.atomic import write_atomic

SPEED_VERSION = 2
MIN_TIMED_S = 2.0
"""Model seconds a timing must cover to be kept: shorter ones are mostly set-up and scheduling noise."""
SOURCES = ("pilot simulation", "build")
"""What timed a scene: its IR-length pilot (`data.pilot`) or a data set build (`data.make`)."""
FACTOR_RANGE = (0.1, 10.0)
"""A factor outside this is a measurement gone wrong (a suspended process), not a CPU: not kept."""


@dataclass(frozen=True)
class Speed:
    """This CPU's `factor` (measured CPU seconds per model second): of scene `scene` (`own`), timed by its
    `source` ("pilot simulation" or "build"), or the median over `scene` = "N other scenes" timed on this CPU."""

    factor: float
    scene: str
    own: bool
    source: str = SOURCES[0]

    def note(self) -> str:
        """The plan line's clause."""
        where = f"{self.source} of {self.scene}" if self.own else f"median of {self.scene} timed here"
        return f"timed for this CPU: {self.factor:.2f}x the cost model's seconds, {where}"


def speed_path() -> Path:
    """$NAF_CACHE_DIR/simulation_speed.json."""
    from naf_model.paths import cache_dir

    return cache_dir() / "simulation_speed.json"


def cpu_key() -> str:
    """This CPU's name (Linux: /proc/cpuinfo's model name, else `platform.processor()`) and the simulator's
    version: a new CPU or simulator is timed again."""
    name = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    name = name or platform.processor() or platform.machine() or "unknown CPU"
    return f"{name} | pyroomacoustics {pyroomacoustics.__version__}"


def scene_key(scene) -> str:
    """A scene's entry: its geometry hash (what the pilot cache is keyed by), its name where it has none."""
    try:
        return str(scene.geometry_hash())
    except AttributeError:
        return str(getattr(scene, "name", scene))


def _read() -> dict:
    try:
        d = json.loads(speed_path().read_text())
        return d if d.get("version") == SPEED_VERSION and isinstance(d.get("cpus"), dict) else {}
    except (OSError, ValueError, AttributeError):
        return {}


def _factor(entry) -> float | None:
    try:
        factor = float(entry["factor"])
    except (TypeError, KeyError, ValueError):
        return None
    return factor if FACTOR_RANGE[0] <= factor <= FACTOR_RANGE[1] else None


def this_cpu(scene=None) -> Speed | None:
    """This CPU's factor for `scene`: its own latest timing here (pilot or build), else the median of the scenes
    timed here; None where none was (or the file is unreadable)."""
    scenes = _read().get("cpus", {}).get(cpu_key(), {})
    if not isinstance(scenes, dict):
        return None
    own = scenes.get(scene_key(scene)) if scene is not None else None
    if _factor(own) is not None:
        return Speed(_factor(own), str(own.get("name", scene_key(scene))), True, str(own.get("source", SOURCES[0])))
    factors = [f for f in (_factor(e) for e in scenes.values()) if f is not None]
    if not factors:
        return None
    return Speed(float(np.median(factors)), f"{len(factors)} other scene{'s' if len(factors) > 1 else ''}", False)


def record(scene, cpu_s: float, model_s: float, source: str = SOURCES[0]) -> Speed | None:
    """Keep this CPU's factor for `scene` from a simulation of it (its pilot, or a build: the latest counts) that
    took `cpu_s` CPU seconds where the model says `model_s`; None (nothing kept) when the timing is too short or
    out of range. A failed write keeps the old file (`naf_model.atomic`) and is not an error: the estimate only
    stays the model's."""
    if model_s < MIN_TIMED_S or not FACTOR_RANGE[0] <= cpu_s / model_s <= FACTOR_RANGE[1]:
        return None
    name = str(getattr(scene, "name", scene))
    data = _read() or {"version": SPEED_VERSION, "cpus": {}}
    scenes = data["cpus"].setdefault(cpu_key(), {})
    scenes[scene_key(scene)] = {"factor": round(cpu_s / model_s, 4), "name": name, "source": source,
                                "cpu_s": round(cpu_s, 2), "model_s": round(model_s, 2),
                                "when": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}  # fmt: skip
    try:
        speed_path().parent.mkdir(parents=True, exist_ok=True)
        write_atomic(speed_path(), json.dumps(data, indent=1, sort_keys=True) + "\n")
    except OSError:
        return None
    return Speed(round(cpu_s / model_s, 4), name, True, source)
