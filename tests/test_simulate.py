"""Physics and invariants of the binaural room simulation, on tiny scenes built on the fly.

Direct sound, level and interaural cues are checked in a large, very absorbent room (12 m x 12 m x 6 m,
ears 3 m up), where the first reflection comes > 2.9 ms after the direct sound; reverberation in a glass
shoebox against Eyring's formula; occlusion in an L-shaped room and a two-room plan.
"""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from scipy.signal import butter, sosfilt
from simulation_helpers import band_t60s, energy

from naf_model.conventions import SAMPLE_RATE, SPEED_OF_SOUND
from naf_model.errors import NafError, PositionError
from naf_model.scene import Scene
from naf_model.scene.examples import l_shaped_scene, shoebox_scene, two_room_scene
from naf_model.simulate import SimulationConfig, SimulationError, simulate_binaural_rirs
from naf_model.simulate.eyring import eyring_t60
from naf_model.simulate.rirs import _fill_silent
from naf_model.simulate.room import newell_normal, run_room, scene_walls
from naf_model.simulate.tail import render_tail

FS = SAMPLE_RATE
HEAD = 0.0875
FAST = SimulationConfig(ir_seconds=0.1, n_rays=300, head_radius=HEAD, hrtf="")
"""The spherical head: its near-ear delay and ITD are closed-form (measured ears: tests/test_hrtf.py)."""


def db(x: float) -> float:
    return 10 * np.log10(x)


@pytest.fixture(scope="module")
def open_field():
    """Emitter at (3, 6); listeners 1, 2 and 4 m away along +x, so the source is at -x of every head."""
    scene = Scene.from_dict({**shoebox_scene(12.0, 12.0, 6.0, "acoustic_panel").to_dict(), "ear_height": 3.0})
    listeners = np.array([[4.0, 6.0], [5.0, 6.0], [7.0, 6.0]])
    return simulate_binaural_rirs(scene, (3.0, 6.0), listeners, FAST), np.array([1.0, 2.0, 4.0])


def test_shape_dtype_determinism_and_batch_independence():
    scene = two_room_scene()
    listeners = np.array([[3.0, 1.5], [1.0, 2.2], [3.5, 0.4]])
    irs = simulate_binaural_rirs(scene, (0.8, 0.8), listeners, FAST)
    assert irs.shape == (3, 4, 2, round(0.1 * FS)) and irs.dtype == np.float32
    assert np.isfinite(irs).all()
    assert np.array_equal(irs, simulate_binaural_rirs(scene, (0.8, 0.8), listeners, FAST))
    assert np.array_equal(irs[2:], simulate_binaural_rirs(scene, (0.8, 0.8), listeners[2:], FAST))
    reseeded = SimulationConfig(**{**vars(FAST), "seed": 1})
    assert not np.array_equal(irs, simulate_binaural_rirs(scene, (0.8, 0.8), listeners, reseeded))


def test_direct_sound_reaches_the_near_ear_at_distance_minus_head_radius_over_c(open_field):
    """Woodworth: the ear facing the source hears it a / c before the head centre would (d / c).

    Orientation 90 deg faces +y, so the source (at -x) is on the left; at 270 deg it is on the right. The
    near ear's largest sample must lie within 1 sample of (d - a) / c * fs.
    """
    irs, dist = open_field
    for i, d in enumerate(dist):
        expected = (d - HEAD) / SPEED_OF_SOUND * FS
        assert abs(np.argmax(np.abs(irs[i, 1, 0])) - expected) <= 1.0
        assert abs(np.argmax(np.abs(irs[i, 3, 1])) - expected) <= 1.0


def test_direct_sound_energy_falls_6_db_per_doubling_of_distance(open_field):
    irs, dist = open_field
    t = dist / SPEED_OF_SOUND
    direct = [energy(irs[i, 0], t[i] - 0.001, t[i] + 0.002) for i in range(len(dist))]
    steps = np.diff(db(np.array(direct)))
    assert np.all(np.abs(steps + 6.02) < 1.5), steps


def test_source_on_the_left_leads_and_is_louder_at_the_left_ear_and_flips_when_the_head_turns(open_field):
    irs, dist = open_field
    highpass = butter(4, 1000.0, btype="high", fs=FS, output="sos")
    for i, d in enumerate(dist):
        t = d / SPEED_OF_SOUND
        for orientation, near, far in ((1, 0, 1), (3, 1, 0)):  # 90 deg: source on the left; 270: on the right
            pair = irs[i, orientation].astype(np.float64)
            itd_ms = (np.argmax(np.abs(pair[far])) - np.argmax(np.abs(pair[near]))) / FS * 1000
            assert 0.4 <= itd_ms <= 0.8, itd_ms
            hf = sosfilt(highpass, pair, axis=-1)
            ild = db(energy(hf[near], t - 0.001, t + 0.002) / energy(hf[far], t - 0.001, t + 0.002))
            assert ild > 6.0, ild


def test_listener_behind_a_wall_gets_10_db_less_in_the_first_5_ms():
    """L-shaped room: both listeners 5 m from the emitter; the line to the second crosses the inner corner."""
    scene = l_shaped_scene()
    emitter = np.array([5.5, 0.8])
    listeners = np.array([[0.5, 0.8], [2.2, 0.8 + np.sqrt(25.0 - 3.3**2)]])
    blocked = shapely.LineString([emitter, listeners[1]]).intersects(scene.free_space.exterior)
    assert blocked and not shapely.LineString([emitter, listeners[0]]).intersects(scene.free_space.exterior)
    irs = simulate_binaural_rirs(scene, emitter, listeners, SimulationConfig(ir_seconds=0.1, n_rays=1000))
    t = 5.0 / SPEED_OF_SOUND
    assert db(energy(irs[0], t, t + 0.005) / energy(irs[1], t, t + 0.005)) >= 10.0


def test_listener_seeing_no_image_source_gets_a_finite_nonzero_tail_only_ir():
    """Two rooms, order 1: the listener at (3.18, 0.68) sees the emitter neither directly nor mirrored."""
    scene = two_room_scene()
    config = SimulationConfig(ir_seconds=0.15, ism_order=1, n_rays=500)
    listeners = np.array([[3.175, 0.675], [1.5, 2.0]])
    walls = scene_walls(scene)
    room = run_room(walls, np.array([0.5, 0.5, 1.5]), np.column_stack([listeners, [1.5, 1.5]]), config, 100)
    assert len(room.arrivals[0].delays) == 0 and len(room.arrivals[1].delays) > 0
    irs = simulate_binaural_rirs(scene, (0.5, 0.5), listeners, config)
    assert np.isfinite(irs).all()
    assert energy(irs[0], 0.0, 0.15) > 0.0
    direct = np.linalg.norm(listeners[0] - [0.5, 0.5]) / SPEED_OF_SOUND
    assert energy(irs[0], 0.0, direct - 0.002) == 0.0  # nothing before the earliest possible arrival


def test_a_listener_on_the_emitter_gets_the_finite_direct_level_of_0_2_m():
    scene = Scene.from_dict({**shoebox_scene(12.0, 12.0, 6.0, "acoustic_panel").to_dict(), "ear_height": 3.0})
    irs = simulate_binaural_rirs(scene, (3.0, 6.0), np.array([[3.0, 6.0], [3.05, 6.0], [3.2, 6.0]]), FAST)
    assert np.isfinite(irs).all()
    peaks = np.abs(irs[:, 0]).max(axis=(1, 2))
    assert peaks[0] == pytest.approx(peaks[2], rel=0.3) and peaks[1] == pytest.approx(peaks[2], rel=0.3)


def test_a_listener_no_ray_reached_is_traced_again_with_more_rays():
    scene = two_room_scene()
    config = SimulationConfig(ir_seconds=0.1, ism_order=0, n_rays=10)
    walls, emitter, listeners = scene_walls(scene), np.array([0.5, 0.5, 1.5]), np.array([[3.175, 0.675, 1.5]])
    result = run_room(walls, emitter, listeners, config, config.n_rays)
    assert len(result.arrivals[0].delays) == 0
    result.histograms[:] = 0.0  # as if none of the 10 rays had reached the listener
    assert np.any(_fill_silent(walls, emitter, listeners, config, result).histograms[0] > 0)


def test_walls_face_out_of_the_air_volume():
    """Divergence theorem: with outward normals the walls enclose exactly the free space times the height."""
    scene = two_room_scene()
    walls = scene_walls(scene)
    for w, surface in zip(walls, scene.surfaces(), strict=True):
        n = newell_normal(w.corners)
        if surface.kind == "wall":
            assert scene.free_space.contains(shapely.Point(w.corners.mean(axis=1)[:2] - 0.01 * n[:2]))
        else:
            assert n[2] == pytest.approx(-1.0 if surface.kind == "floor" else 1.0)
    room = run_room(walls, np.array([1.0, 1.0, 1.5]), np.array([[3.0, 1.5, 1.5]]), FAST, 10)
    assert room.volume == pytest.approx(scene.free_space.area * scene.ceiling_height, rel=1e-6)


def test_image_sources_and_ray_traced_tail_share_one_energy_scale():
    """At order 3 the first 40 ms after the direct sound are mostly image sources; at order 0 the ray tracer
    renders the same reflections. With one energy scale both carry about the same energy (measured 0.6-1.4 dB
    apart)."""
    scene = shoebox_scene(4.0, 3.0, 2.5, "glass")
    listeners = np.array([[3.0, 2.0], [2.3, 0.8]])
    t = np.linalg.norm(listeners - [1.0, 1.0], axis=1) / SPEED_OF_SOUND
    early = {}
    for order in (0, 3):
        irs = simulate_binaural_rirs(scene, (1.0, 1.0), listeners, SimulationConfig(0.3, order, n_rays=1500))
        early[order] = np.array([energy(irs[i], t[i] + 0.001, t[i] + 0.04) for i in range(len(listeners))])
    assert np.all(np.abs(db(early[0] / early[3])) < 3.0), early


def test_tail_reproduces_the_histogram_energy_in_each_bin_at_each_ear():
    """A flat histogram (every band 1e-3 per 4 ms bin from 20 ms on, no air absorption) must give each ear
    1e-3 of energy per bin: the image sources' scale, amplitude 1 at 1 m, is the histograms' scale."""
    bin_seconds, n_samples = 88 / FS, round(0.3 * FS)
    histogram = np.zeros((7, 80))
    histogram[:, 5:] = 1e-3
    rng = np.random.default_rng(0)
    tail = render_tail(histogram, bin_seconds, 0.01, 60.0, np.zeros(7), n_samples, HEAD, rng)
    per_bin = energy(tail, 0.05, 0.25) / 2 / (0.2 / bin_seconds)
    assert abs(db(per_bin / 1e-3)) < 0.5, per_bin
    assert energy(tail, 0.0, 0.01) == 0.0
    left, right = sosfilt(butter(4, 3000.0, btype="high", fs=FS, output="sos"), tail, axis=-1)
    assert abs(np.corrcoef(left, right)[0, 1]) < 0.2  # the ears are decorrelated above ~1 kHz


def test_shoebox_reverberation_time_is_within_25_percent_of_eyring():
    """Measured in 1/3-octave bands at the 500 Hz and 1 kHz octave centres, where the simulation uses exactly
    that octave's absorption (a full-octave filter also picks up the neighbouring bands' decays)."""
    scene = shoebox_scene(4.0, 3.0, 2.5, "glass")
    listeners = np.array([[3.0, 2.0], [2.3, 0.8]])
    irs = simulate_binaural_rirs(scene, (1.0, 1.0), listeners, SimulationConfig(ir_seconds=0.8, n_rays=1500))
    for band_hz in (500, 1000):
        predicted = eyring_t60(scene, band_hz)
        measured = band_t60s(irs, band_hz)
        assert abs(np.mean(measured) / predicted - 1) < 0.25, (band_hz, predicted, measured)


def test_bad_positions_and_settings_are_user_errors():
    scene = two_room_scene()
    with pytest.raises(PositionError, match="listener 1"):
        simulate_binaural_rirs(scene, (0.8, 0.8), np.array([[3.0, 1.5], [2.0, 0.5]]), FAST)  # inside a wall
    with pytest.raises(PositionError, match="emitter"):
        simulate_binaural_rirs(scene, (9.0, 9.0), np.array([[3.0, 1.5]]), FAST)
    with pytest.raises(SimulationError, match="n_rays"):
        SimulationConfig(n_rays=0)
    assert issubclass(SimulationError, NafError)
    text = FAST.to_json()
    assert SimulationConfig.from_json(text) == FAST
    with pytest.raises(SimulationError, match="unknown"):
        SimulationConfig.from_json({"n_rays": 10, "rays": 3})
