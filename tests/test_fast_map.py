"""The fast heatmaps (metrics read off the played IR's energy envelope, `analysis.fast_map`) against the same
metrics measured on the played waveforms of a trained field, cell by cell, broadband and in an octave band;
the envelope's energy against the waveform's; and the app's heatmap worker taking the fast path where it has
one (loudness, C50, T60) and the waveform elsewhere (DRR)."""

from __future__ import annotations

import numpy as np
import pytest

from naf_model.analysis import FAST_METRICS, fast_metric_map, metric_map, plan_energy, plan_irs
from naf_model.analysis.metric_map import NEAR_SOURCE_M
from naf_model.field import NeuralAcousticField

SPACING = 0.25
TOLERANCE = {"loudness": 0.5, "c50": 1.0, "t60": 10.0}
"""Largest p90 difference, fast map minus waveform map, per metric: dB, dB, % of the waveform's T60 (the tiny
field's 0.25 s IRs; apartment_1's figures are in docs/benchmarks.md)."""


@pytest.fixture(scope="module")
def maps(tiny_field):
    scene, _, checkpoint = tiny_field
    field = NeuralAcousticField.load(checkpoint, device="cpu", scene=scene)
    emitter = scene.sample_grid(SPACING)[3]
    energy = plan_energy(field, scene, emitter, 30.0, SPACING, batch_size=16)
    irs = plan_irs(field.impulse_responses, scene, emitter, 30.0, SPACING, batch_size=16)
    return field, energy, irs


@pytest.mark.parametrize("band", [None, 1000])
@pytest.mark.parametrize("metric", FAST_METRICS)
def test_fast_map_agrees_with_the_measured_waveforms(maps, metric, band):
    _, energy, irs = maps
    fast, slow = fast_metric_map(energy, metric, band), metric_map(irs, metric, band)
    assert fast.label == slow.label and np.array_equal(np.isnan(fast.values), np.isnan(slow.values))
    a, b = fast.values[irs.free], slow.values[irs.free]
    ok = np.isfinite(b)
    assert ok.sum() >= 20
    diff = a[ok] - b[ok] if metric != "t60" else 100 * (a[ok] - b[ok]) / b[ok]
    assert np.percentile(np.abs(diff), 90) <= TOLERANCE[metric], f"{metric} {band}: {np.sort(np.abs(diff))[-5:]}"


def test_some_cells_are_occluded_so_both_onset_rules_are_checked(maps):
    _, energy, _ = maps
    seen = energy.energy.pulse_at[:, 0] >= 0
    assert seen.any() and (~seen).any()


def test_envelope_holds_the_played_energy_per_ear(maps):
    _, energy, irs = maps
    e = energy.energy
    far = np.hypot(*(irs.listeners - irs.emitter_xy).T) >= NEAR_SOURCE_M  # as the maps, the emitter's cell out
    total = (e.blocks(0).sum(-1) + e.pulse[:, :, 0])[far]
    played = np.square(irs.irs.astype(np.float64)).sum(-1)[far]
    ratio_db = 10 * np.log10(total / played)
    assert np.abs(ratio_db - np.median(ratio_db)).max() < 1.5 and abs(np.median(ratio_db)) < 1.0
    bands = sum(e.blocks(band).sum(-1) for band in range(1, 8))
    assert (bands > 0.5 * e.blocks(0).sum(-1)).all() and (bands < 1.5 * e.blocks(0).sum(-1)).all()


def test_fast_map_refuses_what_it_cannot_read(maps):
    _, energy, _ = maps
    with pytest.raises(ValueError, match="drr"):
        fast_metric_map(energy, "drr")
    with pytest.raises(ValueError, match="band"):
        fast_metric_map(energy, "c50", 300)


def test_app_heatmap_takes_the_fast_path_for_its_metrics(qtbot, tiny_field, maps):
    from naf_app.analysis_worker import AnalysisWorker

    scene = tiny_field[0]
    field, energy, irs = maps
    worker = AnalysisWorker(scene)
    worker._field = field
    params = {"emitter": tuple(energy.emitter_xy), "heading": 30.0, "spacing": SPACING, "metric": "c50"}
    shown = worker._heatmap(params, lambda done, total: None)
    assert set(worker._plans) == {"energy"}
    np.testing.assert_array_equal(shown.values, fast_metric_map(energy, "c50").values)
    drr = worker._heatmap(params | {"metric": "drr"}, lambda done, total: None)
    assert set(worker._plans) == {"energy", "irs"}
    np.testing.assert_allclose(drr.values, metric_map(irs, "drr").values, atol=1e-4)



class _Decay:
    """A played energy's interface (`fast_map.Envelope` reads these) for exponential decays in 1.45 ms blocks with
    +-1 dB of noise per block, no direct pulse: 2 s of IR, T60 0.3-1.5 s."""

    def __init__(self, t60: np.ndarray, seconds: float = 2.0) -> None:
        from naf_model.conventions import SAMPLE_RATE
        from naf_model.field.played_energy import BLOCK

        self.n_samples = int(seconds * SAMPLE_RATE)
        t = (np.arange(-(-self.n_samples // BLOCK)) + 0.5) * BLOCK / SAMPLE_RATE
        noise = np.random.default_rng(0).uniform(-1.0, 1.0, (len(t60), 2, len(t)))
        self._blocks = 10 ** ((-60.0 * t / t60[:, None, None] + noise) / 10)
        self.pulse = np.zeros((len(t60), 2, 8))
        self.pulse_at = np.full((len(t60), 2), -1)
        self.gate = np.zeros((len(t60), 2), int)

    def blocks(self, band: int) -> np.ndarray:
        return self._blocks


def test_t60_of_long_irs_from_evenly_spaced_edges(monkeypatch):
    """Long IRs fit T60 on at most `fast_map.T60_EDGES` evenly spaced Schroeder points: on 2 s decays (every
    other edge) within 1 % (p95) of the fit over every edge, and both within 2 % of the decays' own T60."""
    from naf_model.analysis import fast_map

    truth = np.linspace(0.3, 1.5, 40)
    env = fast_map.Envelope(_Decay(truth), 0)
    strided = fast_map.t60_of(env)
    assert env.blocks.shape[-1] > fast_map.T60_EDGES  # the strided path is the one tested
    monkeypatch.setattr(fast_map, "T60_EDGES", 10**9)
    every = fast_map.t60_of(env)
    assert np.isfinite(strided).all() and np.isfinite(every).all()
    assert np.percentile(np.abs(strided / every - 1.0), 95) < 0.01
    for fit in (strided, every):
        assert np.median(np.abs(fit / truth[:, None] - 1.0)) < 0.02
