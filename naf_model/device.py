"""Which torch device a `--device` choice means: used by training, the field and the benchmarks."""

from __future__ import annotations

import torch

from naf_model.errors import NafError


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """'auto' -> CUDA if available else CPU; 'cuda' picks this process's GPU."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        if not torch.cuda.is_available():
            raise NafError("--device cuda asked for, but torch sees no CUDA GPU; use --device cpu")
        return torch.device("cuda", local_rank)
    return torch.device(name)
