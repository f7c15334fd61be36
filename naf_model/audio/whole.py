"""A whole IR from its early waveform and its late part's description (`naf_model.split`): the early part
crossfaded into band noise that follows the late band powers, the end faded (`audio.late_render.assemble_ir`,
the live synthesis). The field plays this; the evaluation turns every description (predicted or simulated)
into a waveform the same way, so prediction and ground truth meet the same noise.
"""

from __future__ import annotations

import numpy as np

from naf_model.audio.late_render import assemble_ir
from naf_model.split import IrSplit

LATE_LOG_CORRECTION = np.array([0.250, 0.207, 0.114, 0.059, 0.030, 0.015, 0.009], np.float32)
"""ln E[P] - E[ln P] per octave band (125 Hz-8 kHz) of a late description's 10 ms frames of Gaussian noise:
a frame of a narrow band holds few independent values (the 125 Hz band ~4), so the mean of ln P lies below
ln of the mean power (1.08 dB at 125 Hz, 0.49 dB at 500 Hz, 0.04 dB at 8 kHz). A field trained on ln P
predicts E[ln P]; its late part is raised by this to play the expected power (as `field.listening` raises the
early part's diffuse frames by gamma / 2). Measured: 60 seeds of 4 s white noise, `late_envelopes`,
tests/test_late_head.py re-measures it (valid for LATE_FRAME_S = 10 ms and `audio.bands`' octave bands)."""


def join_late(early: np.ndarray, late_log_power: np.ndarray, split: IrSplit, log_mean: bool = False,
              variants: np.ndarray | None = None) -> np.ndarray:
    """early (B, 2, >= early_samples), late ln band powers (B, 2, 7, T_late) -> (B, 2, ir_length) float32.
    `log_mean`: the late log-powers are E[ln P] predictions (a field's), raised by LATE_LOG_CORRECTION; those
    of one simulation are a realisation and are played as they are. `variants` (B,) ints: each row's noise
    bank (`late_render.assemble_ir`; None: bank 0 for all)."""
    return assemble_ir(np.asarray(early, np.float32)[..., : split.early_samples], late_log_power, split,
                       log_correction=LATE_LOG_CORRECTION if log_mean else None, variants=variants)
