"""The energy of a played IR's late part and of its joins, by block (`played_energy.BLOCK`) and band, from the
late description (ln band power per ear, octave band and frame), without rendering it.

`audio.late_render.render_late` plays each band's mean power per frame, its amplitude moving linearly from
one frame centre to the next (held over the first and last half frame); `assemble_ir` crossfades the early
waveform into it with equal-power ramps and fades the end. Here: the powers back from the log (with the
field's E[ln P] correction), their amplitudes interpolated at the block centres, each late band's share of
every analysis band from the two bands' responses (`band_coupling`), the ramps as block means.
"""

from __future__ import annotations

import functools

import numpy as np

from naf_model.audio.bands import band_weights
from naf_model.audio.late import TAIL_FADE_S, equal_power_ramps, fade_tail
from naf_model.audio.whole import LATE_LOG_CORRECTION
from naf_model.conventions import LATE_LOG_EPS, SAMPLE_RATE
from naf_model.split import IrSplit

_GRID = np.linspace(1.0, SAMPLE_RATE / 2, 1 << 14)


@functools.lru_cache(maxsize=2)
def band_coupling() -> np.ndarray:
    """(7, 8): the share of a late band's power (flat inside its open-ended response, as the late synthesis
    splits the spectrum) that reaches each analysis row of `played_energy` (broadband, then the octave bands
    `acoustics.bands.octave_band` filters)."""
    late = band_weights(_GRID) ** 2  # (7, G), power complementary
    analysis = np.concatenate([np.ones((1, len(_GRID))), band_weights(_GRID, open_ends=False) ** 2])
    return (late @ analysis.T) / late.sum(-1, keepdims=True)


@functools.lru_cache(maxsize=4)
def join_weights(split: IrSplit, block: int) -> tuple[np.ndarray, np.ndarray]:
    """((K,), (K,)) over the IR's blocks: the mean squared gain the early waveform and the late part get in
    each (the crossfade's ramps, the end fade; `split.ir_length` samples, K = ceil(length / block))."""
    n = split.ir_length
    padded = -(-n // block) * block
    early, late = np.zeros(padded), np.zeros(padded)
    if split.has_late:
        fade_out, fade_in = equal_power_ramps(split.fade)
        early[: split.late_start] = 1.0
        early[split.late_start : split.late_start + split.fade] = fade_out**2
        late[split.late_start : split.late_start + split.fade] = fade_in**2
        late[split.late_start + split.fade : n] = 1.0
    else:
        early[:n] = 1.0
    end = np.zeros(padded)
    end[:n] = fade_tail(np.ones(n), SAMPLE_RATE, TAIL_FADE_S) ** 2
    return ((early * end).reshape(-1, block).mean(-1), (late * end).reshape(-1, block).mean(-1))


def late_blocks(log_power: np.ndarray, split: IrSplit, block: int, band: int, log_mean: bool = True) -> np.ndarray:
    """Late descriptions (B, 2, 7, T_late) -> the late part's energy (B, 2, K) float64 over the IR's blocks
    in analysis row `band` (0 broadband, 1-7 the octave bands), before the crossfade and end fade
    (`join_weights`). A block's power is its late bands' interpolated amplitudes squared and weighted by
    `band_coupling`; expanding the square, the band sums are taken per frame (T_late, ~7x fewer than blocks)
    and only three per-frame sums are interpolated to the blocks."""
    log_power = np.asarray(log_power, np.float32)  # float32 powers (the network's own precision): half the work
    if log_mean:
        log_power = log_power + LATE_LOG_CORRECTION[:, None].astype(np.float32)
    power = np.exp(log_power)
    power -= LATE_LOG_EPS
    np.maximum(power, 0.0, out=power)  # (B, 2, 7, T)
    amplitude = np.sqrt(power).astype(np.float64)
    n_frames = log_power.shape[-1]
    n_blocks = -(-split.ir_length // block)
    centre = np.arange(n_blocks) * block + block / 2 - split.late_start  # block centres in late samples
    u = np.clip(centre / split.late_frame - 0.5, 0.0, n_frames - 1)
    j = np.minimum(u.astype(np.int64), n_frames - 2) if n_frames > 1 else np.zeros_like(u, int)
    a = u - j
    nxt = np.minimum(j + 1, n_frames - 1)
    weight = band_coupling()[:, band]
    # (A_j (1 - a) + A_n a)^2 summed over bands with weights w: S(j, j) (1 - a)^2 + 2 S(j, n) a (1 - a) + S(n, n) a^2
    own = weight @ power.astype(np.float64)  # S(t, t), (B, 2, T)
    cross = np.empty_like(own)  # S(t, min(t + 1, T - 1))
    cross[..., :-1] = weight @ (amplitude[..., :-1] * amplitude[..., 1:])
    cross[..., -1] = own[..., -1]
    out = np.take(own, j, -1)  # np.take, not own[..., j]: 4x faster on these shapes
    out *= (1.0 - a) ** 2 * block
    term = np.take(cross, j, -1)
    term *= 2.0 * a * (1.0 - a) * block
    out += term
    np.take(own, nxt, -1, out=term)
    term *= a**2 * block
    out += term
    return out
