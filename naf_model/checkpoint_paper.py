"""The paper's own trained checkpoints (aluo-x/Learning_Neural_Acoustic_Fields, `train.py`: `{"network":
state_dict}` of `kernel_residual_fc_embeds`) read as naf checkpoints of the `paper_released` network.

A paper checkpoint holds weights only. What naf needs besides (scene, the min/max its positions were scaled
by, normalisation statistics, frames per spectrogram) comes from the data set imported from the paper's
metadata (`naf data import paper`): `PaperContext.from_dataset`. Its grid (stored in the checkpoint) must be
the one the data set's min/max make, so a checkpoint of another scene is refused, not silently misread.
The returned `Checkpoint` is an ordinary one: the field, the evaluation and the app never ask where it came
from, and `save_checkpoint` writes it as a naf file that needs no data set to load.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import torch

from naf_model.checkpoint import Checkpoint
from naf_model.errors import CheckpointError, DataError
from naf_model.networks.build import build_network
from naf_model.networks.normalisation import SpectrogramStats
from naf_model.networks.paper_released import grid_points, paper_bounds
from naf_model.networks.presets import EmbeddingConfig, FieldShape, GridConfig, ModelConfig, NetworkConfig

PAPER_CODE = "aluo-x/Learning_Neural_Acoustic_Fields"
PAPER_KEYS = frozenset({"proj.proj.weight", "proj.proj.bias", "residual_1.0.proj.weight", "out_layer.weight",
                        "grid_0", "grid_coors_xy", "xy_offset", "bandwidths", "rot_0", "left_right_0"})
"""State-dict names every checkpoint of the paper's network holds (the ones `is_paper_payload` looks for)."""
IMPORTED_ATTRIBUTE = "imported"
"""The data set attribute holding the JSON record of `naf data import` (`data.imports.write.IMPORTED_ATTRIBUTE`);
an import of the paper's metadata records `"format": "paper"` and its room's min/max as `paper_min_xy` and
`paper_max_xy` (the paper's frame: the `minmax` pickle's floor-plane columns its code scales positions and
lays its grid by)."""
POSITION_MAX_LOG2, SPECTRAL_MAX_LOG2 = 7.0, 10.0
"""The paper's embedders: positions `max_freq=7`, frequency and time the default `max_freq=10`."""
GRID_DEFAULTS = GridConfig(spacing=0.25, dim=64, bandwidth_init=0.25, bandwidth_min=0.1, bandwidth_max=0.5,
                           max_offset=0.1)
"""The paper's `options.py` defaults; the clamp range and the offset range are not in its checkpoints."""


@dataclass(frozen=True)
class PaperContext:
    """What a paper checkpoint lacks: scene name and geometry hash, the room's min/max `paper_minmax` (min x,
    min y, max x, max y in the paper's frame, metres), frames per spectrogram (`max_len`), IR length, mean and
    std (256, T) and the data's simulation settings."""

    source: str
    scene_name: str
    scene_hash: str
    paper_minmax: tuple[float, float, float, float]
    n_frames: int
    ir_length: int
    stats: SpectrogramStats
    simulation: dict[str, Any]

    @staticmethod
    def from_dataset(path: str | os.PathLike[str], checkpoint: str | os.PathLike[str]) -> PaperContext:
        """The context of the data set at `path`, imported from the paper's metadata; CheckpointError (naming
        `checkpoint`) when it is missing, unreadable or not imported from the paper."""
        from naf_model.data.reader import DataSet

        hint = f"{checkpoint} is a checkpoint of the paper's code ({PAPER_CODE}), which holds weights only"
        if not Path(path).is_file():
            raise CheckpointError(f"{hint}: it needs the data set imported from the paper for its scene, and "
                                  f"there is none at {path}; import it with `naf data import paper`")
        record: Any = {}
        try:
            with DataSet(path) as ds:
                meta, stats = ds.meta, ds.stats
            with h5py.File(path, "r") as f:
                record = json.loads(str(f.attrs.get(IMPORTED_ATTRIBUTE, "{}")))
            minmax = [float(v) for v in [*record["paper_min_xy"], *record["paper_max_xy"]]]
        except DataError as exc:
            raise CheckpointError(f"{hint}; its data set cannot be read: {exc}") from None
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            minmax = []
        paper = isinstance(record, dict) and record.get("format") == "paper"
        if not paper or len(minmax) != 4 or not np.all(np.isfinite(minmax)):
            raise CheckpointError(f"{hint}: {path} was not imported from the paper's metadata (`naf data import "
                                  "paper`), so the min/max its positions were scaled by is unknown")
        return PaperContext(str(path), meta.scene_name, meta.scene_hash, tuple(minmax), meta.n_frames,
                            meta.ir_length, SpectrogramStats(stats.mean, stats.std), dict(meta.simulation))


def is_paper_payload(payload: Any) -> bool:
    """Whether a loaded file is a checkpoint of the paper's code: {"network": state dict with its names}."""
    state = payload.get("network") if isinstance(payload, dict) else None
    return isinstance(state, dict) and PAPER_KEYS <= set(state)


def paper_config(state: dict[str, Any], source: str) -> ModelConfig:
    """The `paper_released` config of a paper state dict, read off its shapes (width, depth, grid features,
    spacing, sinusoids); CheckpointError when they are not the paper network's."""
    try:
        width, input_ch = (int(n) for n in state["proj.proj.weight"].shape)
        dim = int(state["grid_0"].shape[1])
        depth = sum(1 for k in state if k.startswith("layers.") and k.endswith(".proj.weight")) + 2
        xs = np.unique(state["grid_coors_xy"][:, 0].double().numpy())
    except (AttributeError, IndexError, TypeError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"{source} is not a checkpoint of the paper's network ({exc})") from None
    n_sin, rest = divmod(input_ch - 2 * dim - 6, 12)  # 6 sinusoid blocks: 4 position + frequency + time
    if rest or n_sin < 0 or len(xs) < 2:
        raise CheckpointError(f"{source} is not a checkpoint of the paper's network (input of {input_ch} with "
                              f"{dim} grid features, {len(xs)} grid columns)")
    spacing = float(np.round(np.median(np.diff(xs)), 6))
    return ModelConfig(
        name="paper_released",
        network=NetworkConfig(kind="paper_released", depth=depth, width=width, leaky_slope=0.1),
        grid=GridConfig(spacing, dim, GRID_DEFAULTS.bandwidth_init, GRID_DEFAULTS.bandwidth_min,
                        GRID_DEFAULTS.bandwidth_max, GRID_DEFAULTS.max_offset),
        embedding=EmbeddingConfig(n_sin, POSITION_MAX_LOG2, n_sin, SPECTRAL_MAX_LOG2),
    )


def paper_checkpoint(payload: dict[str, Any], source: str | os.PathLike[str], context: PaperContext) -> Checkpoint:
    """The naf checkpoint of a loaded paper file (`is_paper_payload`) in `context`; CheckpointError when its
    weights are not the paper network's or its grid is not the one the context's scene makes."""
    source = str(source)
    state = {str(k): v for k, v in payload["network"].items()}
    if not all(torch.is_tensor(v) for v in state.values()):
        raise CheckpointError(f"{source} is not a checkpoint of the paper's network (a weight is not a tensor)")
    config = paper_config(state, source)
    bounds = paper_bounds(context.paper_minmax)  # the same box in naf's frame
    shape = FieldShape(bounds, context.n_frames, int(context.stats.mean.shape[0]))
    if context.stats.mean.shape != (shape.n_freq, shape.n_frames) or shape.n_frames < 2:
        raise CheckpointError(f"{context.source}'s statistics are {context.stats.mean.shape}, not (256, frames)")
    expected = grid_points(context.paper_minmax, config.grid.spacing)
    stored = state["grid_coors_xy"]
    if stored.shape != expected.shape or not torch.allclose(stored.float(), expected, atol=1e-4):
        raise CheckpointError(
            f"{source} was trained on another scene than {context.scene_name!r} of {context.source}: its grid "
            f"({len(stored)} points from {tuple(stored.min(0).values.tolist())}) is not the one that scene's "
            f"min/max makes ({len(expected)} points); give the data set imported for its scene"
        )
    try:
        build_network(config, shape).load_state_dict(state)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[1:2] or [str(exc)[:200]]
        raise CheckpointError(f"{source} is not a checkpoint of the paper's network: {first[0].strip()}") from None
    return Checkpoint(
        config=config, shape=shape, scene_name=context.scene_name, scene_hash=context.scene_hash,
        ir_length=context.ir_length, stats=context.stats, weights=state, simulation=dict(context.simulation),
        metrics={"source": f"the paper's checkpoint ({PAPER_CODE})", "paper_checkpoint": source,
                 "paper_data": context.source},
    )
