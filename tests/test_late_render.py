"""The live late synthesis (naf_model.audio.late_render): a late description rendered from the cached noise
bank keeps each band's decay, level and a diffuse field's interaural coherence, agrees with the slow
synthesis; the played IR is the early waveform exactly before the late part, crossfades at equal power and
ends on zero without a step."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from late_helpers import FS, LEVEL_DB, band_coherence, given_ir

from naf_model.acoustics.bands import octave_band
from naf_model.acoustics.decay import rt60
from naf_model.audio.bands import band_split
from naf_model.audio.late import LATE_BANDS_HZ, fade_tail, join_early_late, late_envelopes, synthesize_late
from naf_model.audio.late_render import END_FADE_S, assemble_ir, render_late
from naf_model.conventions import LATE_LOG_EPS
from naf_model.split import IrSplit, ir_split

T60_WIDE = np.array([3.0, 2.5, 2.0, 1.5, 1.0, 0.7, 0.5])
"""Given decays from 3 s at 125 Hz to 0.5 s at 8 kHz."""
START_S, FRAME = 0.1, 220


def description(ir: np.ndarray, start_s: float = START_S) -> np.ndarray:
    """The stored late description (1, 2, 7, T) of a binaural IR (2, N): ln(band power + LATE_LOG_EPS)."""
    return np.log(late_envelopes(ir, FS, start_s, FRAME / FS).power + LATE_LOG_EPS)[None]


def band_levels_db(x: np.ndarray) -> np.ndarray:
    """Energy (2, 7) dB of each ear of (2, N) in each octave band of the description (`audio.bands.band_split`:
    the lowest reaches down to 0 Hz). Not the measures' closed 125 Hz band (88-177 Hz): there two noises of
    a 3 s decay differ by chance, about 0.9 dB rms (two chi-square energies of ~90 degrees of freedom)."""
    return 10 * np.log10(np.square(band_split(x, FS)).sum(-1))


def band_t60s(x: np.ndarray) -> np.ndarray:
    """T60 (2, 7) s of each ear of (2, N) in each octave band (Schroeder, 30 dB fit, acoustics.decay.rt60)."""
    return np.stack([rt60(octave_band(x, fc, FS), FS) for fc in LATE_BANDS_HZ], axis=-1)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_live_synthesis_reproduces_a_given_band_decay_within_5_percent_and_its_level_within_1_db(seed):
    """Given IR (T60 3 s at 125 Hz to 0.5 s at 8 kHz) -> its description -> render_late: each octave band of
    each ear decays with the given IR's T60 within 5 % and carries its energy within 1 dB."""
    ir = given_ir(seed, 3.0, T60_WIDE)
    start = int(round(START_S * FS))
    late = render_late(description(ir), FRAME, ir.shape[1] - start)[0].astype(np.float64)
    given = ir[:, start:]
    assert np.all(np.abs(band_t60s(given) / T60_WIDE - 1) < 0.2)  # as built, to the bands' overlap
    t60 = band_t60s(late) / band_t60s(given) - 1
    assert np.all(np.abs(t60) < 0.05), t60
    level = band_levels_db(late) - band_levels_db(given)
    assert np.all(np.abs(level) < 1.0), level


def test_the_live_synthesis_has_a_diffuse_fields_interaural_coherence_within_0_1_per_band():
    """On 2 s of a steady description (a short decay has too few degrees of freedom to measure 0.1)."""
    power = np.repeat(10 ** (LEVEL_DB[:, None] / 10), 200, axis=1)
    late = render_late(np.log(np.stack([power, power * 0.8]) + LATE_LOG_EPS)[None], FRAME, 200 * FRAME)[0]
    for band in range(7):
        measured, target = band_coherence(late.astype(np.float64), band)
        assert abs(measured - target) < 0.1, (LATE_BANDS_HZ[band], measured, target)


def test_the_live_and_the_slow_synthesis_agree_in_band_level_within_1_db():
    ir = given_ir(4, 2.5, T60_WIDE)
    start = int(round(START_S * FS))
    env = late_envelopes(ir, FS, START_S, FRAME / FS)
    fast = render_late(description(ir), FRAME, ir.shape[1] - start)[0].astype(np.float64)
    slow = synthesize_late(env, FS, ir.shape[1] - start, seed=3)
    difference = band_levels_db(fast) - band_levels_db(slow)
    assert np.all(np.abs(difference) < 1.0), difference


def test_a_batch_renders_each_description_as_it_would_alone():
    irs = [given_ir(seed, 1.0) for seed in (5, 6, 7)]
    batch = np.concatenate([description(ir) for ir in irs])
    n = irs[0].shape[1] - int(round(START_S * FS))
    together = render_late(batch, FRAME, n)
    assert together.shape == (3, 2, n) and together.dtype == np.float32
    for i in range(3):  # float32 rounding apart: the BLAS may sum a batch's product in another order than one IR's
        alone = render_late(batch[i : i + 1], FRAME, n)[0]
        np.testing.assert_allclose(together[i], alone, rtol=1e-5, atol=1e-6 * np.abs(alone).max())
    np.testing.assert_array_equal(render_late(batch, FRAME, n), together)  # one bank: the same waveform
    with pytest.raises(ValueError, match="late descriptions"):
        render_late(batch[..., :-1], FRAME, n)


def test_the_batched_join_is_the_early_waveform_before_the_late_start_and_equal_power_across_the_fade():
    rng = np.random.default_rng(0)
    early, late = rng.standard_normal((2, 3, 2, 20_000)).astype(np.float32)
    start, fade = 5_000, 2_000
    joined = join_early_late(early, late[..., :12_000], start, fade)
    assert joined.shape == (3, 2, start + 12_000) and joined.dtype == np.float32
    np.testing.assert_array_equal(joined[..., :start], early[..., :start])
    np.testing.assert_array_equal(joined[..., start + fade :], late[..., fade:12_000])
    power = np.square(joined[..., start : start + fade].astype(np.float64)).mean()  # uncorrelated, unit power
    assert abs(10 * np.log10(power)) < 0.2


def test_a_played_ir_is_its_early_waveform_before_the_late_start_and_its_rendered_late_part_after_the_fade():
    ir = given_ir(8, 1.2)
    split = ir_split(ir.shape[1], 0.02)
    lp = description(ir, split.late_start / FS)
    assert lp.shape[-1] == split.late_frames
    early = np.stack([ir[:, : split.early_samples]] * 2).astype(np.float32)
    played = assemble_ir(early, np.concatenate([lp, lp]), split)
    assert played.shape == (2, 2, split.ir_length) and played.dtype == np.float32
    np.testing.assert_array_equal(played[..., : split.late_start], early[..., : split.late_start])
    late = render_late(lp, split.late_frame, split.ir_length - split.late_start)[0]
    tail = int(round(END_FADE_S * FS))
    alone = late[:, split.fade : split.ir_length - split.late_start - tail]  # a batch of 1; played was rendered as 2
    np.testing.assert_allclose(played[0, :, split.early_samples : -tail], alone, rtol=1e-5,
                               atol=1e-6 * np.abs(alone).max())  # float32 rounding: -120 dB re the peak
    whole = IrSplit(ir.shape[1], ir.shape[1], split.fade, split.late_frame)  # no late part: the early IR
    np.testing.assert_array_equal(assemble_ir(ir[None], None, whole)[0, :, :-tail], ir[:, :-tail].astype(np.float32))


@pytest.mark.parametrize("start", [50, 2205])
def test_a_played_ir_is_the_join_and_end_fade_of_its_rendered_late_part_sample_for_sample(start):
    """`assemble_ir` renders the late part into the IR in place; the samples are those of `join_early_late`
    and `fade_tail` of `render_late`, also for a late part starting within half a frame of the IR's start."""
    rng = np.random.default_rng(start)
    split = IrSplit(start + 9_000, start, 441, FRAME)
    lp = np.log(np.exp(rng.normal(-20.0, 1.0, (2, 2, 7, split.late_frames))) + LATE_LOG_EPS)
    early = rng.standard_normal((2, 2, split.early_samples)).astype(np.float32)
    joined = join_early_late(early, render_late(lp, FRAME, split.ir_length - start), start, split.fade)
    np.testing.assert_array_equal(assemble_ir(early, lp, split), fade_tail(joined, FS, END_FADE_S))


def test_a_played_ir_cut_while_loud_ends_on_zero_without_a_step():
    """A 2.9 s decay described for 0.6 s ends about 12 dB down; the played IR's last END_FADE_S fade it to
    exactly zero, growing no sample step by more than max|ir| * pi / (2 * fade samples)."""
    ir = given_ir(9, 0.6, np.full(7, 2.9))
    split = ir_split(ir.shape[1], 0.0)
    early = ir[None, :, : split.early_samples].astype(np.float32)
    played = assemble_ir(early, description(ir, split.late_start / FS), split)[0].astype(np.float64)
    unfaded = join_early_late(early[0], render_late(description(ir, split.late_start / FS), split.late_frame,
                                                    split.ir_length - split.late_start)[0],
                              split.late_start, split.fade).astype(np.float64)
    n = int(round(END_FADE_S * FS))
    assert np.all(played[:, -1] == 0.0)
    bound = np.abs(unfaded[:, -n:]).max() * np.pi / (2 * n)
    grown = np.abs(np.diff(played[:, -n - 1 :], axis=-1)) - np.abs(np.diff(unfaded[:, -n - 1 :], axis=-1))
    assert grown.max() <= bound + 1e-6
    assert np.abs(unfaded[:, -1]).max() > 10 * bound  # unfaded, the end would be a step far above that


def test_the_live_synthesis_loads_numpy_level_code_only():
    code = "import sys, naf_model.audio.late_render; print(' '.join(sorted(sys.modules)))"
    loaded = set(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                                text=True).stdout.split())
    heavy = ("torch", "matplotlib", "pyroomacoustics", "naf_model.simulate", "naf_model.scene",
             "naf_model.field", "naf_model.data", "naf_model.networks", "naf_model.acoustics")
    assert not {m for m in loaded if m.split(".")[0] in heavy or m.startswith(heavy)}
