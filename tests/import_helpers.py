"""Tiny sources in the published layouts of the formats `naf data import` reads, built in the test: the NAF
paper's metadata folder, a SoundSpaces binaural RIR room folder, a MeshRIR session (kilobytes each)."""

from __future__ import annotations

import pickle
from pathlib import Path

import h5py
import numpy as np
import soundfile

AZIMUTHS = ("0", "90", "180", "270")
POINTS = {"0": (1.0, 1.0, 0.0), "1": (3.0, 1.0, 0.0), "2": (1.0, 3.0, 0.0), "3": (3.0, 3.5, 0.0),
          "4": (2.0, 2.0, 0.0)}  # fmt: skip
"""Point id -> (x, y, z) metres, the points file's own columns."""


def write_points(path: Path, points: dict = POINTS) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{i}\t{x}\t{y}\t{z}\n" for i, (x, y, z) in points.items()))
    return path


def pair_ids(points: dict = POINTS) -> list[str]:
    """'<listener>_<emitter>' of every ordered pair of distinct points."""
    return [f"{r}_{s}" for r in points for s in points if r != s]


def decaying_ir(rng: np.random.Generator, n: int, delay: int) -> np.ndarray:
    """A binaural IR (n, 2): a pulse at `delay`, then decaying noise."""
    ir = np.zeros((n, 2), np.float32)
    ir[delay] = (0.8, 0.6)
    tail = rng.normal(0, 0.05, (n - delay - 1, 2)) * np.exp(-np.arange(n - delay - 1) / (0.05 * n))[:, None]
    ir[delay + 1:] = tail
    return ir


def paper_metadata(root: Path, room: str = "test_room", frames: int = 12, seed: int = 0,
                   split_pickle: bytes | None = None) -> dict:  # fmt: skip
    """The paper's metadata folder for one room; returns what was written (spectrograms by key, split, stats)."""
    rng = np.random.default_rng(seed)
    write_points(root / "replica" / room / "points.txt")
    ids = pair_ids()
    specs = {}
    (root / "magnitudes").mkdir(parents=True)
    with h5py.File(root / "magnitudes" / f"{room}.h5", "w") as f:
        for label in AZIMUTHS:
            for k, pid in enumerate(ids):
                t = frames - 2 + (k % 5)  # shorter, equal and longer than the kept frames
                spec = rng.normal(-4, 1.5, (2, 256, t)).astype(np.float16)
                f.create_dataset(f"{label}_{pid}", data=spec)
                specs[f"{label}_{pid}"] = spec
    test_ids = ids[::5]
    train = {a: [p for p in ids if p not in test_ids] for a in AZIMUTHS}
    test = {a: list(test_ids) for a in AZIMUTHS}
    for name in ("train_test_split", "mean_std", "minmax"):
        (root / name).mkdir(parents=True)
    mean = rng.normal(-4, 0.5, (256, frames)).astype(np.float32)
    std = rng.uniform(0.5, 2.0, (256, frames)).astype(np.float32)
    (root / "train_test_split" / f"{room}_complete.pkl").write_bytes(
        split_pickle if split_pickle is not None else pickle.dumps([train, test], protocol=2))
    (root / "mean_std" / f"{room}.pkl").write_bytes(pickle.dumps([mean, std]))
    low, high = np.array([0.5, -1.0, -4.0]), np.array([3.5, 2.0, -0.5])
    (root / "minmax" / f"{room}_minmax.pkl").write_bytes(pickle.dumps([low, high]))
    return {"specs": specs, "train": train, "test": test, "mean": mean, "std": std, "ids": ids}


def soundspaces_room(folder: Path, rate: int = 22_050, n: int = 3_000, seed: int = 0) -> dict:
    """A SoundSpaces room folder (0/ 90/ 180/ 270/ of '<receiver>_<source>.wav', float WAV) and its points.txt;
    returns the IRs written by file name '<azimuth>/<receiver>_<source>'."""
    rng = np.random.default_rng(seed)
    write_points(folder / "points.txt")
    irs = {}
    for label in AZIMUTHS:
        (folder / label).mkdir(parents=True)
        for k, pid in enumerate(pair_ids()):
            ir = decaying_ir(rng, n - 7 * k, 20 + k)
            soundfile.write(folder / label / f"{pid}.wav", ir, rate, subtype="FLOAT")
            irs[f"{label}/{pid}"] = ir
    return irs


def meshrir_session(folder: Path, rate: int = 48_000, n: int = 4_000, seed: int = 0) -> dict:
    """A MeshRIR session folder: 6 microphones on two planes (z = 0, 0.1), 2 sources, ir_<m>.npy (S, N) each."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    mics = np.array([[x, y, z] for z in (0.0, 0.1) for x, y in ((0.0, 0.0), (0.5, 0.0), (0.0, 0.5))])
    sources = np.array([[-1.5, -1.0, 0.2], [1.5, 1.5, 0.0]])
    np.save(folder / "pos_mic.npy", mics)
    np.save(folder / "pos_src.npy", sources)
    irs = {}
    for m in range(len(mics)):
        ir = np.stack([decaying_ir(rng, n, 30 + 5 * s)[:, 0] for s in range(len(sources))]).astype(np.float64)
        np.save(folder / f"ir_{m}.npy", ir)
        irs[m] = ir
    return {"mics": mics, "sources": sources, "irs": irs}
