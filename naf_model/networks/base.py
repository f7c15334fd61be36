"""What every NAF network offers its callers, so the field, the training loop and the benchmarks never ask
which network they hold; in two parts, so a network implements all of what it claims.

`AcousticNetwork`, inference (a field, the held-out check): endpoint shares of the input layer (cacheable per
marker), whole de-normalised spectrograms for a batch with two orientations blended, features for t-SNE and
the probe, the values it predicts at given (frequency, frame) pixels. `TrainableNetwork` adds training: the
batch the network learns from, its loss, and any initialisation that needs data. The trained networks
(per-pixel, amortised) are both; an ensemble of trained fields is an `AcousticNetwork` only.
Shapes: B items, P pixels, W width, F x T spectrogram.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import torch
from torch import nn

from naf_model.networks.encoder import EndpointPart, PairEncoder
from naf_model.networks.fused import FusedDecoder, ModuleDecoder, module_late
from naf_model.networks.late import LateDecoder, LateHead, late_decoder
from naf_model.networks.normalisation import SpectrogramStats
from naf_model.networks.presets import FieldShape, ModelConfig, TrainConfig

SpectrogramDecoder = Callable[
    [EndpointPart, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor
]
"""decode(pair shares (B, W) x2, emitter (B, 2) m, listener (B, 2) m, lower (B,) long, upper (B,) long,
weight (B,)) -> (B, 2, F, T) log-magnitudes, the orientations blended as (1 - weight) lower + weight upper."""
OrientationPart = Callable[[EndpointPart, torch.Tensor], torch.Tensor]
"""part(pair shares (B, W) x2, orientation (B,) long) -> what a decoder computes per orientation, (B, ...),
linear in the output (blending it blends the spectrograms)."""
Finish = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]
"""finish(blended part (B, ...), emitter (B, 2) m, listener (B, 2) m) -> (B, 2, F, T) log-magnitudes."""
DataSample = Callable[[], tuple[torch.Tensor, torch.Tensor, torch.Tensor]]
"""() -> (log-magnitudes (S, F, T), emitters (S, 2) m, listeners (S, 2) m): training spectrograms, drawn on
demand (networks that need no data never draw them)."""


class TrainingBatches(Protocol):
    """Where training batches come from (`naf_model.training.batches.BatchSampler`)."""

    def pixels(self, n_irs: int, n_pixels: int) -> Any:
        """Random (f, t) pixels of n_irs items: emitter, listener, orientation, ear, freq, frame, target."""

    def irs(self, n_irs: int) -> Any:
        """n_irs whole spectrograms: emitter, listener, orientation, target (B, 2, F, T) normalised."""

    def swapped(self, n_pairs: int) -> Any:
        """n_pairs training pairs with emitter and listener exchanged, each at the 4 orientations (4 n_pairs
        items): the target of every item is its pair's mean over orientations and ears."""


@dataclass
class TrainingBatch:
    """The network's inputs (its forward's arguments, on the CPU) and the normalised target."""

    inputs: tuple[torch.Tensor, ...]
    target: torch.Tensor


class AcousticNetwork(nn.Module, ABC):
    """An nn.Module mapping (emitter, listener, orientation) to normalised binaural log-magnitudes: the
    inference part of the interface."""

    config: ModelConfig
    shape: FieldShape
    encoder: PairEncoder
    irs_per_call: int
    """Spectrograms a field decodes per call in batch queries (bounds memory)."""
    feature_rows_per_pair: int
    """MLP rows `features` evaluates per (emitter, listener) row (a field chunks to bound memory)."""

    def endpoint(self, xy: torch.Tensor, role: int) -> EndpointPart:
        """Share of emitters (role 0) or listeners (role 1) at (B, 2) m in the input layer and the residual
        branch, (B, W) each; the shares of an emitter and a listener add up to the pair's."""
        return self.encoder.endpoint(xy, role)

    def position_inputs(self, xy: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor] | None:
        """What the network reads at (B, 2) m positions before any MLP layer: (sinusoidal embedding (B, E),
        local grid features (B, G)); None for a network without an encoder of its own (an ensemble)."""
        encoder = self._modules.get("encoder")
        if not isinstance(encoder, PairEncoder):
            return None
        return encoder.position_embedding((xy - encoder.centre) / encoder.half_size), encoder.grid(xy)

    def pair_part(self, emitter: torch.Tensor, listener: torch.Tensor) -> EndpointPart | None:
        """The share of the pair itself (not of either endpoint), (B, W) each, added to the endpoints' shares;
        None for networks whose input is the endpoints alone."""
        return self.encoder.pair(emitter, listener)

    def with_pair_part(self, shares: EndpointPart, emitter: torch.Tensor, listener: torch.Tensor) -> EndpointPart:
        """Summed endpoint shares (B, W) x2 plus the pair's own share (`pair_part`), if the network has one."""
        both = self.pair_part(emitter, listener)
        return shares if both is None else (shares[0] + both[0], shares[1] + both[1])

    def late_head(self) -> LateHead | None:
        """The network of the late part (`networks.late`), or None for a field without one."""
        head = self._modules.get("late")
        return head if isinstance(head, LateHead) else None

    def late_decoder(self, late_stats: SpectrogramStats | None) -> LateDecoder | None:
        """A decoder of de-normalised late log-powers (`networks.late.late_decoder`), or None without a late
        part. Call it under torch.no_grad."""
        head = self.late_head()
        if head is None or late_stats is None:
            return None
        return late_decoder(head, late_stats)

    # ---- inference -------------------------------------------------------------------------------------
    def spectrogram_decoder(self, stats: SpectrogramStats) -> SpectrogramDecoder:
        """A decoder of whole de-normalised spectrograms for this network's current weights (it may cache
        what depends only on them: call again after the weights change). Call it under torch.no_grad.

        The two orientations are blended in `decoder_stages`' per-orientation part; the upper one is only
        decoded when some weight is above 0."""
        part, finish = self.decoder_stages(stats)

        def decode(
            pair: EndpointPart,
            emitter: torch.Tensor,
            listener: torch.Tensor,
            lower: torch.Tensor,
            upper: torch.Tensor,
            weight: torch.Tensor,
        ) -> torch.Tensor:
            x = part(pair, lower)
            if bool((weight > 0).any()):
                w = weight.reshape(-1, *[1] * (x.dim() - 1))
                x = (1 - w) * x + w * part(pair, upper)
            return finish(x, emitter, listener)

        return decode

    def fused_decoder(self, stats: SpectrogramStats, late_stats: SpectrogramStats | None) -> FusedDecoder:
        """The live answers' decoder (`networks.fused`) of the current weights, frozen, CPU: spectrograms
        frame-major and the late part (None without one). This default runs the module path behind that
        contract; a network with a faster form of the same arithmetic overrides it. Call under torch.no_grad."""
        return ModuleDecoder(self, self.spectrogram_decoder(stats), module_late(self.late_decoder(late_stats)))

    @abstractmethod
    def decoder_stages(self, stats: SpectrogramStats) -> tuple[OrientationPart, Finish]:
        """The two stages of `spectrogram_decoder` for the current weights: the part one orientation gives
        (linear in the output) and what turns the blended part into de-normalised spectrograms."""

    @abstractmethod
    def features(self, pair: EndpointPart, orientation: torch.Tensor) -> torch.Tensor:
        """Pair shares (R, W) x2 and orientations (R,) -> (R, W) features (t-SNE, probe)."""

    @abstractmethod
    def predict(self, emitter: torch.Tensor, listener: torch.Tensor, orientation: torch.Tensor) -> torch.Tensor:
        """Whole spectrograms, both ears: (B, 2), (B, 2) m, (B,) orientations -> (B, 2, F, T) normalised."""

    def values_at(
        self,
        emitter: torch.Tensor,
        listener: torch.Tensor,
        orientation: torch.Tensor,
        freq: torch.Tensor,
        frame: torch.Tensor,
    ) -> torch.Tensor:
        """(B, 2), (B, 2) m, (B,) orientations, (B, P) bin and frame indices -> (B, 2, P) normalised values,
        both ears: whole spectrograms predicted, then read at the pixels (a network that can evaluate single
        pixels overrides this)."""
        full = self.predict(emitter, listener, orientation)  # (B, 2, F, T)
        rows = torch.arange(full.shape[0], device=full.device)[:, None]
        return torch.stack([full[rows, ear, freq, frame] for ear in (0, 1)], 1)


class TrainableNetwork(AcousticNetwork):
    """A network the training loop can train: the training part of the interface."""

    sample_unit: str
    """What one training sample is ("pixel" or "IR"): the unit the loss averages over."""

    @abstractmethod
    def samples_per_step(self, train: TrainConfig) -> int:
        """Samples (`sample_unit`) one training batch holds."""

    @abstractmethod
    def training_batch(self, batches: TrainingBatches, train: TrainConfig) -> TrainingBatch:
        """Draw one training batch of the kind this network learns from."""

    def training_loss(
        self, pred: torch.Tensor, target: torch.Tensor, stats: SpectrogramStats, train: TrainConfig
    ) -> torch.Tensor:
        """Loss of a forward's output against the batch's target: MSE on normalised values (the paper's)."""
        return torch.mean((pred - target) ** 2)

    def init_from_data(self, sample: DataSample, stats: SpectrogramStats) -> float | None:
        """Initialise what depends on the data; returns a figure of merit to log, or None (nothing to do)."""
        return None
