"""The `fast` field: one code per (emitter, listener, orientation), whole log-spectrograms decoded at once.

Per-pixel NAF runs its MLP F * T * 2 (~50,000) times per IR. Here the MLP runs once per (emitter, listener,
orientation) to give a code; a per-ear head turns the code into K coefficients over a learned
spectro-temporal basis (K, F * T), initialised from a PCA of the normalised training spectrograms and then
fine-tuned. Same inputs as NAF: sinusoidal position embeddings, the local grid read at emitter and listener,
learned additive orientation latents in the trunk and ear latents in the head.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from naf_model.conventions import HOP, ONSET_BELOW_PEAK_DB, ORIENTATIONS_DEG, SAMPLE_RATE, SPEED_OF_SOUND
from naf_model.networks.base import (
    DataSample,
    Finish,
    OrientationPart,
    TrainableNetwork,
    TrainingBatch,
    TrainingBatches,
)
from naf_model.networks.encoder import ConditionedMLP, EndpointPart, PairEncoder
from naf_model.networks.fused import FusedDecoder
from naf_model.networks.late import fused_late_decoder
from naf_model.networks.normalisation import SpectrogramStats, scale_from_std
from naf_model.networks.presets import FieldShape, ModelConfig, TrainConfig

FRAMES_PER_METRE = SAMPLE_RATE / (HOP * SPEED_OF_SOUND)
"""STFT frames the direct sound takes per metre of emitter-listener distance (~0.5)."""
ALIGN_MARGIN_FRAMES = 2.0
"""Frames the delay-aligned time axis keeps before the direct sound (window spread, ear offsets)."""


def align_shift(emitter: torch.Tensor, listener: torch.Tensor) -> torch.Tensor:
    """Frames (B,) to shift a delay-aligned spectrogram to absolute time: direct-path delay minus margin."""
    return torch.linalg.vector_norm(emitter - listener, dim=-1) * FRAMES_PER_METRE - ALIGN_MARGIN_FRAMES


def shift_frames(x: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """x (B, ..., T) delayed by `shift` (B,) frames, fractional by linear interpolation: y[t] = x[t - shift],
    the first and last frames held beyond the edges."""
    n = x.shape[-1]
    tau = (torch.arange(n, device=x.device, dtype=x.dtype) - shift[:, None].to(x.dtype)).clamp(0, n - 1)
    i0 = tau.floor().clamp(max=n - 2)
    frac = (tau - i0).reshape(tau.shape[0], *([1] * (x.dim() - 2)), n)
    idx = i0.long().reshape(frac.shape).expand_as(x)
    x0 = torch.gather(x, -1, idx)
    return x0 + frac * (torch.gather(x, -1, idx + 1) - x0)


def energy_decay_db(logmag: torch.Tensor) -> torch.Tensor:
    """Log-magnitudes (..., F, T) -> energy decay curve (..., T) in dB relative to its first frame: the
    backward (Schroeder) integral of the per-frame energy sum_f |X|^2, which fixes T60, EDT and C50."""
    frame_energy = torch.logsumexp(2.0 * logmag, dim=-2)  # (..., T) natural-log energy
    edc = torch.logcumsumexp(frame_energy.flip(-1), dim=-1).flip(-1)
    return (edc - edc[..., :1]) * (10.0 / math.log(10.0))


CLARITY_EARLY_FRAMES = 0.050 * SAMPLE_RATE / HOP
"""Frames in C50's 50 ms early window (~8.6)."""


def onset_frames(logmag: torch.Tensor) -> torch.Tensor:
    """Onset frame (...) of log-magnitudes (..., F, T): the first frame within ONSET_BELOW_PEAK_DB of the
    loudest (the direct sound or, where walls block it, the first strong reflection)."""
    energy = torch.logsumexp(2.0 * logmag, dim=-2)  # (..., T) natural-log energy
    loud = energy >= energy.amax(-1, keepdim=True) - ONSET_BELOW_PEAK_DB * math.log(10.0) / 10.0
    return torch.argmax(loud.to(torch.uint8), dim=-1)


def clarity_db(logmag: torch.Tensor, onset: torch.Tensor) -> torch.Tensor:
    """C50 (...) dB of log-magnitudes (..., F, T) with onset frames (...): energy of the CLARITY_EARLY_FRAMES
    after the onset over the energy after them (the last early frame counted by its fraction)."""
    energy = torch.logsumexp(2.0 * logmag, dim=-2)  # (..., T)
    t = torch.arange(energy.shape[-1], device=energy.device, dtype=energy.dtype)
    after = t - onset[..., None].to(energy.dtype)
    early_w = (CLARITY_EARLY_FRAMES - after).clamp(0, 1) * (after >= 0)
    late_w = 1 - early_w - (after < 0).to(energy.dtype)
    tiny = torch.finfo(energy.dtype).tiny

    def log_sum(w: torch.Tensor) -> torch.Tensor:
        return torch.logsumexp(energy + torch.log(w.clamp_min(tiny)), dim=-1)

    return (log_sum(early_w) - log_sum(late_w)) * (10.0 / math.log(10.0))


OCTAVE_CENTRES_HZ = (125, 250, 500, 1000, 2000, 4000, 8000)
"""Bands of the multi-scale energy-decay loss (bin ranges from `octave_bins`)."""


def octave_bins(n_freq: int) -> list[tuple[int, int]]:
    """[lo, hi) STFT bin ranges of the octave bands in `OCTAVE_CENTRES_HZ` (edges at centre / sqrt 2 and
    x sqrt 2; bin k is k * SAMPLE_RATE / (2 * n_freq) Hz, the top band ends at the last bin)."""
    hz_per_bin = SAMPLE_RATE / (2 * n_freq)
    bands = []
    for c in OCTAVE_CENTRES_HZ:
        lo = int(round(c / math.sqrt(2) / hz_per_bin))
        hi = min(n_freq, int(round(c * math.sqrt(2) / hz_per_bin)))
        if hi > lo:
            bands.append((lo, hi))
    return bands


def multiscale_energy_decay_db(logmag: torch.Tensor) -> torch.Tensor:
    """Log-magnitudes (..., F, T) -> (..., 1 + n_bands, T): the broadband energy decay curve and one per
    octave band (dB re each curve's first frame), so the loss sees per-band decay rates (T60 and EDT per
    band) and not only the broadband curve the low, loud bands dominate."""
    curves = [energy_decay_db(logmag)]
    curves += [energy_decay_db(logmag[..., lo:hi, :]) for lo, hi in octave_bins(logmag.shape[-2])]
    return torch.stack(curves, dim=-2)


class AmortisedNAF(TrainableNetwork):
    """(emitter (B, 2) m, listener (B, 2) m, orientation (B,) long) -> (B, 2, F, T) normalised log-magnitudes.

    `code` (B, W) is the per-(emitter, listener, orientation) feature used by t-SNE and probes.
    """

    irs_per_call = 128
    """~27 MB of output per call at T = 104."""
    feature_rows_per_pair = 1
    sample_unit = "IR"

    def __init__(self, config: ModelConfig, shape: FieldShape) -> None:
        super().__init__()
        n = config.network
        self.config, self.shape = config, shape
        self.encoder = PairEncoder(config, shape, n.width)
        self.trunk = ConditionedMLP(n.depth, n.width, {"orientation": len(ORIENTATIONS_DEG)}, n.leaky_slope)
        self.ear_latent = nn.Parameter(torch.randn(2, n.width) * 0.01)
        self.head_hidden = nn.Linear(n.width, n.width)
        self.head_out = nn.Linear(n.width, n.n_basis)
        size = shape.n_freq * shape.n_frames
        self.basis = nn.Parameter(torch.randn(n.n_basis, size) / size**0.5)
        self.offset = nn.Parameter(torch.zeros(size))
        if n.align_delay:
            # Aligned-frame normalisation (decoder output -> log-magnitude) and the data's normalisation
            # (absolute-time log-magnitude -> the normalised values `forward` returns), set from data.
            for name in ("aligned_mean", "aligned_scale", "norm_mean", "norm_scale"):
                self.register_buffer(name, torch.ones(shape.n_freq, shape.n_frames))

    @torch.no_grad()
    def init_basis(self, spectrograms: torch.Tensor) -> float:
        """Set basis and offset from a PCA of normalised spectrograms (S, F, T); returns the variance share
        the K components explain. Components are scaled by their standard deviation so unit-size
        coefficients are typical."""
        x = spectrograms.reshape(spectrograms.shape[0], -1).float()
        mean = x.mean(0)
        xc = x - mean
        # PCA through the (S, S) Gram matrix: S is a few thousand, F * T tens of thousands.
        eigval, eigvec = torch.linalg.eigh((xc @ xc.T).double())
        eigval, eigvec = eigval.flip(0).clamp_min(0), eigvec.flip(1)
        k = min(self.basis.shape[0], xc.shape[0] - 1)
        components = (eigvec[:, :k].T.float() @ xc) / eigval[:k].sqrt().clamp_min(1e-12).float()[:, None]
        scale = (eigval[:k] / max(xc.shape[0] - 1, 1)).sqrt().float()
        self.offset.copy_(mean)
        self.basis.zero_()
        self.basis[:k] = components * scale[:, None]
        return float(eigval[:k].sum() / eigval.sum().clamp_min(1e-12))

    def code_from_parts(self, pair: EndpointPart, orientation: torch.Tensor) -> torch.Tensor:
        """Input-layer and residual pre-activations (B, W) x2 + orientation (B,) -> code (B, W)."""
        return self.trunk(pair[0], pair[1], {"orientation": orientation})

    def coefficients(self, code: torch.Tensor) -> torch.Tensor:
        """Code (B, W) -> per-ear basis coefficients (B, 2, K)."""
        slope = self.config.network.leaky_slope
        return self.head_out(F.leaky_relu(self.head_hidden(code)[:, None, :] + self.ear_latent, slope))

    @property
    def aligned(self) -> bool:
        """Whether the decoder works in the delay-aligned time frame (`align_delay`)."""
        return self.config.network.align_delay

    @torch.no_grad()
    def set_alignment_stats(
        self, aligned_mean: torch.Tensor, aligned_scale: torch.Tensor, mean: torch.Tensor, scale: torch.Tensor
    ) -> None:
        """Aligned-frame and absolute-frame normalisation, (F, T) each: x = y * scale + mean."""
        for buf, value in zip(
            (self.aligned_mean, self.aligned_scale, self.norm_mean, self.norm_scale),
            (aligned_mean, aligned_scale, mean, scale),
            strict=True,
        ):
            buf.copy_(value)

    def decode(self, code: torch.Tensor, shift: torch.Tensor | None = None) -> torch.Tensor:
        """Code (B, W) -> (B, 2, F, T): the coefficients times the basis, plus the offset. Aligned models
        need `shift` (B,) frames (`align_shift`) and return absolute-time normalised values too."""
        c = self.coefficients(code)
        out = torch.addmm(self.offset, c.reshape(-1, c.shape[-1]), self.basis)
        out = out.reshape(code.shape[0], 2, self.shape.n_freq, self.shape.n_frames)
        if not self.aligned:
            return out
        if shift is None:
            raise ValueError("a delay-aligned model needs the shift (align_shift(emitter, listener))")
        logmag = shift_frames(out * self.aligned_scale + self.aligned_mean, shift)
        return (logmag - self.norm_mean) / self.norm_scale

    def code(self, emitter: torch.Tensor, listener: torch.Tensor, orientation: torch.Tensor) -> torch.Tensor:
        """(B, 2), (B, 2), (B,) -> (B, W) code."""
        return self.code_from_parts(self.encoder(emitter, listener), orientation)

    def forward(
        self, emitter: torch.Tensor, listener: torch.Tensor, orientation: torch.Tensor
    ) -> torch.Tensor:
        """See the class docstring. Training applies `code_dropout` to the code (fields call `decode` paths
        directly and never drop)."""
        code = self.code(emitter, listener, orientation)
        p = self.config.network.code_dropout
        if self.training and p > 0:
            code = F.dropout(code, p)
        return self.decode(code, align_shift(emitter, listener) if self.aligned else None)

    def predict(
        self, emitter: torch.Tensor, listener: torch.Tensor, orientation: torch.Tensor
    ) -> torch.Tensor:
        """Whole spectrograms, both ears: (B, 2, F, T) normalised (= forward; same API as PixelNAF)."""
        return self(emitter, listener, orientation)

    # ---- the TrainableNetwork interface ------------------------------------------------------------------
    def decoder_stages(self, stats: SpectrogramStats) -> tuple[OrientationPart, Finish]:
        """De-normalised log-magnitudes in one product: the decoder is linear in the basis coefficients, so
        blending orientations blends coefficients, and the de-normalisation is folded into a scaled copy of
        the basis (made at the first call). Delay-aligned models decode in the aligned frame (its own
        normalisation), then shift by the emitter-listener delay."""
        mean, scale = stats.mean_and_scale(self.basis.device)
        if self.aligned:
            mean, scale = self.aligned_mean, self.aligned_scale
        cache: list[tuple[torch.Tensor, torch.Tensor]] = []

        def coefficients(pair: EndpointPart, orientation: torch.Tensor) -> torch.Tensor:
            return self.coefficients(self.code_from_parts(pair, orientation))

        def finish(c: torch.Tensor, emitter: torch.Tensor, listener: torch.Tensor) -> torch.Tensor:
            if not cache:
                s, m = scale.flatten(), mean.flatten()
                cache.append((self.basis * s, self.offset * s + m))
            basis, offset = cache[0]
            y = torch.addmm(offset, c.reshape(-1, c.shape[-1]), basis)
            y = y.reshape(len(c), 2, self.shape.n_freq, self.shape.n_frames)
            return shift_frames(y, align_shift(emitter, listener)) if self.aligned else y

        return coefficients, finish

    def fused_decoder(self, stats: SpectrogramStats, late_stats: SpectrogramStats | None) -> FusedDecoder:
        """The same arithmetic as `decoder_stages`, frozen and batched (`networks.fused_amortised`)."""
        from naf_model.networks.fused_amortised import FusedAmortised

        head = self.late_head()
        late = fused_late_decoder(head, late_stats) if head is not None and late_stats is not None else None
        return FusedAmortised(self, stats, late)

    def features(self, pair: EndpointPart, orientation: torch.Tensor) -> torch.Tensor:
        """The code."""
        return self.code_from_parts(pair, orientation)

    def samples_per_step(self, train: TrainConfig) -> int:
        """`irs_per_step` whole spectrograms."""
        return train.irs_per_step

    def training_batch(self, batches: TrainingBatches, train: TrainConfig) -> TrainingBatch:
        """Whole (pair, orientation) spectrograms, both ears; with `swap_pairs`, the swapped pairs' items
        (`TrainingBatches.swapped`) follow them in the same batch."""
        b = batches.irs(train.irs_per_step)
        if train.swap_pairs <= 0:
            return TrainingBatch((b.emitter, b.listener, b.orientation), b.target)
        s = batches.swapped(train.swap_pairs)
        inputs = tuple(torch.cat([x, y]) for x, y in zip(
            (b.emitter, b.listener, b.orientation), (s.emitter, s.listener, s.orientation), strict=True
        ))
        return TrainingBatch(inputs, torch.cat([b.target, s.target]))

    def training_loss(
        self, pred: torch.Tensor, target: torch.Tensor, stats: SpectrogramStats, train: TrainConfig
    ) -> torch.Tensor:
        """MSE on normalised values, plus `edc_weight` x the mean squared energy-decay-curve difference (/10 dB),
        broadband or (`edc_octaves`) broadband and per octave band; plus `c50_weight` x the mean squared
        clarity difference (/10 dB, `clarity_db`, each spectrogram at its own onset); with `swap_pairs`, plus
        `swap_weight` x the MSE of the swapped pairs' mean over orientations and ears (the last 4 x swap_pairs
        items)."""
        if train.swap_pairs > 0:
            n = 4 * train.swap_pairs
            swapped = pred[-n:].reshape(train.swap_pairs, 4 * 2, *pred.shape[2:]).mean(1)
            swap_loss = torch.mean((swapped - target[-n::4, 0]) ** 2)
            pred, target = pred[:-n], target[:-n]
        loss = torch.mean((pred - target) ** 2)
        if train.edc_weight > 0:
            decay = multiscale_energy_decay_db if train.edc_octaves else energy_decay_db
            diff = decay(stats.denormalise(pred)) - decay(stats.denormalise(target))
            loss = loss + train.edc_weight * torch.mean((diff / 10.0) ** 2)
        if train.c50_weight > 0:
            # Each at its own onset, as playback gates an occluded pair at the predicted onset: with the true
            # onset for both, energy moved before it would be free (it was: played C50 got worse).
            true_lm, pred_lm = stats.denormalise(target), stats.denormalise(pred)
            diff = clarity_db(pred_lm, onset_frames(pred_lm)) - clarity_db(true_lm, onset_frames(true_lm))
            loss = loss + train.c50_weight * torch.mean((diff / 10.0) ** 2)
        if train.swap_pairs > 0:
            loss = loss + train.swap_weight * swap_loss
        return loss

    @torch.no_grad()
    def init_from_data(self, sample: DataSample, stats: SpectrogramStats) -> float:
        """The basis from a PCA of normalised training spectrograms (delay-aligned models: first aligned, and
        the aligned frame's normalisation set from them); returns the explained variance share."""
        spec, emitters, listeners = sample()
        if not self.aligned:
            return self.init_basis(stats.normalise(spec))
        aligned = shift_frames(spec, -align_shift(emitters, listeners))  # direct sound at ALIGN_MARGIN_FRAMES
        mean, scale = stats.mean_and_scale()
        a_mean = aligned.mean(0)
        a_scale = scale_from_std(aligned.std(0))
        self.set_alignment_stats(a_mean, a_scale, mean, scale)
        return self.init_basis((aligned - a_mean) / a_scale)
