"""A learnable 2-D grid of local features over the scene's floor plan (NAF's "local geometric prior").

Features sit every `spacing` metres over the scene's bounding box (plus one cell of margin). A position reads
the Gaussian-kernel-weighted average of the features of nearby grid points; each grid point has a learnable
bandwidth (clamped to [bandwidth_min, bandwidth_max]) and a learnable offset (at most `max_offset` metres)
so the grid can adapt to walls and doorways. Only points within 3 bandwidths are read, which keeps a query
O(neighbours) instead of O(grid).
"""

from __future__ import annotations

import math

import torch
from torch import nn


class LocalFeatureGrid(nn.Module):
    """Gaussian-interpolated feature grid: positions (B, 2) metres -> features (B, dim).

    Parameters: `features` (n_y * n_x, dim), `raw_offsets` (n_y * n_x, 2) mapped through tanh to at most
    `max_offset` m, `raw_bandwidth` (n_y * n_x,) clamped to [bandwidth_min, bandwidth_max] m.
    """

    def __init__(
        self,
        bounds: tuple[float, float, float, float],
        spacing: float = 0.25,
        dim: int = 64,
        bandwidth_init: float = 0.25,
        bandwidth_min: float = 0.1,
        bandwidth_max: float = 0.5,
        max_offset: float = 0.1,
        init_std: float = 0.1,
    ) -> None:
        super().__init__()
        xmin, ymin, xmax, ymax = (float(b) for b in bounds)
        self.spacing = float(spacing)
        self.origin = (xmin - spacing, ymin - spacing)
        self.n_x = int(math.ceil((xmax - xmin) / spacing)) + 3
        self.n_y = int(math.ceil((ymax - ymin) / spacing)) + 3
        self.dim = dim
        self.bandwidth_min, self.bandwidth_max, self.max_offset = bandwidth_min, bandwidth_max, max_offset
        self.radius = int(math.ceil((3.0 * bandwidth_max + 2.0 * max_offset) / spacing))
        n = self.n_x * self.n_y
        self.features = nn.Parameter(torch.randn(n, dim) * init_std)
        self.raw_offsets = nn.Parameter(torch.zeros(n, 2))
        self.raw_bandwidth = nn.Parameter(torch.full((n,), float(bandwidth_init)))
        iy, ix = torch.meshgrid(torch.arange(self.n_y), torch.arange(self.n_x), indexing="ij")
        points = torch.stack(
            [ix.flatten() * spacing + self.origin[0], iy.flatten() * spacing + self.origin[1]], 1
        )
        self.register_buffer("points", points.float(), persistent=False)
        d = torch.arange(-self.radius, self.radius + 1)
        dy, dx = torch.meshgrid(d, d, indexing="ij")
        self.register_buffer("stencil", torch.stack([dx.flatten(), dy.flatten()], 1), persistent=False)

    def bandwidth(self) -> torch.Tensor:
        """Per-point Gaussian bandwidth in metres, (n,)."""
        return self.raw_bandwidth.clamp(self.bandwidth_min, self.bandwidth_max)

    def point_positions(self) -> torch.Tensor:
        """Grid points after their learned offsets, (n, 2) metres."""
        return self.points + self.max_offset * torch.tanh(self.raw_offsets)

    def forward(self, xy: torch.Tensor) -> torch.Tensor:
        """Gaussian-weighted feature average at positions (B, 2) metres -> (B, dim)."""
        origin = xy.new_tensor(self.origin)
        cell = torch.round((xy.detach() - origin) / self.spacing).long()  # (B, 2) nearest grid point
        nbr = cell[:, None, :] + self.stencil[None]  # (B, K, 2)
        inside = (nbr[..., 0] >= 0) & (nbr[..., 0] < self.n_x) & (nbr[..., 1] >= 0) & (nbr[..., 1] < self.n_y)
        idx = nbr[..., 1].clamp(0, self.n_y - 1) * self.n_x + nbr[..., 0].clamp(0, self.n_x - 1)  # (B, K)
        pts = self.point_positions()[idx]  # (B, K, 2)
        sigma = self.bandwidth()[idx]  # (B, K)
        d2 = ((xy[:, None, :] - pts) ** 2).sum(-1)
        w = torch.exp(-0.5 * d2 / sigma**2) * inside
        w = w / (w.sum(-1, keepdim=True) + 1e-12)
        return torch.einsum("bk,bkd->bd", w, self.features[idx])
