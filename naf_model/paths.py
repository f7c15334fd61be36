"""Where naf keeps bundled assets and the user's data sets and training runs."""

from __future__ import annotations

import os
from pathlib import Path

from naf_model.errors import CheckpointError

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


def data_dir() -> Path:
    """Folder for generated data sets: $NAF_DATA_DIR, else ./data under the repository."""
    return Path(os.environ.get("NAF_DATA_DIR", REPO_ROOT / "data"))


def runs_dir() -> Path:
    """Folder for training runs: $NAF_RUNS_DIR, else ./runs under the repository."""
    return Path(os.environ.get("NAF_RUNS_DIR", REPO_ROOT / "runs"))


def default_dataset_path(scene_name: str) -> Path:
    """The data set `naf data make --scene NAME` writes and `naf train --scene NAME` reads."""
    return data_dir() / f"{scene_name}.h5"


def bundled_checkpoint(scene_name: str) -> Path:
    """The pretrained field shipped for a scene (may not exist)."""
    return CHECKPOINTS_DIR / f"{scene_name}.pt"


def default_checkpoint(scene_name: str) -> Path:
    """The bundled checkpoint of a scene, else the newest `best.pt` of its training runs (under runs/<scene>/);
    CheckpointError if there is neither. The CLI and the app both pick a field by this one rule."""
    bundled = bundled_checkpoint(scene_name)
    if bundled.is_file():
        return bundled
    runs = sorted((runs_dir() / scene_name).glob("**/best.pt"), key=lambda p: p.stat().st_mtime)
    if runs:
        return runs[-1]
    raise CheckpointError(
        f"no checkpoint for scene {scene_name!r} (none bundled at {bundled}, no runs in "
        f"{runs_dir() / scene_name}); pass --checkpoint or train one with `naf train --scene {scene_name}`"
    )
