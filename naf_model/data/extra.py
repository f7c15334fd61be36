"""Training pairs beyond a data set's own: the extra data sets (`naf data make --free-pairs N`) a field was
trained with (`naf train --extra`), checked against the main data set and read as one pool for the baselines."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from naf_model.data.reader import DataSet
from naf_model.data.resimulated import training_irs
from naf_model.errors import DataError
from naf_model.paths import same_file


def check_extra(base: Mapping[str, Any], base_path: Path | str, extra: DataSet) -> None:
    """DataError unless `extra` was simulated for the scene of the data set at `base_path` with the same
    simulator settings (its seed aside), IR length and frames; `base` holds the main data set's scene_hash,
    simulation (dict), n_frames and ir_length."""
    m = extra.meta
    what = f"{extra.path} cannot extend {base_path}"
    if m.scene_hash != base["scene_hash"]:
        raise DataError(f"{what}: it was simulated for other geometry; make it for the same scene")

    def settings(sim: Mapping[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in sim.items() if k != "seed"}

    if settings(m.simulation) != settings(base["simulation"]) or (m.n_frames, m.ir_length) != (
        base["n_frames"], base["ir_length"]
    ):
        raise DataError(f"{what}: other simulator settings or IR length; make both with the same options")


FREE_SET_HINT = (
    "a free-position data set (--free-pairs) only adds training pairs: pass it with --extra beside the grid data set"
)
"""What to say when a free-position data set is given where a grid data set (with held-out pairs) belongs."""


def free_pairs_command(name: str) -> str:
    """The `naf data make` command that writes the free-position file `name` (<scene>.free-<N>[-s<seed>].h5)."""
    match = re.fullmatch(r"(.+)\.free-(\d+)(?:-s(\d+))?\.h5", name)
    if match is None:
        return "naf data make --scene SCENE --free-pairs N"
    scene, n, seed = match.groups()
    return f"naf data make --scene {scene} --free-pairs {n}" + (f" --seed {seed}" if seed else "")


def is_free_set(ds: DataSet) -> bool:
    """Whether `ds` was made by `naf data make --free-pairs` (training pairs only)."""
    return bool(ds.meta.data_config.get("free_pairs"))


class TrainingPairs:
    """The training split of `ds` followed by the training pairs of each extra data set, as one index:
    what interpolation baselines draw from when a field was trained on extra pairs too."""

    def __init__(self, ds: DataSet, extra: Sequence[DataSet] = ()) -> None:
        base = {"scene_hash": ds.meta.scene_hash, "simulation": ds.meta.simulation,
                "n_frames": ds.meta.n_frames, "ir_length": ds.meta.ir_length}  # fmt: skip
        for other in extra:
            check_extra(base, ds.path, other)
        self.sources = [(ds, ds.indices("train"))] + [(x, x.indices("train")) for x in extra]
        self.starts = np.cumsum([0] + [len(rows) for _, rows in self.sources])
        self.scene: Any = None
        self.progress: Callable[[int], None] | None = None
        self.simulated: set[tuple[int, int]] = set()  # (source, pair) that read_ir gave simulated again

    def simulate_missing(self, scene: Any, progress: Callable[[int], None] | None = None) -> None:
        """Let `read_ir` give the training pairs whose waveforms are not stored too, simulated again with
        their data set's own seeds and settings (`data.resimulated.training_irs`): the IRs `--waveforms all`
        would have stored. `scene` must be the data sets' scene."""
        self.scene, self.progress = scene, progress

    @property
    def stored_waveforms(self) -> bool:
        """Whether every pool pair's waveforms are stored in its data set (`--waveforms all`)."""
        return all(bool(src.has_ir[rows].all()) for src, rows in self.sources)

    def __len__(self) -> int:
        return int(self.starts[-1])

    @property
    def n_extra(self) -> int:
        """Pairs that come from the extra data sets."""
        return len(self) - len(self.sources[0][1])

    def positions(self) -> tuple[np.ndarray, np.ndarray]:
        """Emitter and listener positions (P, 2) each, metres, in pool order."""
        parts = [src.positions("train") for src, _ in self.sources]
        return np.concatenate([e for e, _ in parts]), np.concatenate([li for _, li in parts])

    @property
    def has_waveforms(self) -> bool:
        """Whether `read_ir` gives every pool pair's waveforms, stored or simulated again: what the
        interpolation baselines of training IRs play."""
        return self.scene is not None or self.stored_waveforms

    def read_ir(self, rows: np.ndarray) -> np.ndarray:
        """IRs (len(rows), 4, 2, N) float16 of pool rows (any order)."""
        rows = np.asarray(rows, np.int64)
        source = np.searchsorted(self.starts, rows, side="right") - 1
        out: np.ndarray | None = None
        for s, (src, indices) in enumerate(self.sources):
            mine = np.flatnonzero(source == s)
            if len(mine) == 0:
                continue
            wanted = indices[rows[mine] - self.starts[s]]
            if self.scene is None:
                block = src.read_ir(wanted)
            else:
                self.simulated.update((s, int(p)) for p in wanted[~src.has_ir[wanted]])
                block = training_irs(src, self.scene, wanted, self.progress)
            if out is None:
                out = np.empty((len(rows),) + block.shape[1:], block.dtype)
            out[mine] = block
        if out is None:
            src = self.sources[0][0]
            return np.empty((0,) + src.ir.shape[1:], src.ir.dtype)
        return out


def check_distinct(data: str | Path, extras: Sequence[str | Path]) -> None:
    """DataError when an extra data set is the --data set or an earlier --extra (by inode or resolved path):
    its pairs would count twice (trained twice, or given twice to the baselines)."""
    given: list[tuple[str, Path]] = [("--data", Path(data))]
    for path in map(Path, extras):
        for flag, other in given:
            if same_file(path, other):
                raise DataError(
                    f"--extra {path} is the same data set as {flag} {other}: its pairs would count twice; "
                    "give each data set once"
                )
        given.append(("--extra", path))
