"""The NAF networks as pure nn.Modules (per-pixel NAF, the amortised `fast` network), their parts (embeddings,
local grid, normalisation), their configs and named presets, and `build_network(config, shape)`.

The configs and presets import no torch (the command line lists presets quickly); the networks and
`build_network` are imported on first use.
"""

from typing import Any

from naf_model.networks.presets import (
    DEFAULT_PRESET,
    PRESETS,
    EmbeddingConfig,
    FieldShape,
    GridConfig,
    ModelConfig,
    NetworkConfig,
    TrainConfig,
    preset,
)

_LAZY = {
    "AcousticNetwork": "naf_model.networks.base",
    "AmortisedNAF": "naf_model.networks.amortised",
    "PixelNAF": "naf_model.networks.network",
    "SpectrogramStats": "naf_model.networks.normalisation",
    "build_network": "naf_model.networks.build",
}

__all__ = [
    "DEFAULT_PRESET",
    "PRESETS",
    "EmbeddingConfig",
    "FieldShape",
    "GridConfig",
    "ModelConfig",
    "NetworkConfig",
    "TrainConfig",
    "preset",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    """The torch-backed names, imported when first asked for."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
