"""The per-pixel Neural Acoustic Field of Luo et al. (2022) and the pieces the amortised field shares with it.

Shapes: B = number of (emitter, listener) items, P = (frequency, frame) pixels per item. Positions are metres
in scene coordinates; orientation is an index into ORIENTATIONS_DEG (0..3); ear 0 left, 1 right. Outputs are
normalised log-magnitudes, (x - mean) / (3 std) per (f, t), see `naf_model.model.normalisation`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from naf_model.conventions import ORIENTATIONS_DEG
from naf_model.model.embedding import SinusoidalEmbedding
from naf_model.model.grid import LocalFeatureGrid
from naf_model.model.presets import FieldShape, ModelConfig

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

    def position_features(self, xy: torch.Tensor) -> torch.Tensor:
        """(B, 2) metres -> (B, D): sinusoidal embedding of the normalised position and the grid features."""
        return torch.cat(
            [self.position_embedding((xy - self.centre) / self.half_size), self.grid(xy)], dim=-1
        )

    def endpoint(self, xy: torch.Tensor, role: int) -> EndpointPart:
        """Share of an emitter (role 0) or listener (role 1) at (B, 2) metres in the input layer and skip."""
        h = self.position_features(xy)
        return self.first[role](h), self.skip[role](h)

    def forward(self, emitter: torch.Tensor, listener: torch.Tensor) -> EndpointPart:
        """(B, 2), (B, 2) metres -> input-layer and residual-branch pre-activations, (B, W) each."""
        fe, se = self.endpoint(emitter, 0)
        fl, sl = self.endpoint(listener, 1)
        return fe + fl, se + sl


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


class PixelNAF(nn.Module):
    """The paper's NAF: (emitter, listener, orientation, ear, frequency, frame) -> one normalised value.

    forward(emitter (B, 2) m, listener (B, 2) m, orientation (B,) long, ear (B,) long, freq (B, P) bin index,
    frame (B, P) frame index) -> (B, P). Position work is done once per item, not per pixel.
    """

    def __init__(self, config: ModelConfig, shape: FieldShape) -> None:
        super().__init__()
        n, e = config.network, config.embedding
        self.config, self.shape = config, shape
        self.encoder = PairEncoder(config, shape, n.width)
        self.spectral_embedding = SinusoidalEmbedding(1, e.spectral_freqs, e.spectral_max_log2)
        ds = 2 * self.spectral_embedding.out_dim
        self.pixel_first = nn.Linear(ds, n.width, bias=False)
        self.pixel_skip = nn.Linear(ds, n.width, bias=False)
        self.mlp = ConditionedMLP(
            n.depth, n.width, {"ear": 2, "orientation": len(ORIENTATIONS_DEG)}, n.leaky_slope
        )
        self.out = nn.Linear(n.width, 1)

    def pixel_features(self, freq: torch.Tensor, frame: torch.Tensor) -> torch.Tensor:
        """Bin and frame indices (..., P) -> embedding (..., P, Ds) of their [-1, 1] scaled values."""
        f = freq / max(self.shape.n_freq - 1, 1) * 2 - 1
        t = frame / max(self.shape.n_frames - 1, 1) * 2 - 1
        return torch.cat([self.spectral_embedding(f[..., None]), self.spectral_embedding(t[..., None])], -1)

    def pixel_part(self, freq: torch.Tensor, frame: torch.Tensor) -> EndpointPart:
        """Pixels' share of the input layer and residual branch, (..., P, W) each (cacheable)."""
        h = self.pixel_features(freq, frame)
        return self.pixel_first(h), self.pixel_skip(h)

    def decode(
        self,
        pair: EndpointPart,
        pixels: EndpointPart,
        orientation: torch.Tensor,
        ear: torch.Tensor,
        middle_only: bool = False,
    ) -> torch.Tensor:
        """Position part (B, W) x2 + pixel part (B or 1, P, W) x2 -> (B, P) values, or with `middle_only`
        the middle-layer activations (B, P, W) (features for t-SNE and probes)."""
        first = pair[0][:, None, :] + pixels[0]
        skip = pair[1][:, None, :] + pixels[1]
        h = self.mlp(first, skip, {"ear": ear, "orientation": orientation}, middle_only)
        return h if middle_only else self.out(h).squeeze(-1)

    def forward(
        self,
        emitter: torch.Tensor,
        listener: torch.Tensor,
        orientation: torch.Tensor,
        ear: torch.Tensor,
        freq: torch.Tensor,
        frame: torch.Tensor,
    ) -> torch.Tensor:
        """See the class docstring: (B, P) normalised log-magnitudes."""
        return self.decode(self.encoder(emitter, listener), self.pixel_part(freq, frame), orientation, ear)

    def full_grid(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Bin and frame indices of every pixel of one spectrogram, (F * T,) each, row-major over (F, T)."""
        dev = self.out.weight.device
        f, t = torch.meshgrid(
            torch.arange(self.shape.n_freq, device=dev),
            torch.arange(self.shape.n_frames, device=dev),
            indexing="ij",
        )
        return f.flatten().float(), t.flatten().float()

    def predict(
        self, emitter: torch.Tensor, listener: torch.Tensor, orientation: torch.Tensor
    ) -> torch.Tensor:
        """Whole spectrograms, both ears: (B, 2), (B, 2), (B,) -> (B, 2, F, T) normalised."""
        f, t = self.full_grid()
        pixels = self.pixel_part(f, t)
        pair = self.encoder(emitter, listener)
        b = emitter.shape[0]
        out = [self.decode(pair, pixels, orientation, torch.full_like(orientation, ear)) for ear in (0, 1)]
        return torch.stack(out, 1).reshape(b, 2, self.shape.n_freq, self.shape.n_frames)
