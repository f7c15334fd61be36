"""The NAF paper's released metadata for one room, read as its own code reads it (aluo-x/
Learning_Neural_Acoustic_Fields, data_loading/sound_loader.py and data_loading/data_maker.ipynb).

Public names (stable: the paper-checkpoint loader imports them):
- constants of the paper's data: PAPER_SAMPLE_RATE, PAPER_N_FFT, PAPER_HOP, PAPER_N_FREQ, PAPER_LOG_EPS,
  PAPER_STD_FACTOR, PAPER_ORIENTATIONS (its orientation labels in the order of its orientation index),
  PAPER_MAX_LEN (frames its loader keeps per room), NAF_TO_PAPER_ORIENTATION (the paper's orientation index
  of each naf orientation index), NAF_HEADING_OF_LABEL;
- `PaperPaths` / `paper_paths(root, room)`: where the files of a room lie under the metadata folder;
- `read_points`, `naf_xy_from_points`, `paper_xy_from_naf`: positions;
- `read_split`, `read_mean_std`, `read_minmax`: the pickles (through `naf_model.safe_pickle`: data only);
  `split_codes`, `pair_code`, `check_conflicts`: the per-orientation split as naf's per-pair one;
- `read_room(root, room) -> PaperRoom`: everything of one room, spectrograms read pair by pair
  (`PaperRoom.read_pair`).

The layout: <root>/magnitudes/<room>.h5 holds one float16 (2, 256, T) ln(|X| + 1e-3) per key
'<orientation>_<listener id>_<emitter id>' (SoundSpaces names its binaural RIR files <receiver>_<source>.wav);
<root>/replica/<room>/points.txt lines 'id<TAB>x<TAB>y<TAB>z' (z up, metres); <root>/train_test_split/
<room>_complete.pkl a pair [train, test] of {orientation label: [pair id, ...]}; <root>/mean_std/<room>.pkl
[mean, std] (256, T) (its std already + 0.1, used as 3 * std); <root>/minmax/<room>_minmax.pkl [min, max] (3,)
of the room's bounding box in habitat coordinates (x, y up, z), whose dimensions 0 and 2 are the floor.

Coordinates: the paper's code places a point at (x, -y) of points.txt, a mirror image of the room. naf keeps
the points file's own right-handed frame (x, y), so its headings and ears are those of the room:
SoundSpaces indexes its RIR folders by an azimuth a counted clockwise from +y (+x is 90), so folder a is the
naf heading (90 - a) mod 360 (counter-clockwise from +x), and the ears keep their channels (0 left).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from naf_model.data.plan import SPLIT_TEST, SPLIT_TRAIN
from naf_model.errors import DataError
from naf_model.safe_pickle import load_data_file

PAPER_SAMPLE_RATE = 22_050
"""Hz: the paper resampled SoundSpaces' 44.1 kHz RIRs with librosa.resample before its STFT."""
PAPER_N_FFT = 512
PAPER_HOP = 128
PAPER_N_FREQ = 256
"""librosa.stft(n_fft=512, hop_length=128), centred Hann frames, the Nyquist bin dropped: naf's grid. The paper
padded each RIR by 256 zeros at its end (and to at least 4,410 samples) before the STFT, and librosa's centring
pads the start as its version did (reflect before librosa 0.10, zeros since); naf pads zeros."""
PAPER_LOG_EPS = 1e-3
PAPER_STD_FACTOR = 3.0
"""The paper's loader normalises (x - mean) / (3 * std): naf's rule; its stored std is the data's + 0.1."""
PAPER_ORIENTATIONS = ("0", "90", "180", "270")
"""The paper's orientation labels (SoundSpaces azimuth folders), in the order of its orientation index."""
PAPER_MAX_LEN = {"apartment_1": 101, "apartment_2": 86, "frl_apartment_2": 107, "frl_apartment_4": 103,
                 "office_4": 78, "room_2": 84}  # fmt: skip
"""Frames the paper's loader keeps of each room's spectrograms (options.py `max_len`)."""
NAF_HEADING_OF_LABEL = {label: (90 - int(label)) % 360 for label in PAPER_ORIENTATIONS}
"""naf heading (degrees counter-clockwise from +x, points-file frame) of each azimuth folder label."""
NAF_TO_PAPER_ORIENTATION = tuple(PAPER_ORIENTATIONS.index(label) for label in ("90", "0", "270", "180"))
"""The paper's orientation index of naf's orientation index 0..3 (headings 0, 90, 180, 270): (1, 0, 3, 2)."""
assert all(NAF_HEADING_OF_LABEL[PAPER_ORIENTATIONS[p]] == 90 * j for j, p in enumerate(NAF_TO_PAPER_ORIENTATION))


@dataclass(frozen=True)
class PaperPaths:
    """The files of one room under the paper's metadata folder (see the module docstring)."""

    spectrograms: Path
    points: Path
    split: Path
    mean_std: Path
    minmax: Path


def paper_paths(root: str | Path, room: str) -> PaperPaths:
    """Where the paper's code looks for `room`'s files under `root` (its `./metadata`)."""
    root = Path(root)
    return PaperPaths(
        spectrograms=root / "magnitudes" / f"{room}.h5",
        points=root / "replica" / room / "points.txt",
        split=root / "train_test_split" / f"{room}_complete.pkl",
        mean_std=root / "mean_std" / f"{room}.pkl",
        minmax=root / "minmax" / f"{room}_minmax.pkl",
    )


def paper_rooms(root: str | Path) -> list[str]:
    """Rooms whose spectrogram file is under `root`/magnitudes, sorted."""
    folder = Path(root) / "magnitudes"
    return sorted(p.stem for p in folder.glob("*.h5")) if folder.is_dir() else []


def check_paths(paths: PaperPaths) -> None:
    """DataError naming the first missing file (checked before any work)."""
    for name, path in vars(paths).items():
        if not Path(path).is_file():
            raise DataError(f"the paper's metadata lacks its {name.replace('_', ' ')} file {path}")


def read_points(path: str | Path) -> dict[str, np.ndarray]:
    """points.txt: {point id: (x, y, z) float64 metres}, the file's own columns; DataError if malformed."""
    points: dict[str, np.ndarray] = {}
    try:
        lines = Path(path).read_text().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read points file {path} ({type(exc).__name__})") from None
    for number, line in enumerate(lines, 1):
        fields = line.strip().split()
        if not fields:
            continue
        try:
            xyz = np.array([float(v) for v in fields[1:4]], np.float64)
        except ValueError:
            xyz = np.empty(0)
        if len(fields) != 4 or xyz.shape != (3,) or not np.isfinite(xyz).all():
            raise DataError(f"{path} line {number}: expected 'id x y z' (tab separated, metres), got {line[:60]!r}")
        points[fields[0]] = xyz
    if not points:
        raise DataError(f"points file {path} holds no points")
    return points


def naf_xy_from_points(xyz: np.ndarray) -> np.ndarray:
    """naf positions (..., 2) of points-file rows (..., 3): their (x, y), the right-handed floor frame."""
    return np.asarray(xyz, np.float64)[..., :2].copy()


def paper_xy_from_naf(xy: np.ndarray) -> np.ndarray:
    """The paper's positions (x, -y) (`sound_loader`: `[readout[0], -readout[1]]`) of naf positions (..., 2)."""
    xy = np.asarray(xy, np.float64)
    return np.stack([xy[..., 0], -xy[..., 1]], axis=-1)


def _pair_id(text: object, path: Path) -> str:
    if not isinstance(text, str):
        raise DataError(f"{path}: pair ids must be strings like '12_34', got {type(text).__name__}")
    return text.split(".")[0]


def read_split(path: str | Path) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """The split pickle: (train, test), each {orientation label: [pair id '<listener>_<emitter>', ...]}."""
    path = Path(path)
    data = load_data_file(path, "split pickle")
    if not isinstance(data, list | tuple) or len(data) < 2 or not all(isinstance(d, dict) for d in data[:2]):
        raise DataError(f"{path}: expected [train, test] dictionaries of orientation -> pair ids")
    out = []
    for part in data[:2]:
        lists = {}
        for label, ids in part.items():
            if str(label) not in PAPER_ORIENTATIONS or not isinstance(ids, list | tuple):
                raise DataError(f"{path}: expected orientations {', '.join(PAPER_ORIENTATIONS)} -> lists of pair ids")
            lists[str(label)] = [_pair_id(i, path) for i in ids]
        out.append(lists)
    return out[0], out[1]


def read_mean_std(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """The normalisation pickle: mean and std, each (256, T) float32 as stored (std includes the paper's + 0.1)."""
    path = Path(path)
    data = load_data_file(path, "mean/std pickle")
    try:
        mean, std = (np.asarray(a, np.float32) for a in data[:2])
    except (TypeError, ValueError, IndexError, KeyError):
        raise DataError(f"{path}: expected [mean, std] arrays") from None
    if mean.ndim != 2 or mean.shape != std.shape or mean.shape[0] != PAPER_N_FREQ:
        raise DataError(f"{path}: mean {mean.shape} and std {std.shape} are not two ({PAPER_N_FREQ}, T) arrays")
    if not (np.isfinite(mean).all() and np.isfinite(std).all() and (std > 0).all()):
        raise DataError(f"{path}: mean/std hold non-finite values or a std <= 0")
    return mean, std


def read_minmax(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """The bounding-box pickle: min and max (2,) of the paper's floor coordinates (its dimensions 0 and 2)."""
    path = Path(path)
    data = load_data_file(path, "min/max pickle")
    try:
        low, high = (np.asarray(a, np.float64).reshape(-1) for a in data[:2])
    except (TypeError, ValueError, IndexError, KeyError):
        raise DataError(f"{path}: expected [min, max] arrays") from None
    if low.shape != (3,) or high.shape != (3,) or not (np.isfinite(low).all() and np.isfinite(high).all()):
        raise DataError(f"{path}: expected two (3,) arrays, got {low.shape} and {high.shape}")
    return low[[0, 2]], high[[0, 2]]


def split_codes(train: dict[str, list[str]], test: dict[str, list[str]]) -> dict[str, set[int]]:
    """{pair id: the split codes (SPLIT_TRAIN, SPLIT_TEST) the paper gives it over its four orientations}."""
    codes: dict[str, set[int]] = {}
    for code, part in ((SPLIT_TRAIN, train), (SPLIT_TEST, test)):
        for ids in part.values():
            for pid in ids:
                codes.setdefault(pid, set()).add(code)
    return codes


def pair_code(codes: set[int]) -> int:
    """A pair's naf split code: test if the paper holds it out in any orientation (never trained on)."""
    return SPLIT_TEST if SPLIT_TEST in codes else SPLIT_TRAIN


def check_conflicts(codes: dict[str, set[int]], kept: list[str], where: Path, test_on_conflict: bool) -> int:
    """The number of kept pairs trained on in some orientations and held out in others; DataError if there are
    any and `test_on_conflict` is not set (naf's split is per pair, the paper's per orientation)."""
    conflicts = [pid for pid in kept if len(codes[pid]) > 1]
    if conflicts and not test_on_conflict:
        raise DataError(
            f"{where}: {len(conflicts)} pairs (e.g. {conflicts[0]}) are training pairs in some orientations "
            "and test pairs in others, which naf's per-pair split cannot hold; pass --split-conflicts test to "
            "hold them out"
        )
    return len(conflicts)


@dataclass
class PaperRoom:
    """One room of the paper's data: emitters (E, 2) and listeners (L, 2) naf positions in metres with their point
    ids, pairs (P, 2) (emitter, listener) indices with their split codes (train 0, test 1), the paper's mean and
    std (256, T), its bounding box (paper coordinates), and where each pair's spectrograms are (`read_pair`).
    dropped counts the split's pairs left out (a spectrogram missing); conflicts the pairs held out in some
    orientations and trained on in others (made test pairs when allowed)."""

    room: str
    paths: PaperPaths
    emitters: np.ndarray
    listeners: np.ndarray
    emitter_ids: list[str]
    listener_ids: list[str]
    pairs: np.ndarray
    split: np.ndarray
    pair_ids: list[str]
    mean: np.ndarray
    std: np.ndarray
    min_xy: np.ndarray
    max_xy: np.ndarray
    dropped: int
    conflicts: int

    @property
    def n_frames(self) -> int:
        return int(self.mean.shape[1])

    def read_pair(self, f: h5py.File, index: int) -> tuple[np.ndarray, np.ndarray]:
        """Pair `index`'s spectrograms in naf orientation order, (4, 2, 256, T) float16 as stored, cut to T frames
        as the paper's loader cuts them and padded with ln(1e-3) (its padding value); and their own frame
        counts (4,) after the cut."""
        out = np.full((4, 2, PAPER_N_FREQ, self.n_frames), np.log(PAPER_LOG_EPS), np.float16)
        frames = np.zeros(4, np.int32)
        for j, p in enumerate(NAF_TO_PAPER_ORIENTATION):
            key = f"{PAPER_ORIENTATIONS[p]}_{self.pair_ids[index]}"
            spec = np.asarray(f[key][()])[:, :, : self.n_frames]
            if spec.ndim != 3 or spec.shape[:2] != (2, PAPER_N_FREQ):
                raise DataError(f"{self.paths.spectrograms}: {key} has shape {spec.shape}, expected (2, 256, T)")
            out[j, :, :, : spec.shape[2]] = spec
            frames[j] = spec.shape[2]
        return out, frames


def read_room(root: str | Path, room: str, test_on_conflict: bool = False) -> PaperRoom:
    """Read `room` of the paper's metadata folder `root` (everything but the spectrograms themselves).

    DataError (one line) for a missing or malformed file, a pickle that could run code, an id missing from
    points.txt, or a pair the split puts in train for one orientation and test for another (unless
    `test_on_conflict`: then it is a test pair, never trained on)."""
    paths = paper_paths(root, room)
    check_paths(paths)
    points = read_points(paths.points)
    train, test = read_split(paths.split)
    mean, std = read_mean_std(paths.mean_std)
    min_xy, max_xy = read_minmax(paths.minmax)
    expected = PAPER_MAX_LEN.get(room)
    if expected is not None and mean.shape[1] != expected:
        raise DataError(f"{paths.mean_std}: {mean.shape[1]} frames, the paper keeps {expected} for {room}")
    codes = split_codes(train, test)
    try:
        with h5py.File(paths.spectrograms, "r") as f:
            keys = set(f.keys())
    except OSError:
        raise DataError(f"{paths.spectrograms} is not an HDF5 file") from None
    kept = sorted(pid for pid in codes if all(f"{label}_{pid}" in keys for label in PAPER_ORIENTATIONS))
    conflicts = check_conflicts(codes, kept, paths.split, test_on_conflict)
    if not kept:
        raise DataError(f"{paths.spectrograms} holds no spectrograms of the split's pairs (keys '<orientation>_<id>')")
    listener_ids, emitter_ids = (sorted({pid.split("_")[k] for pid in kept}, key=id_order) for k in (0, 1))
    missing = sorted(set(listener_ids + emitter_ids) - points.keys())
    if missing:
        raise DataError(f"{paths.points} lacks point {missing[0]} that the split names")
    e_index = {pid: i for i, pid in enumerate(emitter_ids)}
    l_index = {pid: i for i, pid in enumerate(listener_ids)}
    pairs = np.array([(e_index[pid.split("_")[1]], l_index[pid.split("_")[0]]) for pid in kept], np.int32)
    order = np.lexsort((pairs[:, 1], pairs[:, 0]))  # by emitter, then listener: naf's pair order
    split = np.array([pair_code(codes[pid]) for pid in kept], np.uint8)
    return PaperRoom(
        room=room, paths=paths,
        emitters=naf_xy_from_points(np.stack([points[i] for i in emitter_ids])),
        listeners=naf_xy_from_points(np.stack([points[i] for i in listener_ids])),
        emitter_ids=emitter_ids, listener_ids=listener_ids,
        pairs=pairs[order], split=split[order], pair_ids=[kept[i] for i in order],
        mean=mean, std=std, min_xy=min_xy, max_xy=max_xy,
        dropped=len(codes) - len(kept), conflicts=conflicts,
    )  # fmt: skip


def id_order(text: str) -> tuple:
    """Sort key of point ids: numeric ids by value, others after them by text."""
    return (0, int(text), "") if text.isdigit() else (1, 0, text)
