"""The per-pixel Neural Acoustic Field of Luo et al. (2022).

Shapes: B = number of (emitter, listener) items, P = (frequency, frame) pixels per item. Positions are metres
in scene coordinates; orientation is an index into ORIENTATIONS_DEG (0..3); ear 0 left, 1 right. Outputs are
normalised log-magnitudes, (x - mean) / (3 std) per (f, t), see `naf_model.networks.normalisation`.
"""

from __future__ import annotations

import torch
from torch import nn

from naf_model.conventions import ORIENTATIONS_DEG
from naf_model.networks.base import Finish, OrientationPart, TrainableNetwork, TrainingBatch, TrainingBatches
from naf_model.networks.embedding import SinusoidalEmbedding
from naf_model.networks.encoder import ConditionedMLP, EndpointPart, PairEncoder
from naf_model.networks.normalisation import SpectrogramStats
from naf_model.networks.presets import FieldShape, ModelConfig, TrainConfig

FEATURE_PIXELS = 16
"""Fixed (f, t) samples the middle-layer features are averaged over (`features`)."""


class PixelNAF(TrainableNetwork):
    """The paper's NAF: (emitter, listener, orientation, ear, frequency, frame) -> one normalised value.

    forward(emitter (B, 2) m, listener (B, 2) m, orientation (B,) long, ear (B,) long, freq (B, P) bin index,
    frame (B, P) frame index) -> (B, P). Position work is done once per item, not per pixel.
    """

    irs_per_call = 1
    feature_rows_per_pair = 2 * FEATURE_PIXELS
    sample_unit = "pixel"

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

    def _normalised(self, pair: EndpointPart, pixels: EndpointPart, orientation: torch.Tensor) -> torch.Tensor:
        """Pair shares (B, W) x2, every pixel's share, orientations (B,) -> (B, 2, F, T) normalised."""
        ears = [self.decode(pair, pixels, orientation, torch.full_like(orientation, e)) for e in (0, 1)]
        return torch.stack(ears, 1).reshape(-1, 2, self.shape.n_freq, self.shape.n_frames)

    def decoder_stages(self, stats: SpectrogramStats) -> tuple[OrientationPart, Finish]:
        """Blends the two orientations' normalised values, then de-normalises; every pixel's share of the
        input layer is computed at the first call and kept."""
        mean, scale = stats.mean_and_scale(self.out.weight.device)
        cache: list[EndpointPart] = []

        def normalised(pair: EndpointPart, orientation: torch.Tensor) -> torch.Tensor:
            if not cache:
                cache.append(self.pixel_part(*self.full_grid()))
            return self._normalised(pair, cache[0], orientation)

        def finish(y: torch.Tensor, emitter: torch.Tensor, listener: torch.Tensor) -> torch.Tensor:
            return torch.addcmul(mean, y, scale)

        return normalised, finish

    def features(self, pair: EndpointPart, orientation: torch.Tensor) -> torch.Tensor:
        """The middle-layer activation averaged over FEATURE_PIXELS fixed (f, t) pixels and both ears."""
        g = torch.Generator().manual_seed(0)
        dev = pair[0].device
        f = torch.randint(self.shape.n_freq, (FEATURE_PIXELS,), generator=g).float().to(dev)
        t = torch.randint(self.shape.n_frames, (FEATURE_PIXELS,), generator=g).float().to(dev)
        pixels = self.pixel_part(f, t)
        acc = torch.zeros_like(pair[0])
        for ear in (0, 1):
            ears = torch.full_like(orientation, ear)
            acc += self.decode(pair, pixels, orientation, ears, middle_only=True).mean(1)
        return acc / 2

    def values_at(
        self,
        emitter: torch.Tensor,
        listener: torch.Tensor,
        orientation: torch.Tensor,
        freq: torch.Tensor,
        frame: torch.Tensor,
    ) -> torch.Tensor:
        """Both ears at the given pixels, (B, 2, P) normalised."""
        f, t = freq.float(), frame.float()
        ears = [self(emitter, listener, orientation, torch.full_like(orientation, e), f, t) for e in (0, 1)]
        return torch.stack(ears, 1)

    def samples_per_step(self, train: TrainConfig) -> int:
        """`irs_per_step` items x `pixels_per_ir` pixels."""
        return train.irs_per_step * train.pixels_per_ir

    def training_batch(self, batches: TrainingBatches, train: TrainConfig) -> TrainingBatch:
        """Random pixels of random (pair, orientation, ear) items (the paper's recipe)."""
        b = batches.pixels(train.irs_per_step, train.pixels_per_ir)
        inputs = (b.emitter, b.listener, b.orientation, b.ear, b.freq.float(), b.frame.float())
        return TrainingBatch(inputs, b.target)
