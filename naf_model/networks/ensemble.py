"""`EnsembleNAF`: the mean of several trained fields of one scene, as one network.

Fields trained with different seeds make different errors away from their training pairs; the mean of their
log-magnitudes averages part of that error out (what `naf ensemble` measures before a field ships). An
ensemble is assembled from trained members (`checkpoint.combine_checkpoints`), never trained as a whole.

An ensemble is an `AcousticNetwork` (the inference part of the interface), not a `TrainableNetwork`. Every
member keeps its own weights; the interface is kept by concatenating along the feature axis: an endpoint's
share is the members' shares side by side (B, K W), each member reads its slice. The per-orientation part
stacks the members' parts on axis 1 (linear in the output, so blending orientations still blends
spectrograms) and the finish averages the members' finishes. Cost: K times one member.
"""

from __future__ import annotations

import torch
from torch import nn

from naf_model.networks.base import AcousticNetwork, Finish, OrientationPart
from naf_model.networks.encoder import EndpointPart
from naf_model.networks.late import LateDecoder
from naf_model.networks.normalisation import SpectrogramStats
from naf_model.networks.presets import FieldShape, ModelConfig


class EnsembleNAF(AcousticNetwork):
    """K member networks of one config (their `members` = 1); outputs are the members' mean."""

    def __init__(self, config: ModelConfig, shape: FieldShape, members: list[AcousticNetwork]) -> None:
        if len(members) < 2:
            raise ValueError("an ensemble needs at least two members")
        # No encoder of its own: `endpoint` asks each member, so every weight is stored once, under members.k.
        super().__init__()
        self.config, self.shape = config, shape
        self.members = nn.ModuleList(members)
        first = members[0]
        self.irs_per_call = first.irs_per_call
        self.feature_rows_per_pair = first.feature_rows_per_pair

    @property
    def width(self) -> int:
        """Feature width of one member (its endpoint shares' size)."""
        return self.config.network.width

    def _split(self, pair: EndpointPart, k: int) -> EndpointPart:
        """Member k's slice of concatenated shares."""
        w = self.width
        return pair[0][..., k * w : (k + 1) * w], pair[1][..., k * w : (k + 1) * w]

    def endpoint(self, xy: torch.Tensor, role: int) -> EndpointPart:
        """The members' shares side by side, (B, K W) each."""
        parts = [m.endpoint(xy, role) for m in self.members]
        return torch.cat([p[0] for p in parts], -1), torch.cat([p[1] for p in parts], -1)

    def pair_part(self, emitter: torch.Tensor, listener: torch.Tensor) -> EndpointPart | None:
        """The members' pair shares side by side (members share one config: all have one or none)."""
        parts = [m.pair_part(emitter, listener) for m in self.members]
        if parts[0] is None:
            return None
        return torch.cat([p[0] for p in parts], -1), torch.cat([p[1] for p in parts], -1)

    def decoder_stages(self, stats: SpectrogramStats) -> tuple[OrientationPart, Finish]:
        """Members' parts stacked on axis 1; the finish is the mean of the members' finishes."""
        stages = [m.decoder_stages(stats) for m in self.members]

        def part(pair: EndpointPart, orientation: torch.Tensor) -> torch.Tensor:
            return torch.stack([p(self._split(pair, k), orientation) for k, (p, _) in enumerate(stages)], 1)

        def finish(x: torch.Tensor, emitter: torch.Tensor, listener: torch.Tensor) -> torch.Tensor:
            total = stages[0][1](x[:, 0], emitter, listener)
            for k in range(1, len(stages)):
                total = total + stages[k][1](x[:, k], emitter, listener)
            return total / len(stages)

        return part, finish

    def late_decoder(self, late_stats: SpectrogramStats | None) -> LateDecoder | None:
        """The mean of the members' late log-powers (None when the members have no late part)."""
        decoders = [m.late_decoder(late_stats) for m in self.members]
        if any(d is None for d in decoders):
            return None

        def decode(emitter, listener, lower, upper, weight):
            return sum(d(emitter, listener, lower, upper, weight) for d in decoders) / len(decoders)

        return decode

    def features(self, pair: EndpointPart, orientation: torch.Tensor) -> torch.Tensor:
        """The members' features side by side, (R, K W)."""
        return torch.cat([m.features(self._split(pair, k), orientation) for k, m in enumerate(self.members)], -1)

    def predict(self, emitter: torch.Tensor, listener: torch.Tensor, orientation: torch.Tensor) -> torch.Tensor:
        """Mean of the members' normalised spectrograms (the members share the data set's normalisation)."""
        out = self.members[0].predict(emitter, listener, orientation)
        for m in self.members[1:]:
            out = out + m.predict(emitter, listener, orientation)
        return out / len(self.members)

    def forward(self, emitter: torch.Tensor, listener: torch.Tensor, orientation: torch.Tensor) -> torch.Tensor:
        """= predict."""
        return self.predict(emitter, listener, orientation)

