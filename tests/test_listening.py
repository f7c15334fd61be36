"""The played IR (`field.listening`), the listening metrics (`evaluation.listening`) and the off-grid test set:
energy kept on noise-like spectrograms, no coherent pulse where walls block the line of sight, Woodworth ITD,
metrics on signals with known answers, off-grid positions off both grids and free, the cache's plan key."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from model_helpers import tiny_dataset

from naf_model.acoustics import energy, interaural
from naf_model.conventions import SAMPLE_RATE, SPEED_OF_SOUND
from naf_model.data import DataSet, offgrid
from naf_model.evaluation import listening
from naf_model.field.ears import SphericalHead
from naf_model.field.listening import (
    DIFFUSE_LOG_CORRECTION,
    line_of_sight,
    listening_ir,
    synthesize,
)
from naf_model.field.phase import ear_delays
from naf_model.scene.examples import two_room_scene
from naf_model.simulate import SimulationConfig
from naf_model.spectrogram import log_magnitude, stft

SCENE = two_room_scene()
N = 8192
T = 1 + N // 128
POSITIONS = (np.tile([[0.02 * SPEED_OF_SOUND, 0.0]], (48, 1)), np.zeros((48, 2)), np.zeros(48))
"""48 pairs 6.9 m apart (direct sound at 20 ms), listener facing the emitter."""
SPHERICAL_0875 = SimulationConfig(hrtf="", head_radius=0.0875)


def _decaying_noise(n_irs: int, start_s: float, tau_s: float, seed: int = 0) -> np.ndarray:
    """(n_irs, 2, N) Gaussian noise under exp(-t / tau) from start_s on: a diffuse tail."""
    t = np.arange(N) / SAMPLE_RATE
    env = np.exp(-(t - start_s) / tau_s) * (t >= start_s)
    return np.random.default_rng(seed).standard_normal((n_irs, 2, N)) * env


def _energy_db(x: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(np.square(x, dtype=np.float64))))


def test_synthesis_keeps_the_energy_of_noise_like_spectrograms():
    x = _decaying_noise(48, 0.02, 0.15)
    logmag = log_magnitude(x, T)
    occluded = np.zeros(48, bool)
    # one realisation's magnitudes: no correction
    one = listening_ir(logmag, N, *POSITIONS, occluded, log_mean=False)
    assert abs(_energy_db(one) - _energy_db(x)) < 1.0
    # what a field predicts: the mean of ln|X| over realisations, raised by gamma / 2 in the log domain
    mean_log = np.broadcast_to(logmag.mean(0, keepdims=True), logmag.shape)
    played = listening_ir(mean_log, N, *POSITIONS, occluded, log_mean=True)
    assert abs(_energy_db(played) - _energy_db(x)) < 0.5
    uncorrected = listening_ir(mean_log, N, *POSITIONS, occluded, log_mean=False)
    assert _energy_db(played) - _energy_db(uncorrected) == pytest.approx(20 * DIFFUSE_LOG_CORRECTION / np.log(10))
    # a smooth magnitude times a consistent noise STFT: the waveform's STFT energy equals the magnitudes'
    smooth = listening_ir(mean_log, N, *POSITIONS, occluded, log_mean=False)
    mag = np.exp(mean_log) - 1e-3
    spec = stft(smooth, T)[..., :-1, :]
    in_frames = slice(3, T - 2)  # past the gate's frames and the end
    ratio = np.sum(np.abs(spec[..., in_frames]) ** 2) / np.sum(mag[..., in_frames] ** 2)
    assert abs(10 * np.log10(ratio)) < 0.5


def test_line_of_sight_follows_the_walls():
    free = SCENE.free_space
    e = np.array([[1.0, 0.4], [0.5, 1.5], [1.0, 0.4]])
    li = np.array([[3.0, 0.4], [3.5, 1.5], [1.5, 2.5]])
    np.testing.assert_array_equal(line_of_sight(free, e, li), [False, True, True])  # wall, door, same room
    assert line_of_sight(None, e, li).all()


def test_an_occluded_pair_gets_no_pulse_at_the_line_of_sight_delay():
    e, li = np.array([[1.0, 0.4]]), np.array([[3.0, 0.4]])
    # the predicted energy arrives 15 ms after the line-of-sight delay (round the wall, through the door)
    los_s = ear_delays(e, li, np.zeros(1))[0].min()
    logmag = log_magnitude(_decaying_noise(1, los_s + 0.015, 0.1), T)
    occluded = synthesize("listening", logmag, e, li, np.zeros(1), N, SphericalHead(0.0875), SCENE.free_space)
    visible = synthesize("listening", logmag, e, li, np.zeros(1), N, SphericalHead(0.0875), None)
    around = slice(int((los_s - 0.001) * SAMPLE_RATE), int((los_s + 0.003) * SAMPLE_RATE))
    assert np.all(occluded[0, :, around] == 0)  # nothing at the line-of-sight delay
    assert np.abs(visible[0, :, around]).max() > 0  # the same magnitudes with line of sight: a pulse there
    assert np.abs(occluded[0, :, around.stop :]).max() > 0


def test_itd_sign_and_size_for_a_source_at_90_degrees():
    # a source 2 m to the left of a listener facing +x: the left ear hears it first, by Woodworth's ITD
    e, li, h = np.array([[0.0, 2.0]]), np.array([[0.0, 0.0]]), np.zeros(1)
    delays = ear_delays(e, li, h)
    pulses = np.zeros((1, 2, N))
    at = np.round(delays[0] * SAMPLE_RATE).astype(int)
    pulses[0, 0, at[0]], pulses[0, 1, at[1]] = 1.0, 0.4
    x = synthesize("listening", log_magnitude(pulses, T), e, li, h, N, SphericalHead(0.0875), None)
    itd = interaural.interaural_delay(x)[0]
    woodworth = 0.0875 * (np.pi / 2 + 1) / SPEED_OF_SOUND
    assert itd > 0 and itd == pytest.approx(woodworth, abs=30e-6)
    assert np.argmax(np.abs(x[0, 0])) == pytest.approx(delays[0, 0] * SAMPLE_RATE, abs=1)


def test_the_direct_arrivals_itd_is_woodworths_and_turns_with_the_head():
    # source 2 m to the left of a listener facing +x; the same source ahead of a listener facing +y
    e, li = np.array([[0.0, 2.0], [0.0, 2.0], [0.0, -2.0]]), np.zeros((3, 2))
    itd = interaural.direct_sound_itd(e, li, np.array([0.0, 90.0, 0.0]), SPHERICAL_0875)
    woodworth = 0.0875 * (np.pi / 2 + 1) / SPEED_OF_SOUND
    assert itd[0] == pytest.approx(woodworth, abs=1 / SAMPLE_RATE)  # the shadowed ear's filter: + ~30 us
    assert itd[1] == pytest.approx(0.0, abs=2e-6)
    assert itd[2] == pytest.approx(-itd[0], abs=2e-6)  # on the right: the right ear first
    # a played waveform with that ITD scores ~0 against the direct reference, whatever the simulated one says
    x = np.zeros((1, 2, N))
    at = 400 + np.array([0.0, itd[0] * SAMPLE_RATE])
    for ear in range(2):
        x[0, ear, int(at[ear])] = 1 - at[ear] % 1
        x[0, ear, int(at[ear]) + 1] = at[ear] % 1
    shifted = np.roll(x, 5, axis=-1)
    shifted[0, 0] = x[0, 0]  # the "simulated" right ear 5 samples late
    errs = listening.listening_errors(x, shifted, np.ones(1, bool), direct_itd=itd[:1])
    assert errs.itd_direct[0] < 10e-6 and errs.itd[0] > 4 / SAMPLE_RATE
    assert np.isnan(listening.listening_errors(x, x, np.ones(1, bool)).itd_direct[0])


def test_listening_metrics_on_known_signals():
    x = _decaying_noise(3, 0.01, 0.1, seed=4)
    x[:, :, int(0.01 * SAMPLE_RATE)] += 3.0  # a direct sound
    los = np.ones(3, bool)
    same = listening.listening_errors(x, x, los).summary()
    for key in ("envelope_db", "level_bias_db", "late_bias_db", "drr_db", "c50_db", "itd_us", "ild_1000_db"):
        assert same[key] == pytest.approx(0.0, abs=1e-9)
    louder = listening.listening_errors(2 * x, x, los).summary()
    six = 20 * np.log10(2)
    assert louder["envelope_db"] == pytest.approx(six) and louder["level_bias_db"] == pytest.approx(six)
    assert louder["late_bias_db"] == pytest.approx(six) and louder["drr_db"] == pytest.approx(0, abs=1e-9)
    quiet_tail = x.copy()
    quiet_tail[..., int(0.065 * SAMPLE_RATE) :] *= 0.5  # late part (after onset + 50 ms) 6 dB down
    assert -six - 0.01 < listening.listening_errors(quiet_tail, x, los).summary()["late_bias_db"] < -0.8 * six
    # right ear 10 samples later and 6 dB down: ITD and ILD as built
    lagged = x.copy()
    lagged[:, 1] = 0.5 * np.roll(x[:, 0], 10, axis=-1)
    lagged[:, 1, :10] = 0
    np.testing.assert_allclose(interaural.interaural_delay(lagged), 10 / SAMPLE_RATE, atol=2e-6)
    np.testing.assert_allclose(interaural.band_ild(lagged), six, atol=0.1)
    errs = listening.listening_errors(lagged, x, np.array([True, False, True]))
    assert np.isnan(errs.itd[1]) and errs.summary()["n_los_items"] == 2
    assert len(energy.window_energies(x)[0, 0]) == N // round(0.05 * SAMPLE_RATE)


def test_offgrid_pairs_are_off_both_grids_and_free():
    emitter_grid, listener_grid = SCENE.sample_grid(1.0), SCENE.sample_grid(0.5)
    grid = np.concatenate([emitter_grid, listener_grid])
    e, li = offgrid.draw_offgrid_pairs(SCENE, grid, 10, seed=3)
    assert e.shape == li.shape == (10, 2)
    for pts in (e, li):
        assert np.all(SCENE.is_free(pts[:, 0], pts[:, 1]))
        assert offgrid.grid_distance(pts, emitter_grid).min() >= offgrid.MIN_GRID_DISTANCE_M
        assert offgrid.grid_distance(pts, listener_grid).min() >= offgrid.MIN_GRID_DISTANCE_M
    assert np.hypot(*(e - li).T).min() >= offgrid.MIN_PAIR_DISTANCE_M
    assert len(np.unique(e, axis=0)) == 10 // offgrid.PAIRS_PER_EMITTER + 1  # groups share an emitter
    again = offgrid.draw_offgrid_pairs(SCENE, grid, 10, seed=3)
    np.testing.assert_array_equal(again[0], e)
    assert not np.array_equal(offgrid.draw_offgrid_pairs(SCENE, grid, 10, seed=4)[0], e)


def test_offgrid_set_is_cached_and_a_stale_cache_is_rebuilt(tmp_path_factory):
    path = tiny_dataset(tmp_path_factory)
    with DataSet(path) as ds:
        first = offgrid.offgrid_set(ds, SCENE, 2, seed=0, progress=False, min_grid_distance=0.1)
        assert first.simulated == 1 and first.path == offgrid.offgrid_cache_path(path, 2, 0)
        assert first.irs.shape == (2, 4, 2, ds.meta.ir_length)
        assert not np.allclose(first.irs, first.floor_irs)  # another seed: another tail
        cached = offgrid.offgrid_set(ds, SCENE, 2, seed=0, progress=False, min_grid_distance=0.1)
        assert cached.simulated == 0
        np.testing.assert_array_equal(cached.irs, first.irs)
        with h5py.File(first.path, "r+") as f:
            f.attrs["plan_key"] = "another plan"
        assert offgrid.offgrid_set(ds, SCENE, 2, seed=0, progress=False, min_grid_distance=0.1).simulated == 1
    first.path.unlink()


def test_offgrid_set_with_more_rays_is_simulated_and_cached_apart(tmp_path_factory):
    path = tiny_dataset(tmp_path_factory)
    kw = dict(seed=0, progress=False, min_grid_distance=0.1, workers=1)
    with DataSet(path) as ds:
        own = SimulationConfig.from_json(ds.meta.simulation).n_rays
        default = offgrid.offgrid_set(ds, SCENE, 2, **kw)
        same = offgrid.offgrid_set(ds, SCENE, 2, rays=own, **kw)  # the data set's own count: the same cache
        assert same.path == default.path and same.simulated == 0 and default.n_rays == own
        more = offgrid.offgrid_set(ds, SCENE, 2, rays=4 * own, **kw)
        assert more.path == offgrid.offgrid_cache_path(path, 2, 0, 4 * own) != default.path
        assert more.path.name == f"two_room.offgrid-2-s0-r{4 * own}.h5"
        assert more.simulated == 1 and more.n_rays == 4 * own
        np.testing.assert_array_equal(more.emitters, default.emitters)  # the same pairs and seeds...
        assert not np.allclose(more.irs, default.irs)  # ...traced with more rays
        with h5py.File(more.path, "r") as f:
            assert int(f.attrs["n_rays"]) == 4 * own
        again = offgrid.offgrid_set(ds, SCENE, 2, rays=4 * own, **kw)
        assert again.simulated == 0
        np.testing.assert_array_equal(again.irs, more.irs)
        with h5py.File(more.path, "r+") as f:  # a cache of another ray count under this name is not used
            f.attrs["n_rays"] = 3 * own
        assert offgrid.offgrid_set(ds, SCENE, 2, rays=4 * own, **kw).simulated == 1
    for made in (default.path, more.path):
        made.unlink()
