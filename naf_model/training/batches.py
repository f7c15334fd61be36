"""Training data (in memory, or streamed: `training.streamed`) and the random batches of the NAF recipe.

Per-pixel models: each step draws `irs_per_step` (pair, orientation, ear) items and `pixels_per_ir` random
(f, t) pixels of each; a `pad_fraction` share of items draw frames over the full length with everything after
the IR's end set to ln(1e-3) (the paper's padding), the rest only within the IR. Amortised models draw whole
(pair, orientation) spectrograms. Positions get N(0, jitter_m) jitter. All randomness comes from one
`torch.Generator` and none of it depends on where the rows live, so a resumed run draws exactly the batches an
uninterrupted one would, and a streamed split the batches of the same split in memory.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from naf_model.conventions import LOG_EPS
from naf_model.networks.normalisation import SpectrogramStats
from naf_model.training.streamed import StreamedRows, rows_per_read

SILENCE = math.log(LOG_EPS)
SILENCE_MARGIN = 0.05
"""A frame counts as part of the IR while some bin is this far above ln(1e-3)."""


@dataclass
class SplitArrays:
    """One split of the data set: positions (P, 2) m, the early part's log-magnitudes (P, 4, 2, F, T) float16
    and the late part's ln band powers (P, 4, 2, 7, T_late) float16 (None when the IRs have no late part).
    `spec` and `late` are tensors in memory or `StreamedRows` read from disk, indexed alike."""

    emitters: torch.Tensor
    listeners: torch.Tensor
    spec: torch.Tensor | StreamedRows
    late: torch.Tensor | StreamedRows | None = None

    def __len__(self) -> int:
        return self.spec.shape[0]

    def valid_frames(self) -> torch.Tensor:
        """Frames up to each IR's last audible frame, (P, 4, 2) long, at least 1 (read in chunks of pairs)."""
        t = torch.arange(1, self.spec.shape[-1] + 1)
        chunk = rows_per_read(self.spec)
        out = []
        for s in range(0, len(self), chunk):
            loud = self.spec[s : s + chunk].amax(dim=-2).float() > SILENCE + SILENCE_MARGIN  # (c, 4, 2, T)
            out.append((loud * t).amax(-1).clamp_min(1))
        return torch.cat(out) if out else torch.zeros((0, 4, 2), dtype=torch.long)


@dataclass
class PixelBatch:
    """emitter, listener (B, 2) m; orientation, ear (B,) long; freq, frame (B, P) long; target (B, P)."""

    emitter: torch.Tensor
    listener: torch.Tensor
    orientation: torch.Tensor
    ear: torch.Tensor
    freq: torch.Tensor
    frame: torch.Tensor
    target: torch.Tensor


@dataclass
class IRBatch:
    """emitter, listener (B, 2) m; orientation (B,) long; target (B, 2, F, T) normalised."""

    emitter: torch.Tensor
    listener: torch.Tensor
    orientation: torch.Tensor
    target: torch.Tensor


class BatchSampler:
    """Draws training batches from `train` with its own generator (state saved in checkpoints); `late_stats`
    normalise the late part's targets (`late`)."""

    def __init__(
        self, train: SplitArrays, stats: SpectrogramStats, seed: int, jitter_m: float, pad_fraction: float,
        late_stats: SpectrogramStats | None = None,
    ) -> None:
        self.train, self.stats, self.late_stats = train, stats, late_stats
        self.jitter_m, self.pad_fraction = jitter_m, pad_fraction
        self.generator = torch.Generator().manual_seed(seed)
        self.valid = train.valid_frames()

    def _items(self, n: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        g = self.generator
        pair = torch.randint(len(self.train), (n,), generator=g)
        orientation = torch.randint(4, (n,), generator=g)
        emitter = self.train.emitters[pair] + torch.randn(n, 2, generator=g) * self.jitter_m
        listener = self.train.listeners[pair] + torch.randn(n, 2, generator=g) * self.jitter_m
        return pair, orientation, emitter, listener

    def pixels(self, n_irs: int, n_pixels: int) -> PixelBatch:
        """A per-pixel batch of n_irs items x n_pixels pixels."""
        g = self.generator
        pair, orientation, emitter, listener = self._items(n_irs)
        ear = torch.randint(2, (n_irs,), generator=g)
        n_freq, n_frames = self.train.spec.shape[-2:]
        valid = self.valid[pair, orientation, ear]
        padded = torch.rand(n_irs, generator=g) < self.pad_fraction
        span = torch.where(padded, torch.full_like(valid, n_frames), valid)
        frame = (torch.rand(n_irs, n_pixels, generator=g) * span[:, None]).long().clamp_max(n_frames - 1)
        freq = torch.randint(n_freq, (n_irs, n_pixels), generator=g)
        raw = self.train.spec[pair[:, None], orientation[:, None], ear[:, None], freq, frame].float()
        raw = torch.where(frame >= valid[:, None], torch.full_like(raw, SILENCE), raw)
        mean, scale = self.stats.scale_at(freq, frame, raw)
        return PixelBatch(emitter, listener, orientation, ear, freq, frame, (raw - mean) / scale)

    def irs(self, n_irs: int) -> IRBatch:
        """A batch of n_irs whole (pair, orientation) spectrograms, both ears."""
        pair, orientation, emitter, listener = self._items(n_irs)
        target = self.stats.normalise(self.train.spec[pair, orientation].float())
        return IRBatch(emitter, listener, orientation, target)

    def late(self, n_irs: int) -> IRBatch:
        """A batch of n_irs (pair, orientation) late descriptions, both ears: target (B, 2, 7, T_late)
        normalised with the late statistics."""
        assert self.train.late is not None and self.late_stats is not None, "this data set has no late part"
        pair, orientation, emitter, listener = self._items(n_irs)
        target = self.late_stats.normalise(self.train.late[pair, orientation].float())
        return IRBatch(emitter, listener, orientation, target)

    def swapped(self, n_pairs: int) -> IRBatch:
        """n_pairs training pairs with emitter and listener exchanged, at each of the 4 orientations
        (pair-major, 4 n_pairs items). Reciprocity gives the swapped pair the same omnidirectional IR, but
        the head belongs to the listener, so only the pair's mean over the 4 orientations and 2 ears (the
        ear axes of the 4 headings cover the circle, a head-averaged receiver) is a target: every item carries
        that mean (F, T), normalised, broadcast to (2, F, T)."""
        g = self.generator
        pair = torch.randint(len(self.train), (n_pairs,), generator=g)
        emitter = self.train.listeners[pair] + torch.randn(n_pairs, 2, generator=g) * self.jitter_m
        listener = self.train.emitters[pair] + torch.randn(n_pairs, 2, generator=g) * self.jitter_m
        mean = self.stats.normalise(self.train.spec[pair].float()).mean(dim=(1, 2))  # (S, F, T)
        target = mean[:, None, None].expand(-1, 4, 2, -1, -1).reshape(4 * n_pairs, 2, *mean.shape[1:])
        orientation = torch.arange(4).repeat(n_pairs)
        return IRBatch(emitter.repeat_interleave(4, 0), listener.repeat_interleave(4, 0), orientation, target)


@dataclass
class HeldOut:
    """A fixed evaluation sample of test spectrograms: items (pair, orientation) and pixels per item."""

    emitter: torch.Tensor  # (B, 2)
    listener: torch.Tensor  # (B, 2)
    orientation: torch.Tensor  # (B,)
    spec: torch.Tensor  # (B, 2, F, T) float32 log-magnitudes
    freq: torch.Tensor  # (B, P) long
    frame: torch.Tensor  # (B, P) long
    late: torch.Tensor | None = None  # (B, 2, 7, T_late) float32 ln band powers


def held_out_sample(split: SplitArrays, n_items: int = 64, n_pixels: int = 2048, seed: int = 0) -> HeldOut:
    """Fixed (seeded) items and pixels of a held-out split (training uses the validation split): the same for
    every model, so errors are comparable."""
    g = torch.Generator().manual_seed(seed)
    n = min(n_items, len(split) * 4)
    flat = torch.randperm(len(split) * 4, generator=g)[:n]
    pair, orientation = flat // 4, flat % 4
    n_freq, n_frames = split.spec.shape[-2:]
    freq = torch.randint(n_freq, (n, n_pixels), generator=g)
    frame = torch.randint(n_frames, (n, n_pixels), generator=g)
    return HeldOut(
        split.emitters[pair],
        split.listeners[pair],
        orientation,
        split.spec[pair, orientation].float(),
        freq,
        frame,
        None if split.late is None else split.late[pair, orientation].float(),
    )

