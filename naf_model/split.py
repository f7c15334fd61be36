"""Where an IR's early part (full-resolution STFT) ends and its late part (band powers on coarse frames)
begins: one rule for data sets, networks, the field and the evaluation.

The split is absolute per scene (not per pair): every pair's early part runs from 0 to the scene's longest
direct path plus EARLY_AFTER_DIRECT_S, so the arrays of a data set share one shape; a near pair simply keeps
more of its early reflections at full resolution. The early part reaches CROSSFADE_S past `late_start` so the
played IR can crossfade the two, and its STFT frames cover that span plus half a window.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from naf_model.conventions import (
    CROSSFADE_S,
    EARLY_AFTER_DIRECT_S,
    HOP,
    LATE_FRAME_S,
    N_FFT,
    SAMPLE_RATE,
)
from naf_model.spectrogram import frames_for_length


@dataclass(frozen=True)
class IrSplit:
    """Sample and frame counts of one scene's IRs: `ir_length` N samples in all; the late part starts at
    sample `late_start` (== N when there is none) in frames of `late_frame` samples, `late_frames` of them
    (the last may be partial); the early part's spectrogram has `early_frames` STFT frames and its waveform
    is faithful up to `early_samples` = late_start + fade."""

    ir_length: int
    late_start: int
    fade: int
    late_frame: int

    @property
    def has_late(self) -> bool:
        return self.late_start < self.ir_length

    @property
    def early_samples(self) -> int:
        return min(self.ir_length, self.late_start + self.fade)

    @property
    def early_frames(self) -> int:
        """STFT frames (centred, hop HOP) whose overlap-add covers the first `early_samples` samples."""
        if not self.has_late:
            return frames_for_length(self.ir_length)
        return min(frames_for_length(self.ir_length), math.ceil((self.early_samples + N_FFT // 2) / HOP) + 1)

    @property
    def late_frames(self) -> int:
        return -(-(self.ir_length - self.late_start) // self.late_frame) if self.has_late else 0

    def to_dict(self) -> dict[str, int]:
        return {"ir_length": self.ir_length, "late_start": self.late_start, "fade": self.fade,
                "late_frame": self.late_frame}


def ir_split(ir_length: int, path_s: float, early_after_s: float = EARLY_AFTER_DIRECT_S) -> IrSplit:
    """The split of IRs `ir_length` samples long in a scene whose longest direct path takes `path_s` seconds:
    the late part starts `early_after_s` after it (none when the IR ends before the crossfade would)."""
    start = int(round((path_s + early_after_s) * SAMPLE_RATE))
    fade = int(round(CROSSFADE_S * SAMPLE_RATE))
    late_frame = int(round(LATE_FRAME_S * SAMPLE_RATE))
    if start + fade + late_frame > ir_length:
        start = ir_length
    return IrSplit(ir_length=ir_length, late_start=start, fade=fade, late_frame=late_frame)


def no_split(ir_length: int) -> IrSplit:
    """The split of data sets and fields made before the late part existed: all early."""
    return IrSplit(ir_length=ir_length, late_start=ir_length, fade=int(round(CROSSFADE_S * SAMPLE_RATE)),
                   late_frame=int(round(LATE_FRAME_S * SAMPLE_RATE)))

