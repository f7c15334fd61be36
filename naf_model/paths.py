"""Where naf keeps bundled assets and the user's data sets and training runs."""

from __future__ import annotations

import os
import re
from pathlib import Path

from naf_model.errors import CheckpointError, SceneError

REPO_ROOT = Path(__file__).resolve().parent.parent
ASSETS_DIR = REPO_ROOT / "assets"
SCENES_DIR = ASSETS_DIR / "scenes"
CHECKPOINTS_DIR = ASSETS_DIR / "checkpoints"
AUDIO_DIR = ASSETS_DIR / "audio"


def project_path(path: str | os.PathLike[str]) -> str:
    """`path` relative to the project root when it lies inside it (symlinks not followed), else as given: what
    results files and the app's status bar show, never one machine's absolute folders."""
    absolute = Path(os.path.abspath(path))
    try:
        return str(absolute.relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


MAX_STEM_BYTES = 100
"""Longest file stem made from a scene name, in UTF-8 bytes: room left for suffixes under the 255-byte limit."""
_UNSAFE_IN_NAMES = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')
"""Characters no file name made from a scene name keeps: path separators, control characters and those
that Windows refuses."""


def file_stem(name: str) -> str:
    """A scene name made safe as a file stem: the one rule wherever a name read from a file becomes part of a path
    (data sets, checkpoints, runs, plans). Separators and control characters become `_`, leading dots, dashes and
    spaces go (no `..`, no hidden files, no option-like names), text that is not UTF-8 is replaced, and the stem
    is cut to MAX_STEM_BYTES. SceneError for a name with nothing left, such as "" or "..".
    """
    text = str(name).encode("utf-8", "replace").decode("utf-8")  # lone surrogates become "?", then "_"
    stem = _UNSAFE_IN_NAMES.sub("_", text).lstrip("._- \t").rstrip(". \t")
    stem = stem.encode("utf-8")[:MAX_STEM_BYTES].decode("utf-8", "ignore").rstrip(". ")
    if not stem:
        raise SceneError(
            f"scene name {str(name)[:40]!r} is empty or has no character a file name can use; give the scene a "
            "name such as \"flat\" (the 'name' of a scene.json, the file name of a mesh)"
        )
    return stem


def data_dir() -> Path:
    """Folder for generated data sets: $NAF_DATA_DIR, else ./data under the repository."""
    return Path(os.environ.get("NAF_DATA_DIR", REPO_ROOT / "data"))


def runs_dir() -> Path:
    """Folder for training runs: $NAF_RUNS_DIR, else ./runs under the repository."""
    return Path(os.environ.get("NAF_RUNS_DIR", REPO_ROOT / "runs"))


def cache_dir() -> Path:
    """Folder for what naf can rebuild or be given again (the scene list's figures, registered HRTF files):
    $NAF_CACHE_DIR, else ~/.cache/naf."""
    return Path(os.environ.get("NAF_CACHE_DIR", Path.home() / ".cache" / "naf"))


def default_dataset_path(scene_name: str) -> Path:
    """The data set `naf data make --scene NAME` writes and `naf train --scene NAME` reads."""
    return data_dir() / f"{file_stem(scene_name)}.h5"


def bundled_checkpoint(scene_name: str) -> Path:
    """The pretrained field shipped for a scene (may not exist)."""
    return CHECKPOINTS_DIR / f"{file_stem(scene_name)}.pt"


def default_checkpoint(scene_name: str) -> Path:
    """The bundled checkpoint of a scene, else the newest `best.pt` of its training runs (under runs/<scene>/);
    CheckpointError if there is neither. The CLI and the app both pick a field by this one rule."""
    bundled = bundled_checkpoint(scene_name)
    if bundled.is_file():
        return bundled
    runs = sorted((runs_dir() / file_stem(scene_name)).glob("**/best.pt"), key=lambda p: p.stat().st_mtime)
    if runs:
        return runs[-1]
    raise CheckpointError(
        f"no checkpoint for scene {scene_name!r} (none bundled at {bundled}, no runs in "
        f"{runs_dir() / scene_name}); pass --checkpoint or train one with `naf train --scene {scene_name}`"
    )


def same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """Whether two paths name one file: by inode where both exist, else by resolved path."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        try:
            return Path(a).resolve() == Path(b).resolve()
        except OSError:
            return False
