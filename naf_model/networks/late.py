"""`LateHead`: the network that predicts an IR's late part, (emitter, listener, orientation) -> per ear, per
octave band, per coarse frame ln(band power) (the data set's `late` description, `naf_model.split`).

The late part is the diffuse reverberation: it varies slowly over the floor (level with distance and the
rooms between the two endpoints, the decay with the coupled volumes) and barely with the head, so a small
network of its own suffices and its cost does not grow with the spectrogram's resolution: sinusoidal
embeddings of both positions plus a coarse learnable grid (`LocalFeatureGrid`) read at each, an MLP with a
learned latent per orientation, and a learnable temporal basis per band (initialised to a cosine basis) that
turns `n_basis` coefficients per ear and band into the `late_frames` frames. A decay's log-power is close
to a line in time, so a few smooth basis functions carry it; the output size, not the frame count, sets the
cost. Shapes: B items, 2 ears, 7 bands, T late frames, K basis functions.

It sits beside the early network as its `late` submodule (`build.with_late`), trained by the same loop on the
same pairs (`training.batches.BatchSampler.late`), normalised with the data set's late statistics.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from naf_model.audio.bands import OCTAVE_CENTRES_HZ
from naf_model.networks.embedding import SinusoidalEmbedding
from naf_model.networks.fused import FusedLate, PositionFeatures, frozen
from naf_model.networks.grid import LocalFeatureGrid
from naf_model.networks.normalisation import SpectrogramStats

LateDecoder = Callable[
    [torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor
]
"""decode(emitter (B, 2) m, listener (B, 2) m, lower (B,) long, upper (B,) long, weight (B,)) -> (B, 2, 7, T)
ln band powers, orientations blended as (1 - weight) lower + weight upper."""
N_BANDS = len(OCTAVE_CENTRES_HZ)
"""Octave bands 125 Hz-8 kHz, the late description's."""


@dataclass(frozen=True)
class LateHeadConfig:
    """Sizes of the late head; fixed (not a preset knob), not tuned: the sizes of the reverberant test room's
    field (docs/results/reverb.md), which met the issue's late-part targets off the grid."""

    width: int = 256
    depth: int = 3
    n_basis: int = 32
    grid_spacing: float = 0.5
    grid_dim: int = 16
    position_freqs: int = 6
    position_max_log2: float = 3.0
    leaky_slope: float = 0.1


LATE_HEAD = LateHeadConfig()


def cosine_basis(n_basis: int, n_frames: int) -> torch.Tensor:
    """(K, T) DCT-II rows, orthonormal: smooth functions of time from a constant upwards."""
    t = (torch.arange(n_frames, dtype=torch.float64) + 0.5) / n_frames
    k = torch.arange(n_basis, dtype=torch.float64)[:, None]
    basis = torch.cos(math.pi * k * t[None, :]) * math.sqrt(2.0 / n_frames)
    basis[0] /= math.sqrt(2.0)
    return basis.float()


class LateHead(nn.Module):
    """(emitter (B, 2) m, listener (B, 2) m, orientation (B,) long) -> (B, 2, 7, T) normalised late log-powers."""

    def __init__(self, bounds: tuple[float, float, float, float], n_frames: int,
                 config: LateHeadConfig = LATE_HEAD) -> None:
        super().__init__()
        xmin, ymin, xmax, ymax = bounds
        self.n_frames, self.slope = n_frames, config.leaky_slope
        self.register_buffer("centre", torch.tensor([(xmin + xmax) / 2, (ymin + ymax) / 2]), persistent=False)
        self.register_buffer("half_size", torch.tensor([max(xmax - xmin, 1e-3) / 2, max(ymax - ymin, 1e-3) / 2]),
                             persistent=False)
        self.embedding = SinusoidalEmbedding(2, config.position_freqs, config.position_max_log2)
        self.grid = LocalFeatureGrid(bounds, config.grid_spacing, config.grid_dim, bandwidth_init=config.grid_spacing,
                                     bandwidth_min=0.5 * config.grid_spacing, bandwidth_max=2 * config.grid_spacing,
                                     max_offset=0.0)
        d = self.embedding.out_dim + config.grid_dim
        w = config.width
        self.inputs = nn.ModuleList([nn.Linear(d, w), nn.Linear(d, w, bias=False)])
        self.orientation = nn.Parameter(torch.zeros(4, w))
        self.hidden = nn.ModuleList([nn.Linear(w, w) for _ in range(config.depth - 1)])
        k = min(config.n_basis, n_frames)
        self.coefficients = nn.Linear(w, 2 * N_BANDS * k)
        nn.init.zeros_(self.coefficients.bias)
        self.coefficients.weight.data.mul_(0.1)
        self.basis = nn.Parameter(cosine_basis(k, n_frames).repeat(N_BANDS, 1, 1))  # (7, K, T)

    def endpoint(self, xy: torch.Tensor, role: int) -> torch.Tensor:
        """An emitter's (role 0) or listener's (role 1) share (B, W) of the first layer, at (B, 2) m (cacheable)."""
        features = torch.cat([self.embedding((xy - self.centre) / self.half_size), self.grid(xy)], dim=-1)
        return self.inputs[role](features)

    def forward(self, emitter: torch.Tensor, listener: torch.Tensor, orientation: torch.Tensor) -> torch.Tensor:
        """See the class docstring."""
        return self.from_shares(self.endpoint(emitter, 0) + self.endpoint(listener, 1), orientation)

    def from_shares(self, shares: torch.Tensor, orientation: torch.Tensor) -> torch.Tensor:
        """The endpoints' summed shares (B, W) and orientations (B,) -> (B, 2, 7, T) normalised."""
        h = F.leaky_relu(shares + self.orientation[orientation], self.slope)
        for layer in self.hidden:
            h = F.leaky_relu(layer(h), self.slope)
        c = self.coefficients(h).reshape(len(h), 2, N_BANDS, -1)  # (B, 2, 7, K)
        return torch.einsum("xebk,bkt->xebt", c, self.basis)


def late_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error of normalised late log-powers (the early network's loss, on the late description)."""
    return torch.mean((pred - target) ** 2)


def late_decoder(head: LateHead, stats: SpectrogramStats) -> LateDecoder:
    """decode(emitter (B, 2), listener (B, 2), lower (B,), upper (B,), weight (B,)) -> (B, 2, 7, T) ln band
    powers, the two orientations blended linearly (in the normalised log domain, like the spectrograms). Each
    endpoint's share is kept for the last positions seen (a dragged listener leaves the emitter's reused, as the
    field does for the early network), and both orientations run in one batch."""
    last: dict[int, tuple[bytes, torch.Tensor]] = {}

    def share(xy: torch.Tensor, role: int) -> torch.Tensor:
        key = xy.detach().cpu().numpy().tobytes()
        if role not in last or last[role][0] != key:
            last[role] = (key, head.endpoint(xy, role))
        return last[role][1]

    def decode(emitter, listener, lower, upper, weight):
        shares = share(emitter, 0) + share(listener, 1)
        return stats.denormalise(_between_orientations(head, shares, lower, upper, weight))

    return decode


def _between_orientations(
    head: LateHead, shares: torch.Tensor, lower: torch.Tensor, upper: torch.Tensor, weight: torch.Tensor
) -> torch.Tensor:
    """The head's normalised output from endpoint `shares` at the orientations `lower` and `upper`, blended by
    `weight` (B,); both orientations in one batch, and the second skipped when no weight needs it."""
    if not bool((weight > 0).any()):
        return head.from_shares(shares, lower)
    both = head.from_shares(torch.cat([shares, shares]), torch.cat([lower, upper]))
    w = weight.reshape(-1, 1, 1, 1)
    return (1 - w) * both[: len(shares)] + w * both[len(shares) :]


def fused_late_decoder(head: LateHead, stats: SpectrogramStats) -> FusedLate:
    """`late_decoder`'s contract for the fused path (`networks.fused`), positions as numpy (B, 2) m: the
    position features read in numpy with the grid frozen, each role's first layer one product, the endpoints'
    shares kept for the last positions seen, both orientations in one batch. The orientations are blended on
    the coefficients, before the basis (the basis product and the de-normalisation are linear, so the result
    is the module path's up to rounding), and the basis carries the de-normalisation scale: one basis product
    per ear and band, not two, and no pass over the output for the scale."""
    positions = PositionFeatures(head.embedding, head.grid, head.centre, head.half_size)
    inputs = [(frozen(layer.weight.T), None if layer.bias is None else frozen(layer.bias)) for layer in head.inputs]
    hidden = [(frozen(layer.weight.T), frozen(layer.bias)) for layer in head.hidden]
    coefficients = (frozen(head.coefficients.weight.T), frozen(head.coefficients.bias))
    orientation, slope = frozen(head.orientation), head.slope
    mean, scale = stats.mean_and_scale("cpu")
    basis = (frozen(head.basis) * scale[:, None, :]).contiguous()  # (7, K, T), de-normalised
    mean = mean[:, None, :].contiguous()  # (7, 1, T)
    last: dict[int, tuple[bytes, torch.Tensor]] = {}

    def share(xy: np.ndarray, role: int) -> torch.Tensor:
        key = xy.tobytes()
        if role not in last or last[role][0] != key:
            weight, bias = inputs[role]
            features = positions(xy)
            last[role] = (key, features @ weight if bias is None else torch.addmm(bias, features, weight))
        return last[role][1]

    def decode(emitter, listener, lower, upper, weight):
        shares = share(np.asarray(emitter, np.float32), 0) + share(np.asarray(listener, np.float32), 1)
        b, blended = len(shares), bool((weight > 0).any())
        h = torch.cat([shares + orientation[lower], shares + orientation[upper]]) if blended \
            else shares + orientation[lower]
        h = F.leaky_relu(h, slope, inplace=True)
        for layer_weight, layer_bias in hidden:
            h = F.leaky_relu(torch.addmm(layer_bias, h, layer_weight), slope, inplace=True)
        c = torch.addmm(coefficients[1], h, coefficients[0])  # (B or 2B, 2 * 7 * K)
        if blended:
            w = weight.reshape(-1, 1)
            c = torch.lerp(c[:b], c[b:], w)
        c = c.reshape(b * 2, N_BANDS, -1).transpose(0, 1)  # (7, 2B, K)
        y = torch.baddbmm(mean, c, basis)  # (7, 2B, T)
        return y.reshape(N_BANDS, b, 2, -1).permute(1, 2, 0, 3)

    return decode
