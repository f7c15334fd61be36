"""Binaural IRs out to a DAW or a game engine: a 2-channel WAV, or a SOFA file of one IR or of many.

Rates: 22,050 Hz (the IRs' own) or 44,100, 48,000 or 96,000 Hz (`resample_ir`: band-limited, taps scaled so the
filter's gain is kept; nothing is added above 11,025 Hz). Every file is written atomically
(`naf_model.atomic`). The WAV holds 32-bit float samples (an IR is not limited to [-1, 1] and loses nothing
this way). `write_ir_file` picks the writer by the suffix; the app's Export IR and `naf ir` both call it.

SOFA convention: GeneralFIR (AES69), one measurement per (listener position, heading), all sharing one
emitter or each with its own. Of the conventions sofar validates it is the one whose metadata says what these
IRs are without saying something false: ListenerPosition, ListenerView and SourcePosition may vary per
measurement, the receivers are the two ears. SingleRoomSRIR was weighed and left: it describes its receivers
as omnidirectional microphones and its room as a shoebox or a COLLADA file, neither true of a pair of ears in a
multi-room plan; SimpleFreeFieldHRIR is anechoic, source directions around a fixed head; MultiSpeakerBRIR is
deprecated (sofar upgrades it to SingleRoomMIMOSRIR, the many-emitter form of SingleRoomSRIR). A file of one IR
is the same convention with one measurement, so one reader takes both.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import soundfile as sf

from naf_model.atomic import atomic_path
from naf_model.audio.convolver import check_ir
from naf_model.audio.resample import resample_ir
from naf_model.conventions import HEAD_RADIUS_M, SAMPLE_RATE
from naf_model.errors import AudioError

EXPORT_RATES = (SAMPLE_RATE, 44_100, 48_000, 96_000)
IR_SUFFIXES = (".wav", ".sofa")


def check_export(path: str | os.PathLike, rate: int, measurements: int = 1) -> str:
    """The writer's suffix of `path` (.wav or .sofa), or AudioError (one line) for another suffix, a rate not in
    EXPORT_RATES, or more than one IR for a WAV file; callers check before computing anything."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in IR_SUFFIXES:
        raise AudioError(f"cannot export {p.name}: use a .wav or .sofa file name")
    if int(rate) not in EXPORT_RATES:
        raise AudioError(f"cannot export an IR at {rate} Hz; use one of {', '.join(map(str, EXPORT_RATES))}")
    if suffix == ".wav" and measurements != 1:
        raise AudioError(f"a WAV file holds one IR, not {measurements:,}; write a .sofa file for a set")
    return suffix


def _at_rate(ir: np.ndarray, rate: int) -> np.ndarray:
    if int(rate) not in EXPORT_RATES:
        raise AudioError(f"cannot export an IR at {rate} Hz; use one of {', '.join(map(str, EXPORT_RATES))}")
    arr = check_ir(ir)
    return arr if rate == SAMPLE_RATE else resample_ir(arr, SAMPLE_RATE, rate)


def write_ir_wav(path: str | os.PathLike, ir: np.ndarray, rate: int = SAMPLE_RATE) -> Path:
    """Write a binaural IR (2, N) at 22,050 Hz as a 2-channel float WAV at `rate` (one of EXPORT_RATES)."""
    p = Path(path)
    data = _at_rate(ir, rate).T.astype(np.float32)
    with atomic_path(p) as tmp:
        sf.write(tmp, data, int(rate), format="WAV", subtype="FLOAT")
    return p


def _xyz(xy: np.ndarray, height_m: float) -> np.ndarray:
    xy = np.asarray(xy, np.float64).reshape(-1, 2)
    return np.column_stack([xy, np.full(len(xy), float(height_m))])


def write_irs_sofa(path: str | os.PathLike, irs: np.ndarray, emitters: np.ndarray, listeners: np.ndarray,
                   headings_deg: np.ndarray, height_m: float, rate: int = SAMPLE_RATE,
                   head_radius_m: float = HEAD_RADIUS_M, comment: str = "") -> Path:
    """Write M binaural IRs (M, 2, N) at 22,050 Hz as one SOFA GeneralFIR file at `rate`: Data.IR (M, 2, N'),
    per measurement ListenerPosition and SourcePosition (M, 3) in scene metres (x, y, `height_m`) from
    `listeners` and `emitters` (M, 2), ListenerView (M, 3) the heading (degrees counter-clockwise from +x) as a
    unit vector; the ears (ReceiverPosition) at +-`head_radius_m` on the head's axis."""
    import sofar

    irs = np.asarray(irs)
    m = len(irs)
    if irs.ndim != 3 or m == 0:
        raise AudioError(f"expected IRs of shape (M, 2, N), got {irs.shape}")
    emitters, listeners = np.asarray(emitters, np.float64), np.asarray(listeners, np.float64)
    headings = np.asarray(headings_deg, np.float64).reshape(-1)
    if emitters.shape != (m, 2) or listeners.shape != (m, 2) or headings.shape != (m,):
        raise AudioError(f"{m} IRs need {m} emitters, listeners and headings; got {emitters.shape}, "
                         f"{listeners.shape}, {headings.shape}")
    first = _at_rate(irs[0], rate)
    data = np.empty((m, 2, first.shape[-1]), np.float64)
    data[0] = first
    for i in range(1, m):
        data[i] = _at_rate(irs[i], rate)
    h = np.radians(headings)
    sofa = sofar.Sofa("GeneralFIR")
    sofa.Data_IR = data
    sofa.Data_SamplingRate = float(rate)
    sofa.Data_Delay = np.zeros((1, 2))
    sofa.ListenerPosition = _xyz(listeners, height_m)
    sofa.ListenerPosition_Type, sofa.ListenerPosition_Units = "cartesian", "metre"
    sofa.ListenerView = np.column_stack([np.cos(h), np.sin(h), np.zeros(m)])
    sofa.ListenerView_Type, sofa.ListenerView_Units = "cartesian", "metre"
    sofa.SourcePosition = _xyz(emitters, height_m)
    sofa.SourcePosition_Type, sofa.SourcePosition_Units = "cartesian", "metre"
    sofa.ReceiverPosition = np.array([[0.0, head_radius_m, 0.0], [0.0, -head_radius_m, 0.0]])
    sofa.GLOBAL_Title = "naf binaural room impulse response" + ("s" if m > 1 else "")
    sofa.GLOBAL_RoomType = "reverberant"
    description = f"simulated room ({comment})" if comment else "simulated room"
    if hasattr(sofa, "GLOBAL_RoomDescription"):
        sofa.GLOBAL_RoomDescription = description
    else:
        sofa.add_attribute("GLOBAL_RoomDescription", description)
    if m == 1:
        said = f"heading {float(headings[0]) % 360.0:.1f} deg"
    else:
        said = (f"{m} measurements; listener positions and headings in ListenerPosition and ListenerView "
                "(heading = direction of the nose, counter-clockwise from +x), emitters in SourcePosition")
    sofa.GLOBAL_Comment = (comment + " " if comment else "") + said
    sofa.GLOBAL_ApplicationName = "naf"
    p = Path(path)
    with atomic_path(p) as tmp:
        sofar.write_sofa(str(tmp), sofa, compression=4)
    return p


def write_ir_sofa(path: str | os.PathLike, ir: np.ndarray, emitter_xy, listener_xy, heading_deg: float,
                  height_m: float, rate: int = SAMPLE_RATE, head_radius_m: float = HEAD_RADIUS_M,
                  comment: str = "") -> Path:
    """Write one binaural IR (2, N) at 22,050 Hz as a SOFA GeneralFIR file of one measurement (`write_irs_sofa`)."""
    return write_irs_sofa(path, np.asarray(ir)[None], np.reshape(emitter_xy, (1, 2)),
                          np.reshape(listener_xy, (1, 2)), np.array([heading_deg], np.float64), height_m, rate,
                          head_radius_m, comment)


def write_ir_file(path: str | os.PathLike, ir: np.ndarray, emitter_xy, listener_xy, heading_deg: float,
                  height_m: float, rate: int = SAMPLE_RATE, comment: str = "") -> Path:
    """Write one binaural IR (2, N) at 22,050 Hz by the suffix of `path`: a float WAV (.wav) or a SOFA file
    (.sofa, with the positions and heading); AudioError for another suffix or rate (`check_export`). The app's
    Export IR and `naf ir` write through here."""
    if check_export(path, rate) == ".sofa":
        return write_ir_sofa(path, ir, emitter_xy, listener_xy, heading_deg, height_m, rate, comment=comment)
    return write_ir_wav(path, ir, rate)
