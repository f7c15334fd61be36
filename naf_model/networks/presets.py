"""Frozen configuration dataclasses for the NAF networks and their training, and the few base presets.

A preset names one `ModelConfig`; a checkpoint stores the config as a plain dict so a field rebuilds exactly
the network it was trained with. Variations of a preset are recipes (`networks.recipes`: a preset plus
`--set key=value` overrides, or a TOML file in assets/recipes/), not more presets. Every field of the configs
below is such a knob, declared with `knob()`: its range and, for knobs one network alone reads, which one, so
an override that the chosen network would ignore is refused. Scene-dependent sizes (bounding box, frames per
IR) are not part of a preset: they come from the data set as a `FieldShape`. `naf_model.networks.build_network`
builds the network of a config; this module imports no torch, so the command line can list presets quickly.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

from naf_model.errors import CheckpointError

NETWORK_KINDS = {"pixel": "the per-pixel NAF", "amortised": "the amortised network",
                 "paper_released": "the paper's released network (its checkpoints, inference only)"}
"""`NetworkConfig.kind` -> what it is called in messages."""


def knob(default: Any, *, low: float | None = None, high: float | None = None, low_open: bool = False,
         only: str | None = None, fixed: str | None = None) -> Any:
    """A config field with what an override must respect: low <= value <= high (low < value when low_open),
    `only` the network kind that reads it (None: every network), `fixed` why no override may set it."""
    return field(default=default, metadata={"low": low, "high": high, "low_open": low_open, "only": only,
                                            "fixed": fixed})


@dataclass(frozen=True)
class EmbeddingConfig:
    """Sinusoidal embeddings: positions (scaled to [-1, 1] over the bounding box) and (frequency, time)."""

    position_freqs: int = knob(10, low=0, high=64)
    position_max_log2: float = knob(7.0, low=-8, high=32)
    spectral_freqs: int = knob(10, low=0, high=64, only="pixel")
    spectral_max_log2: float = knob(9.0, low=-8, high=32, only="pixel")


@dataclass(frozen=True)
class GridConfig:
    """The learnable local feature grid (metres)."""

    spacing: float = knob(0.25, low=0.01, high=50.0)
    dim: int = knob(64, low=1, high=4096)
    bandwidth_init: float = knob(0.25, low=0, high=50.0, low_open=True)
    bandwidth_min: float = knob(0.1, low=0, high=50.0, low_open=True)
    bandwidth_max: float = knob(0.5, low=0, high=50.0, low_open=True)
    max_offset: float = knob(0.1, low=0, high=50.0)


@dataclass(frozen=True)
class NetworkConfig:
    """The MLP. `kind` "pixel" is the paper's per-(f, t) network; "amortised" decodes whole spectrograms;
    "paper_released" is the paper's code itself, for its checkpoints (`naf_model.checkpoint_paper`)."""

    kind: Literal["pixel", "amortised", "paper_released"] = knob(
        "pixel", fixed="the preset chooses the network; pick a preset of the other one")
    depth: int = knob(8, low=2, high=64)
    width: int = knob(512, low=1, high=16384)
    leaky_slope: float = knob(0.1, low=0, high=1)
    n_basis: int = knob(64, low=1, high=4096, only="amortised")
    """Amortised only: spectro-temporal basis size, initialised from a PCA of the training spectrograms."""
    code_dropout: float = knob(0.0, low=0, high=1, only="amortised")
    """Amortised only: dropout on the code while training (regularises the per-pair code; no weights)."""
    align_delay: bool = knob(False, only="amortised")
    """Amortised only: decode in a time frame that starts at the direct sound (known delay d / c from the
    positions), then shift to absolute time, so the basis need not represent every onset time."""
    free_paths: bool = knob(False)
    """Add the pair's free-path features (line of sight, walls crossed, detour and length of the shortest path
    through the free space; `networks.free_paths`) to the input layer, so occlusion between two endpoints is
    read from the plan rather than learnt from the training pairs. Needs the scene's plan (`FieldShape.plan`)."""
    members: int = knob(1, fixed="`naf ensemble` joins trained fields into an ensemble")
    """Above 1: the mean of that many trained fields of this config (`networks.ensemble`, made by
    `naf ensemble`; not trainable as a whole)."""


@dataclass(frozen=True)
class TrainConfig:
    """The training recipe (DESIGN.md "Reference model"); `irs_per_step` whole IRs for amortised models."""

    lr: float = knob(5e-4, low=0, high=1.0, low_open=True)
    lr_final_ratio: float = knob(0.1, low=0, high=1.0, low_open=True)
    grid_weight_decay: float = knob(1e-2, low=0, high=10.0)
    irs_per_step: int = knob(20, low=1, high=1_000_000)
    pixels_per_ir: int = knob(2000, low=1, high=1_000_000, only="pixel")
    jitter_m: float = knob(0.1, low=0, high=10.0)
    pad_fraction: float = knob(0.1, low=0, high=1.0)
    steps: int = knob(20_000, low=1, high=100_000_000)
    eval_every: int = knob(500, low=1, high=100_000_000)
    """Steps between held-out evaluations, each followed by a checkpoint (and best.pt when it improved)."""
    edc_weight: float = knob(0.0, low=0, high=1e6, only="amortised")
    """Amortised only: weight of an added loss on the energy decay curve (per-frame Schroeder integral, dB
    relative to its start, /10 dB) of predicted vs true IRs; targets T60/C50/EDT, not only pixels."""
    edc_octaves: bool = knob(False, only="amortised")
    """With `edc_weight`: the multi-scale energy-decay loss, the broadband curve and one per octave band
    (125 Hz-8 kHz), as NACF and the Real Acoustic Fields paper's NAF++ add to NAF's spectral loss."""
    c50_weight: float = knob(0.0, low=0, high=1e6, only="amortised")
    """Amortised only: weight of an added loss on clarity, (C50 predicted - C50 true) / 10 dB squared, per ear
    and broadband: energy in the 50 ms after each spectrogram's own onset over the energy after, the ratio
    the played waveform's C50 follows (`networks.amortised.clarity_db`). The energy-decay loss sees C50 only at
    one of ~100 frames."""
    swap_pairs: int = knob(0, low=0, high=1_000_000, only="amortised")
    """Amortised only: training pairs per step also seen with emitter and listener exchanged (reciprocity),
    each at the 4 orientations, scored on the mean over orientations and ears only (`BatchSampler.swapped`);
    0: none."""
    swap_weight: float = knob(1.0, low=0, high=1e6, only="amortised")
    """Weight of the swapped pairs' loss (mean squared error of that mean, normalised units)."""
    emitter_fraction: float = knob(1.0, low=0, high=1.0, low_open=True)
    """Train on a seeded subset of this fraction of the main data set's emitters (nested: a smaller fraction's
    emitters are among a larger one's); for sampling-density curves (`scripts/density_curve.py`). Validation
    pairs are never thinned."""
    listener_fraction: float = knob(1.0, low=0, high=1.0, low_open=True)
    """Train on a seeded, nested subset of this fraction of each emitter's training listeners (at least one)."""


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
    """Scene-dependent sizes: the grid's bounding box (metres) and frames per (early part's) spectrogram; the
    free space's rings (exterior first, then holes, metres; empty when unknown), which `free_paths` networks
    read; and the late part's frame count (`naf_model.split`; 0: the field predicts no late part, as fields
    made before it existed)."""

    bounds: tuple[float, float, float, float]
    n_frames: int
    n_freq: int = 256
    plan: tuple[tuple[tuple[float, float], ...], ...] = ()
    late_frames: int = 0


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
PRESETS["shipped"] = dataclasses.replace(
    PRESETS["fast"],
    name="shipped",
    # The config of the field the app ships (assets/checkpoints/apartment_1.pt): `fast` with the multi-scale
    # energy-decay loss, 8 emitter/listener swaps per step and 0.2 m of position jitter, each chosen on the
    # validation pairs (docs/results/recipes.md). The learning rate is its from-scratch stage's (`fast`'s 5e-4):
    # the checkpoint records 1e-4, the rate of its last, fine-tuning stage, which a new run must not start at.
    train=dataclasses.replace(PRESETS["fast"].train, jitter_m=0.2, edc_weight=1.0, edc_octaves=True,
                              swap_pairs=8),
)
DEFAULT_PRESET = "shipped"


def preset(name: str) -> ModelConfig:
    """The named preset; KeyError lists the known names."""
    if name not in PRESETS:
        raise KeyError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    return PRESETS[name]
