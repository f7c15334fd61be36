"""The one place where log-magnitudes are normalised: (x - mean) / (3 std) per (frequency, frame)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from naf_model.conventions import NORM_STD_FACTOR, STD_FLOOR


def scale_from_std(std: torch.Tensor) -> torch.Tensor:
    """The normalisation scale of a std (any shape): NORM_STD_FACTOR * max(std, STD_FLOOR)."""
    return NORM_STD_FACTOR * std.clamp_min(STD_FLOOR)


@dataclass(frozen=True)
class SpectrogramStats:
    """Per-(f, t) mean and std of training log-magnitudes, (F, T) float32 each, from the data set."""

    mean: np.ndarray
    std: np.ndarray

    def same_as(self, other: SpectrogramStats) -> bool:
        """Whether both hold exactly the same statistics (weights trained on one fit the other)."""
        return np.array_equal(self.mean, other.mean) and np.array_equal(self.std, other.std)

    def mean_and_scale(self, device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
        """mean and `scale_from_std(std)` as float32 tensors (F, T): x = y * scale + mean."""
        mean = torch.as_tensor(self.mean, dtype=torch.float32, device=device)
        scale = scale_from_std(torch.as_tensor(self.std, dtype=torch.float32, device=device))
        return mean, scale

    def normalise(self, x: torch.Tensor) -> torch.Tensor:
        """Log-magnitudes (..., F, T) -> normalised values."""
        mean, scale = self.mean_and_scale(x.device)
        return (x.float() - mean) / scale

    def denormalise(self, y: torch.Tensor) -> torch.Tensor:
        """Normalised values (..., F, T) -> log-magnitudes."""
        mean, scale = self.mean_and_scale(y.device)
        return y * scale + mean

    def scale_at(
        self, freq: torch.Tensor, frame: torch.Tensor, like: torch.Tensor
    ) -> tuple[torch.Tensor, ...]:
        """Mean and scale gathered at integer pixel indices (..., P) -> (..., P) each."""
        mean, scale = self.mean_and_scale(like.device)
        return mean[freq, frame], scale[freq, frame]
