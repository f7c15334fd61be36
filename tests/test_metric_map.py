"""Metric maps over the plan: the cells hold the readout's own measurements of the IRs at them, broadband or
per octave band; an exponential decay of known T60 reads back; the PNG says metric, band, emitter and scale."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.image import imread

from naf_model.acoustics import bands, decay, energy
from naf_model.acoustics.readout import ir_readout, measure
from naf_model.analysis import BANDS_HZ, map_file_name, metric_map, plan_irs, save_metric_png
from naf_model.analysis.metric_map import NEAR_SOURCE_M
from naf_model.conventions import SAMPLE_RATE
from naf_model.errors import PositionError
from naf_model.scene.examples import two_room_scene

N = 8_000


def decay_irs(emitters: np.ndarray, listeners: np.ndarray, headings: np.ndarray) -> np.ndarray:
    """Seeded noise decaying with T60 = 0.15 + 0.05 x (listener x in metres) after a direct pulse whose
    delay is the distance / 343 m/s: (B, 2, N) float32, different per listener, reproducible."""
    out = np.zeros((len(listeners), 2, N), np.float32)
    t = np.arange(N) / SAMPLE_RATE
    for i, (e, li) in enumerate(zip(emitters, listeners, strict=True)):
        rng = np.random.default_rng(int(1000 * li[0]) * 7919 + int(1000 * li[1]))
        onset = int(np.hypot(*(li - e)) / 343.0 * SAMPLE_RATE)
        t60 = 0.15 + 0.05 * li[0]
        env = np.where(t >= t[onset], 10 ** (-3 * (t - t[onset]) / t60), 0.0)
        out[i] = 0.05 * rng.standard_normal((2, N)) * env
        out[i, :, onset] = 1.0
    return out


@pytest.fixture(scope="module")
def plan():
    scene = two_room_scene()
    grid = scene.sample_grid(0.4)
    emitter = grid[np.argmin(np.hypot(*(grid - (1.0, 1.5)).T))]  # on a cell centre: one cell is at 0 m
    return scene, plan_irs(decay_irs, scene, emitter, heading_deg=30.0, spacing=0.4, batch_size=5)


def test_plan_irs_cover_the_free_cells_in_batches(plan):
    scene, p = plan
    assert p.irs.shape == (p.free.sum(), 2, N) and p.irs.dtype == np.float32
    np.testing.assert_allclose(p.listeners, scene.sample_grid(0.4), atol=1e-12)
    whole = decay_irs(np.broadcast_to(p.emitter_xy, (len(p.listeners), 2)), p.listeners, np.zeros(len(p.irs)))
    assert np.array_equal(p.irs, whole) and p.heading_deg == 30.0
    with pytest.raises(PositionError):
        plan_irs(decay_irs, scene, (-5.0, 0.0))


@pytest.mark.parametrize("metric", ["loudness", "c50", "drr", "t60"])
@pytest.mark.parametrize("band", [None, 500])
def test_each_cell_holds_the_readout_of_its_ir(plan, metric, band):
    _, p = plan
    mm = metric_map(p, metric, band, batch_size=4, emitter_name="emitter 2")
    assert mm.values.shape == p.free.shape and np.isnan(mm.values[~p.free]).all()
    cells = mm.values[p.free]
    far = np.hypot(*(p.listeners - p.emitter_xy).T) >= NEAR_SOURCE_M
    assert np.isnan(cells[~far]).all() and (~far).sum() >= 1, "cells at the emitter are left out"
    what = "level" if metric == "loudness" else metric
    expected = np.array([measure(ir[None], what, band)[0] for ir in p.irs])[far]
    if metric == "loudness":
        expected -= expected.max()
        assert np.nanmax(cells) == 0.0
    np.testing.assert_allclose(cells[far], expected, rtol=1e-5, atol=1e-4)
    assert mm.metric == metric and mm.band_hz == band and mm.emitter_name == "emitter 2"


def test_broadband_maps_equal_the_readout_and_the_evaluation_metrics(plan):
    _, p = plan
    c50, t60 = metric_map(p, "c50").values[p.free], metric_map(p, "t60").values[p.free]
    drr = metric_map(p, "drr").values[p.free]
    far = np.flatnonzero(np.hypot(*(p.listeners - p.emitter_xy).T) >= NEAR_SOURCE_M)
    for k in (far[0], far[len(far) // 2], far[-1]):
        ir = p.irs[k].astype(np.float64)
        r = ir_readout(p.irs[k])
        assert c50[k] == pytest.approx(float(np.mean(decay.c50(ir))), abs=1e-4) == pytest.approx(r.c50_db, abs=1e-4)
        assert drr[k] == pytest.approx(float(energy.drr(ir[None])[0]), abs=1e-4)
        assert t60[k] == pytest.approx(r.t60_s, rel=1e-5)


def test_t60_map_reads_back_the_decay_and_bands_filter(plan):
    _, p = plan
    t60 = metric_map(p, "t60").values[p.free]
    true = 0.15 + 0.05 * p.listeners[:, 0]
    far = np.isfinite(t60)
    assert far.sum() >= len(t60) - 2
    np.testing.assert_allclose(t60[far], true[far], rtol=0.15)
    band = bands.octave_band(p.irs[:1].astype(np.float64), 1000)
    spectrum = np.abs(np.fft.rfft(band, axis=-1))
    freqs = np.fft.rfftfreq(N, 1 / SAMPLE_RATE)
    outside = (freqs < 1000 * 2**-0.75) | (freqs > 1000 * 2**0.75)  # beyond the smooth band's flanks
    assert np.square(spectrum[..., outside]).sum() < 1e-3 * np.square(spectrum).sum(), "little outside 1 kHz's band"
    assert 125 in BANDS_HZ and 8000 in BANDS_HZ
    with pytest.raises(ValueError, match="band"):
        metric_map(p, "c50", 1234)
    with pytest.raises(ValueError, match="metric"):
        metric_map(p, "edt")


def test_metric_png_and_file_name_say_metric_band_emitter_and_scale(plan, tmp_path):
    scene, p = plan
    mm = metric_map(p, "c50", 1000, emitter_name="emitter 2")
    low, high = mm.levels
    finite = mm.values[np.isfinite(mm.values)]
    assert finite.min() <= low < high <= finite.max()
    name = map_file_name(scene.name, mm)
    assert name.startswith(f"{scene.name}_c50_1kHz_emitter2_scale") and name.endswith("dB.png")
    assert mm.label == "C50 (dB), 1 kHz octave"
    path = save_metric_png(scene, mm, tmp_path / name)
    image = imread(path)
    assert image.shape[0] > 200 and len(np.unique((image[..., :3] * 255).astype(np.uint8).reshape(-1, 3),
                                                  axis=0)) >= 30
    assert [q.name for q in tmp_path.iterdir()] == [name], "written atomically, no temporary file left"
