"""Where one emitter block's simulation time goes, phase by phase, beside what `naf data make`'s cost model says.

    .venv/bin/python scripts/simulation_cost.py --scene cathedral --listeners 12
    .venv/bin/python scripts/simulation_cost.py --scene apartment_1 --listeners 24 --ir-seconds 0.6

Simulates the block of the plan's middle emitter (its first `--listeners` listeners) with the settings
`naf data make` would use (the room's IR length unless `--ir-seconds`, the ISM order from the wall count) and
prints the CPU-seconds of the image sources, the ray tracer, the rendering and the description, each beside
the model's (`naf_model.data.budget`), and the model's inputs (walls, reflections per second, a ray's life).
CPU time (`time.process_time`) rather than wall time, so a busy machine inflates the figures less.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time

import numpy as np
import pyroomacoustics as pra

from naf_model.data.budget import (
    ISM_CPU_S,
    ISM_FIXED_LISTENERS,
    RAY_CPU_S,
    RAY_FIXED_LISTENERS,
    RENDER_CPU_S,
    RENDER_CPU_S_PER_S,
    describe_cpu_seconds,
    room_cost,
)
from naf_model.data.described import early_spectrogram, late_description
from naf_model.data.plan import plan_dataset, room_config
from naf_model.errors import NafError
from naf_model.scene.io import load_scene
from naf_model.scene.mesh_import import ism_order_for
from naf_model.simulate import simulate_binaural_rirs


def _timed(spent: dict[str, float], name: str, method):
    def run(*args, **kwargs):
        start = time.process_time()
        try:
            return method(*args, **kwargs)
        finally:
            spent[name] = spent.get(name, 0.0) + time.process_time() - start

    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scene", required=True, help="bundled scene name, scene.json path or mesh path")
    parser.add_argument("--listeners", type=int, default=12, help="listeners of the block (default 12)")
    parser.add_argument("--ir-seconds", type=float, default=None, help="IR length (default: the room's)")
    parser.add_argument("--rays", type=int, default=None, help="rays (default: naf data make's)")
    args = parser.parse_args(argv)
    try:
        scene = load_scene(args.scene)
    except NafError as exc:
        print(f"simulation_cost: {exc}", file=sys.stderr)
        return 2
    config = room_config(scene)
    sim = dataclasses.replace(config.simulation, ism_order=ism_order_for(len(scene.simulation_surfaces())))
    if args.ir_seconds is not None:
        sim = dataclasses.replace(sim, ir_seconds=args.ir_seconds)
    if args.rays is not None:
        sim = dataclasses.replace(sim, n_rays=args.rays)
    plan = plan_dataset(scene, dataclasses.replace(config, simulation=sim))
    emitter = len(plan.emitters) // 2
    listeners = plan.listeners[plan.pairs[plan.block(emitter), 1]][: args.listeners]
    n = len(listeners)

    spent: dict[str, float] = {}
    image_source_model, ray_tracing = pra.Room.image_source_model, pra.Room.ray_tracing
    pra.Room.image_source_model = _timed(spent, "ism", image_source_model)
    pra.Room.ray_tracing = _timed(spent, "rt", ray_tracing)
    try:
        start = time.process_time()
        irs = simulate_binaural_rirs(scene, plan.emitters[emitter], listeners, plan.emitter_simulation(emitter))
        total = time.process_time() - start
    finally:
        pra.Room.image_source_model, pra.Room.ray_tracing = image_source_model, ray_tracing
    start = time.process_time()
    ir16 = irs.astype(np.float16)
    early_spectrogram(ir16, plan.ir_split)
    late_description(ir16, plan.ir_split)
    describe = time.process_time() - start

    room = room_cost(scene, sim.ism_order)
    traced = min(sim.ir_seconds, room.ray_life_s)
    model = {
        "image sources": ISM_CPU_S * float(room.walls) ** room.ism_order * (n + ISM_FIXED_LISTENERS),
        "ray tracing": RAY_CPU_S * sim.n_rays * traced * room.reflections_per_s * room.walls
        * (n + RAY_FIXED_LISTENERS),
        "rendering": n * (RENDER_CPU_S + RENDER_CPU_S_PER_S * sim.ir_seconds),
        "description": describe_cpu_seconds(n, sim.ir_seconds),
    }
    measured = {
        "image sources": spent.get("ism", 0.0),
        "ray tracing": spent.get("rt", 0.0),
        "rendering": total - spent.get("ism", 0.0) - spent.get("rt", 0.0),
        "description": describe,
    }
    print(
        f"{scene.name}: {n} listeners, {sim.ir_seconds:.2f} s IRs, {sim.n_rays} rays, {room.walls} walls, ISM order "
        f"{room.ism_order}, {room.reflections_per_s:.0f} reflections/s, a ray lives {room.ray_life_s:.2f} s"
    )
    print(f"{'phase':<14} {'measured CPU-s':>14} {'model':>8} {'model/measured':>15}")
    for phase in model:
        ratio = model[phase] / measured[phase] if measured[phase] > 0 else float("nan")
        print(f"{phase:<14} {measured[phase]:>14.3f} {model[phase]:>8.3f} {ratio:>15.2f}")
    whole_measured, whole_model = sum(measured.values()), sum(model.values())
    print(f"{'block':<14} {whole_measured:>14.3f} {whole_model:>8.3f} {whole_model / whole_measured:>15.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
