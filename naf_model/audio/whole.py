"""A whole IR from its early waveform and its late part's description (`naf_model.split`): the early part
crossfaded into band noise that follows the late band powers, the end faded (`audio.late_render.assemble_ir`,
the live synthesis). The field plays this; the evaluation turns every description (predicted or simulated)
into a waveform the same way, so prediction and ground truth meet the same noise.
"""

from __future__ import annotations

import numpy as np

from naf_model.audio.late_render import assemble_ir
from naf_model.split import IrSplit


def join_late(early: np.ndarray, late_log_power: np.ndarray, split: IrSplit) -> np.ndarray:
    """early (B, 2, >= early_samples), late ln band powers (B, 2, 7, T_late) -> (B, 2, ir_length) float32."""
    return np.asarray(assemble_ir(np.asarray(early, np.float32)[..., : split.early_samples],
                                  np.asarray(late_log_power, np.float32), split), np.float32)
