"""`build_network`: the network of a config, over a scene of a given shape (the one place that maps a config's
`network.kind` to a class); `build_trainable` for the training loop, which an ensemble's config cannot give."""

from __future__ import annotations

import dataclasses

from naf_model.networks.amortised import AmortisedNAF
from naf_model.networks.base import AcousticNetwork, TrainableNetwork
from naf_model.networks.ensemble import EnsembleNAF
from naf_model.networks.late import LateHead
from naf_model.networks.network import PixelNAF
from naf_model.networks.paper_released import PaperReleasedNAF
from naf_model.networks.presets import FieldShape, ModelConfig

NETWORKS: dict[str, type[TrainableNetwork]] = {"pixel": PixelNAF, "amortised": AmortisedNAF}
"""`NetworkConfig.kind` -> the network class of the networks naf trains."""
RELEASED: dict[str, type[AcousticNetwork]] = {"paper_released": PaperReleasedNAF}
"""`NetworkConfig.kind` -> networks naf only runs: others' trained checkpoints (`naf_model.checkpoint_paper`)."""


def build_network(config: ModelConfig, shape: FieldShape) -> AcousticNetwork:
    """A freshly initialised network for `config` over a scene of `shape`."""
    kind = config.network.kind
    if kind in RELEASED:  # whole-spectrogram fields from elsewhere: no late part, no ensembles
        return RELEASED[kind](config, shape)
    if kind not in NETWORKS:
        raise ValueError(f"unknown network kind {kind!r}; known: {', '.join(NETWORKS)}")
    k = config.network.members
    if k > 1:  # an ensemble of K members of the same config
        member = dataclasses.replace(config, network=dataclasses.replace(config.network, members=1))
        return EnsembleNAF(config, shape, [with_late(NETWORKS[kind](member, shape), shape) for _ in range(k)])
    return with_late(NETWORKS[kind](config, shape), shape)


def with_late(network: TrainableNetwork, shape: FieldShape) -> TrainableNetwork:
    """`network` with a late head (its `late` submodule) when the scene's IRs have a late part."""
    if shape.late_frames > 0:
        network.late = LateHead(shape.bounds, shape.late_frames)
    return network


def build_trainable(config: ModelConfig, shape: FieldShape) -> TrainableNetwork:
    """A freshly initialised network to train. An ensemble's config (`members` > 1) gives none: its members
    train one by one and `naf ensemble` joins them (`train_field` says so before it reads any data)."""
    network = build_network(config, shape)
    if not isinstance(network, TrainableNetwork):
        raise TypeError(f"config {config.name!r} builds a {type(network).__name__}, which is not trainable")
    return network
