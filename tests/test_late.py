"""The late part as per-band envelopes and its synthesis (naf_model.audio.late): decay, level and interaural
coherence reproduced, deterministic for a seed; the early/late crossfade and the tail fade."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from late_helpers import FS, LEVEL_DB, T60, band_coherence, given_ir

from naf_model.acoustics.decay import rt60
from naf_model.acoustics.readout import ir_readout
from naf_model.audio.late import (
    LATE_BANDS_HZ,
    LateEnvelopes,
    band_split,
    band_weights,
    equal_power_ramps,
    fade_tail,
    join_early_late,
    late_envelopes,
    synthesize_late,
)
from naf_model.scene.examples import shoebox_scene
from naf_model.simulate import SimulationConfig, simulate_binaural_rirs
from naf_model.simulate.ir_length import needed_ir_length

START_S, FRAME_S = 0.1, 0.010


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_synthesis_reproduces_a_given_band_decay_within_5_percent_and_its_level_within_1_db(seed):
    """Given IR -> envelopes -> synthesis: each band (filtered by the description's own bands) decays with
    the given IR's T60 within 5 % (acoustics.decay.rt60) and carries its energy within 1 dB, per ear."""
    ir = given_ir(seed)
    env = late_envelopes(ir, FS, START_S, FRAME_S)
    start = int(round(START_S * FS))
    late = synthesize_late(env, FS, ir.shape[1] - start, seed=100 + seed)
    given, made = band_split(ir[:, start:], FS), band_split(late, FS)  # (2, 7, n)
    t60_given, t60_made = rt60(given, FS), rt60(made, FS)
    # the given IR decays as built, to the bands' overlap: 8 kHz reads ~15 % long from the slower 4 kHz band
    assert np.all(np.abs(t60_given / T60 - 1) < 0.2)
    assert np.all(np.abs(t60_made / t60_given - 1) < 0.05), t60_made / t60_given
    level = 10 * np.log10(np.square(made).sum(-1) / np.square(given).sum(-1))
    assert np.all(np.abs(level) < 1.0), level


def test_a_simulated_ir_played_with_a_synthesized_late_part_keeps_its_decay_clarity_and_level():
    """A glass shoebox (Eyring T60 0.2-1.6 s by band) simulated as long as it needs; its first 100 ms joined
    over 10 ms to the synthesis of its own envelopes: T60 and EDT within 5 %, C50 and level within 0.5 dB,
    each band's T60 within 5 % from 250 Hz up (10 % at 125 Hz, whose 0.26 s decay has few degrees of
    freedom)."""
    scene = shoebox_scene(4.0, 3.0, 2.5, "glass")
    config = SimulationConfig(ir_seconds=needed_ir_length(scene).auto_seconds, n_rays=1000)
    ir = simulate_binaural_rirs(scene, (1.0, 1.0), np.array([[3.5, 2.5]]), config)[0, 0].astype(np.float64)
    start, fade = int(round(START_S * FS)), int(round(0.010 * FS))
    late = synthesize_late(late_envelopes(ir, FS, START_S, FRAME_S), FS, ir.shape[1] - start, seed=0)
    played = join_early_late(ir, late, start, fade)
    a, b = ir_readout(ir), ir_readout(played)
    assert abs(b.t60_s / a.t60_s - 1) < 0.05 and abs(b.edt_s / a.edt_s - 1) < 0.05
    assert abs(b.c50_db - a.c50_db) < 0.5 and abs(b.level_db - a.level_db) < 0.5
    bands = rt60(band_split(played, FS)).mean(0) / rt60(band_split(ir, FS)).mean(0) - 1
    assert abs(bands[0]) < 0.10 and np.all(np.abs(bands[1:]) < 0.05), bands


def test_the_envelopes_hold_each_ear_and_band_on_coarse_frames():
    ir = given_ir(0, seconds=0.6)
    ir[1] = 0.5 * ir[0]  # the right ear: the left 6 dB down
    env = late_envelopes(ir, FS, START_S, FRAME_S)
    n_late = ir.shape[1] - int(round(START_S * FS))
    assert env.power.shape == (2, 7, -(-n_late // 220))  # the last 10 ms frame is partial
    assert env.start_s == pytest.approx(START_S) and env.frame_s == pytest.approx(220 / FS)
    np.testing.assert_allclose(env.power[1], env.power[0] * 0.25, rtol=1e-9)
    # the first 200 ms against the built level: each built band (LEVEL_DB, decaying) in white noise, as much
    # of it as each measuring band passes (neighbouring bands overlap)
    power = np.square(band_weights(np.fft.rfftfreq(ir.shape[1], 1.0 / FS)))
    passed = power @ power.T / power.shape[1]  # (measuring band, built band)
    t = START_S + (np.arange(20) + 0.5) * 220 / FS
    built = passed @ (10 ** (LEVEL_DB[:, None] / 10) * 10 ** (-6 * t[None] / T60[:, None]))
    measured = 10 * np.log10(env.power[0, :, :20].mean(-1) / built.mean(-1))
    tolerance = np.array([3.0, 3.0, 1.5, 1.5, 1.5, 1.5, 1.5])  # 200 ms of a low band is few degrees of freedom
    assert np.all(np.abs(measured) < tolerance), measured
    with pytest.raises(ValueError, match="binaural"):
        late_envelopes(ir[0], FS)
    with pytest.raises(ValueError, match="inside the IR"):
        late_envelopes(ir, FS, start_s=1.0)


def test_the_bands_share_out_the_spectrum_in_power():
    freqs = np.linspace(0, FS / 2, 5000)
    w = band_weights(freqs)
    np.testing.assert_allclose(np.square(w).sum(0), 1.0, atol=1e-12)
    for b, fc in enumerate(LATE_BANDS_HZ):  # half power at the octave band's edges, full at its centre
        assert band_weights(np.array([fc]))[b, 0] == pytest.approx(1.0)
        if b < 6:
            assert band_weights(np.array([fc * np.sqrt(2)]))[b, 0] ** 2 == pytest.approx(0.5)


def test_the_interaural_coherence_per_band_is_a_diffuse_fields_within_0_1():
    """On 2 s of a steady description: a coherence measured on a short decaying tail has few degrees of
    freedom and scatters by about 0.1 by chance whatever made it (the coherence does not depend on the decay)."""
    power = np.repeat(10 ** (LEVEL_DB[:, None] / 10), 200, axis=1)
    env = LateEnvelopes(np.stack([power, power * 0.8]), START_S, FRAME_S)
    late = synthesize_late(env, FS, seed=7)
    targets = []
    for b in range(7):
        measured, target = band_coherence(late, b)
        assert abs(measured - target) < 0.1, (LATE_BANDS_HZ[b], measured, target)
        targets.append(target)
    assert targets[0] > 0.9 and targets[-1] < 0.05  # coherent at low frequencies, not above ~1 kHz
    independent = synthesize_late(env, FS, seed=7, coherence=lambda f: np.zeros_like(f))
    assert abs(band_coherence(independent, 0)[0]) < 0.2  # the coherence is the synthesis's doing


def test_the_synthesis_is_deterministic_for_a_seed():
    env = late_envelopes(given_ir(3, seconds=0.5), FS, START_S, FRAME_S)
    a, b = synthesize_late(env, FS, seed=5), synthesize_late(env, FS, seed=5)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, synthesize_late(env, FS, seed=6))
    assert a.shape == (2, env.power.shape[-1] * 220)
    longer = synthesize_late(env, FS, n_samples=a.shape[1] + 500, seed=5)
    assert np.all(longer[:, a.shape[1] :] == 0.0)  # nothing described past the last frame


def test_early_and_late_join_with_an_equal_power_crossfade():
    fade_out, fade_in = equal_power_ramps(64)
    np.testing.assert_allclose(fade_out**2 + fade_in**2, 1.0)
    assert fade_in[0] < 0.05 and fade_out[-1] < 0.05
    rng = np.random.default_rng(0)
    early, late = rng.standard_normal((2, 2, 20_000))
    start, fade = 5_000, 2_000
    joined = join_early_late(early, late[:, :12_000], start, fade)
    assert joined.shape == (2, start + 12_000)
    np.testing.assert_array_equal(joined[:, :start], early[:, :start])
    np.testing.assert_array_equal(joined[:, start + fade :], late[:, fade:12_000])
    power = np.square(joined[:, start : start + fade]).mean()  # two uncorrelated unit-power signals
    assert abs(10 * np.log10(power)) < 0.3
    with pytest.raises(ValueError, match="start \\+ fade"):
        join_early_late(early[:, :5_500], late, start, fade)


def test_a_cut_tail_is_faded_to_zero_without_a_step():
    """An IR of a 2.9 s decay cut at 0.6 s ends about 12 dB down; faded over its last 50 ms it ends on zero,
    and no sample step grows by more than the bound `fade_tail` states: max|ir| * pi / (2 * fade samples)."""
    n = int(0.6 * FS)
    t = np.arange(n) / FS
    ir = np.random.default_rng(1).standard_normal((2, n)) * 10 ** (-3 * t / 2.9)
    faded = fade_tail(ir, FS, 0.050)
    window = int(round(0.050 * FS))
    assert np.all(faded[:, -1] == 0.0)
    np.testing.assert_array_equal(faded[:, :-window], ir[:, :-window])
    bound = np.abs(ir[:, -window:]).max() * np.pi / (2 * window)
    grown = np.abs(np.diff(faded[:, -window - 1 :], axis=-1)) - np.abs(np.diff(ir[:, -window - 1 :], axis=-1))
    assert grown.max() <= bound + 1e-12
    assert np.abs(ir[:, -1]).max() > 10 * bound  # unfaded, the cut would be a step far above that
    assert np.all(np.abs(faded[:, -window // 10 :]) <= np.abs(ir[:, -window // 10 :]) * 0.03)


def test_the_late_module_loads_numpy_level_code_only():
    code = "import sys, naf_model.audio.late; print(' '.join(sorted(sys.modules)))"
    loaded = set(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                                text=True).stdout.split())
    heavy = ("torch", "matplotlib", "pyroomacoustics", "naf_model.simulate", "naf_model.scene", "naf_model.field",
             "naf_model.data", "naf_model.networks", "naf_model.acoustics")
    assert not {m for m in loaded if m.split(".")[0] in heavy or m.startswith(heavy)}
