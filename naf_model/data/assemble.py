"""Merge finished part files into the one HDF5 data set, deterministically and atomically.

The file is written to a temporary file next to the output in emitter order and renamed when complete
(`naf_model.atomic`), so the output path only ever holds a finished data set; nothing in it depends on time
or on the order in which parts were made.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import h5py
import numpy as np
from tqdm import tqdm

from naf_model import conventions
from naf_model.atomic import atomic_path
from naf_model.conventions import STD_FLOOR
from naf_model.data.described import LATE_BANDS
from naf_model.data.parts import PartStore, parts_folder
from naf_model.data.plan import FORMAT_VERSION, SPLIT_TRAIN, DataPlan, simulation_settings
from naf_model.data.stats import RunningMoments
from naf_model.errors import DataError

COMPRESSION: dict = {"compression": "gzip", "compression_opts": 1, "shuffle": True}
"""HDF5 filters for `spec`, `late` and `ir` (chosen by measurement, see the data set section in internals).
`ir` has one chunk per pair: the chunks of pairs without waveforms are never written, and HDF5 allocates
no space for them (they read as zeros; the reader refuses them by `has_ir`)."""


def existing_plan_key(output: Path, overwrite: bool) -> str | None:
    """Plan key of the finished data set at `output`; None if there is none or `overwrite` lets us replace it.

    A file that is not a finished naf data set raises DataError unless `overwrite`.
    """
    if not output.exists():
        return None
    try:
        with h5py.File(output, "r") as f:
            key = f.attrs.get("plan_key")
            complete = bool(f.attrs.get("complete", False))
    except OSError:
        key, complete = None, False
    if key is not None and complete:
        return str(key)
    if overwrite:
        return None
    raise DataError(f"{output} exists but is not a finished naf data set; delete it or pass --overwrite")


def check_output(output: Path, plan: DataPlan, overwrite: bool) -> bool:
    """True if `output` already holds this plan; DataError if it holds another one (unless `overwrite`),
    one of an older format saying so (it has whole-IR spectrograms and no late part: it is rebuilt, not kept).
    """
    key = existing_plan_key(output, overwrite)
    if key is None:
        return False
    if key == plan.key:
        return True
    if overwrite:
        return False
    with h5py.File(output, "r") as f:
        version = int(f.attrs.get("format_version", FORMAT_VERSION))
    if version < FORMAT_VERSION:
        raise DataError(
            f"{output} holds a format {version} data set (whole-IR spectrograms, no late part); pass --overwrite "
            f"to rebuild it as format {FORMAT_VERSION} or -o to write elsewhere"
        )
    raise DataError(
        f"{output} holds a data set made with other settings or another scene; "
        "pass --overwrite to replace it or -o to write elsewhere"
    )


def assemble(plan: DataPlan, stores: Sequence[PartStore], output: Path, progress: bool = True) -> Path:
    """Write the HDF5 data set for `plan` from the parts in `stores` (first store holding a part wins)."""
    owner: dict[int, PartStore] = {}
    for store in stores:
        for e in store.done():
            owner.setdefault(e, store)
    missing = sorted(set(range(len(plan.emitters))) - owner.keys())
    if missing:
        shown = ", ".join(map(str, missing[:5])) + (", ..." if len(missing) > 5 else "")
        raise DataError(
            f"{len(missing)} of {len(plan.emitters)} emitter parts are missing (emitters {shown}); "
            "run the shards that make them, then merge again"
        )
    n_pairs, n_freq, n_frames = len(plan.pairs), conventions.N_FREQ, plan.n_frames
    late_frames, has_ir = plan.ir_split.late_frames, plan.has_ir
    with atomic_path(output) as tmp, h5py.File(tmp, "w") as f:
        _write_attrs(f, plan, complete=False)

        def small(name: str, data: np.ndarray) -> None:
            f.create_dataset(name, data=data, track_times=False)

        small("emitters", plan.emitters)
        small("listeners", plan.listeners)
        small("pairs", plan.pairs)
        small("orientations", np.asarray(conventions.ORIENTATIONS_DEG, dtype=np.float32))
        small("split", plan.split)
        small("has_ir", has_ir)
        spec = _per_pair(f, "spec", (n_pairs, 4, 2, n_freq, n_frames))
        late = _per_pair(f, "late", (n_pairs, 4, 2, LATE_BANDS, late_frames))
        ir = _per_pair(f, "ir", (n_pairs, 4, 2, plan.ir_length))
        moments = RunningMoments((n_freq, n_frames))
        late_moments = RunningMoments((LATE_BANDS, late_frames))
        with tqdm(total=n_pairs, unit="pair", desc="writing data set", disable=not progress) as bar:
            for e in range(len(plan.emitters)):  # the bar is closed before an error is printed
                block = owner[e].read(plan, e)
                rows = plan.block(e)
                kept = np.flatnonzero(has_ir[rows]) + rows.start
                if (block.spec.shape != (len(block.late),) + spec.shape[1:] or block.late.shape[1:] != late.shape[1:]
                        or block.ir.shape != (len(kept),) + ir.shape[1:] or len(block.spec) != rows.stop - rows.start):
                    raise DataError(f"part of emitter {e} has the wrong shape; delete it and run again")
                spec[rows] = block.spec
                if late_frames:
                    late[rows] = block.late
                for i, row in zip(kept, block.ir, strict=True):  # only these chunks are allocated
                    ir[i] = row
                train = plan.split[rows] == SPLIT_TRAIN
                cells = 4 * 2 * int(train.sum())  # orientations and ears pooled
                moments.add(block.spec[train].reshape(cells, n_freq, n_frames))
                late_moments.add(block.late[train].reshape(cells, LATE_BANDS, late_frames))
                bar.update(len(block.spec))
        small("done", np.ones(len(plan.emitters), dtype=bool))
        small("stats/mean", moments.mean.astype(np.float32))
        small("stats/std", np.maximum(moments.std, STD_FLOOR).astype(np.float32))
        small("stats/late_mean", late_moments.mean.astype(np.float32))
        small("stats/late_std", np.maximum(late_moments.std, STD_FLOOR).astype(np.float32))
        f.attrs["complete"] = True
    return output


def _per_pair(f: h5py.File, name: str, shape: tuple[int, ...]) -> h5py.Dataset:
    """A float16 dataset of `shape` (P, ...) with one compressed chunk per pair (no chunks when it is empty:
    a late part of 0 frames, in IRs too short to have one)."""
    if 0 in shape:
        return f.create_dataset(name, shape, np.float16, track_times=False)
    return f.create_dataset(name, shape, np.float16, chunks=(1,) + shape[1:], track_times=False, **COMPRESSION)


def _write_attrs(f: h5py.File, plan: DataPlan, complete: bool) -> None:
    stft = plan.to_dict()["stft"]
    f.attrs["format_version"] = FORMAT_VERSION
    f.attrs["scene_name"] = plan.scene_name
    f.attrs["scene_hash"] = plan.scene_hash
    for name, value in stft.items():
        f.attrs[name] = value
    f.attrs["n_frames"] = plan.n_frames
    f.attrs["ir_length"] = plan.ir_length
    f.attrs["late_start"] = plan.ir_split.late_start
    f.attrs["fade"] = plan.ir_split.fade
    f.attrs["late_frame"] = plan.ir_split.late_frame
    f.attrs["waveforms"] = plan.config.waveforms
    f.attrs["simulation"] = json.dumps(simulation_settings(plan.config), sort_keys=True)
    f.attrs["data_config"] = json.dumps(plan.config.to_dict(), sort_keys=True)
    f.attrs["seed"] = plan.config.seed
    f.attrs["validation_fraction"] = plan.config.validation_fraction
    f.attrs["plan_key"] = plan.key
    f.attrs["complete"] = complete


def merge_shards(
    output: Path,
    parts_dirs: Sequence[Path] | None = None,
    *,
    overwrite: bool = False,
    keep_parts: bool = False,
    progress: bool = True,
) -> Path:
    """Assemble the data set at `output` from shard parts (default folder `<output>.parts`).

    All folders must hold the same plan and together every emitter; DataError otherwise.
    """
    output = Path(output)
    stores = [PartStore(Path(d)) for d in (parts_dirs or [parts_folder(output)])]
    plans = [store.read_plan() for store in stores]
    for store, plan in zip(stores[1:], plans[1:], strict=True):
        if plan.key != plans[0].key:
            raise DataError(
                f"{store.folder} and {stores[0].folder} were made with different settings or scenes; "
                "merge only the shards of one `naf data make` command"
            )
    if not check_output(output, plans[0], overwrite):
        assemble(plans[0], stores, output, progress)
    if not keep_parts:
        for store in stores:
            store.remove()
    return output
