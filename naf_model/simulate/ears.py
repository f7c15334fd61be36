"""The simulator's ears: a measured dummy head (MIT KEMAR) by default, the spherical head, or one's own SOFA file.

A SimulationConfig's `hrtf` setting names the ears: "" (`SPHERICAL_HEAD`) is the spherical head of
`binaural` (Woodworth ITD, Brown & Duda head shadow); anything else is the sha256 of the file that holds a
measured HRIR set. `hrir_set_for(sha256)` finds that set on this machine:
- the MIT KEMAR set (Gardner & Martin 1994: a KEMAR dummy head with its normal pinna, 710 directions from
  -40 to +90 deg elevation, 512 taps at 44.1 kHz) that the Python package `slab` (MIT licence) ships as
  `slab/data/mit_kemar_normal_pinna.bz2`; the data's own terms: free to use and redistribute, the authors
  cited (docs/internals.md, "Ears");
- a SOFA file registered in the HRTF store: `register_sofa` (`naf data make --hrtf FILE.sofa`) keeps a
  copy as <cache_dir>/hrtf/<sha256>.sofa, so that everything that re-simulates a data set (the off-grid and
  floor sets, the app's "Simulate here", the field's direct sound) finds the same ears by the hash alone.

slab's file is a bz2 pickle of slab's own objects. It is read as data by a restricted unpickler that builds
plain records and numpy arrays only: no slab code runs, and slab's imports (sounddevice, matplotlib) are
never loaded.
"""

from __future__ import annotations

import bz2
import functools
import hashlib
import importlib.metadata
import re
import warnings
from pathlib import Path

import numpy as np

from naf_model.safe_pickle import DataOnlyUnpickler
from naf_model.simulate.hrtf import HrirSet, HrtfError, checked_directions, load_hrir_set, measured_hrir_set

KEMAR = "kemar"
SPHERICAL = "spherical"
EARS_NAMES = (KEMAR, SPHERICAL)
"""Ears named on the command line (`--hrtf NAME`); any other value is a SOFA file."""
SPHERICAL_HEAD = ""
"""The `hrtf` setting of the spherical head (left out of the settings' JSON, as before HRTFs existed)."""
KEMAR_DISTRIBUTION = "slab"
KEMAR_FILE = "slab/data/mit_kemar_normal_pinna.bz2"
KEMAR_INSTALL = "pip install 'slab>=1.8.2'"
_SHA256 = re.compile(r"[0-9a-f]{64}")
_KEMAR_CLASSES = {("slab.hrtf", "HRTF"), ("slab.filter", "Filter")}


def kemar_path() -> Path:
    """slab's KEMAR file; HrtfError (one line, how to install it) when slab is not installed."""
    try:
        path = Path(str(importlib.metadata.distribution(KEMAR_DISTRIBUTION).locate_file(KEMAR_FILE)))
    except importlib.metadata.PackageNotFoundError:
        path = None
    if path is None or not path.is_file():
        raise HrtfError(
            "the default ears, the MIT KEMAR dummy head, come with the Python package slab, which is not "
            f"installed: run `{KEMAR_INSTALL}` (`naf data make --hrtf spherical` simulates without it)"
        )
    return path


@functools.lru_cache(maxsize=1)
def kemar_sha256() -> str:
    """sha256 of slab's KEMAR file: the `hrtf` setting of the default ears."""
    return hashlib.sha256(kemar_path().read_bytes()).hexdigest()


class _Record:
    """A slab object read as data: its attributes, nothing of its class."""


def read_kemar() -> tuple[np.ndarray, float, np.ndarray]:
    """slab's KEMAR measurements as they are: HRIRs (M, 2, K) (ear 0 left), their sample rate (Hz) and unit
    directions (M, 3) in the listener frame (x forward, y left, z up); HrtfError (one line) if unreadable."""
    path = kemar_path()
    try:
        record = DataOnlyUnpickler(bz2.BZ2File(path), {c: _Record for c in _KEMAR_CLASSES}).load()
        rate = float(record.samplerate)
        irs = np.stack([np.asarray(f.data, np.float64) for f in record.data]).transpose(0, 2, 1)  # (M, 2, K)
        sources = np.asarray(record.sources, np.float64)  # (M, 3): azimuth, elevation (deg), distance (m)
    except Exception as exc:  # a damaged or changed file: any unpickling or shape error
        raise HrtfError(
            f"{path} is not the KEMAR set naf reads ({type(exc).__name__}); reinstall slab "
            f"(`{KEMAR_INSTALL}`) or simulate with --hrtf spherical"
        ) from exc
    if irs.shape[1] != 2 or sources.shape != (len(irs), 3) or not np.all(np.isfinite(irs)):
        raise HrtfError(f"{path} is not the KEMAR set naf reads (HRIRs {irs.shape}, sources {sources.shape})")
    return irs, rate, checked_directions(path, sources, "spherical")


@functools.lru_cache(maxsize=1)
def kemar_hrir_set() -> HrirSet:
    """The MIT KEMAR set as an `HrirSet` at 22,050 Hz (read once per process)."""
    irs, rate, directions = read_kemar()
    return measured_hrir_set(irs, rate, directions, kemar_sha256(), "MIT KEMAR (slab)")


def store_path(sha256: str) -> Path:
    """Where the HRTF store keeps the SOFA file of hash `sha256`."""
    from naf_model.paths import cache_dir

    return cache_dir() / "hrtf" / f"{sha256}.sofa"


def register_sofa(path: str | Path) -> HrirSet:
    """Load a SOFA HRIR set (`hrtf.load_hrir_set`) and keep a copy in the HRTF store, so that the settings
    naming it can be simulated again without the file (a store that cannot be written only warns: the data
    set is still made, and a re-simulation asks for the file)."""
    from naf_model.atomic import write_atomic

    hrirs = load_hrir_set(path)
    target = store_path(hrirs.sha256)
    if not target.is_file():
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(target, Path(path).read_bytes())
        except OSError as exc:
            warnings.warn(f"could not keep a copy of {path} in {target.parent} ({exc})", stacklevel=2)
    return hrirs


_STORED: dict[tuple[str, Path], HrirSet] = {}
"""Sets read from the HRTF store in this process, by hash and file (only found ones: a file registered
later is found then)."""


def _stored_set(sha256: str) -> HrirSet | None:
    path = store_path(sha256)
    if (sha256, path) not in _STORED:
        if not path.is_file():
            return None
        hrirs = load_hrir_set(path)
        if hrirs.sha256 != sha256:
            return None
        _STORED[(sha256, path)] = hrirs
    return _STORED[(sha256, path)]


def hrir_set_for(sha256: str) -> HrirSet:
    """The measured HRIR set of an `hrtf` setting: the KEMAR set, else the HRTF store's SOFA file of that hash;
    HrtfError (one line) when neither is on this machine."""
    if not _SHA256.fullmatch(sha256):
        raise HrtfError(f"the HRTF setting {sha256[:70]!r} is not a sha256; the settings file is damaged")
    try:
        if sha256 == kemar_sha256():
            return kemar_hrir_set()
        kemar_note = ""
    except HrtfError:
        kemar_note = f" If these are the default MIT KEMAR ears, install slab: `{KEMAR_INSTALL}`."
    stored = _stored_set(sha256)
    if stored is None:
        raise HrtfError(
            f"these settings render through the HRTF set {sha256[:12]}, whose SOFA file is not on this machine: "
            f"pass it once with `naf data make --hrtf FILE.sofa` (a copy is then kept in {store_path(sha256).parent})."
            + kemar_note
        )
    return stored


def ears_name(hrtf: str) -> str:
    """What an `hrtf` setting names, in words (for `naf data info`); never raises."""
    if not hrtf:
        return "spherical head (Woodworth ITD, Brown & Duda head shadow)"
    try:
        if hrtf == kemar_sha256():
            return "MIT KEMAR dummy head, measured (slab)"
    except HrtfError:
        pass
    if not _SHA256.fullmatch(hrtf):
        return f"unknown ({hrtf[:20]!r} is not a sha256)"
    found = " (in the HRTF store)" if store_path(hrtf).is_file() else " (not on this machine)"
    return f"HRIR set {hrtf[:12]}{found}"


def ears_settings(choice: str | Path) -> tuple[str, HrirSet | None]:
    """(`hrtf` setting, loaded set or None) of a command line's `--hrtf`: "kemar" (the default ears),
    "spherical", or a SOFA file (registered in the HRTF store)."""
    if str(choice) == SPHERICAL:
        return SPHERICAL_HEAD, None
    if str(choice) == KEMAR:
        return kemar_sha256(), kemar_hrir_set()
    hrirs = register_sofa(choice)
    return hrirs.sha256, hrirs
