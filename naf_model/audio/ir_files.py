"""A binaural IR out to a DAW or a game engine: a 2-channel WAV at 22,050 or 48,000 Hz, or a SOFA file.

Both are written atomically (`naf_model.atomic`). The WAV holds 32-bit float samples (an IR is not
limited to [-1, 1] and loses nothing this way); the SOFA file follows the GeneralFIR convention with the
listener, emitter and heading in its metadata (`sofar` writes it).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import soundfile as sf

from naf_model.atomic import atomic_path
from naf_model.audio.convolver import check_ir
from naf_model.audio.resample import resample_ir
from naf_model.conventions import HEAD_RADIUS_M, SAMPLE_RATE
from naf_model.errors import AudioError

EXPORT_RATES = (SAMPLE_RATE, 48_000)


def _at_rate(ir: np.ndarray, rate: int) -> np.ndarray:
    if rate not in EXPORT_RATES:
        raise AudioError(f"cannot export an IR at {rate} Hz; use one of {EXPORT_RATES}")
    arr = check_ir(ir)
    return arr if rate == SAMPLE_RATE else resample_ir(arr, SAMPLE_RATE, rate)


def write_ir_wav(path: str | os.PathLike, ir: np.ndarray, rate: int = SAMPLE_RATE) -> Path:
    """Write a binaural IR (2, N) at 22,050 Hz as a 2-channel float WAV at `rate` (22,050 or 48,000 Hz)."""
    p = Path(path)
    data = _at_rate(ir, rate).T.astype(np.float32)
    with atomic_path(p) as tmp:
        sf.write(tmp, data, int(rate), format="WAV", subtype="FLOAT")
    return p


def write_ir_sofa(path: str | os.PathLike, ir: np.ndarray, emitter_xy, listener_xy, heading_deg: float,
                  height_m: float, rate: int = SAMPLE_RATE, head_radius_m: float = HEAD_RADIUS_M,
                  comment: str = "") -> Path:
    """Write a binaural IR (2, N) at 22,050 Hz as a SOFA GeneralFIR file at `rate`: Data.IR (1, 2, N'),
    ListenerPosition and SourcePosition in scene metres (x, y, `height_m`), ListenerView the heading
    (degrees counter-clockwise from +x) as a unit vector, the ears at +-`head_radius_m` on the head's axis."""
    import sofar

    data = _at_rate(ir, rate)
    h = math.radians(float(heading_deg))
    sofa = sofar.Sofa("GeneralFIR")
    sofa.Data_IR = data[None].astype(np.float64)
    sofa.Data_SamplingRate = float(rate)
    sofa.Data_Delay = np.zeros((1, 2))
    sofa.ListenerPosition = np.array([[float(listener_xy[0]), float(listener_xy[1]), float(height_m)]])
    sofa.ListenerPosition_Type, sofa.ListenerPosition_Units = "cartesian", "metre"
    sofa.ListenerView = np.array([[math.cos(h), math.sin(h), 0.0]])
    sofa.ListenerView_Type, sofa.ListenerView_Units = "cartesian", "metre"
    sofa.SourcePosition = np.array([[float(emitter_xy[0]), float(emitter_xy[1]), float(height_m)]])
    sofa.SourcePosition_Type, sofa.SourcePosition_Units = "cartesian", "metre"
    sofa.ReceiverPosition = np.array([[0.0, head_radius_m, 0.0], [0.0, -head_radius_m, 0.0]])
    sofa.GLOBAL_Title = "naf binaural room impulse response"
    sofa.GLOBAL_RoomType = "reverberant"
    description = f"simulated room ({comment})" if comment else "simulated room"
    if hasattr(sofa, "GLOBAL_RoomDescription"):
        sofa.GLOBAL_RoomDescription = description
    else:
        sofa.add_attribute("GLOBAL_RoomDescription", description)
    sofa.GLOBAL_Comment = (comment + " " if comment else "") + f"heading {float(heading_deg) % 360.0:.1f} deg"
    sofa.GLOBAL_ApplicationName = "naf"
    p = Path(path)
    with atomic_path(p) as tmp:
        sofar.write_sofa(str(tmp), sofa, compression=4)
    return p
