"""A whole IR from its early waveform and its late part's description (`naf_model.split`): the early part
crossfaded into band noise that follows the late band powers (`audio.late`), the end faded. The field plays
this; the evaluation turns every description (predicted or simulated) into a waveform the same way.

PLACEHOLDER until the fast batched late synthesis lands; uses the slow per-item synthesis.
"""

from __future__ import annotations

import numpy as np

from naf_model.audio.late import LateEnvelopes, fade_tail, join_early_late, synthesize_late
from naf_model.conventions import LATE_LOG_EPS, SAMPLE_RATE
from naf_model.split import IrSplit


def join_late(early: np.ndarray, late_log_power: np.ndarray, split: IrSplit, seed: int = 0) -> np.ndarray:
    """early (B, 2, >= early_samples), late ln band powers (B, 2, 7, T_late) -> (B, 2, ir_length) float32."""
    out = np.zeros((len(early), 2, split.ir_length), np.float32)
    n_late = split.ir_length - split.late_start
    for i in range(len(early)):
        power = np.maximum(np.exp(late_log_power[i].astype(np.float64)) - LATE_LOG_EPS, 0.0)
        env = LateEnvelopes(power, split.late_start / SAMPLE_RATE, split.late_frame / SAMPLE_RATE)
        late = synthesize_late(env, n_samples=n_late, seed=seed)
        out[i] = fade_tail(join_early_late(early[i], late, split.late_start, split.fade))
    return out
