"""The per-pixel NAF exactly as the paper's released code computes it (aluo-x/Learning_Neural_Acoustic_Fields,
`kernel_residual_fc_embeds` with its `embedding_module_log` inputs), under that code's parameter names, so
its trained checkpoints load as they are (`naf_model.checkpoint_paper`).

It differs from naf's `PixelNAF` in ways that change the numbers, hence a class of its own: positions are
scaled to [-1, 1] by the scene's stored min/max and clamped, their sinusoids have no factor pi, frequency and
time are scaled to [-1, 1] then multiplied by 2 pi with sinusoids up to 2^10; the grid reads every grid point
(no neighbourhood) with the squared distance computed as |a|^2 + |b|^2 - 2 a.b; the MLP adds its latents
after each layer's linear map (the first activation comes before the next layer), the residual branch has
its own hidden layer, and the output layer reads the last pre-activation.

Its inputs are in the paper's frame, which `naf data import paper` leaves (naf_model.data.imports.paper): the
paper's code places a point of points.txt at (x, -y), naf at (x, y); its rotation index 0..3 is SoundSpaces'
azimuth folder 0/90/180/270, naf's headings 0/90/180/270 are folders 90/0/270/180. This network takes naf's
positions and orientation indices and converts them (`paper_xy`, PAPER_ROTATION_OF_NAF). The paper's first
position is the receiver (listener), its second the source (emitter); its output channel is the ear channel
(0 left). Inference only. Shapes: B items, P pixels, W width, F x T spectrogram, G grid points.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from naf_model.conventions import ORIENTATIONS_DEG
from naf_model.data.imports.paper import NAF_TO_PAPER_ORIENTATION
from naf_model.networks.base import AcousticNetwork, Finish, OrientationPart
from naf_model.networks.encoder import EndpointPart
from naf_model.networks.normalisation import SpectrogramStats
from naf_model.networks.presets import FieldShape, ModelConfig

PAPER_ROTATION_OF_NAF = NAF_TO_PAPER_ORIENTATION
"""The paper's rotation index of naf's orientation index 0..3 (headings 0, 90, 180, 270): azimuth folders 90, 0,
270, 180 (naf heading = 90 - azimuth), as `naf data import paper` stores them."""
FEATURE_PIXELS = 16
"""Fixed (f, t) samples the last-layer features are averaged over (`features`)."""


def paper_frequencies(n_freqs: int, max_log2: float) -> torch.Tensor:
    """The sinusoids' frequencies as the paper's code makes them: 2 ** (float32 linspace(0, max_log2))."""
    return 2.0 ** torch.from_numpy(np.linspace(0.0, max_log2, n_freqs).astype(np.float32))


def paper_embedding(x: torch.Tensor, freqs: torch.Tensor) -> torch.Tensor:
    """(..., D) -> (..., D (1 + 2 n)): [x, sin(x f_1), ..., sin(x f_n), cos(x f_1), ..., cos(x f_n)], each
    block D wide (the order of the paper's `embedding_module_log`)."""
    return torch.cat([x] + [torch.sin(x * f) for f in freqs] + [torch.cos(x * f) for f in freqs], -1)


def paper_bounds(bounds: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    """A box (min x, min y, max x, max y) in naf's frame as the same box in the paper's (y mirrored), exactly."""
    xmin, ymin, xmax, ymax = bounds
    return xmin, -ymax, xmax, -ymin


def grid_points(bounds: tuple[float, float, float, float], spacing: float) -> torch.Tensor:
    """The paper's grid: numpy arange(min, max, spacing) per axis, meshgrid, x fastest -> (G, 2) float32."""
    xmin, ymin, xmax, ymax = bounds
    gx, gy = np.meshgrid(np.arange(xmin, xmax, spacing), np.arange(ymin, ymax, spacing))
    return torch.from_numpy(np.stack([gx.flatten(), gy.flatten()], 1)).float()


class _Linear(nn.Module):
    """A linear map named as the paper's `basic_project2` (`proj.weight`, `proj.bias`)."""

    def __init__(self, n_in: int, n_out: int) -> None:
        super().__init__()
        self.proj = nn.Linear(n_in, n_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(..., n_in) -> (..., n_out)."""
        return self.proj(x)


class _Layer(nn.Module):
    """The paper's `kernel_linear_act`: LeakyReLU then a linear map (`block.1.proj`)."""

    def __init__(self, width: int, slope: float) -> None:
        super().__init__()
        self.block = nn.Sequential(nn.LeakyReLU(slope), _Linear(width, width))


class _Residual(nn.Sequential):
    """The paper's `residual_1`: linear, LeakyReLU, linear (`0.proj`, `2.proj`)."""

    def __init__(self, n_in: int, width: int, slope: float) -> None:
        super().__init__(_Linear(n_in, width), nn.LeakyReLU(slope), _Linear(width, width))


class PaperReleasedNAF(AcousticNetwork):
    """The paper's released network. `shape.bounds` is the scene's stored min/max (the paper's `minmax`, not
    the free space's box) in naf's frame (`paper_bounds` gives the paper's), `shape.n_frames` its `max_len`.

    forward(emitter (B, 2) m, listener (B, 2) m, orientation (B,) long, freq (B, P), frame (B, P) indices)
    -> (B, 2, P) normalised values, both ears.
    """

    irs_per_call = 1
    feature_rows_per_pair = 2 * FEATURE_PIXELS

    def __init__(self, config: ModelConfig, shape: FieldShape) -> None:
        super().__init__()
        n, e, g = config.network, config.embedding, config.grid
        self.config, self.shape, self.slope = config, shape, n.leaky_slope
        self.bandwidth_min, self.bandwidth_max, self.float_amt = g.bandwidth_min, g.bandwidth_max, g.max_offset
        self.register_buffer("position_freqs", paper_frequencies(e.position_freqs, e.position_max_log2), False)
        self.register_buffer("spectral_freqs", paper_frequencies(e.spectral_freqs, e.spectral_max_log2), False)
        xmin, ymin, xmax, ymax = paper_bounds(shape.bounds)
        self.register_buffer("min_xy", torch.tensor([xmin, ymin], dtype=torch.float64), False)
        self.register_buffer("max_xy", torch.tensor([xmax, ymax], dtype=torch.float64), False)
        self.register_buffer("rotation_of_naf", torch.tensor(PAPER_ROTATION_OF_NAF), False)
        self.position_dim = 2 * (1 + 2 * e.position_freqs)  # one endpoint's share of the 4-d embedding
        input_ch = 2 * self.position_dim + 2 * (1 + 2 * e.spectral_freqs) + 2 * g.dim
        scale = 1 / math.sqrt(n.width)
        for k in range(n.depth - 1):
            self.register_parameter(f"left_right_{k}", nn.Parameter(torch.randn(1, 1, 2, n.width) * scale))
        for k in range(len(ORIENTATIONS_DEG)):
            self.register_parameter(f"rot_{k}", nn.Parameter(torch.randn(n.depth - 1, 1, 1, n.width) * scale))
        self.proj = _Linear(input_ch, n.width)
        self.residual_1 = _Residual(input_ch, n.width, n.leaky_slope)
        self.layers = nn.ModuleList([_Layer(n.width, n.leaky_slope) for _ in range(n.depth - 2)])
        self.out_layer = nn.Linear(n.width, 1)
        points = grid_points(paper_bounds(shape.bounds), g.spacing)
        self.bandwidths = nn.Parameter(torch.full((len(points),), float(g.bandwidth_init)))
        self.register_buffer("grid_coors_xy", points)
        self.xy_offset = nn.Parameter(torch.zeros_like(points))
        self.grid_0 = nn.Parameter(torch.randn(len(points), g.dim) / math.sqrt(g.dim))

    # ---- the input layer, split by what each input depends on -------------------------------------------
    def _columns(self, role: int) -> tuple[list[int], list[int]]:
        """Input columns of an emitter (role 0) or listener (role 1): its grid features and its share of the
        position embedding. The input is [grid(listener), grid(emitter), embed(listener xy, emitter xy), f, t]
        with the embedding's blocks 4 wide (listener x, y, emitter x, y)."""
        dim, slot = self.grid_0.shape[1], 1 - role  # the paper's first position is the listener
        grid = list(range(slot * dim, (slot + 1) * dim))
        blocks = self.position_dim // 2
        embed = [2 * dim + 4 * b + 2 * slot + c for b in range(blocks) for c in (0, 1)]
        return grid, embed

    @staticmethod
    def paper_xy(xy: torch.Tensor) -> torch.Tensor:
        """naf positions (B, 2) m -> the paper's (x, -y)."""
        return xy * xy.new_tensor([1.0, -1.0])

    def grid_features(self, xy: torch.Tensor) -> torch.Tensor:
        """(B, 2) m, paper frame -> (B, dim): Gaussian-weighted mean of every grid point's features
        (`fit_predict_torch`)."""
        points = self.grid_coors_xy + torch.tanh(self.xy_offset) * self.float_amt
        bandwidth = self.bandwidths.clamp(self.bandwidth_min, self.bandwidth_max)
        d2 = torch.addmm((points**2).sum(-1)[None], xy, points.T, alpha=-2).add_((xy**2).sum(-1, keepdim=True))
        w = torch.exp(-d2 / (2.0 * bandwidth[None] ** 2))
        return torch.mm(w, self.grid_0) / w.sum(1, keepdim=True)

    def scaled_positions(self, xy: torch.Tensor) -> torch.Tensor:
        """(B, 2) m, paper frame -> (B, 2) in [-1, 1]: ((xy - min) / (max - min) - 0.5) * 2, clamped (float64
        as its numpy code)."""
        unit = (xy.double() - self.min_xy) / (self.max_xy - self.min_xy)
        return ((unit - 0.5) * 2.0).to(xy.dtype).clamp(-1.0, 1.0)

    def position_inputs(self, xy: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 2) m, naf frame -> (the position's sinusoidal embedding (B, 2 (1 + 2 n)), its grid features
        (B, dim)), as the paper's code computes them in its frame."""
        paper = self.paper_xy(xy)
        return paper_embedding(self.scaled_positions(paper), self.position_freqs), self.grid_features(paper)

    def endpoint(self, xy: torch.Tensor, role: int) -> EndpointPart:
        """Share of emitters (role 0) or listeners (role 1) at (B, 2) m in the input layer and the residual
        branch's first layer, (B, W) each (no bias: the pixels' share holds it)."""
        grid_cols, embed_cols = self._columns(role)
        embedding, grid = self.position_inputs(xy)
        h = torch.cat([grid, embedding], -1)
        cols = grid_cols + embed_cols  # the 2-d embedding's blocks are the 4-d one's, in order
        w_first = self.proj.proj.weight[:, cols]
        w_skip = self.residual_1[0].proj.weight[:, cols]
        return h @ w_first.T, h @ w_skip.T

    def pair_part(self, emitter: torch.Tensor, listener: torch.Tensor) -> EndpointPart | None:
        """None: the paper's input is the endpoints and the pixel alone."""
        return None

    def pixel_part(self, freq: torch.Tensor, frame: torch.Tensor) -> EndpointPart:
        """Bin and frame indices (P,) -> their share (with both biases) of the input layer and the residual
        branch's first layer, (P, W) each: 2 f / 255 - 1 and 2 t / (max_len - 1) - 1, times 2 pi, embedded."""
        dtype = self.out_layer.weight.dtype
        f = (2.0 * freq.to(dtype) / 255.0 - 1.0) * 2.0 * math.pi
        t = (2.0 * frame.to(dtype) / float(self.shape.n_frames - 1) - 1.0) * 2.0 * math.pi
        h = torch.cat([paper_embedding(f[:, None], self.spectral_freqs),
                       paper_embedding(t[:, None], self.spectral_freqs)], -1)
        start = 2 * self.grid_0.shape[1] + 2 * self.position_dim
        first, skip = self.proj.proj, self.residual_1[0].proj
        return F.linear(h, first.weight[:, start:], first.bias), F.linear(h, skip.weight[:, start:], skip.bias)

    # ---- the trunk ---------------------------------------------------------------------------------------
    def decode(self, pair: EndpointPart, pixels: EndpointPart, orientation: torch.Tensor,
               last_only: bool = False) -> torch.Tensor:
        """Pair shares (B, W) x2, pixel shares (P, W) x2, naf orientation indices (B,) -> (B, 2, P) normalised
        values, or with `last_only` the last layer's output (B, P, 2, W) (the paper's `probe` features)."""
        rotations = torch.stack([getattr(self, f"rot_{k}") for k in range(len(ORIENTATIONS_DEG))])
        rot = rotations[self.rotation_of_naf[orientation]]
        first = (pair[0][:, None, :] + pixels[0][None])[:, :, None, :]  # (B, P, 1, W)
        out = first + self.left_right_0 + rot[:, 0]
        middle = len(self.layers) // 2 - 1
        for k, layer in enumerate(self.layers):
            out = layer.block(out) + getattr(self, f"left_right_{k + 1}") + rot[:, k + 1]
            if k == middle:
                skip = pair[1][:, None, :] + pixels[1][None]
                out = out + self.residual_1[2].proj(F.leaky_relu(skip, self.slope))[:, :, None, :]
        if last_only:
            return out
        return self.out_layer(out).squeeze(-1).transpose(1, 2)

    def full_grid(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Bin and frame indices of every pixel of one spectrogram, (F * T,) each, row-major over (F, T)."""
        dev = self.out_layer.weight.device
        f, t = torch.meshgrid(torch.arange(self.shape.n_freq, device=dev),
                              torch.arange(self.shape.n_frames, device=dev), indexing="ij")
        return f.flatten(), t.flatten()

    def pair_shares(self, emitter: torch.Tensor, listener: torch.Tensor) -> EndpointPart:
        """(B, 2), (B, 2) m -> the pair's summed endpoint shares, (B, W) x2."""
        fe, se = self.endpoint(emitter, 0)
        fl, sl = self.endpoint(listener, 1)
        return fe + fl, se + sl

    def forward(self, emitter: torch.Tensor, listener: torch.Tensor, orientation: torch.Tensor,
                freq: torch.Tensor, frame: torch.Tensor) -> torch.Tensor:
        """See the class docstring: the same pixels (P,) for every item, (B, 2, P) normalised."""
        return self.decode(self.pair_shares(emitter, listener), self.pixel_part(freq, frame), orientation)

    def predict(self, emitter: torch.Tensor, listener: torch.Tensor, orientation: torch.Tensor) -> torch.Tensor:
        """Whole spectrograms, both ears: (B, 2), (B, 2) m, (B,) -> (B, 2, F, T) normalised."""
        y = self(emitter, listener, orientation, *self.full_grid())
        return y.reshape(-1, 2, self.shape.n_freq, self.shape.n_frames)

    def values_at(self, emitter: torch.Tensor, listener: torch.Tensor, orientation: torch.Tensor,
                  freq: torch.Tensor, frame: torch.Tensor) -> torch.Tensor:
        """Both ears at the given (B, P) pixels, (B, 2, P) normalised (one item at a time: pixels differ)."""
        return torch.cat([self(emitter[i : i + 1], listener[i : i + 1], orientation[i : i + 1], freq[i], frame[i])
                          for i in range(len(emitter))])

    def decoder_stages(self, stats: SpectrogramStats) -> tuple[OrientationPart, Finish]:
        """Blends two orientations' normalised values, then de-normalises; the pixels' share is computed at
        the first call and kept."""
        mean, scale = stats.mean_and_scale(self.out_layer.weight.device)
        cache: list[EndpointPart] = []

        def normalised(pair: EndpointPart, orientation: torch.Tensor) -> torch.Tensor:
            if not cache:
                cache.append(self.pixel_part(*self.full_grid()))
            y = self.decode(pair, cache[0], orientation)
            return y.reshape(-1, 2, self.shape.n_freq, self.shape.n_frames)

        def finish(y: torch.Tensor, emitter: torch.Tensor, listener: torch.Tensor) -> torch.Tensor:
            return torch.addcmul(mean, y, scale)

        return normalised, finish

    def features(self, pair: EndpointPart, orientation: torch.Tensor) -> torch.Tensor:
        """The last layer's output (the paper's `probe`) averaged over FEATURE_PIXELS fixed pixels and both
        ears, (R, W)."""
        g = torch.Generator().manual_seed(0)
        dev = pair[0].device
        f = torch.randint(self.shape.n_freq, (FEATURE_PIXELS,), generator=g).to(dev)
        t = torch.randint(self.shape.n_frames, (FEATURE_PIXELS,), generator=g).to(dev)
        return self.decode(pair, self.pixel_part(f, t), orientation, last_only=True).mean((1, 2))
