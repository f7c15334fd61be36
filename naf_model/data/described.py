"""What a data set stores of an IR: the early part's log-magnitude frames and the late part's log band powers.

One rule, used by `naf data make` and by anything that compares an IR with a data set (tests, evaluation):
the early spectrogram is the first `early_frames` frames of the WHOLE IR's STFT (so the frames near the split
see the real signal, not an edge), and the late description is ln(band power + LATE_LOG_EPS) of
`audio.late.late_envelopes` from `late_start` in frames of `late_frame` samples.
"""

from __future__ import annotations

import numpy as np

from naf_model.audio.late import late_envelopes
from naf_model.conventions import LATE_LOG_EPS, SAMPLE_RATE
from naf_model.spectrogram import log_magnitude
from naf_model.split import IrSplit

LATE_BANDS = 7
"""Octave bands 125 Hz-8 kHz of the late description (`audio.late.LATE_BANDS_HZ`)."""


def early_spectrogram(irs: np.ndarray, split: IrSplit) -> np.ndarray:
    """ln(|X| + 1e-3) of IRs (..., N): the first `split.early_frames` frames of their whole STFT, (..., 256,
    early_frames) float32 (the STFT is only computed for those frames: each sees the samples it covers)."""
    return log_magnitude(np.asarray(irs, np.float32), split.early_frames)


def late_description(irs: np.ndarray, split: IrSplit) -> np.ndarray:
    """ln(band power + LATE_LOG_EPS) of binaural IRs (..., 2, N): (..., 2, 7, split.late_frames) float32,
    each ear's mean power per octave band per frame of `split.late_frame` samples from `split.late_start`
    (`late_envelopes`, on the simulator's scale); (..., 2, 7, 0) when the split has no late part."""
    irs = np.asarray(irs)
    lead = irs.shape[:-2]
    if not split.has_late:
        return np.zeros(lead + (2, LATE_BANDS, 0), np.float32)
    flat = irs.reshape((-1,) + irs.shape[-2:])
    out = np.empty((len(flat), 2, LATE_BANDS, split.late_frames), np.float32)
    for i, ir in enumerate(flat):  # late_envelopes takes one binaural IR; its band split is the cost anyway
        power = late_envelopes(ir, SAMPLE_RATE, start_s=split.late_start / SAMPLE_RATE,
                               frame_s=split.late_frame / SAMPLE_RATE).power
        assert power.shape[-1] == split.late_frames, (power.shape, split)
        out[i] = np.log(power + LATE_LOG_EPS)
    return out.reshape(lead + out.shape[1:])
