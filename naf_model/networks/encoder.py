"""The pieces both networks share: the endpoint encoder (sinusoidal embedding + local grid, split per
endpoint so a field can cache a marker that did not move, plus an optional share of the pair itself: its
free-path features) and the conditioned MLP trunk.

Positions are metres in scene coordinates; orientation and ear are long indices (0..3, 0 left / 1 right).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from naf_model.networks.embedding import SinusoidalEmbedding
from naf_model.networks.free_paths import N_FREE_PATH_FEATURES, FreePathFeatures
from naf_model.networks.grid import LocalFeatureGrid
from naf_model.networks.presets import FieldShape, ModelConfig

EndpointPart = tuple[torch.Tensor, torch.Tensor]
"""One endpoint's contribution to the MLP input layer and to the mid-network residual branch, (B, W) each."""


class PairEncoder(nn.Module):
    """Embeds emitter and listener (sinusoids + shared local grid) and projects them into the MLP.

    The MLP's input layer and its residual branch are linear in the concatenated input, so each endpoint's
    share is computed separately (`endpoint`); a field caches the share of a marker that did not move.
    """

    def __init__(self, config: ModelConfig, shape: FieldShape, width: int) -> None:
        super().__init__()
        e, g = config.embedding, config.grid
        xmin, ymin, xmax, ymax = shape.bounds
        self.register_buffer("centre", torch.tensor([(xmin + xmax) / 2, (ymin + ymax) / 2]), persistent=False)
        self.register_buffer(
            "half_size",
            torch.tensor([max(xmax - xmin, 1e-3) / 2, max(ymax - ymin, 1e-3) / 2]),
            persistent=False,
        )
        self.position_embedding = SinusoidalEmbedding(2, e.position_freqs, e.position_max_log2)
        self.grid = LocalFeatureGrid(
            shape.bounds, g.spacing, g.dim, g.bandwidth_init, g.bandwidth_min, g.bandwidth_max, g.max_offset
        )
        d = self.position_embedding.out_dim + g.dim
        self.input_dim = 2 * d
        self.first = nn.ModuleList([nn.Linear(d, width), nn.Linear(d, width, bias=False)])
        self.skip = nn.ModuleList([nn.Linear(d, width), nn.Linear(d, width, bias=False)])
        self.free_paths: FreePathFeatures | None = None
        if config.network.free_paths:
            self.free_paths = FreePathFeatures(shape.plan)
            self.pair_first = nn.Linear(N_FREE_PATH_FEATURES, width, bias=False)
            self.pair_skip = nn.Linear(N_FREE_PATH_FEATURES, width, bias=False)

    def position_features(self, xy: torch.Tensor) -> torch.Tensor:
        """(B, 2) metres -> (B, D): sinusoidal embedding of the normalised position and the grid features."""
        return torch.cat(
            [self.position_embedding((xy - self.centre) / self.half_size), self.grid(xy)], dim=-1
        )

    def endpoint(self, xy: torch.Tensor, role: int) -> EndpointPart:
        """Share of an emitter (role 0) or listener (role 1) at (B, 2) metres in the input layer and skip."""
        h = self.position_features(xy)
        return self.first[role](h), self.skip[role](h)

    def pair(self, emitter: torch.Tensor, listener: torch.Tensor) -> EndpointPart | None:
        """The pair's own share (free-path features) of the input layer and skip, (B, W) each; None when the
        network has none (its input is the endpoints' shares alone)."""
        if self.free_paths is None:
            return None
        g = self.free_paths(emitter, listener)
        return self.pair_first(g), self.pair_skip(g)

    def forward(self, emitter: torch.Tensor, listener: torch.Tensor) -> EndpointPart:
        """(B, 2), (B, 2) metres -> input-layer and residual-branch pre-activations, (B, W) each."""
        fe, se = self.endpoint(emitter, 0)
        fl, sl = self.endpoint(listener, 1)
        both = self.pair(emitter, listener)
        if both is None:
            return fe + fl, se + sl
        return fe + fl + both[0], se + sl + both[1]


class ConditionedMLP(nn.Module):
    """`depth` layers of `width` with LeakyReLU, learned additive per-layer latents, and one residual branch
    from the input added at the middle layer. The input layer itself lives in the caller (it is split)."""

    def __init__(self, depth: int, width: int, n_conditions: dict[str, int], slope: float) -> None:
        super().__init__()
        self.depth, self.slope, self.middle = depth, slope, depth // 2
        self.layers = nn.ModuleList([nn.Linear(width, width) for _ in range(depth - 1)])
        self.latents = nn.ParameterDict(
            {name: nn.Parameter(torch.randn(n, depth, width) * 0.01) for name, n in n_conditions.items()}
        )

    def forward(
        self,
        first: torch.Tensor,
        skip: torch.Tensor,
        conditions: dict[str, torch.Tensor],
        middle_only: bool = False,
    ) -> torch.Tensor:
        """first, skip (..., W) input-layer and residual pre-activations; conditions name -> (B,) long indices
        broadcast against the leading axis of `first`. Returns the last activation (..., W), or with
        `middle_only` the middle one (where the residual branch joins; later layers are skipped)."""
        extra = first.dim() - 2
        lat = sum(self.latents[k][v] for k, v in conditions.items())  # (B, depth, W)
        lat = lat.reshape(lat.shape[:1] + (1,) * extra + lat.shape[1:])
        h = F.leaky_relu(first + lat[..., 0, :], self.slope)
        for i, layer in enumerate(self.layers, start=1):
            pre = layer(h) + lat[..., i, :]
            if i == self.middle:
                pre = pre + skip
            h = F.leaky_relu(pre, self.slope)
            if i == self.middle and middle_only:
                return h
        return h
