"""naf_model: scenes, simulated binaural IRs, spectrogram data sets and Neural Acoustic Fields (no Qt here).

The front door: `from naf_model import NeuralAcousticField`. It is imported on first use, so `import naf_model`
(and `naf --help`) stays free of torch.
"""

from typing import Any

__version__ = "0.1.0"
__all__ = ["NeuralAcousticField", "__version__"]


def __getattr__(name: str) -> Any:
    """`NeuralAcousticField`, imported (with torch) when first asked for."""
    if name == "NeuralAcousticField":
        from naf_model.field import NeuralAcousticField

        return NeuralAcousticField
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
