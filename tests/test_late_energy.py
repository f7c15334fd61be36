"""The late part's block energies (`field.late_energy.late_blocks`, what the fast heatmaps read): the
expanded-square form equals the plain per-block interpolation, and both follow the rendered late part."""

from __future__ import annotations

import numpy as np
import pytest

from naf_model.audio.late_render import render_late
from naf_model.audio.whole import LATE_LOG_CORRECTION
from naf_model.conventions import LATE_LOG_EPS, SAMPLE_RATE
from naf_model.field.late_energy import band_coupling, late_blocks
from naf_model.split import ir_split

BLOCK = 32


def _plain(log_power: np.ndarray, split, block: int, band: int) -> np.ndarray:
    """The definition, block by block: the late bands' amplitudes interpolated at each block centre, squared,
    weighted by their share of the analysis band."""
    amp = np.sqrt(np.maximum(np.exp(log_power + LATE_LOG_CORRECTION[:, None]) - LATE_LOG_EPS, 0.0))
    n_frames = log_power.shape[-1]
    out = np.zeros(log_power.shape[:2] + (-(-split.ir_length // block),))
    for k in range(out.shape[-1]):
        u = min(max((k * block + block / 2 - split.late_start) / split.late_frame - 0.5, 0.0), n_frames - 1)
        j = min(int(u), max(n_frames - 2, 0))
        a = u - j
        value = amp[..., j] * (1 - a) + amp[..., min(j + 1, n_frames - 1)] * a  # (B, 2, 7)
        out[..., k] = (value**2 * block) @ band_coupling()[:, band]
    return out


@pytest.mark.parametrize("band", [0, 3, 7])
def test_late_blocks_equal_the_plain_interpolation(band: int) -> None:
    split = ir_split(int(0.5 * SAMPLE_RATE), 0.01)
    rng = np.random.default_rng(band)
    log_power = rng.normal(-12.0, 2.0, (3, 2, 7, split.late_frames))
    fast = late_blocks(log_power, split, BLOCK, band)
    want = _plain(log_power, split, BLOCK, band)
    np.testing.assert_allclose(fast, want, rtol=2e-6, atol=0.0)  # the powers are float32


def test_a_single_late_frame_is_held() -> None:
    n = int(0.2 * SAMPLE_RATE)
    split = ir_split(n, 0.0)
    split = type(split)(ir_length=split.late_start + split.late_frame, late_start=split.late_start,
                        fade=split.fade, late_frame=split.late_frame)
    assert split.late_frames == 1
    log_power = np.full((1, 2, 7, 1), -10.0)
    np.testing.assert_allclose(late_blocks(log_power, split, BLOCK, 0), _plain(log_power, split, BLOCK, 0))


def test_late_blocks_follow_the_rendered_late_part() -> None:
    """Broadband energy per 100 blocks (145 ms) of a decaying description, rendered (noise) against predicted:
    within 0.5 dB per stretch and 0.2 dB in total (the noise's spread; 0.14 and 0.05 dB when written). The
    descriptions are ln P as a data set stores them (`render_late` plays them as they are), so without the
    field's E[ln P] correction."""
    split = ir_split(int(1.2 * SAMPLE_RATE), 0.0)
    split = type(split)(ir_length=split.ir_length, late_start=69 * BLOCK, fade=split.fade, late_frame=split.late_frame)
    t = np.arange(split.late_frames) * split.late_frame / SAMPLE_RATE
    log_power = np.broadcast_to(-6.0 - 6.9 * t / 0.8 - np.arange(7)[:, None] * 0.3, (4, 2, 7, len(t))).copy()
    n_late = split.ir_length - split.late_start
    rendered = render_late(log_power, split.late_frame, n_late).astype(np.float64) ** 2
    predicted = late_blocks(log_power, split, BLOCK, 0, log_mean=False)[..., split.late_start // BLOCK :]
    k = min(predicted.shape[-1], n_late // BLOCK) // 100 * 100
    got = rendered[..., : k * BLOCK].reshape(4, 2, -1, 100 * BLOCK).sum(-1).mean((0, 1))
    want = predicted[..., :k].reshape(4, 2, -1, 100).sum(-1).mean((0, 1))
    assert np.max(np.abs(10 * np.log10(got / want))) < 0.5
    assert abs(10 * np.log10(got.sum() / want.sum())) < 0.2
