"""Frozen configuration dataclasses for the NAF networks and their training, and the named presets.

A preset names one `ModelConfig`; a checkpoint stores the config as a plain dict so a field rebuilds exactly
the network it was trained with. Scene-dependent sizes (bounding box, frames per IR) are not part of a
preset: they come from the data set as a `FieldShape`. `naf_model.networks.build_network` builds the network of a
config; this module imports no torch, so the command line can list presets quickly.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

from naf_model.errors import CheckpointError


@dataclass(frozen=True)
class EmbeddingConfig:
    """Sinusoidal embeddings: positions (scaled to [-1, 1] over the bounding box) and (frequency, time)."""

    position_freqs: int = 10
    position_max_log2: float = 7.0
    spectral_freqs: int = 10
    spectral_max_log2: float = 9.0


@dataclass(frozen=True)
class GridConfig:
    """The learnable local feature grid (metres)."""

    spacing: float = 0.25
    dim: int = 64
    bandwidth_init: float = 0.25
    bandwidth_min: float = 0.1
    bandwidth_max: float = 0.5
    max_offset: float = 0.1


@dataclass(frozen=True)
class NetworkConfig:
    """The MLP. `kind` "pixel" is the paper's per-(f, t) network; "amortised" decodes whole spectrograms."""

    kind: Literal["pixel", "amortised"] = "pixel"
    depth: int = 8
    width: int = 512
    leaky_slope: float = 0.1
    n_basis: int = 64
    """Amortised only: spectro-temporal basis size, initialised from a PCA of the training spectrograms."""
    code_dropout: float = 0.0
    """Amortised only: dropout on the code while training (regularises the per-pair code; no weights)."""
    align_delay: bool = False
    """Amortised only: decode in a time frame that starts at the direct sound (known delay d / c from the
    positions), then shift to absolute time, so the basis need not represent every onset time."""
    free_paths: bool = False
    """Add the pair's free-path features (line of sight, walls crossed, detour and length of the shortest path
    through the free space; `networks.free_paths`) to the input layer, so occlusion between two endpoints is
    read from the plan rather than learnt from the training pairs. Needs the scene's plan (`FieldShape.plan`)."""
    members: int = 1
    """Above 1: the mean of that many trained fields of this config (`networks.ensemble`, made by
    `naf ensemble`; not trainable as a whole)."""


@dataclass(frozen=True)
class TrainConfig:
    """The training recipe (DESIGN.md "Reference model"); `irs_per_step` whole IRs for amortised models."""

    lr: float = 5e-4
    lr_final_ratio: float = 0.1
    grid_weight_decay: float = 1e-2
    irs_per_step: int = 20
    pixels_per_ir: int = 2000
    jitter_m: float = 0.1
    pad_fraction: float = 0.1
    steps: int = 20_000
    eval_every: int = 500
    """Steps between held-out evaluations, each followed by a checkpoint (and best.pt when it improved)."""
    edc_weight: float = 0.0
    """Amortised only: weight of an added loss on the energy decay curve (per-frame Schroeder integral, dB
    relative to its start, /10 dB) of predicted vs true IRs; targets T60/C50/EDT, not only pixels."""
    edc_octaves: bool = False
    """With `edc_weight`: the multi-scale energy-decay loss, the broadband curve and one per octave band
    (125 Hz-8 kHz), as NACF and the Real Acoustic Fields paper's NAF++ add to NAF's spectral loss."""
    c50_weight: float = 0.0
    """Amortised only: weight of an added loss on clarity, (C50 predicted - C50 true) / 10 dB squared, per ear
    and broadband: energy in the 50 ms after each spectrogram's own onset over the energy after, the ratio
    the played waveform's C50 follows (`networks.amortised.clarity_db`). The energy-decay loss sees C50 only at
    one of ~100 frames."""
    swap_pairs: int = 0
    """Amortised only: training pairs per step also seen with emitter and listener exchanged (reciprocity),
    each at the 4 orientations, scored on the mean over orientations and ears only (`BatchSampler.swapped`);
    0: none."""
    swap_weight: float = 1.0
    """Weight of the swapped pairs' loss (mean squared error of that mean, normalised units)."""


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to rebuild and retrain one field except the scene-dependent `FieldShape`."""

    name: str
    network: NetworkConfig = field(default_factory=NetworkConfig)
    grid: GridConfig = field(default_factory=GridConfig)
    embedding: EmbeddingConfig = field(default_factory=EmbeddingConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def architecture(self) -> tuple[NetworkConfig, GridConfig, EmbeddingConfig]:
        """What the weights mean: configs with equal architectures have interchangeable weights (the training
        recipe may differ)."""
        return self.network, self.grid, self.embedding

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dict (stored in checkpoints)."""
        return dataclasses.asdict(self)

    @staticmethod
    def from_dict(d: dict[str, Any]) -> ModelConfig:
        """Inverse of `to_dict`. Unknown network, grid or embedding keys are a CheckpointError (another
        version's network); unknown training keys are ignored (they never change the weights' meaning)."""
        try:
            return ModelConfig(
                name=d["name"],
                network=NetworkConfig(**d["network"]),
                grid=GridConfig(**d["grid"]),
                embedding=EmbeddingConfig(**d["embedding"]),
                train=TrainConfig(**{k: v for k, v in d["train"].items() if k in _TRAIN_FIELDS}),
            )
        except (KeyError, TypeError) as exc:
            raise CheckpointError(f"checkpoint config is not a naf model config ({exc}); retrain it") from exc


@dataclass(frozen=True)
class FieldShape:
    """Scene-dependent sizes: the grid's bounding box (metres) and frames per spectrogram; and the free space's
    rings (exterior first, then holes, metres; empty when unknown), which `free_paths` networks read."""

    bounds: tuple[float, float, float, float]
    n_frames: int
    n_freq: int = 256
    plan: tuple[tuple[tuple[float, float], ...], ...] = ()


_TRAIN_FIELDS = {f.name for f in dataclasses.fields(TrainConfig)}

PRESETS: dict[str, ModelConfig] = {
    # The paper's network: 8 x 512 per-pixel MLP, 0.25 m grid of 64-d features (~2.2 s per IR on 1 CPU core).
    "paper": ModelConfig("paper"),
    # Per-pixel presets small enough to train on a laptop CPU.
    "medium": ModelConfig("medium", network=NetworkConfig(depth=8, width=256)),
    "cpu": ModelConfig("cpu", network=NetworkConfig(depth=6, width=128)),
    # The amortised field: one code per (emitter, listener, orientation), whole spectrogram decoded at once.
    "fast": ModelConfig(
        "fast",
        # Code dropout 0.1 regularises the per-pair code (apartment_1, 12k steps, 100 held-out pairs, naf eval:
        # spectral 0.419 -> 0.409, T60 5.9 -> 5.7 %, C50 1.78 -> 1.52 dB, EDT 14.7 -> 12.9 %). Measured and
        # left off: align_delay (0.411 / 6.4 % / 1.80 dB / 15.2 % at 7k steps, slower queries) and
        # edc_weight=1 (0.423 / 6.3 % / 1.43 dB / 11.6 % at 9.5k steps), both runs cut short.
        network=NetworkConfig(kind="amortised", depth=4, width=256, n_basis=64, code_dropout=0.1),
        # Lower position frequencies generalise better here (apartment_1, 6k steps, held-out spectral error:
        # max 2^7 0.413, 2^4 0.407, 2^2.5 0.406, 2^1 0.405); the grid carries the fine spatial detail.
        embedding=EmbeddingConfig(position_max_log2=2.5),
        train=TrainConfig(irs_per_step=32, steps=20_000, eval_every=500),
    ),
}
PRESETS["fast_edc"] = dataclasses.replace(
    PRESETS["fast"],
    name="fast_edc",
    # `fast` plus the multi-scale energy-decay loss (broadband and octave-band Schroeder curves), aimed at
    # T60, EDT and C50 rather than pixels; compared with `fast` on the validation split (docs/results).
    train=dataclasses.replace(PRESETS["fast"].train, edc_weight=1.0, edc_octaves=True),
)
PRESETS["fast_edc_swap"] = dataclasses.replace(
    PRESETS["fast_edc"],
    name="fast_edc_swap",
    # `fast_edc` plus emitter/listener swap augmentation of the head-averaged part (TrainConfig.swap_pairs):
    # 8 swapped pairs x 4 orientations per step beside the 32 IRs (docs/results/recipes.md).
    train=dataclasses.replace(PRESETS["fast_edc"].train, swap_pairs=8),
)
PRESETS["fast_edc_swap_j2"] = dataclasses.replace(
    PRESETS["fast_edc_swap"],
    name="fast_edc_swap_j2",
    # `fast_edc_swap` with 0.2 m of training position jitter (was 0.1): generalises better between the grid
    # positions, where users put markers (apartment_1, off-grid validation pairs: docs/results/recipes.md).
    train=dataclasses.replace(PRESETS["fast_edc_swap"].train, jitter_m=0.2),
)
PRESETS["fast_edc_swap_j2_paths"] = dataclasses.replace(
    PRESETS["fast_edc_swap_j2"],
    name="fast_edc_swap_j2_paths",
    # `fast_edc_swap_j2` plus the pair's free-path features from the floor plan (line of sight, walls crossed,
    # detour of the shortest free path; NetworkConfig.free_paths), aimed at occluded pairs' early energy. On
    # apartment_1 it gains only within seed noise (off-grid validation played C50 1.28 -> 1.25-1.27 dB, on the
    # grid 1.34 -> 1.38-1.44: docs/results/recipes.md); not shipped.
    network=dataclasses.replace(PRESETS["fast_edc_swap_j2"].network, free_paths=True),
)
PRESETS["fast_edc_swap_j2_c50"] = dataclasses.replace(
    PRESETS["fast_edc_swap_j2"],
    name="fast_edc_swap_j2_c50",
    # `fast_edc_swap_j2` plus the clarity loss (TrainConfig.c50_weight): the shipped field fits the played C50
    # of occluded pairs poorly even on its training pairs. Fine-tuned from it (`naf train --init`), the loss
    # fits them (1.34 -> 1.01 dB) but gains nothing off the grid (docs/results/recipes.md); not shipped.
    train=dataclasses.replace(PRESETS["fast_edc_swap_j2"].train, c50_weight=5.0),
)
DEFAULT_PRESET = "fast"


def preset(name: str) -> ModelConfig:
    """The named preset; KeyError lists the known names."""
    if name not in PRESETS:
        raise KeyError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    return PRESETS[name]

