"""Per-emitter part files: the resume unit of `make_dataset` and the exchange format of sharded builds.

A parts folder (`<output>.parts/`) holds `plan.json` (the full `DataPlan`) and one `emitter_NNNNN.npz`
per finished emitter block. Every file is written to a temporary name and renamed, so a killed run
leaves only whole files; a part records the plan key it belongs to.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from naf_model.atomic import atomic_open, write_atomic
from naf_model.data.plan import FORMAT_VERSION, DataPlan
from naf_model.errors import DataError

MANIFEST = "plan.json"


@dataclass(frozen=True)
class Block:
    """One emitter's K pairs as stored: ir (J, 4, 2, N) float16 of the J <= K pairs whose waveforms the plan
    keeps (`DataPlan.has_ir`, in pair order), spec (K, 4, 2, 256, early_frames) and late (K, 4, 2, 7,
    late_frames) float16 (`data.described`)."""

    ir: np.ndarray
    spec: np.ndarray
    late: np.ndarray


def parts_folder(output: Path) -> Path:
    """The parts folder that belongs to the data set file `output`."""
    return output.with_name(output.name + ".parts")


class PartStore:
    """The parts folder of one data set build."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def part_path(self, emitter: int) -> Path:
        return self.folder / f"emitter_{emitter:05d}.npz"

    def prepare(self, plan: DataPlan, overwrite: bool) -> None:
        """Create the folder and its manifest; parts of another plan raise DataError unless `overwrite`.

        A folder created here is removed again if its manifest cannot be written (a full disk): a run that
        did nothing leaves nothing."""
        created = not self.folder.exists()
        self.folder.mkdir(parents=True, exist_ok=True)
        manifest = self.folder / MANIFEST
        if manifest.exists():
            try:
                same = self.read_plan().key == plan.key
            except DataError:  # damaged, or parts of an older format: discarded with --overwrite
                if not overwrite:
                    raise
                same = False
            if same:
                return
            if not overwrite:
                raise DataError(
                    f"{self.folder} holds parts made with other settings or another scene; "
                    "pass --overwrite to discard them"
                )
            for path in self.folder.glob("emitter_*.npz"):
                path.unlink()
        try:
            write_atomic(manifest, plan.to_json())
        except BaseException:
            if created:
                shutil.rmtree(self.folder, ignore_errors=True)
            raise

    def read_plan(self) -> DataPlan:
        """The plan in the manifest; DataError if the folder has none."""
        manifest = self.folder / MANIFEST
        try:
            d = json.loads(manifest.read_text())
            if d.get("format_version") != FORMAT_VERSION:
                raise DataError(
                    f"{self.folder} holds parts of data set format {d.get('format_version')}, this naf makes "
                    f"format {FORMAT_VERSION}; discard them with `naf data make --overwrite`"
                )
            return DataPlan.from_dict(d)
        except FileNotFoundError:
            raise DataError(
                f"{self.folder} has no {MANIFEST}; run `naf data make` to create the parts"
            ) from None
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise DataError(f"{manifest} is damaged ({exc}); delete {self.folder} and run again") from None

    def holds(self, plan: DataPlan) -> bool:
        """True if the folder exists with a manifest of exactly `plan`."""
        try:
            return self.read_plan().key == plan.key
        except DataError:
            return False

    def done(self) -> set[int]:
        """Emitter indices whose part file exists."""
        return {int(p.stem.split("_")[1]) for p in self.folder.glob("emitter_*.npz")}

    def write(self, plan: DataPlan, emitter: int, block: Block) -> None:
        """Store one emitter block (only the waveforms the plan keeps are in it)."""
        rows = plan.block(emitter)
        listeners = plan.pairs[rows, 1]
        assert block.ir.dtype == block.spec.dtype == block.late.dtype == np.float16
        assert block.spec.shape[0] == block.late.shape[0] == len(listeners)
        assert block.ir.shape[0] == int(plan.has_ir[rows].sum())
        with atomic_open(self.part_path(emitter), "wb") as f:
            np.savez(f, key=np.array(plan.key), listeners=listeners, ir=block.ir, spec=block.spec, late=block.late)

    def read(self, plan: DataPlan, emitter: int) -> Block:
        """One emitter block as written; DataError if missing, damaged or of another plan."""
        path = self.part_path(emitter)
        try:
            with np.load(path) as part:
                key, listeners = str(part["key"]), part["listeners"]
                block = Block(part["ir"], part["spec"], part["late"])
        except FileNotFoundError:
            raise DataError(
                f"part {path.name} is missing from {self.folder}; run the missing shard"
            ) from None
        except (zipfile.BadZipFile, ValueError, KeyError, OSError, EOFError):
            raise DataError(f"part {path} is damaged; delete it and run `naf data make` again") from None
        if key != plan.key or not np.array_equal(listeners, plan.pairs[plan.block(emitter), 1]):
            raise DataError(f"part {path} belongs to another plan; delete it and run `naf data make` again")
        return block

    def remove(self) -> None:
        """Delete the folder and everything in it."""
        shutil.rmtree(self.folder, ignore_errors=True)
