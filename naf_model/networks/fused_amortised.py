"""The amortised (`fast`) network's fused decoder (`networks.fused`): its weights frozen for live answers.

Per field, once: each role's input-layer and residual projections stacked into one (D, 2W) matrix; each
trunk layer's bias plus its orientation latent as one (4, W) table; the basis times the de-normalisation scale,
reordered frame-major (K, T * F), and the offset likewise. Per query: the position features (numpy), one
product per moved endpoint, the trunk over both orientations of the heading at once (2B rows), the head,
the coefficients blended, one basis product. The same arithmetic as `AmortisedNAF.decoder_stages`, but
the basis is stored in float16 with float32 accumulation where torch offers that product (fbgemm, x86):
6.8 MB read per query for the shipped field in float32 is larger than the L2 cache and, on a machine shared
with other jobs, than what stays of it in L3, so the product waits on memory; half of it waits half as long.
Its cost in accuracy (docs/benchmarks.md, "Fused inference"): mean |log-magnitude difference| 1.2e-4 against
the float32 product on the shipped apartment_1 field.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from naf_model.networks.amortised import align_shift, shift_frames
from naf_model.networks.encoder import EndpointPart
from naf_model.networks.fused import FusedLate, PositionFeatures, frozen
from naf_model.networks.normalisation import SpectrogramStats


class FusedAmortised:
    """`FusedDecoder` of an `AmortisedNAF` (`net`) for de-normalisation `stats`; `late` its late head's fused
    decoder or None."""

    def __init__(self, net: Any, stats: SpectrogramStats, late: FusedLate | None) -> None:
        enc, trunk = net.encoder, net.trunk
        self.net, self.late = net, late
        self.width, self.slope, self.middle = net.config.network.width, trunk.slope, trunk.middle
        self.positions = PositionFeatures(enc.position_embedding, enc.grid, enc.centre, enc.half_size)
        self.projections = []
        for role in (0, 1):
            first, skip = enc.first[role], enc.skip[role]
            weight = frozen(torch.cat([first.weight, skip.weight]).T)  # (D, 2W)
            bias = torch.cat([first.bias if first.bias is not None else torch.zeros(self.width),
                              skip.bias if skip.bias is not None else torch.zeros(self.width)])
            self.projections.append((weight, frozen(bias)))
        latents = frozen(trunk.latents["orientation"])  # (4, depth, W)
        self.first_latent = latents[:, 0].contiguous()
        self.layers = [(frozen(layer.weight.T), frozen(layer.bias + latents[:, i]))  # (W, W), (4, W)
                       for i, layer in enumerate(trunk.layers, start=1)]
        self.hidden = (frozen(net.head_hidden.weight.T), frozen(net.head_hidden.bias))
        self.ear_latent = frozen(net.ear_latent)
        self.out = (frozen(net.head_out.weight.T), frozen(net.head_out.bias))
        n_freq, n_frames = net.shape.n_freq, net.shape.n_frames
        mean, scale = stats.mean_and_scale("cpu")
        if net.aligned:
            mean, scale = frozen(net.aligned_mean), frozen(net.aligned_scale)
        basis = frozen(net.basis).reshape(-1, n_freq, n_frames) * scale
        basis = basis.transpose(1, 2).reshape(len(basis), -1).contiguous()  # (K, T * F)
        offset = frozen(net.offset).reshape(n_freq, n_frames) * scale + mean
        self.basis_product = basis_product(basis, offset.T.reshape(-1).contiguous())
        self.shape = (n_frames, n_freq)

    def endpoint(self, xy: np.ndarray, role: int) -> EndpointPart:
        """See `FusedDecoder`."""
        weight, bias = self.projections[role]
        both = torch.addmm(bias, self.positions(xy), weight)
        return both[:, : self.width], both[:, self.width :]

    def with_pair_part(self, shares: EndpointPart, emitter: torch.Tensor, listener: torch.Tensor) -> EndpointPart:
        """See `FusedDecoder`."""
        return self.net.with_pair_part(shares, emitter, listener)

    def _code(self, first: torch.Tensor, skip: torch.Tensor, orientation: torch.Tensor) -> torch.Tensor:
        """`ConditionedMLP.forward` with the biases and latents folded: (R, W) x2, (R,) -> (R, W)."""
        h = F.leaky_relu(first + self.first_latent[orientation], self.slope)
        for i, (weight, bias) in enumerate(self.layers, start=1):
            pre = torch.addmm(bias[orientation], h, weight)
            if i == self.middle:
                pre += skip
            h = F.leaky_relu(pre, self.slope)
        return h

    def spectrograms(self, pair: EndpointPart, emitter: torch.Tensor, listener: torch.Tensor, lower: torch.Tensor,
                     upper: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        """See `FusedDecoder`."""
        b = len(lower)
        blend = bool(weight.numpy().any())
        first, skip = pair
        if blend:  # both orientations in one pass
            first, skip, orientation = torch.cat([first, first]), torch.cat([skip, skip]), torch.cat([lower, upper])
        else:
            orientation = lower
        code = self._code(first, skip, orientation)
        hidden = torch.addmm(self.hidden[1], code, self.hidden[0])[:, None, :] + self.ear_latent
        c = torch.matmul(F.leaky_relu(hidden, self.slope), self.out[0]) + self.out[1]  # (R, 2, K)
        if blend:
            w = weight.reshape(-1, 1, 1).to(c.dtype)
            c = (1 - w) * c[:b] + w * c[b:]
        y = self.basis_product(c.reshape(2 * b, -1)).reshape(b, 2, *self.shape)
        if self.net.aligned:
            y = shift_frames(y.transpose(-1, -2), align_shift(emitter, listener)).transpose(-1, -2).contiguous()
        return y


def basis_product(basis: torch.Tensor, offset: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
    """coefficients (R, K) -> offset + coefficients @ basis, (R, N): the basis (K, N) kept in float16 and the
    sums in float32 (fbgemm's product; the API is marked deprecated, so its one warning is taken here), else
    in float32 where this torch lacks it."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            packed = torch.fbgemm_pack_gemm_matrix_fp16(basis.T.contiguous())
            torch.fbgemm_linear_fp16_weight(torch.zeros(1, len(basis)), packed, offset)
    except (AttributeError, RuntimeError):
        return lambda c: torch.addmm(offset, c, basis)
    return lambda c: torch.fbgemm_linear_fp16_weight(c, packed, offset)
