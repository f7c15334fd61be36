"""NAF networks (per-pixel and amortised), presets, checkpoints and the training loop."""

from naf_model.model.checkpoint import Checkpoint, export_checkpoint, load_checkpoint, save_checkpoint
from naf_model.model.presets import DEFAULT_PRESET, PRESETS, FieldShape, ModelConfig, build, preset

__all__ = [
    "DEFAULT_PRESET",
    "PRESETS",
    "Checkpoint",
    "FieldShape",
    "ModelConfig",
    "build",
    "export_checkpoint",
    "load_checkpoint",
    "preset",
    "save_checkpoint",
]
