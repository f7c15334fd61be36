"""Sinusoidal (Fourier-feature) embeddings of low-dimensional inputs, as in NeRF and NAF.

Smooth networks cannot fit the sharp spatial and spectral detail of room acoustics from raw coordinates;
sines and cosines at octave-spaced frequencies give the MLP the high-frequency basis it needs.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class SinusoidalEmbedding(nn.Module):
    """Map (..., D) inputs (roughly in [-1, 1]) to (..., D * (1 + 2 * n_freqs)) features.

    Frequencies are 2 ** linspace(0, max_log2, n_freqs) cycles per unit (times pi); the raw input is kept
    as the first D features. No learnable parameters.
    """

    def __init__(self, in_dim: int, n_freqs: int = 10, max_log2: float = 7.0) -> None:
        super().__init__()
        self.in_dim = in_dim
        self.n_freqs = n_freqs
        freqs = math.pi * torch.pow(2.0, torch.linspace(0.0, max_log2, n_freqs))
        self.register_buffer("freqs", freqs, persistent=False)

    @property
    def out_dim(self) -> int:
        """Width of the embedding: D * (1 + 2 * n_freqs)."""
        return self.in_dim * (1 + 2 * self.n_freqs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(..., D) -> (..., out_dim): [x, sin(x f_1..f_n), cos(x f_1..f_n)] per input channel."""
        angles = (x.unsqueeze(-1) * self.freqs).flatten(-2)  # (..., D * n_freqs)
        return torch.cat([x, torch.sin(angles), torch.cos(angles)], dim=-1)
