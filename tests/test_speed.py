"""This CPU's speed against the simulation cost model (naf_model.data.speed): a pilot simulation's timing is
kept per CPU and scene and scales later estimates. No timing is asserted: the timings here are given, not
measured."""

from __future__ import annotations

import json

import numpy as np
import pytest

from naf_model.data import pilot, speed
from naf_model.data.budget import block_cpu_seconds, room_cost
from naf_model.data.make import block_model_seconds, estimate_minutes, make_dataset, speed_note
from naf_model.data.plan import DataConfig, plan_dataset
from naf_model.rendering.plan import plan_simulation
from naf_model.scene.examples import l_shaped_scene, shoebox_scene, two_room_scene
from naf_model.simulate import SimulationConfig


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("NAF_CACHE_DIR", str(tmp_path))
    return tmp_path


def test_a_scene_uses_its_own_timing_else_the_median_of_this_cpus(cache, monkeypatch):
    room, flat, other = shoebox_scene(4.0, 3.0, 2.5), two_room_scene(), l_shaped_scene()
    assert speed.this_cpu(room) is None and "a pilot simulation times this CPU" in speed_note(room)
    kept = speed.record(room, cpu_s=6.0, model_s=12.0)
    assert kept is not None and kept.factor == 0.5 and speed.this_cpu(room) == kept
    assert speed_note(room) == "timed for this CPU: 0.50x the cost model's seconds, pilot simulation of shoebox"
    speed.record(flat, cpu_s=9.0, model_s=10.0)
    speed.record(other, cpu_s=7.0, model_s=10.0)
    assert speed.this_cpu(flat).factor == 0.9 and speed.this_cpu(room).factor == 0.5
    median = speed.this_cpu(shoebox_scene(5.0, 4.0, 3.0))  # never timed: the median of the three
    assert median.factor == pytest.approx(0.7) and not median.own
    assert median.note().endswith("median of 3 other scenes timed here")
    assert speed.record(room, cpu_s=1.0, model_s=1.5) is None  # too short to tell: not kept
    assert speed.record(room, cpu_s=600.0, model_s=12.0) is None  # 50x: a suspended process, not a CPU
    assert speed.this_cpu(room).factor == 0.5
    speed.record(room, cpu_s=5.5, model_s=10.0, source="build")  # a build of it: the latest timing counts
    assert speed_note(room) == "timed for this CPU: 0.55x the cost model's seconds, build of shoebox"
    speed.record(room, cpu_s=6.0, model_s=12.0)
    stored = json.loads(speed.speed_path().read_text())["cpus"][speed.cpu_key()][speed.scene_key(room)]
    assert stored["cpu_s"] == 6.0 and stored["model_s"] == 12.0 and stored["name"] == "shoebox"
    monkeypatch.setattr(speed, "cpu_key", lambda: "another CPU | pyroomacoustics 0.0")
    assert speed.this_cpu(room) is None  # another CPU (or simulator) is timed again


def test_an_unreadable_file_is_no_timing_and_the_next_pilot_rewrites_it(cache):
    room = shoebox_scene(4.0, 3.0, 2.5)
    speed.speed_path().write_text("{not json")
    assert speed.this_cpu(room) is None
    assert speed.record(room, cpu_s=3.0, model_s=4.0).factor == 0.75 and speed.this_cpu(room).factor == 0.75


def test_estimates_scale_with_this_cpus_factor(cache):
    scene = shoebox_scene(4.0, 3.0, 2.5)
    plan = plan_dataset(scene, DataConfig(listener_spacing=0.8, emitter_spacing=1.2,
                                          simulation=SimulationConfig(ir_seconds=1.0)))  # fmt: skip
    emitters = list(range(len(plan.emitters)))
    model = estimate_minutes(scene, plan, emitters, 2)
    render = plan_simulation(scene, np.array([1.0, 1.0]), np.array([[3.0, 2.0]]), calibration=False).seconds
    speed.record(scene, cpu_s=4.0, model_s=10.0)
    assert estimate_minutes(scene, plan, emitters, 2) == pytest.approx(0.4 * model)
    assert plan_simulation(scene, np.array([1.0, 1.0]), np.array([[3.0, 2.0]]), calibration=False).seconds == (
        pytest.approx(0.4 * render))


def test_the_pilot_times_its_blocks_against_the_model(cache, monkeypatch):
    scene = shoebox_scene(3.2, 2.7, 2.4, "tiles_furnished")
    seen = {}
    monkeypatch.setattr(speed, "record", lambda s, cpu_s, model_s: seen.update(scene=s, cpu=cpu_s, model=model_s))
    need = pilot.pilot_need(scene, SimulationConfig(n_rays=50))
    room = room_cost(scene, SimulationConfig().ism_order)
    expected = pilot.PILOT_EMITTERS * block_cpu_seconds(room, pilot.PILOT_LISTENERS, 50, need.pilot_s)
    assert seen["scene"] is scene and seen["model"] == pytest.approx(expected) and seen["cpu"] > 0


@pytest.mark.parametrize("workers", [1, 2])
def test_a_build_times_its_blocks_against_the_model(cache, monkeypatch, tmp_path, workers):
    scene = shoebox_scene(3.0, 2.5, 2.4)
    config = DataConfig(listener_spacing=0.8, emitter_spacing=1.2, listeners_per_emitter=2, seed=0,
                        simulation=SimulationConfig(ir_seconds=0.3, n_rays=100, hrtf=""))  # fmt: skip
    seen = {}
    monkeypatch.setattr(speed, "record",
                        lambda s, cpu_s, model_s, source: seen.update(scene=s, cpu=cpu_s, model=model_s, source=source))
    make_dataset(scene, config, tmp_path / "room.h5", workers=workers, progress=False)
    plan = plan_dataset(scene, config)
    room = room_cost(scene, config.simulation.ism_order)
    expected = sum(block_model_seconds(room, plan, e) for e in range(len(plan.emitters)))
    assert seen["scene"] is scene and seen["model"] == pytest.approx(expected) and seen["cpu"] > 0
    assert seen["source"] == "build"
