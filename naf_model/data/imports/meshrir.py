"""MeshRIR measurements (sh01k/MeshRIR), read as its `irutilities.loadIR` reads them.

A session folder (e.g. S32-M441_npy) holds pos_mic.npy (M, 3) and pos_src.npy (S, 3) in metres and one
ir_<m>.npy (S, N) per microphone m: the IRs of every source at that microphone, at 48 kHz (the rate
`irutilities` states; the files do not record it). Sources are naf's emitters, microphones its listeners, on
one horizontal plane of microphones (`--height`, as `irutilities.extract_plane`, when the array has several).

MeshRIR is monaural (omnidirectional microphones). A naf data set is binaural with four head orientations, so
the one measured IR is stored on both ears and at every orientation, and the data set says so (`imported`
record: channels 'mono'): a field trained on it predicts the measured pressure, identical at both ears and in
every heading; its ITD and ILD are zero by construction, not measured.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from naf_model.data.imports.soundspaces import resample, resampled_length
from naf_model.errors import DataError

MESHRIR_SAMPLE_RATE = 48_000
"""Hz, the rate of every MeshRIR session (irutilities.py: `samplerate = 48000`)."""
HEIGHT_TOLERANCE_M = 1e-3
_IR_FILE = re.compile(r"ir_(\d+)\.npy")


@dataclass
class MeshRirSession:
    """One session's microphones on the chosen plane (listeners (L, 2), their indices in pos_mic) and sources
    (emitters (E, 2), heights (E,)), pairs (P, 2) sorted by source, and the IR length at 22,050 Hz."""

    folder: Path
    emitters: np.ndarray
    emitter_heights: np.ndarray
    listeners: np.ndarray
    mic_indices: np.ndarray
    height: float
    pairs: np.ndarray
    sample_rate: int
    longest: int
    _files: dict[int, np.ndarray]

    def read_pair(self, index: int, ir_length: int) -> np.ndarray:
        """Pair `index`'s IR (4, 2, ir_length) float32 at 22,050 Hz: the one measured IR on both ears and at
        every orientation; cut or zero-padded."""
        source, listener = self.pairs[index]
        ir = resample(np.asarray(self._files[int(self.mic_indices[listener])][source], np.float64), self.sample_rate)
        out = np.zeros(ir_length, np.float32)
        out[: min(ir_length, len(ir))] = ir[:ir_length]
        return np.broadcast_to(out, (4, 2, ir_length)).copy()


def _positions(path: Path) -> np.ndarray:
    try:
        xyz = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read {path} as a numpy array ({type(exc).__name__}; no pickles)") from None
    if xyz.ndim != 2 or xyz.shape[1] != 3 or len(xyz) == 0 or not np.isfinite(xyz).all():
        raise DataError(f"{path}: expected finite (count, 3) positions in metres, got shape {xyz.shape}")
    return np.asarray(xyz, np.float64)


def read_session(folder: str | Path, height: float | None = None,
                 sample_rate: int = MESHRIR_SAMPLE_RATE) -> MeshRirSession:  # fmt: skip
    """The session in `folder` (its arrays memory-mapped: samples are read pair by pair). DataError (one line)
    for missing files, a microphone without its IR file, shapes that disagree, or several microphone planes
    without `height` (the message lists them)."""
    folder = Path(folder)
    for name in ("pos_mic.npy", "pos_src.npy"):
        if not (folder / name).is_file():
            raise DataError(f"{folder} lacks {name}: a MeshRIR session folder holds pos_mic.npy, pos_src.npy, ir_*.npy")
    mics, sources = _positions(folder / "pos_mic.npy"), _positions(folder / "pos_src.npy")
    planes = np.unique(np.round(mics[:, 2] / HEIGHT_TOLERANCE_M)) * HEIGHT_TOLERANCE_M
    if height is None and len(planes) > 1:
        shown = ", ".join(f"{z:g}" for z in planes[:8]) + (", ..." if len(planes) > 8 else "")
        raise DataError(f"{folder}: the microphones lie on {len(planes)} planes (z = {shown} m); choose one with "
                        "--height Z")
    z = float(planes[0]) if height is None else float(height)
    on_plane = np.flatnonzero(np.abs(mics[:, 2] - z) <= HEIGHT_TOLERANCE_M)
    if len(on_plane) == 0:
        shown = ", ".join(f"{p:g}" for p in planes[:8])
        raise DataError(f"{folder}: no microphone at z = {z:g} m; the planes are z = {shown}")
    found = {int(m.group(1)): p for p in folder.iterdir() if (m := _IR_FILE.fullmatch(p.name))}
    files: dict[int, np.ndarray] = {}
    lengths = set()
    for index in on_plane:
        if int(index) not in found:
            raise DataError(f"{folder} lacks ir_{index}.npy, the IRs of microphone {index}")
        try:
            ir = np.load(found[int(index)], mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise DataError(f"cannot read {found[int(index)]} as a numpy array ({type(exc).__name__})") from None
        if ir.ndim != 2 or ir.shape[0] != len(sources):
            raise DataError(f"{found[int(index)]}: shape {ir.shape}, expected ({len(sources)} sources, samples)")
        files[int(index)] = ir
        lengths.add(ir.shape[1])
    if len(lengths) > 1:
        raise DataError(f"{folder}: the IR files hold IRs of different lengths {sorted(lengths)[:4]}")
    pairs = np.array([(s, m) for s in range(len(sources)) for m in range(len(on_plane))], np.int32)
    return MeshRirSession(
        folder=folder, emitters=sources[:, :2].copy(), emitter_heights=sources[:, 2].copy(),
        listeners=mics[on_plane, :2].copy(), mic_indices=on_plane, height=z, pairs=pairs, sample_rate=sample_rate,
        longest=resampled_length(lengths.pop(), sample_rate), _files=files,
    )  # fmt: skip
