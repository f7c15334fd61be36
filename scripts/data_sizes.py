"""Bytes per pair of a data set on disk, by array, for IR lengths and waveform policies (docs/internals.md).

Builds tiny data sets of the two-room example (few rays: the sizes depend on the IR length and the layout, the
compression a little on the sound) into a temporary folder and prints, per IR length and policy, the compressed
bytes per pair of `spec`, `late` and `ir` (per pair that has a waveform) and the file size per pair:
    PYTHONPATH=. .venv/bin/python scripts/data_sizes.py --ir-seconds 0.6 3.0
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np


def chunk_bytes(dataset) -> float:
    """Mean stored (compressed) bytes of the allocated one-pair chunks of `dataset`, 0 if none."""
    n = dataset.id.get_num_chunks()
    return float(np.mean([dataset.id.get_chunk_info(i).size for i in range(n)])) if n else 0.0


def main() -> None:
    from naf_model.data import DataConfig, DataSet, make_dataset
    from naf_model.scene.examples import two_room_scene
    from naf_model.simulate import SimulationConfig

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ir-seconds", type=float, nargs="+", default=[0.6, 3.0])
    parser.add_argument("--rays", type=int, default=300)
    args = parser.parse_args()
    scene = two_room_scene()
    print("IR s | waveforms | pairs | with IR | spec KB/pair | late KB/pair | ir KB/pair with IR | file KB/pair")
    with tempfile.TemporaryDirectory() as folder:
        for seconds in args.ir_seconds:
            for policy in ("held-out", "all"):
                config = DataConfig(listener_spacing=0.8, emitter_spacing=1.2, listeners_per_emitter=8, seed=0,
                                    waveforms=policy, simulation=SimulationConfig(ir_seconds=seconds, n_rays=args.rays))
                path = make_dataset(scene, config, Path(folder) / f"{seconds}-{policy}.h5", workers=1, progress=False)
                with DataSet(path) as ds:
                    n, kept = len(ds), int(ds.has_ir.sum())
                    late = chunk_bytes(ds.late) if ds.has_late else 0.0
                    per_pair = path.stat().st_size / n
                    print(f"{seconds:4.2f} | {policy:9} | {n:5} | {kept:7} | {chunk_bytes(ds.spec) / 1e3:12.1f} | "
                          f"{late / 1e3:12.1f} | {chunk_bytes(ds.ir) / 1e3:18.1f} | {per_pair / 1e3:12.1f}")


if __name__ == "__main__":
    main()
