"""Which emitter-listener pairs a data set holds, their train/validation/test split and the simulation seeds.

Everything here is a pure function of the scene and a `DataConfig`, so shards on different machines,
a resumed run and an uninterrupted run all agree on the plan; its `key` (a hash of the whole plan)
tags every part file and the finished HDF5 file.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Protocol

import numpy as np

from naf_model import conventions
from naf_model.data.budget import check_plan_size
from naf_model.errors import DataError
from naf_model.simulate import SimulationConfig
from naf_model.simulate.ir_length import longest_path_seconds, room_ir_seconds
from naf_model.split import IrSplit, ir_split, no_split

FORMAT_VERSION = 3
"""3: IRs as long as the room needs, split (`naf_model.split`) into the early part's spectrogram `spec` and
the late part's band envelopes `late`; waveforms only for the pairs `has_ir` names. 2: the split holds
validation pairs (code 2). Formats 2 and 1 are still read (whole-IR spectrograms, no late part, every
waveform); format 1's validation split is derived on read by `carve_validation`, which gives the pairs a
format 2 plan of the same seed stores."""
LEGACY_FORMAT_VERSION = 1
READ_FORMAT_VERSIONS = (1, 2, 3)
WAVEFORM_POLICIES = ("held-out", "all")
"""Which pairs' waveforms a data set stores: only the validation and test pairs' (what the evaluation
plays and measures; a 3 s IR is 6x the size of its early spectrogram and late envelopes) or every pair's
(what interpolation baselines over raw training IRs need)."""
SPLIT_TRAIN, SPLIT_TEST, SPLIT_VALIDATION = 0, 1, 2
"""Codes of the `split` array: training pairs, held-out test pairs (read only by `naf eval`), and the
validation pairs carved from the training pairs (model selection during training)."""
DEFAULT_VALIDATION_FRACTION = 0.05
MIN_PAIR_DISTANCE_M = 0.25
"""Listeners closer than this to the emitter are left out: the direct path diverges at zero distance."""

FREE_LISTENERS_PER_EMITTER = 20
"""Listeners per emitter of a free-position plan when none is given: one simulator run serves them all,
and 20 keep the run's fixed cost under a fifth while drawing many emitter positions."""

# Independent random streams derived from the one data set seed.
_STREAM_SPLIT, _STREAM_LISTENERS, _STREAM_SIMULATION, _STREAM_VALIDATION = 0, 1, 2, 3
_STREAM_FREE_POSITIONS, _STREAM_FREE_SIMULATION = 4, 5
"""Free-position plans draw their positions and simulator seeds from streams of their own, so they share
no draw with a grid plan of the same seed (nor with the off-grid test draws, stream 102)."""


class PlannableScene(Protocol):
    """The part of `naf_model.scene.Scene` a plan needs."""

    name: str

    ceiling_height: float

    def sample_grid(self, spacing: float = 0.5) -> np.ndarray: ...

    def geometry_hash(self) -> str: ...

    @property
    def bounds(self) -> tuple[float, float, float, float]: ...

    def is_free(self, x: np.ndarray, y: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class DataConfig:
    """How to sample a scene into a data set.

    listener_spacing / emitter_spacing: metres between grid points (`scene.sample_grid`);
    listeners_per_emitter: a seeded subset of the listener grid simulated for each emitter (None: all);
    free_pairs: 0 for the grids; N > 0 makes a free-position plan instead (`plan_free_pairs`): N training
    pairs at seeded uniform free positions, off the grids and as near the walls as the free space allows,
    for `naf train --extra` (the grid spacings are then unused);
    test_fraction: share of pairs held out for `naf eval`; validation_fraction: share of the remaining
    (training) pairs set aside for model selection; seed: the one seed for the listener subsets, the splits
    and the simulator (whose own `seed` field is replaced by one derived from this seed and the emitter index);
    waveforms: which pairs' waveforms are stored (WAVEFORM_POLICIES); late_part: False stores the whole IR as
    one spectrogram (no late part: the layout of fields made before the split, and of the paper).
    `make_dataset` without a config builds with `room_config(scene)`: this default with the room's IR length.
    """

    listener_spacing: float = 0.5
    emitter_spacing: float = 1.0
    listeners_per_emitter: int | None = 60
    free_pairs: int = 0
    test_fraction: float = 0.1
    validation_fraction: float = DEFAULT_VALIDATION_FRACTION
    seed: int = 0
    simulation: SimulationConfig = field(default_factory=SimulationConfig)
    waveforms: str = "held-out"
    late_part: bool = True

    def __post_init__(self) -> None:
        if self.listener_spacing <= 0 or self.emitter_spacing <= 0:
            raise DataError("grid spacings must be positive; pass e.g. --listener-spacing 0.5")
        if self.listeners_per_emitter is not None and self.listeners_per_emitter < 1:
            raise DataError("listeners per emitter must be at least 1 (or all)")
        if self.free_pairs < 0:
            raise DataError(f"free pairs must be 0 (grids) or a positive count, got {self.free_pairs}")
        if not 0.0 <= self.test_fraction < 1.0:
            raise DataError(f"test fraction must be in [0, 1), got {self.test_fraction}")
        if not 0.0 <= self.validation_fraction < 1.0:
            raise DataError(f"validation fraction must be in [0, 1), got {self.validation_fraction}")
        if self.waveforms not in WAVEFORM_POLICIES:
            raise DataError(f"waveforms must be {' or '.join(WAVEFORM_POLICIES)}, got {self.waveforms!r}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready settings; the simulation settings carry the data set seed."""
        d = dataclasses.asdict(self)
        d["simulation"] = simulation_settings(self)
        if not self.free_pairs:  # grid plans keep the keys they had before free-position plans existed
            del d["free_pairs"]
        if self.late_part:  # the default: plans keep the keys they had before whole-IR sets could be asked for
            del d["late_part"]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DataConfig:
        """Inverse of `to_dict`."""
        return cls(**{**d, "simulation": SimulationConfig.from_json(d["simulation"])})


def simulation_settings(config: DataConfig) -> dict[str, Any]:
    """The simulator settings as the data set stores them: the SimulationConfig with the data set seed."""
    return json.loads(dataclasses.replace(config.simulation, seed=config.seed).to_json())


def derived_seed(seed: int, stream: int, index: int = 0) -> int:
    """A 32-bit seed for one random stream and index, independent of the order in which work runs."""
    return int(np.random.SeedSequence(seed, spawn_key=(stream, index)).generate_state(1)[0])


@dataclass(frozen=True, eq=False)
class DataPlan:
    """The full content plan of a data set (arrays are read-only by convention).

    emitters (E, 2) and listeners (L, 2) metres; pairs (P, 2) int32 (emitter, listener) indices, grouped by
    emitter in ascending order and listener-ascending within an emitter; split (P,) uint8, SPLIT_TRAIN,
    SPLIT_TEST or SPLIT_VALIDATION;
    ir_length N samples per IR; ir_split where its early part ends and its late part begins
    (`naf_model.split.ir_split` of the scene's longest direct path); n_frames T = ir_split.early_frames,
    the frames of the stored early spectrogram.
    """

    scene_name: str
    scene_hash: str
    config: DataConfig
    emitters: np.ndarray
    listeners: np.ndarray
    pairs: np.ndarray
    split: np.ndarray
    ir_length: int
    n_frames: int
    ir_split: IrSplit

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready plan; floats survive the round trip exactly (JSON writes repr)."""
        return {
            "format_version": FORMAT_VERSION,
            "scene_name": self.scene_name,
            "scene_hash": self.scene_hash,
            "config": self.config.to_dict(),
            "emitters": self.emitters.tolist(),
            "listeners": self.listeners.tolist(),
            "pairs": self.pairs.tolist(),
            "split": self.split.tolist(),
            "ir_length": self.ir_length,
            "n_frames": self.n_frames,
            "late_start": self.ir_split.late_start,
            "fade": self.ir_split.fade,
            "late_frame": self.ir_split.late_frame,
            "stft": stft_settings(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DataPlan:
        """Inverse of `to_dict`."""
        return cls(
            scene_name=d["scene_name"],
            scene_hash=d["scene_hash"],
            config=DataConfig.from_dict(d["config"]),
            emitters=np.asarray(d["emitters"], dtype=np.float64).reshape(-1, 2),
            listeners=np.asarray(d["listeners"], dtype=np.float64).reshape(-1, 2),
            pairs=np.asarray(d["pairs"], dtype=np.int32).reshape(-1, 2),
            split=np.asarray(d["split"], dtype=np.uint8),
            ir_length=int(d["ir_length"]),
            n_frames=int(d["n_frames"]),
            ir_split=IrSplit(int(d["ir_length"]), int(d["late_start"]), int(d["fade"]), int(d["late_frame"])),
        )

    def to_json(self) -> str:
        """Canonical JSON text of the plan (sorted keys), the input of `key`."""
        return json.dumps(self.to_dict(), sort_keys=True)

    @cached_property
    def key(self) -> str:
        """sha256 hex of the canonical plan: equal keys mean equal content."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()

    @cached_property
    def has_ir(self) -> np.ndarray:
        """(P,) bool: the pairs whose waveforms are stored (all, or the validation and test pairs)."""
        if self.config.waveforms == "all":
            return np.ones(len(self.pairs), bool)
        return self.split != SPLIT_TRAIN

    @cached_property
    def _block_starts(self) -> np.ndarray:
        counts = np.bincount(self.pairs[:, 0], minlength=len(self.emitters))
        return np.concatenate([[0], np.cumsum(counts)])

    def block(self, emitter: int) -> slice:
        """Rows of `pairs` that belong to `emitter`."""
        return slice(int(self._block_starts[emitter]), int(self._block_starts[emitter + 1]))

    def emitter_seed(self, emitter: int) -> int:
        """Simulator seed for one emitter block, derived from the data set seed and the emitter index."""
        return emitter_seed(self.config.seed, emitter, bool(self.config.free_pairs))

    def emitter_simulation(self, emitter: int) -> SimulationConfig:
        """The SimulationConfig that produces `emitter`'s block."""
        return dataclasses.replace(self.config.simulation, seed=self.emitter_seed(emitter))


def make_command(scene_name: str, data_config: dict) -> str:
    """The `naf data make` command of a data set's stored settings (`DataMeta.data_config`): its sampling,
    seed and waveform options where they differ from the defaults. The IR length, ears and simulator settings
    are not repeated (the defaults and the scene give them; `naf data info` lists what the file holds)."""
    d, default = data_config, DataConfig()
    out = [f"naf data make --scene {scene_name}"]
    if d.get("free_pairs"):
        out.append(f"--free-pairs {d['free_pairs']}")
    else:
        for key in ("listener_spacing", "emitter_spacing"):
            if d.get(key, getattr(default, key)) != getattr(default, key):
                out.append(f"--{key.replace('_', '-')} {d[key]:g}")
    per = d.get("listeners_per_emitter", default.listeners_per_emitter)
    if per != (20 if d.get("free_pairs") else default.listeners_per_emitter):
        out.append(f"--listeners-per-emitter {'all' if per is None else per}")
    if d.get("seed", 0):
        out.append(f"--seed {d['seed']}")
    if d.get("waveforms", default.waveforms) != default.waveforms:
        out.append(f"--waveforms {d['waveforms']}")
    if d.get("late_part", True) is False:
        out.append("--no-late-part")
    return " ".join(out)


def simulation_stream(free_pairs: bool) -> int:
    """The derived_seed stream of a data set's simulator seeds (grid or free-position pairs)."""
    return _STREAM_FREE_SIMULATION if free_pairs else _STREAM_SIMULATION


def emitter_seed(seed: int, emitter: int, free_pairs: bool) -> int:
    """The simulator seed of one emitter block of a data set made with `seed` (free-position or grid)."""
    return derived_seed(seed, simulation_stream(free_pairs), emitter)


def stft_settings() -> dict[str, int]:
    """The STFT conventions a data set was made with (checked by the reader)."""
    return dict(conventions.STFT_SETTINGS)


def ir_length(simulation: SimulationConfig) -> int:
    """IR samples N the simulator returns for `simulation` (contract of `simulate_binaural_rirs`)."""
    return int(round(simulation.ir_seconds * conventions.SAMPLE_RATE))


def room_config(scene: PlannableScene) -> DataConfig:
    """The default DataConfig for `scene`: IRs as long as the room needs (`simulate.ir_length.room_ir_seconds`;
    0.6 s for a scene without an Eyring estimate)."""
    return DataConfig(simulation=SimulationConfig(ir_seconds=room_ir_seconds(scene)))


def scene_ir_split(scene: PlannableScene, config: DataConfig) -> IrSplit:
    """The early/late split of `scene`'s IRs under `config` (`naf_model.split.ir_split` of its longest path; all
    early with `late_part` off)."""
    if not config.late_part:
        return no_split(ir_length(config.simulation))
    return ir_split(ir_length(config.simulation), longest_path_seconds(scene))


def plan_dataset(scene: PlannableScene, config: DataConfig) -> DataPlan:
    """The plan of a scene's data set.

    Emitters on the coarse grid, listeners on the fine grid, per emitter a seeded subset of the listeners at
    least MIN_PAIR_DISTANCE_M away, a seeded pair-level split with round(test_fraction * P) test pairs, and
    validation pairs carved from the rest (`carve_validation`). A config with `free_pairs` gives
    `plan_free_pairs` instead.
    """
    if config.free_pairs:
        return plan_free_pairs(scene, config)
    emitters = np.asarray(scene.sample_grid(config.emitter_spacing), dtype=np.float64).reshape(-1, 2)
    listeners = np.asarray(scene.sample_grid(config.listener_spacing), dtype=np.float64).reshape(-1, 2)
    if len(emitters) == 0 or len(listeners) == 0:
        raise DataError(
            f"scene '{scene.name}' has no free positions on the grid; pass a smaller --emitter-spacing "
            "or --listener-spacing"
        )
    split_info = scene_ir_split(scene, config)
    check_plan_size(len(emitters), len(listeners), config.listeners_per_emitter, split_info)
    rng = np.random.default_rng(derived_seed(config.seed, _STREAM_LISTENERS))
    blocks = []
    kept = []
    for e, xy in enumerate(emitters):
        eligible = np.flatnonzero(np.hypot(*(listeners - xy).T) >= MIN_PAIR_DISTANCE_M)
        if config.listeners_per_emitter is not None and len(eligible) > config.listeners_per_emitter:
            eligible = np.sort(rng.choice(eligible, size=config.listeners_per_emitter, replace=False))
        if len(eligible):
            blocks.append(np.column_stack([np.full(len(eligible), len(kept)), eligible]))
            kept.append(e)
    if not blocks:
        raise DataError(
            f"scene '{scene.name}' has no emitter-listener pairs; pass a smaller --listener-spacing"
        )
    pairs = np.concatenate(blocks).astype(np.int32)
    split = np.zeros(len(pairs), dtype=np.uint8)
    n_test = int(round(config.test_fraction * len(pairs)))
    split_rng = np.random.default_rng(derived_seed(config.seed, _STREAM_SPLIT))
    split[split_rng.permutation(len(pairs))[:n_test]] = SPLIT_TEST
    split = carve_validation(split, config.seed, config.validation_fraction)
    return DataPlan(
        scene_name=scene.name,
        scene_hash=scene.geometry_hash(),
        config=config,
        emitters=emitters[kept],
        listeners=listeners,
        pairs=pairs,
        split=split,
        ir_length=split_info.ir_length,
        n_frames=split_info.early_frames,
        ir_split=split_info,
    )


_FREE_BATCH = 4096
"""Positions drawn per rejection round of `free_positions` (part of the plans' random stream: keep it)."""


def free_positions(scene: PlannableScene, rng: np.random.Generator, count: int) -> np.ndarray:
    """`count` positions (count, 2) m drawn uniformly over the scene's free space (`is_free`), by rejection
    from its bounding box; DataError if the box is almost all walls.

    Each round draws a whole batch (the random stream does not depend on the scene), but `is_free` is asked
    only about as much of it as the positions still missing need: a listener block wants ~40 of 4,096."""
    x0, y0, x1, y1 = scene.bounds
    found: list[np.ndarray] = []
    n_found, drawn = 0, 0
    while n_found < count:
        if drawn > 1000 * max(count, 1000):
            raise DataError(f"scene '{scene.name}' has too little free space to draw {count} positions")
        xy = np.column_stack([rng.uniform(x0, x1, _FREE_BATCH), rng.uniform(y0, y1, _FREE_BATCH)])
        drawn += len(xy)
        free = _first_free(scene, xy, count - n_found)
        found.append(free)
        n_found += len(free)
    return np.concatenate(found)[:count]


def _first_free(scene: PlannableScene, xy: np.ndarray, want: int) -> np.ndarray:
    """The first `want` free rows of `xy` (N, 2) in order (all of them if fewer), testing growing prefixes."""
    parts: list[np.ndarray] = []
    start, n_free, step = 0, 0, max(64, 2 * want)
    while start < len(xy) and n_free < want:
        chunk = xy[start : start + step]
        free = chunk[np.asarray(scene.is_free(chunk[:, 0], chunk[:, 1]), bool).reshape(-1)]
        parts.append(free)
        n_free += len(free)
        start, step = start + len(chunk), 2 * step
    return np.concatenate(parts)[:want] if parts else xy[:0]


def plan_free_pairs(scene: PlannableScene, config: DataConfig) -> DataPlan:
    """A free-position plan: `config.free_pairs` pairs, `listeners_per_emitter` (default
    FREE_LISTENERS_PER_EMITTER) per emitter, every emitter and listener its own uniform free position
    (`free_positions`, seeded), listeners at least MIN_PAIR_DISTANCE_M from their emitter; all pairs train.

    A grid data set sees emitters only on its coarse grid and no position in the strip between the last
    grid cell and the wall, where users drag markers as often as anywhere; these pairs fill both in."""
    per = config.listeners_per_emitter or FREE_LISTENERS_PER_EMITTER
    n_emitters = -(-config.free_pairs // per)
    split_info = scene_ir_split(scene, config)
    check_plan_size(n_emitters, config.free_pairs, per, split_info)
    rng = np.random.default_rng(derived_seed(config.seed, _STREAM_FREE_POSITIONS))
    emitters = free_positions(scene, rng, n_emitters)
    listeners, pairs, start = [], [], 0
    for e, xy in enumerate(emitters):
        want = min(per, config.free_pairs - e * per)
        chosen = np.empty((0, 2))
        while len(chosen) < want:
            more = free_positions(scene, rng, 2 * want)
            chosen = np.concatenate([chosen, more[np.hypot(*(more - xy).T) >= MIN_PAIR_DISTANCE_M]])
        listeners.append(chosen[:want])
        pairs.append(np.column_stack([np.full(want, e), start + np.arange(want)]))
        start += want
    return DataPlan(
        scene_name=scene.name,
        scene_hash=scene.geometry_hash(),
        config=config,
        emitters=emitters,
        listeners=np.concatenate(listeners),
        pairs=np.concatenate(pairs).astype(np.int32),
        split=np.full(config.free_pairs, SPLIT_TRAIN, np.uint8),
        ir_length=split_info.ir_length,
        n_frames=split_info.early_frames,
        ir_split=split_info,
    )


def carve_validation(split: np.ndarray, seed: int, fraction: float = DEFAULT_VALIDATION_FRACTION) -> np.ndarray:
    """The split (P,) with round(fraction * n_train) of its training pairs recoded SPLIT_VALIDATION.

    A pure function of the train/test split and the data set seed (its own random stream), so a format 1
    file read today gets exactly the validation pairs a format 2 plan of the same seed stores; test pairs
    are never touched.
    """
    out = np.asarray(split, dtype=np.uint8).copy()
    train = np.flatnonzero(out == SPLIT_TRAIN)
    n_val = int(round(fraction * len(train)))
    rng = np.random.default_rng(derived_seed(seed, _STREAM_VALIDATION))
    out[train[rng.permutation(len(train))[:n_val]]] = SPLIT_VALIDATION
    return out
