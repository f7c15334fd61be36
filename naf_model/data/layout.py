"""The layout of a data set file: which arrays and attributes each format has and the shapes they imply,
checked when `DataSet` opens a file so that a damaged or foreign one is one error line, not a crash later."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from naf_model import conventions
from naf_model.data.described import LATE_BANDS
from naf_model.data.plan import READ_FORMAT_VERSIONS, SPLIT_TEST, SPLIT_TRAIN, SPLIT_VALIDATION
from naf_model.errors import DataError
from naf_model.split import IrSplit, no_split

_REQUIRED = (
    "emitters",
    "listeners",
    "pairs",
    "split",
    "orientations",
    "spec",
    "ir",
    "stats/mean",
    "stats/std",
)
_REQUIRED_SINCE_3 = ("late", "has_ir", "stats/late_mean", "stats/late_std")
"""What format 3 adds: the late part, which pairs have waveforms, the late part's stats."""


def check_layout(f: h5py.File, path: Path) -> None:
    """DataError (one line) unless `f` is a finished naf data set of a format this naf reads, made with
    its STFT conventions, whose arrays have the shapes its attributes imply (`_check_shapes`)."""
    attrs = f.attrs
    if "format_version" not in attrs:
        raise DataError(f"{path} is not a naf data set; make one with `naf data make`")
    if int(attrs["format_version"]) not in READ_FORMAT_VERSIONS:
        raise DataError(
            f"{path} has data set format {int(attrs['format_version'])}, this naf reads formats "
            f"{READ_FORMAT_VERSIONS[0]} to {READ_FORMAT_VERSIONS[-1]}; run `naf data make --overwrite` again"
        )
    for name, value in conventions.STFT_SETTINGS.items():
        if int(attrs.get(name, -1)) != value:
            raise DataError(
                f"{path} was made with {name}={attrs.get(name)}, naf uses {value}; "
                "run `naf data make --overwrite` again"
            )
    if not bool(attrs.get("complete", False)):
        raise DataError(f"{path} is unfinished; run `naf data make` again to complete it")
    required = _REQUIRED + (_REQUIRED_SINCE_3 if int(attrs["format_version"]) >= 3 else ())
    missing = [n for n in required if n not in f]
    if missing:
        raise DataError(
            f"{path} lacks {', '.join(missing)}; delete it and run `naf data make` again"
        )
    _check_shapes(f, path)


def _check_shapes(f: h5py.File, path: Path) -> None:
    """Shapes agree with each other, pair indices point at existing positions, stats are finite."""
    n_emitters, n_listeners, n_pairs = (
        f[k].shape[0] if f[k].ndim else -1 for k in ("emitters", "listeners", "pairs")
    )
    spec = f["spec"].shape
    ir_split = split_info(f.attrs)
    version = int(f.attrs["format_version"])
    # formats 1 and 2: the spectrogram's own T, as they were read (the whole IR's frames)
    frames = ir_split.early_frames if version >= 3 else (spec[-1] if spec else -1)
    if version >= 3 and int(f.attrs["n_frames"]) != frames:
        raise DataError(
            f"{path}: {int(f.attrs['n_frames'])} frames stored for {ir_split.ir_length}-sample IRs, "
            f"expected {frames}; the file is damaged: run `naf data make --overwrite` again"
        )
    expected = {
        "emitters": (n_emitters, 2),
        "listeners": (n_listeners, 2),
        "pairs": (n_pairs, 2),
        "split": (n_pairs,),
        "orientations": (spec[1] if len(spec) > 1 else -1,),
        "spec": (n_pairs, 4, 2, conventions.N_FREQ, frames),
        "ir": (n_pairs, 4, 2, ir_split.ir_length),
        "stats/mean": (conventions.N_FREQ, frames),
        "stats/std": (conventions.N_FREQ, frames),
    }
    if version >= 3:
        late = (LATE_BANDS, ir_split.late_frames)
        expected.update({"late": (n_pairs, 4, 2) + late, "has_ir": (n_pairs,), "stats/late_mean": late,
                         "stats/late_std": late})
    for name, shape in expected.items():
        if tuple(f[name].shape) != shape:
            raise DataError(
                f"{path}: {name} has shape {tuple(f[name].shape)}, expected {shape}; the file is "
                "damaged or was written by another tool: run `naf data make --overwrite` again"
            )
    pairs = f["pairs"][()]
    if n_pairs and ((pairs.min(axis=0) < 0).any() or (pairs.max(axis=0) >= (n_emitters, n_listeners)).any()):
        raise DataError(
            f"{path}: pair indices point past the {n_emitters} emitters or {n_listeners} listeners; "
            "the file is damaged: run `naf data make --overwrite` again"
        )
    split = f["split"][()]
    if n_pairs and not np.isin(split, (SPLIT_TRAIN, SPLIT_TEST, SPLIT_VALIDATION)).all():
        raise DataError(
            f"{path}: split holds codes other than {SPLIT_TRAIN} (train), {SPLIT_TEST} (test) and "
            f"{SPLIT_VALIDATION} (validation); remake it"
        )
    for name in ("emitters", "listeners", "stats/mean", "stats/std", "stats/late_mean", "stats/late_std"):
        if name not in f:
            continue
        if not np.isfinite(f[name][()]).all():
            raise DataError(
                f"{path}: {name} holds NaN or infinite values (non-finite spectrograms?); "
                "remake it with `naf data make --overwrite`"
            )


def split_info(attrs: h5py.AttributeManager) -> IrSplit:
    """The early/late split a file's attributes record (format 3), else `no_split` of its IR length."""
    if "late_start" not in attrs:
        return no_split(int(attrs["ir_length"]))
    return IrSplit(int(attrs["ir_length"]), int(attrs["late_start"]), int(attrs["fade"]), int(attrs["late_frame"]))
