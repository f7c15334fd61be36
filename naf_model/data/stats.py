"""Per-(frequency, frame) mean and standard deviation of training spectrograms, accumulated in float64.

The data set is assembled one emitter block at a time, so the moments are merged block by block
(Chan et al.'s pairwise update), which stays accurate where a running sum of squares would cancel.
"""

from __future__ import annotations

import numpy as np


class RunningMoments:
    """Count, mean and sum of squared deviations over the leading axis of batches (n, *cell_shape)."""

    def __init__(self, cell_shape: tuple[int, ...]) -> None:
        self.count = 0
        self._mean = np.zeros(cell_shape, dtype=np.float64)
        self._m2 = np.zeros(cell_shape, dtype=np.float64)

    def add(self, batch: np.ndarray) -> None:
        """Fold in `batch`, (n, *cell_shape), any float dtype; n may be 0."""
        batch = np.asarray(batch, dtype=np.float64)
        n = batch.shape[0]
        if n == 0:
            return
        assert batch.shape[1:] == self._mean.shape, (batch.shape, self._mean.shape)
        mean_b = batch.mean(axis=0)
        m2_b = ((batch - mean_b) ** 2).sum(axis=0)
        total = self.count + n
        delta = mean_b - self._mean
        self._mean += delta * (n / total)
        self._m2 += m2_b + delta**2 * (self.count * n / total)
        self.count = total

    @property
    def mean(self) -> np.ndarray:
        """Mean per cell, float64."""
        return self._mean.copy()

    @property
    def std(self) -> np.ndarray:
        """Population standard deviation per cell (ddof 0), float64, not floored."""
        if self.count == 0:
            return np.zeros_like(self._m2)
        return np.sqrt(self._m2 / self.count)
