"""numpy/scipy-only audio DSP shared by the live engine (naf_app.audio) and offline renders (naf_model.rendering).

Partitioned convolution with lock-free crossfaded IR swaps (non-uniform partitions for IRs of seconds), the
playback chain (music -> IR -> gain -> soft limiter), audio file loading and writing, resampling and level
checks. Nothing here touches a sound card, Qt, torch, matplotlib, the simulator, the scene or the field:
rendering lives in `naf_model.rendering`.
"""

from naf_model.audio.convolver import MAX_IR_SECONDS, IRPartitions, PartitionedConvolver, check_ir, prepare_ir
from naf_model.audio.files import AudioClip, load_audio, write_audio
from naf_model.audio.levels import TARGET_RMS_DBFS, calibration_gain, peak_dbfs, rms_dbfs, session_gain
from naf_model.audio.limiter import SoftLimiter, soft_clip
from naf_model.audio.player import MAIN, BinauralPlayer
from naf_model.audio.resample import resample, resample_ir
from naf_model.paths import AUDIO_DIR

DEFAULT_MUSIC = AUDIO_DIR / "music_loop.flac"
"""The bundled loop written by scripts/make_music.py."""

__all__ = [
    "DEFAULT_MUSIC", "MAIN", "MAX_IR_SECONDS", "TARGET_RMS_DBFS", "AudioClip", "BinauralPlayer", "IRPartitions",
    "PartitionedConvolver",
    "SoftLimiter", "calibration_gain", "check_ir", "load_audio", "peak_dbfs", "prepare_ir", "resample",
    "resample_ir", "rms_dbfs", "session_gain", "soft_clip", "write_audio",
]
