"""The fused inference path: a network's weights frozen into a few large operations for the field's live use
(the app, `naf render` / `naf walk`, the heatmaps), the nn.Module path kept for training and evaluation.

A field answer on one thread was a chain of small torch calls (embedding, grid read, projections, the trunk
once per orientation, the basis product), each paying dispatch overhead. A `FusedDecoder` computes once per
field what does not depend on positions (grid points after their offsets, bandwidths, the de-normalised basis
in frame-major order, per-orientation biases plus latents), reads the grid in numpy, and runs the trunk for
both orientations of a heading in one batch. Its spectrograms are frame-major, (B, 2, T, F): the layout the
listening synthesis transforms (`field.fused_listening`) without a transpose.

Equality with the module path is tested (tests/test_fused.py); the basis is kept in float32: bfloat16
storage read no faster on a CPU without native bfloat16 (docs/benchmarks.md, "Fused inference").
Shapes: B items, W width, F x T spectrogram, D position features.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import numpy as np
import torch

from naf_model.networks.embedding import SinusoidalEmbedding
from naf_model.networks.encoder import EndpointPart
from naf_model.networks.grid import LocalFeatureGrid

FusedLate = Callable[[np.ndarray, np.ndarray, torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]
"""late(emitter (B, 2) m, listener (B, 2) m, lower (B,) long, upper (B,) long, weight (B,)) -> (B, 2, 7, T)
ln band powers (`networks.late.LateDecoder`'s contract, positions as numpy arrays)."""


class FusedDecoder(Protocol):
    """What the field's fused path asks of a network (`AcousticNetwork.fused_decoder`)."""

    late: FusedLate | None
    """The late part's decoder, None for a field without one."""

    def endpoint(self, xy: np.ndarray, role: int) -> EndpointPart:
        """Shares of emitters (role 0) or listeners (role 1) at (B, 2) m float64, (B, W) each (cacheable)."""

    def with_pair_part(self, shares: EndpointPart, emitter: torch.Tensor, listener: torch.Tensor) -> EndpointPart:
        """Summed endpoint shares plus the pair's own share (`AcousticNetwork.with_pair_part`)."""

    def spectrograms(self, pair: EndpointPart, emitter: torch.Tensor, listener: torch.Tensor, lower: torch.Tensor,
                     upper: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        """`SpectrogramDecoder`'s contract, frame-major: (B, 2, T, F) de-normalised log-magnitudes."""


class ModuleDecoder:
    """The fused contract over the module path, for networks without a fused decoder of their own (the
    per-pixel NAF, ensembles): same numbers, only the layout changes."""

    def __init__(self, network: Any, decode: Callable[..., torch.Tensor], late: FusedLate | None) -> None:
        self.network, self._decode, self.late = network, decode, late

    def endpoint(self, xy: np.ndarray, role: int) -> EndpointPart:
        """See `FusedDecoder` (positions copied: the field may pass a read-only view)."""
        return self.network.endpoint(torch.tensor(np.asarray(xy), dtype=torch.float32), role)

    def with_pair_part(self, shares: EndpointPart, emitter: torch.Tensor, listener: torch.Tensor) -> EndpointPart:
        """See `FusedDecoder`."""
        return self.network.with_pair_part(shares, emitter, listener)

    def spectrograms(self, pair: EndpointPart, emitter: torch.Tensor, listener: torch.Tensor, lower: torch.Tensor,
                     upper: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        """See `FusedDecoder`."""
        return self._decode(pair, emitter, listener, lower, upper, weight).transpose(-1, -2).contiguous()


def module_late(decode: Callable[..., torch.Tensor] | None) -> FusedLate | None:
    """A module-path late decoder (`LateDecoder`, torch positions) behind the fused contract (numpy ones)."""
    if decode is None:
        return None

    def late(emitter, listener, lower, upper, weight):
        return decode(torch.as_tensor(emitter, dtype=torch.float32), torch.as_tensor(listener, dtype=torch.float32),
                      lower, upper, weight)

    return late


class PositionFeatures:
    """A frozen `SinusoidalEmbedding` of the normalised position beside a frozen `LocalFeatureGrid`, read in
    numpy: (B, 2) m -> (B, D) float32, as `PairEncoder.position_features` / `LateHead.endpoint` compute them.

    What the module recomputes per call (grid points after their offsets, clamped bandwidths) is kept."""

    def __init__(self, embedding: SinusoidalEmbedding, grid: LocalFeatureGrid, centre: torch.Tensor,
                 half_size: torch.Tensor) -> None:
        with torch.no_grad():
            self.freqs = embedding.freqs.cpu().numpy().astype(np.float32)
            self.centre = centre.cpu().numpy().astype(np.float32)
            self.half_size = half_size.cpu().numpy().astype(np.float32)
            self.origin = np.array(grid.origin, np.float32)
            self.spacing = np.float32(grid.spacing)
            n, r = grid.n_x * grid.n_y, grid.radius
            # one sentinel row past the grid's points: far away, so its Gaussian weight is exactly 0 (the
            # module's `inside` mask), with zero features
            self.points = np.concatenate([grid.point_positions().cpu().numpy(), [[1e18, 1e18]]]).astype(np.float32)
            self.sigma2 = np.append((grid.bandwidth() ** 2).cpu().numpy(), 1.0).astype(np.float32)
            self.features = np.concatenate([grid.features.cpu().numpy(), np.zeros((1, grid.dim))]).astype(np.float32)
        # the point index of every cell of the grid padded by 2 r + 1 cells (the sentinel outside): a cell
        # clipped to r + 1 beyond the grid has only outside neighbours, as every cell further out
        pad = 2 * r + 1
        table = np.full((grid.n_y + 2 * pad, grid.n_x + 2 * pad), n, np.int64)
        table[pad : pad + grid.n_y, pad : pad + grid.n_x] = np.arange(n).reshape(grid.n_y, grid.n_x)
        self.table = table
        self.cell_range = (np.array([-r - 1, -r - 1]), np.array([grid.n_x + r, grid.n_y + r]))
        self.stencil = grid.stencil.cpu().numpy() + pad  # (K, 2) x, y offsets into the padded table

    def grid(self, xy: np.ndarray) -> np.ndarray:
        """Gaussian-weighted grid features (B, dim) at float32 positions (B, 2) m (`LocalFeatureGrid.forward`)."""
        cell = np.round((xy - self.origin) / self.spacing).astype(np.int64)
        cell = np.minimum(np.maximum(cell, self.cell_range[0]), self.cell_range[1])
        nbr = cell[:, None, :] + self.stencil[None]  # (B, K, 2)
        idx = self.table[nbr[..., 1], nbr[..., 0]]  # (B, K)
        d = xy[:, None, :] - self.points[idx]
        d2 = np.einsum("bki,bki->bk", d, d)
        w = np.exp(-0.5 * d2 / self.sigma2[idx])
        w /= w.sum(-1, keepdims=True) + np.float32(1e-12)
        return np.einsum("bk,bkd->bd", w, self.features[idx])

    def __call__(self, xy: np.ndarray) -> torch.Tensor:
        """Position features (B, D) float32 at (B, 2) m."""
        xy = np.asarray(xy, np.float32).reshape(-1, 2)
        x = (xy - self.centre) / self.half_size
        angles = (x[..., None] * self.freqs).reshape(len(x), -1)
        return torch.from_numpy(np.concatenate([x, np.sin(angles), np.cos(angles), self.grid(xy)], -1))


def frozen(t: torch.Tensor) -> torch.Tensor:
    """A detached, contiguous float32 CPU copy of a weight (the fused path never sees later training)."""
    return t.detach().to("cpu", torch.float32).contiguous().clone()
