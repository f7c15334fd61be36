"""`import_data`: one import from a request: find the format, read the source's headers and positions (every
check before any work), say the plan in one line, then write the data set (`imports.write`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from naf_model.conventions import SAMPLE_RATE
from naf_model.data.imports import free_space, meshrir, paper, soundspaces
from naf_model.data.imports.write import ImportedPairs, check_output, naf_split, write_spectrograms, write_waveforms
from naf_model.data.plan import SPLIT_TEST, SPLIT_TRAIN, SPLIT_VALIDATION, carve_validation
from naf_model.errors import DataError
from naf_model.paths import file_stem

FORMATS = ("paper", "soundspaces", "meshrir")
MAX_IR_SECONDS = 8.0
"""The longest IR an import keeps without --ir-seconds (`naf data make`'s limit)."""


@dataclass(frozen=True)
class ImportRequest:
    """What `naf data import` was asked (its options of the same names); format 'auto' detects it."""

    format: str
    path: Path
    output: Path
    room: str | None = None
    points: Path | None = None
    split_pickle: Path | None = None
    split_conflicts: str = "refuse"
    height: float | None = None
    sample_rate: int = meshrir.MESHRIR_SAMPLE_RATE
    ir_seconds: float | None = None
    test_fraction: float = 0.1
    validation_fraction: float = 0.05
    seed: int = 0
    name: str | None = None
    overwrite: bool = False
    progress: bool = True


def detect_format(path: Path) -> str:
    """The format of a source folder: the paper's metadata (magnitudes/), a MeshRIR session (pos_mic.npy) or a
    SoundSpaces room (azimuth folders 0/ 90/ 180/ 270/); DataError naming what was looked for otherwise."""
    if (path / "magnitudes").is_dir():
        return "paper"
    if (path / "pos_mic.npy").is_file():
        return "meshrir"
    if all((path / label).is_dir() for label in paper.PAPER_ORIENTATIONS):
        return "soundspaces"
    raise DataError(f"cannot tell the format of {path}: expected the paper's metadata folder (magnitudes/), a "
                    "SoundSpaces room (0/ 90/ 180/ 270/) or a MeshRIR session (pos_mic.npy); name the format")


def import_data(request: ImportRequest, say: Callable[[str], None] = print) -> Path:
    """Import `request.path` into the data set `request.output`; the plan line goes to `say` before writing."""
    if not request.path.is_dir():
        raise DataError(f"{request.path} is not a folder; give the folder that holds the data")
    check_output(request.output, request.overwrite)
    fmt = detect_format(request.path) if request.format == "auto" else request.format
    if fmt not in FORMATS:
        raise DataError(f"unknown format {fmt!r}; use {', '.join(FORMATS)} or auto")
    return {"paper": _paper, "soundspaces": _soundspaces, "meshrir": _meshrir}[fmt](request, say)


def _room(request: ImportRequest) -> str:
    rooms = paper.paper_rooms(request.path)
    if request.room is not None:
        if request.room not in rooms:
            raise DataError(f"{request.path}/magnitudes has no {request.room}.h5; rooms: {', '.join(rooms) or 'none'}")
        return request.room
    if len(rooms) != 1:
        shown = ", ".join(rooms) or "none"
        raise DataError(f"{request.path} holds {len(rooms)} rooms ({shown}); choose one with --room")
    return rooms[0]


def _paper(request: ImportRequest, say: Callable[[str], None]) -> Path:
    room = _room(request)
    pr = paper.read_room(request.path, room, test_on_conflict=request.split_conflicts == "test")
    split = carve_validation(pr.split, request.seed, request.validation_fraction)
    scene = free_space.derived_scene(request.name or f"paper_{room}", np.vstack([pr.emitters, pr.listeners]),
                                     f"the NAF paper's {room} metadata")  # fmt: skip
    frames = np.zeros((len(pr.pairs), 4), np.int16)
    record = {
        "format": "paper", "source": str(request.path), "room": room,
        "spectrograms": "as the paper stored them: float16 ln(|X| + 1e-3), librosa STFT n_fft 512, hop 128, 22,050 Hz, "
                        f"the Nyquist bin dropped; cut at its {pr.n_frames} frames and padded with ln(1e-3) "
                        "(source/frames: each one's own frames); no waveforms, no late part",
        "normalisation": "the paper's mean_std pickle as stored (stats/mean, stats/std; its std is the data's + 0.1, "
                         "used as 3 * std like naf's)",
        "split": "the paper's train/test pickle (test if held out in any orientation); validation: "
                 f"{100 * request.validation_fraction:g} % of its training pairs (naf's carve_validation, seed "
                 f"{request.seed}); the paper trained on those too",
        "positions": "(x, y) of points.txt; the paper's code uses (x, -y), a mirror image (paper_xy_from_naf)",
        "orientations": "naf headings 0, 90, 180, 270 = SoundSpaces azimuth folders 90, 0, 270, 180 (heading = 90 - "
                        "azimuth); the paper's orientation index of each: 1, 0, 3, 2",
        "paper_min_xy": pr.min_xy.tolist(), "paper_max_xy": pr.max_xy.tolist(),
        "dropped_pairs": pr.dropped, "split_conflicts": pr.conflicts, "plan": scene.derived_from,
        "validation_fraction": request.validation_fraction,
    }  # fmt: skip
    pairs = ImportedPairs(pr.emitters, pr.listeners, pr.pairs, split, record, {
        "emitter_ids": np.array(pr.emitter_ids, "S"), "listener_ids": np.array(pr.listener_ids, "S"),
        "frames": frames})  # fmt: skip
    say(f"naf: importing the paper's {room}: {_counts(pairs)}, {pr.n_frames} frames as stored, the paper's "
        f"normalisation; {_dropped(pr.dropped, 'without all four spectrograms')}{scene.derived_from} "
        f"({scene.area:.1f} m2)")

    def spectrograms() -> Iterator[np.ndarray]:
        with h5py.File(pr.paths.spectrograms, "r") as f:
            for i in range(len(pr.pairs)):
                spec, frames[i] = pr.read_pair(f, i)
                yield spec

    return write_spectrograms(request.output, scene, pairs, spectrograms(), pr.n_frames, (pr.mean, pr.std),
                              request.seed, request.progress)  # fmt: skip


def _ir_length(request: ImportRequest, longest: int) -> int:
    if request.ir_seconds is not None:
        return int(round(request.ir_seconds * SAMPLE_RATE))
    if longest > MAX_IR_SECONDS * SAMPLE_RATE:
        raise DataError(f"the longest IR lasts {longest / SAMPLE_RATE:.1f} s, more than {MAX_IR_SECONDS:g} s; "
                        "pass --ir-seconds to cut them all at a length you choose")
    return longest


def _length_note(request: ImportRequest, longest: int, ir_length: int) -> str:
    if ir_length < longest:
        return f"cut at {ir_length / SAMPLE_RATE:.3f} s (--ir-seconds; the longest lasts {longest / SAMPLE_RATE:.3f} s)"
    return f"{ir_length / SAMPLE_RATE:.3f} s (the longest, the others zero-padded)"


def _soundspaces(request: ImportRequest, say: Callable[[str], None]) -> Path:
    points = request.points or request.path / "points.txt"
    if not points.is_file():
        raise DataError(f"no points file {points}: pass --points metadata/<dataset>/<room>/points.txt")
    room = soundspaces.read_room(request.path, points)
    keep = np.arange(len(room.pairs))
    if request.split_pickle is not None:
        train, test = paper.read_split(request.split_pickle)
        codes = paper.split_codes(train, test)
        keep = np.array([i for i, pid in enumerate(room.pair_ids) if pid in codes], np.int64)
        if len(keep) == 0:
            raise DataError(f"{request.split_pickle} names none of the pairs in {request.path}")
        kept_ids = [room.pair_ids[i] for i in keep]
        conflicts = paper.check_conflicts(codes, kept_ids, request.split_pickle, request.split_conflicts == "test")
        split = carve_validation(np.array([paper.pair_code(codes[p]) for p in kept_ids], np.uint8), request.seed,
                                 request.validation_fraction)  # fmt: skip
        split_note = (f"the split of {request.split_pickle} (test if held out in any orientation; {conflicts} "
                      f"conflicts), validation {100 * request.validation_fraction:g} % of its training pairs")
    else:
        split = naf_split(len(keep), request.test_fraction, request.validation_fraction, request.seed)
        split_note = (f"naf's seeded split: {100 * request.test_fraction:g} % test, validation "
                      f"{100 * request.validation_fraction:g} % of the rest (seed {request.seed})")
    ir_length = _ir_length(request, room.longest)
    scene = free_space.derived_scene(request.name or f"soundspaces_{file_stem(request.path.resolve().name)}",
                                     np.vstack([room.emitters, room.listeners]),
                                     f"the SoundSpaces RIRs of {request.path.name}")  # fmt: skip
    record = {
        "format": "soundspaces", "source": str(request.path), "points": str(points), "channels": "binaural (0 left)",
        "sample_rate": room.sample_rate, "resampled": room.sample_rate != SAMPLE_RATE,
        "ir": _length_note(request, room.longest, ir_length), "split": split_note,
        "positions": "(x, y) of the points file (z up)",
        "orientations": "naf headings 0, 90, 180, 270 = azimuth folders 90, 0, 270, 180 (heading = 90 - azimuth)",
        "dropped_pairs": room.dropped + len(room.pairs) - len(keep), "plan": scene.derived_from,
        "validation_fraction": request.validation_fraction,
    }  # fmt: skip
    pairs = ImportedPairs(room.emitters, room.listeners, room.pairs[keep], split, record, {
        "emitter_ids": np.array(room.emitter_ids, "S"), "listener_ids": np.array(room.listener_ids, "S")})
    say(f"naf: importing SoundSpaces {request.path.name}: {_counts(pairs)}, {room.sample_rate:,} Hz"
        f"{' resampled to 22,050 Hz' if room.sample_rate != SAMPLE_RATE else ''}, IRs "
        f"{_length_note(request, room.longest, ir_length)}; {_dropped(record['dropped_pairs'], 'left out')}"
        f"{scene.derived_from} ({scene.area:.1f} m2)")
    return write_waveforms(request.output, scene, pairs, lambda i: room.read_pair(int(keep[i]), ir_length),
                           ir_length, request.seed, request.progress)  # fmt: skip


def _meshrir(request: ImportRequest, say: Callable[[str], None]) -> Path:
    session = meshrir.read_session(request.path, request.height, request.sample_rate)
    ir_length = _ir_length(request, session.longest)
    split = naf_split(len(session.pairs), request.test_fraction, request.validation_fraction, request.seed)
    scene = free_space.derived_scene(request.name or f"meshrir_{file_stem(request.path.resolve().name)}",
                                     np.vstack([session.emitters, session.listeners]),
                                     f"the MeshRIR session {request.path.name}")  # fmt: skip
    record = {
        "format": "meshrir", "source": str(request.path), "sample_rate": session.sample_rate,
        "resampled": session.sample_rate != SAMPLE_RATE, "ir": _length_note(request, session.longest, ir_length),
        "channels": "mono: the one measured IR on both ears and at every orientation (ITD and ILD zero by "
                    "construction)",
        "microphone_plane_z": session.height, "source_z": session.emitter_heights.tolist(),
        "split": f"naf's seeded split: {100 * request.test_fraction:g} % test, validation "
                 f"{100 * request.validation_fraction:g} % of the rest (seed {request.seed})",
        "positions": "(x, y) of pos_src.npy (emitters) and pos_mic.npy (listeners)", "plan": scene.derived_from,
        "validation_fraction": request.validation_fraction,
    }  # fmt: skip
    pairs = ImportedPairs(session.emitters, session.listeners, session.pairs, split, record,
                          {"mic_indices": session.mic_indices.astype(np.int32)})
    say(f"naf: importing MeshRIR {request.path.name} (mono: the same IR on both ears and every heading): "
        f"{_counts(pairs)}, microphones at z = {session.height:g} m, {session.sample_rate:,} Hz resampled to "
        f"22,050 Hz, IRs {_length_note(request, session.longest, ir_length)}; {scene.derived_from} "
        f"({scene.area:.1f} m2)")
    return write_waveforms(request.output, scene, pairs, lambda i: session.read_pair(i, ir_length), ir_length,
                           request.seed, request.progress)


def _counts(pairs: ImportedPairs) -> str:
    n = [int(np.sum(pairs.split == c)) for c in (SPLIT_TRAIN, SPLIT_VALIDATION, SPLIT_TEST)]
    return (f"{len(pairs.pairs):,} pairs of {len(pairs.emitters):,} emitters and {len(pairs.listeners):,} "
            f"listeners ({n[0]:,} train, {n[1]:,} validation, {n[2]:,} test)")


def _dropped(count: int, why: str) -> str:
    return f"{count:,} pairs {why}; " if count else ""
